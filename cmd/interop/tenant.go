package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/interop-data/interop/pkg/reference"
)

func init() {
	commands["tenant"] = command{summary: "manage the tenants of a reference server's database (tenant create, reset, lti-token, lti-key)", run: runTenant}
}

const tenantUsage = `usage: interop tenant create --db PATH [--create] --name NAME
       interop tenant reset --db PATH --tenant ID|CLIENT_ID|NAME --yes
       interop tenant lti-token --db PATH --tenant NAME[,NAME...] [--ttl 1h] [--json]
       interop tenant lti-key --db PATH [--rotate]`

func runTenant(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "create":
			return runTenantCreate(ctx, args[1:], stdout, stderr)
		case "reset":
			return runTenantReset(ctx, args[1:], stdout, stderr)
		case "lti-token":
			return runTenantLTIToken(ctx, args[1:], stdout, stderr)
		case "lti-key":
			return runTenantLTIKey(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintln(stderr, tenantUsage)
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		return nil
	}
	return exitError(2)
}

// runTenantReset empties a tenant's roster, queue and acknowledgement
// history, keeping its credentials: the way back to a full demo queue
// (reset, then serve --demo loads the demo district again).
func runTenantReset(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tenant reset", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", "./interop.db", "the reference server's database: a SQLite file or a postgres:// URL")
	tenantFlag := fs.String("tenant", "", "the tenant: its id, client id or name (demo for the demo tenant; a name several tenants share is refused)")
	yes := fs.Bool("yes", false, "confirm: every roster object, task and acknowledgement of the tenant is deleted")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if *tenantFlag == "" {
		fmt.Fprintln(stderr, "interop tenant reset: --tenant is missing: the tenant to empty, by id, client id or name (demo for the demo tenant)")
		fmt.Fprintln(stderr, tenantUsage)
		return exitError(2)
	}
	st, t, err := openTenant(ctx, *db, *tenantFlag)
	if err != nil {
		return err
	}
	defer st.Close()
	if !*yes {
		fmt.Fprintf(stderr, "interop tenant reset: this deletes every roster object, task and acknowledgement of tenant %s (%s); add --yes to do it\n", t.ID, t.Name)
		return exitError(2)
	}
	if err := st.ResetTenant(ctx, t.ID); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "tenant %s (%s) reset: its roster, queue and history are empty; its credentials still work\n", t.ID, t.Name)
	if t.ClientID == reference.DemoClientID {
		fmt.Fprintln(stdout, "serve --demo loads the demo district and its sync tasks again")
	}
	return nil
}

// runTenantCreate installs a tenant and prints its credentials as JSON. It
// is safe while a server runs on the same file: the store waits for the
// server's write lock instead of failing.
func runTenantCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tenant create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", "./interop.db", "the reference server's database: a SQLite file or a postgres:// URL")
	name := fs.String("name", "", "name of the tenant (required)")
	create := fs.Bool("create", false, "create the database file when it does not exist")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if *name == "" {
		fmt.Fprintln(stderr, "interop tenant create: --name is missing: the new tenant's name")
		fmt.Fprintln(stderr, tenantUsage)
		return exitError(2)
	}
	// A mistyped path would otherwise make a new file whose credentials no
	// running server knows.
	if p, ok := sqlitePath(*db); ok {
		if dir := filepath.Dir(p); !exists(dir) {
			return fmt.Errorf("database %s: the directory %s does not exist (create it, or choose a path in an existing one)", p, dir)
		}
	}
	if p, ok := sqlitePath(*db); ok && !*create {
		if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("database %s does not exist (a new file would hold only this tenant, served by no running server); pass --create to make it", p)
		}
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
