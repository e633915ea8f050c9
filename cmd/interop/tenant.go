package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/interop-data/interop/pkg/reference"
)

func init() {
	commands["tenant"] = command{summary: "manage the tenants of a reference server's database (tenant create)", run: runTenant}
}

func runTenant(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		fmt.Fprintln(stderr, "usage: interop tenant create --db PATH --name NAME")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			return nil
		}
		return exitError(2)
	}
	return runTenantCreate(ctx, args[1:], stdout, stderr)
}

// runTenantCreate installs a tenant and prints its credentials as JSON. It
// is safe while a server runs on the same file: the store waits for the
// server's write lock instead of failing.
func runTenantCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tenant create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", "./interop.db", "the reference server's database: a SQLite file or a postgres:// URL")
	name := fs.String("name", "", "name of the tenant (required)")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if *name == "" {
		fmt.Fprintln(stderr, "usage: interop tenant create --db PATH --name NAME")
		return exitError(2)
	}
	st, err := reference.OpenStore(ctx, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	creds, err := reference.CreateTenant(ctx, st, *name)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(creds)
}
