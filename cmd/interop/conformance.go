package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"time"

	"github.com/interop-data/interop/pkg/conformance"
)

func init() {
	commands["conformance"] = command{
		summary: "check any server against the contract (black-box, over HTTP)",
		run:     runConformance,
	}
}

// runConformance exits 0 only when no check failed; 1 when a check failed or
// the suite could not run; 2 for bad flags.
func runConformance(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("conformance", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("base-url", "", "base URL of the API under test, e.g. http://127.0.0.1:8080/v2/interop/data (required)")
	token := fs.String("token-url", "", "OAuth2 token endpoint (default: /oauth/token on the base URL's host)")
	id := fs.String("client-id", "", "OAuth2 client id of a tenant (required)")
	secret := fs.String("client-secret", "", "its client secret (required)")
	id2 := fs.String("client-id-2", "", "client id of a second, different tenant: enables the isolation checks")
	secret2 := fs.String("client-secret-2", "", "its client secret")
	asJSON := fs.Bool("json", false, "write the report as JSON")
	ltiTok := fs.String("lti-token", "", "an LTI JWT naming the first client's tenant only: the auth and isolation checks run with it too (the reference server mints one: interop tenant lti-token --tenant ID)")
	lease := durationFlag(fs, "lease-wait", 0, "the server's task lease; when given, the suite leases a task, waits that long (plus 10%) for the lease to expire and checks that the task is delivered again (0 skips the check)")
	timeout := durationFlag(fs, "timeout", 30*time.Second, "timeout of each HTTP request")
	junit := fs.String("junit", "", "also write the report as JUnit XML to this file (one testcase per check), for CI systems")
	html := fs.String("report", "", "also write the report as one self-contained HTML page to this file, each check with its evidence")
	only := fs.String("run", "", "run only the checks whose GROUP/NAME matches this regular expression (e.g. '^tasks/', 'group acknowledgement')")
	skip := fs.String("skip", "", "leave out the checks whose GROUP/NAME matches this regular expression")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: interop conformance --base-url URL [--token-url URL] --client-id ID --client-secret SECRET [--client-id-2 ID --client-secret-2 SECRET] [--lti-token JWT] [--lease-wait D] [--timeout D] [--run REGEXP] [--skip REGEXP] [--json] [--junit FILE] [--report FILE.html]")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if *base == "" || *id == "" || *secret == "" {
		fmt.Fprintln(stderr, "interop conformance: --base-url, --client-id and --client-secret are required")
		fs.Usage()
		return exitError(2)
	}
	if (*id2 == "") != (*secret2 == "") {
		fmt.Fprintln(stderr, "interop conformance: --client-id-2 and --client-secret-2 go together")
		return exitError(2)
	}
	cfg := conformance.Config{
		BaseURL:   *base,
		TokenURL:  *token,
		Clients:   []conformance.Credentials{{ClientID: *id, ClientSecret: *secret}},
		LeaseWait: *lease,
		Progress:  stderr,
		LTIToken:  *ltiTok,
		Run:       *only,
		Skip:      *skip,
	}
	for flag, expr := range map[string]string{"--run": *only, "--skip": *skip} {
		if _, err := regexp.Compile(expr); err != nil {
			fmt.Fprintf(stderr, "interop conformance: %s %q is not a regular expression: %v\n", flag, expr, err)
			return exitError(2)
		}
	}
	if *id2 != "" {
		cfg.Clients = append(cfg.Clients, conformance.Credentials{ClientID: *id2, ClientSecret: *secret2})
	}
	cfg.HTTPClient = &http.Client{Timeout: *timeout}
	rep, err := conformance.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if *asJSON {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.WriteText(stdout)
	}
	if err != nil {
		return err
	}
	for _, f := range []struct {
		path  string
		write func(io.Writer) error
	}{{*junit, rep.WriteJUnit}, {*html, rep.WriteHTML}} {
		if f.path != "" {
			if err := writeFile(f.path, f.write); err != nil {
				return err
			}
		}
	}
	if !rep.OK() {
		return exitError(1)
	}
	return nil
}

// writeFile writes a report to path, reporting the first error of writing
// or closing.
func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}
