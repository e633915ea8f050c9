package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/interop-data/interop/pkg/contract"
	"github.com/interop-data/interop/pkg/drift"
	"github.com/interop-data/interop/pkg/proxy"
)

func init() {
	commands["proxy"] = command{
		summary: "check a live deployment's traffic against the contract (a reverse proxy that reports drift)",
		run:     runProxy,
	}
}

// runProxy forwards to the upstream until ctx ends (SIGINT/SIGTERM), then
// drains, checks what is in flight and writes the report.
func runProxy(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	upstream := fs.String("upstream", "", "root URL of the deployment, e.g. https://datasync.example.com (required)")
	addr := fs.String("addr", "127.0.0.1:8090", "address to listen on")
	reportFile := fs.String("report", "", "write the drift report (JSON) to this file when stopped")
	basePath := fs.String("base-path", contract.BasePath, "path under which the API is served")
	maxBody := fs.Int64("max-body", drift.DefaultMaxBody, "bytes of each body kept for checking; a larger one is forwarded whole and counted 'too large'")
	timeout := fs.Duration("timeout", 60*time.Second, "how long the upstream may take to start answering (then: 504)")
	checkers := fs.Int("checkers", 16, "exchanges checked at the same time; past that one is counted 'not checked: busy'")
	xfwd := fs.Bool("x-forwarded", false, "add X-Forwarded-For/-Host/-Proto, so that an upstream honouring them links pages through the proxy")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: interop proxy --upstream URL [--addr HOST:PORT] [--report FILE] [--base-path PATH] [--max-body BYTES] [--timeout D] [--checkers N] [--x-forwarded]")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if *upstream == "" || *maxBody <= 0 || *timeout <= 0 || *checkers <= 0 {
		fmt.Fprintln(stderr, "interop proxy: --upstream is required; --max-body, --timeout and --checkers must be positive")
		fs.Usage()
		return exitError(2)
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	rec, err := drift.NewRecorder(drift.WithBasePath(*basePath), drift.WithMaxBody(*maxBody), drift.WithLogger(logger))
	if err != nil {
		return err
	}
	opts := []proxy.Option{proxy.WithMaxBody(*maxBody), proxy.WithTimeout(*timeout), proxy.WithLogger(logger), proxy.WithCheckers(*checkers)}
	if *xfwd {
		opts = append(opts, proxy.WithXForwarded())
	}
	p, err := proxy.New(*upstream, rec, opts...)
	if err != nil {
		fmt.Fprintf(stderr, "interop proxy: %v\n", err)
		return exitError(2)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	srv := &http.Server{Handler: p, ReadHeaderTimeout: 30 * time.Second}
	fmt.Fprintf(stdout, "interop proxy: forwarding http://%s to %s\n", ln.Addr(), *upstream)
	fmt.Fprintf(stdout, "  base URL: http://%s%s\n", ln.Addr(), *basePath)
	fmt.Fprintf(stdout, "  report:   http://%s%s\n", ln.Addr(), proxy.ReportPath)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	p.Wait()
	rep := rec.Report()
	fmt.Fprintf(stderr, "interop proxy: %s\n", rep)
	if *reportFile != "" {
		if err := rep.WriteFile(*reportFile); err != nil {
			return fmt.Errorf("write the report: %w", err)
		}
		fmt.Fprintf(stderr, "interop proxy: report written to %s\n", *reportFile)
	}
	return nil
}
