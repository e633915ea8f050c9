// Command check-breaking is `make check-breaking`: it compares
// api/openapi.yaml with the spec last released and exits 1 when a breaking
// change is not recorded in CHANGELOG.md. See package internal/breaking for
// the rules.
//
//	go run ./internal/cmd/check-breaking [-base REF] [-C DIR]
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/interop-data/interop/internal/breaking"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check-breaking", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("base", "", "git ref to compare with (default: the newest v* tag, else "+breaking.BaselinePath+")")
	dir := fs.String("C", ".", "the repository's root")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	old, from, err := breaking.Base(*dir, *base)
	if err != nil {
		fmt.Fprintln(stderr, "check-breaking:", err)
		return 1
	}
	spec, err := os.ReadFile(filepath.Join(*dir, breaking.SpecPath))
	if err != nil {
		fmt.Fprintln(stderr, "check-breaking:", err)
		return 1
	}
	changelog, err := os.ReadFile(filepath.Join(*dir, breaking.ChangelogPath))
	if err != nil {
		fmt.Fprintln(stderr, "check-breaking:", err)
		return 1
	}
	changes, err := breaking.Check(old, spec, changelog)
	fmt.Fprintf(stdout, "check-breaking: %s against %s\n", breaking.SpecPath, from)
	for _, c := range changes {
		mark := "warning "
		if c.Breaking {
			mark = "BREAKING"
			if c.Recorded {
				mark = "breaking (recorded)"
			}
		}
		fmt.Fprintf(stdout, "  %s %s\n", mark, c)
	}
	if err != nil {
		fmt.Fprintln(stderr, "check-breaking:", err)
		return 1
	}
	fmt.Fprintf(stdout, "check-breaking: %d change(s) reported, no unrecorded breaking change\n", len(changes))
	return 0
}
