package main

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/interop-data/interop/internal/syncbuf"
	"github.com/interop-data/interop/pkg/client"
	"github.com/interop-data/interop/pkg/reference/referencetest"
)

// syncBuffer is a log and output sink safe for the goroutines a test starts.
type syncBuffer = syncbuf.Buffer

// TestWorkDrainsAndStopsCleanly runs the worker against the reference
// server until every task queued has been acknowledged, then stops it: it
// returns nil and leaves no task unacknowledged.
func TestWorkDrainsAndStopsCleanly(t *testing.T) {
	env := referencetest.Start(t, referencetest.WithTenants(1))
	tn := env.Tenants[0]
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	c, err := client.New(env.URL, client.WithClientCredentials(tn.ClientID, tn.ClientSecret, env.TokenURL), client.WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	queued, err := client.Collect(c.AdminTasks(context.Background(), nil))
	if err != nil || len(queued) == 0 {
		t.Fatalf("%d tasks queued, %v", len(queued), err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var acked atomic.Int32
	done := make(chan error, 1)
	go func() {
		done <- work(ctx, c, logger, client.WithAckObserver(func(r client.AckResult) {
			if r.Err != nil {
				logger.Warn("ack failed", "task", r.Task.ID, "error", r.Err)
			}
			if int(acked.Add(1)) == len(queued) {
				cancel() // every task acknowledged: stop, as Ctrl-C would
			}
		}))
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("work: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the worker did not stop")
	}
	left, err := client.Collect(c.AdminTasks(context.Background(), nil))
	if err != nil || len(left) != 0 {
		t.Fatalf("%d tasks left, %v", len(left), err)
	}
	out := logs.String()
	for _, want := range []string{"action=TENANT_INSTALLED", "msg=sync", "msg=data"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	if strings.Contains(out, "ack failed") || strings.Contains(out, "level=ERROR") {
		t.Errorf("errors logged:\n%s", out)
	}
}
