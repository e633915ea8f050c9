// Command interop serves, inspects and tests Interop Data API servers.
//
//	interop serve        run the reference server
//	interop tenant       manage tenants of a reference server's database
//	interop conformance  check any server against the contract
//	interop load         load a OneRoster 1.1 CSV export into a tenant
//	interop proxy        check a live deployment's traffic against the contract
//	interop check        check a HAR recording against the contract
//	interop listen       deliver the task queue to an HTTP endpoint as webhooks
//	interop version      print the release, module version and VCS revision
//
// Each subcommand lives in its own file and registers itself in commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// command is one subcommand: it parses its own flags from args and writes to
// stdout and stderr. A returned error is printed and exits with status 1; an
// exitError carries its own status.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands = map[string]command{}

// exitError ends the program with a status but no extra message;
// exitError(0) ends a command early with success (after -h).
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "interop: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	if err := cmd.run(ctx, args[1:], stdout, stderr); err != nil {
		if code, ok := err.(exitError); ok {
			return int(code)
		}
		fmt.Fprintf(stderr, "interop %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: interop <command> [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-12s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'interop <command> -h' for a command's flags.")
}

// parseFlags parses a command's args into fs. -h ends the command with
// success, a bad flag or a positional argument with status 2; fs's own
// output (the usage) goes to its configured writer.
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitError(0)
		}
		return exitError(2)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "interop %s: unexpected arguments %v\n", fs.Name(), fs.Args())
		return exitError(2)
	}
	return nil
}
