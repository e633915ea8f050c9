package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/interop-data/interop/pkg/contract"
	"github.com/interop-data/interop/pkg/drift"
	"github.com/interop-data/interop/pkg/har"
)

func init() {
	commands["check"] = command{
		summary: "check a HAR recording against the contract (the proxy's drift report, offline)",
		run:     runCheck,
	}
}

// runCheck writes the drift report of a HAR file: exit 0 when it was read
// (whatever it holds), 1 when it could not be, 2 for bad flags.
func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	reportFile := fs.String("report", "", "write the JSON report to this file instead of stdout")
	htmlFile := fs.String("html", "", "also write the report as an HTML page to this file")
	basePath := fs.String("base-path", contract.BasePath, "path under which the API is served")
	maxBody := fs.Int64("max-body", drift.DefaultMaxBody, "largest body checked; a larger one is counted 'too large'")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: interop check [--report FILE] [--html FILE] [--base-path PATH] [--max-body BYTES] FILE.har")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitError(0)
		}
		return exitError(2)
	}
	if fs.NArg() != 1 || *maxBody <= 0 {
		fmt.Fprintln(stderr, "interop check: want one HAR file (and a positive --max-body)")
		fs.Usage()
		return exitError(2)
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	rec, err := drift.NewRecorder(drift.WithBasePath(*basePath), drift.WithMaxBody(*maxBody))
	if err != nil {
		return err
	}
	n, err := rec.RecordHAR(f)
	if err != nil {
		var he *har.Error
		if errors.As(err, &he) {
			return fmt.Errorf("%s: %w", fs.Arg(0), err)
		}
		return err
	}
	rep := rec.Report()
	fmt.Fprintf(stderr, "interop check: %d entries; %s\n", n, rep)
	if *htmlFile != "" {
		hf, err := os.Create(*htmlFile)
		if err != nil {
			return err
		}
		if err := rep.WriteHTML(hf); err != nil {
			hf.Close()
			return err
		}
		if err := hf.Close(); err != nil {
			return err
		}
	}
	if *reportFile != "" {
		return rep.WriteFile(*reportFile)
	}
	return rep.WriteJSON(stdout)
}
