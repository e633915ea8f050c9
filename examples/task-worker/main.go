// Command task-worker consumes the task queue and logs each task. It shows
// the shape of an integration: typed handlers whose results become the
// acknowledgements, and a clean shutdown on Ctrl-C that acknowledges
// everything it handled.
//
//	INTEROP_URL=http://localhost:8080/v2/interop/data \
//	INTEROP_CLIENT_ID=demo INTEROP_CLIENT_SECRET=demo-secret \
//	go run ./examples/task-worker
package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/interop-data/interop/gen"
	"github.com/interop-data/interop/pkg/client"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))

	c, err := client.New(env("INTEROP_URL", "http://localhost:8080/v2/interop/data"),
		client.WithClientCredentials(env("INTEROP_CLIENT_ID", "demo"), env("INTEROP_CLIENT_SECRET", "demo-secret"), os.Getenv("INTEROP_TOKEN_URL")),
		client.WithLogger(logger))
	if err != nil {
		logger.Error("client", "error", err)
		os.Exit(1)
	}

	h := client.HandlerFuncs{
		Lifecycle: func(ctx context.Context, t *client.Task, e *gen.LifecycleEvent) error {
			logger.Info("lifecycle", "tenant", t.TenantID, "action", e.Action)
			return nil
		},
		Sync: func(ctx context.Context, t *client.Task, e *gen.SyncEvent) error {
			logger.Info("sync", "tenant", t.TenantID, "action", e.Action, "origin", deref(e.Origin))
			return nil
		},
		Data: func(ctx context.Context, t *client.Task, e *gen.DataEvent) error {
			// A real handler upserts by object id so that a redelivered
			// task (delivery is at least once) changes nothing.
			if e.ObjectId == nil {
				return errors.New("data event without object_id")
			}
			logger.Info("data", "tenant", t.TenantID, "seq", t.Sequence, "action", e.Action, "type", deref(e.ObjectType), "object", *e.ObjectId)
			t.SetAppID(*e.ObjectId)
			return nil
		},
		Authenticate: func(ctx context.Context, t *client.Task, e *gen.Authenticate) error {
			// Until the tenant's application is authenticated again, say so.
			return client.Reauthenticate(errors.New("waiting for the tenant to authorise the application"))
		},
	}
	cons := client.NewConsumer(c, h, client.WithBatchSize(100), client.WithConsumerLogger(logger),
		client.WithAckObserver(func(r client.AckResult) {
			if r.Err != nil {
				logger.Warn("ack failed", "task", r.Task.ID, "error", r.Err)
			}
		}))
	if err := cons.Run(ctx); err != nil {
		logger.Error("worker stopped", "error", err)
		os.Exit(1)
	}
	logger.Info("worker stopped cleanly")
}

func env(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
