// Command task-worker consumes the task queue and logs each task. It shows
// the shape of an integration: typed handlers whose results become the
// acknowledgements, and a clean shutdown on Ctrl-C or SIGTERM that finishes
// the task in hand and acknowledges everything it handled.
//
// It reads INTEROP_URL, INTEROP_CLIENT_ID, INTEROP_CLIENT_SECRET and
// INTEROP_TOKEN_URL, whose defaults match make run (task-worker -h):
//
//	make run &
//	go run ./examples/task-worker
package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/interop-data/interop/examples/internal/exampleenv"
	"github.com/interop-data/interop/gen/models"
	"github.com/interop-data/interop/pkg/client"
)

func main() {
	exampleenv.Parse("task-worker", "Consumes the task queue and logs each task until Ctrl-C or SIGTERM, then\nacknowledges everything it handled and exits.")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	err := run(ctx, logger)
	stop()
	if err != nil {
		logger.Error("worker stopped", "error", exampleenv.Explain(err))
		os.Exit(1)
	}
	logger.Info("worker stopped cleanly")
}

func run(ctx context.Context, logger *slog.Logger) error {
	c, err := exampleenv.Client(client.WithLogger(logger))
	if err != nil {
		return err
	}
	return work(ctx, c, logger)
}

// work consumes c's queue until ctx ends, then returns nil once the task in
// hand is handled and every handled task acknowledged. It returns an error
// only when the server refuses the credentials. opts are for tests.
func work(ctx context.Context, c *client.Client, logger *slog.Logger, opts ...client.ConsumerOption) error {
	h := client.HandlerFuncs{
		Lifecycle: func(ctx context.Context, t *client.Task, e *models.LifecycleEvent) error {
			logger.Info("lifecycle", "tenant", t.TenantID, "action", e.Action)
			return nil
		},
		Sync: func(ctx context.Context, t *client.Task, e *models.SyncEvent) error {
			logger.Info("sync", "tenant", t.TenantID, "action", e.Action, "origin", e.Origin)
			return nil
		},
		Data: func(ctx context.Context, t *client.Task, e *models.DataEvent) error {
			// A real handler upserts by object id so that a redelivered
			// task (delivery is at least once) changes nothing.
			if e.ObjectID == "" {
				return errors.New("data event without object_id")
			}
			logger.Info("data", "tenant", t.TenantID, "seq", t.Sequence, "action", e.Action, "type", e.ObjectType, "object", e.ObjectID)
			t.SetAppID(e.ObjectID)
			return nil
		},
		Authenticate: func(ctx context.Context, t *client.Task, e *models.Authenticate) error {
			// The spec: acknowledge with reauthenticate until the tenant's
			// application has authenticated again.
			return client.Reauthenticate(errors.New("waiting for the tenant to authorise the application"))
		},
	}
	all := append([]client.ConsumerOption{client.WithBatchSize(100), client.WithConsumerLogger(logger),
		client.WithAckObserver(func(r client.AckResult) {
			if r.Err != nil {
				logger.Warn("ack failed", "task", r.Task.ID, "error", r.Err)
			}
		})}, opts...)
	return client.NewConsumer(c, h, all...).Run(ctx)
}
