package client

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/interop-data/interop/gen/models"
	"github.com/interop-data/interop/internal/textcut"
)

// The executor: one leased batch, handled tenant by tenant, each tenant's
// tasks in sequence order, each acknowledgement handed to the completer as
// its task finishes.

func release(t *Task, why string) pending {
	return pending{t, models.TaskAckGroupItem{TaskID: t.ID, Status: models.Retry, Message: why}}
}

// process handles one batch, handing each acknowledgement to comp as its
// task finishes. It returns when every handler has returned or, after ctx
// ends, when the shutdown grace is over (hbase is cancelled). It reports
// whether any task was released for redelivery.
func (c *Consumer) process(ctx, hbase context.Context, leasedAt time.Time, tasks []*Task, comp *completer) bool {
	// Group by tenant, each group in sequence order.
	var order []uuid.UUID
	groups := make(map[uuid.UUID][]*Task)
	for _, t := range tasks {
		if t == nil {
			continue
		}
		if t.ID == uuid.Nil {
			c.logger.Error("interop: task without id cannot be acknowledged; skipped", "kind", t.Kind)
			continue
		}
		if _, ok := groups[t.TenantID]; !ok {
			order = append(order, t.TenantID)
		}
		groups[t.TenantID] = append(groups[t.TenantID], t)
	}

	// Past the lease the task may be handed to another worker: handlers
	// stop there.
	lctx, lcancel := withDeadline(c.clk, hbase, leasedAt.Add(c.lease))
	defer lcancel()
	var (
		released atomic.Bool
		wg       sync.WaitGroup
		sem      = make(chan struct{}, c.conc)
	)
	// Each task is claimed once: by its worker, which handles or releases
	// it, or, when the grace runs out, by the release of what is left.
	claimed := make(map[uuid.UUID]*atomic.Bool, len(tasks))
	for _, g := range groups {
		for _, t := range g {
			claimed[t.ID] = new(atomic.Bool)
		}
	}
	for _, tenant := range order {
		g := groups[tenant]
		slices.SortStableFunc(g, func(a, b *Task) int { return cmp.Compare(a.Sequence, b.Sequence) })
		wg.Add(1)
		go func() {
			defer wg.Done()
			stop := ""
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
				stop = "released: the consumer is shutting down"
			}
			for _, t := range g {
				if !claimed[t.ID].CompareAndSwap(false, true) {
					return // released by process after the grace
				}
				if stop == "" && ctx.Err() != nil {
					stop = "released: the consumer is shutting down"
				}
				if stop == "" && lctx.Err() != nil {
					// The lease is over: the rest of the group may be
					// leased elsewhere already and comes back anyway.
					c.logger.Warn("interop: lease over before the task was started; not handled", "task", t.ID)
					return
				}
				if stop != "" {
					released.Store(true)
					comp.add(release(t, stop))
					continue
				}
				a := c.handle(lctx, t)
				if a.Status == models.Error && lctx.Err() != nil {
					// The handler gave up because its context ended
					// (shutdown grace or lease over): not processed.
					a = release(t, "released: interrupted: "+a.Message).ack
				}
				comp.add(pending{t, a})
				if a.Status == models.Retry || a.Status == models.Reauthenticate {
					released.Store(true)
					// Keep the tenant's order: what follows a task that
					// goes back to the queue goes back too.
					stop = fmt.Sprintf("released: task %s (sequence %d) before it was not processed", t.ID, t.Sequence)
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-hbase.Done():
		// The grace is over and a handler has not returned: its task comes
		// back after the lease; the tasks not started are released now.
		n := 0
		for _, tenant := range order {
			for _, t := range groups[tenant] {
				if claimed[t.ID].CompareAndSwap(false, true) {
					released.Store(true)
					comp.add(release(t, "released: the consumer is shutting down"))
					n++
				}
			}
		}
		c.logger.Warn("interop: handlers still running after the shutdown grace; their tasks come back after the lease",
			"released", n)
	}
	return released.Load()
}

// handle runs the handler for one task and returns its acknowledgement. A
// panic in a handler is acknowledged as error, never a crash of the worker.
func (c *Consumer) handle(ctx context.Context, t *Task) (ack models.TaskAckGroupItem) {
	ack.TaskID = t.ID
	defer func() {
		if r := recover(); r != nil {
			c.logger.Error("interop: task handler panicked", "task", t.ID, "kind", t.Kind, "panic", r)
			ack.Status = models.Error
			ack.Message = truncate(fmt.Sprintf("handler panic: %v", r))
		}
	}()
	var err error
	switch {
	case t.Kind == KindLifecycle && t.LifecycleEvent != nil:
		err = c.h.OnLifecycle(ctx, t, t.LifecycleEvent)
	case t.Kind == KindSync && t.SyncEvent != nil:
		err = c.h.OnSync(ctx, t, t.SyncEvent)
	case t.Kind == KindData && t.DataEvent != nil:
		err = c.h.OnData(ctx, t, t.DataEvent)
	case t.Kind == KindAuthenticate && t.Authenticate != nil:
		err = c.h.OnAuthenticate(ctx, t, t.Authenticate)
	default:
		err = c.h.Fallback(ctx, t)
	}
	ack.SysAppID = t.appID
	var ae *ackError
	switch {
	case err == nil:
		ack.Status = models.Success
		ack.Message = truncate(t.message)
	case errors.As(err, &ae):
		ack.Status = ae.status
		if ae.err != nil {
			ack.Message = truncate(ae.err.Error())
		}
	default:
		ack.Status = models.Error
		ack.Message = truncate(err.Error())
	}
	return ack
}

// maxMessage is TaskAck.message's maxLength in the spec.
const maxMessage = 4096

// truncate cuts s to maxMessage bytes (so at most maxMessage characters)
// without splitting a character.
func truncate(s string) string { return textcut.Cut(s, maxMessage, "") }
