package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/interop-data/interop/pkg/client"
	"github.com/interop-data/interop/pkg/listen"
)

func init() {
	commands["listen"] = command{
		summary: "deliver a tenant's task queue to an HTTP endpoint as signed webhooks (or as JSON lines)",
		run:     runListen,
	}
}

// runListen consumes the queue until ctx ends (SIGINT/SIGTERM), then
// drains: deliveries in flight finish, acknowledgements are flushed.
func runListen(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("listen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	forward := fs.String("forward-to", "", "POST each task's JSON to this URL and acknowledge it by the answer")
	jsonl := fs.Bool("jsonl", false, "print each task as a line of JSON on stdout instead (acknowledged once written)")
	base := fs.String("base-url", "", "base URL of the API, e.g. https://api.example.com/v2/interop/data (required)")
	token := fs.String("token-url", "", "OAuth2 token endpoint (default: /oauth/token on the base URL's host)")
	id := fs.String("client-id", "", "OAuth2 client id of the tenant (required)")
	secret := fs.String("client-secret", "", "its client secret (required; default $INTEROP_CLIENT_SECRET)")
	hook := fs.String("secret", "", "shared secret signing each delivery (Interop-Signature; default $INTEROP_WEBHOOK_SECRET; none: unsigned)")
	conc := fs.Int("concurrency", 4, "tenants whose tasks are delivered at the same time (one tenant's always one after the other)")
	timeout := fs.Duration("timeout", 30*time.Second, "time allowed to one delivery attempt, answer included")
	batch := fs.Int("batch-size", 100, "most tasks leased per poll")
	schema := fs.String("task-schema", "", "task rendering to ask for: 2.0.0 (default of the server) or 3.0.0")
	grace := fs.Duration("grace", 10*time.Second, "on stop, how long deliveries in flight may still take")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: interop listen (--forward-to URL [--secret S] | --jsonl) --base-url URL [--token-url URL] --client-id ID --client-secret SECRET [--concurrency N] [--timeout D] [--batch-size N] [--task-schema V] [--grace D]")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if *secret == "" {
		*secret = os.Getenv("INTEROP_CLIENT_SECRET")
	}
	if *hook == "" {
		*hook = os.Getenv("INTEROP_WEBHOOK_SECRET")
	}
	if (*forward == "") == !*jsonl {
		fmt.Fprintln(stderr, "interop listen: give --forward-to URL or --jsonl (one of them)")
		fs.Usage()
		return exitError(2)
	}
	if *base == "" || *id == "" || *secret == "" || *conc <= 0 || *timeout <= 0 || *batch <= 0 || *grace < 0 {
		fmt.Fprintln(stderr, "interop listen: --base-url, --client-id and --client-secret are required; --concurrency, --timeout and --batch-size must be positive")
		fs.Usage()
		return exitError(2)
	}
	if *token == "" {
		if u, err := url.Parse(*base); err == nil {
			*token = (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/oauth/token"}).String()
		}
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	c, err := client.New(*base, client.WithClientCredentials(*id, *secret, *token), client.WithLogger(logger))
	if err != nil {
		fmt.Fprintf(stderr, "interop listen: %v\n", err)
		return exitError(2)
	}
	var d listen.Deliverer
	if *jsonl {
		d = listen.NewJSONLines(stdout)
	} else {
		opts := []listen.Option{listen.WithTimeout(*timeout), listen.WithLogger(logger)}
		if *hook != "" {
			opts = append(opts, listen.WithSecret([]byte(*hook)))
		}
		f, err := listen.NewForwarder(*forward, opts...)
		if err != nil {
			fmt.Fprintf(stderr, "interop listen: %v\n", err)
			return exitError(2)
		}
		d = f
		fmt.Fprintf(stderr, "interop listen: delivering the tasks of %s to %s (signed: %v)\n", *base, strings.SplitN(*forward, "?", 2)[0], *hook != "")
	}
	copts := []client.ConsumerOption{client.WithConcurrency(*conc), client.WithBatchSize(*batch), client.WithShutdownGrace(*grace),
		client.WithConsumerLogger(logger)}
	if *schema != "" {
		copts = append(copts, client.WithTaskSchema(*schema))
	}
	if err := listen.Run(ctx, c, d, copts...); err != nil {
		return err
	}
	fmt.Fprintln(stderr, "interop listen: stopped")
	return nil
}
