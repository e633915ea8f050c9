package client

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/interop-data/interop/gen/models"
)

// pending is an acknowledgement the completer has not delivered yet.
type pending struct {
	task *Task
	ack  models.TaskAckGroupItem
}

// maxGroup is TaskAckGroup's maxItems in the spec.
const maxGroup = 2000

// maxGroupBytes bounds the encoded size of one group acknowledgement: the
// spec's body limit (info.x-request-body-limit) less room for the array's
// punctuation. 2000 acknowledgements with long messages do not fit in one
// body; a group cut by count alone would be refused with a 413 and then sent
// one task at a time.
const maxGroupBytes = 2<<20 - 4<<10

// encodedSize is at least the bytes an acknowledgement the consumer builds
// (task id, status, message, app id) takes in a group's JSON: encoding/json
// escapes <, > and & as six bytes, as it does control characters, invalid
// UTF-8 and U+2028/U+2029.
func encodedSize(a models.TaskAckGroupItem) int {
	return 128 + len(a.Status) + jsonStringSize(a.Message) + jsonStringSize(a.SysAppID)
}

func jsonStringSize(s string) int {
	n := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r < 0x20 || r == '<' || r == '>' || r == '&' || r == '\u2028' || r == '\u2029' || (r == utf8.RuneError && size == 1):
			n += 6
		case r == '"' || r == '\\':
			n += 2
		default:
			n += size
		}
		i += size
	}
	return n
}

// errNotDelivered is the AckResult error of an acknowledgement still
// undelivered when Run returned.
var errNotDelivered = errors.New("interop: acknowledgement not delivered before the consumer stopped")

// completer queues acknowledgements and sends them in groups, keeping those
// the server did not receive and sending them again with growing pauses.
// It knows nothing of the consumer but the functions it is given, so its
// tests drive it directly.
type completer struct {
	size   int           // a flush is wanted once this many wait
	every  time.Duration // and at this interval
	send   func(ctx context.Context, batch []pending) (again []pending)
	report func(p pending, err error)
	pause  func(fails int) time.Duration // before sending again after fails failures in a row
	clk    clock
	logger *slog.Logger

	kick chan struct{} // capacity 1: a flush is wanted

	mu       sync.Mutex
	queue    []pending // not sent yet, or to send again
	inflight int
	changed  chan struct{} // closed on every change of queue or inflight
	closed   bool
}

func (c *Consumer) newCompleter() *completer {
	return &completer{
		size: c.ackSize, every: c.ackEvery, send: c.send, report: c.report, pause: c.idle,
		clk: c.clk, logger: c.logger,
		kick: make(chan struct{}, 1), changed: make(chan struct{}),
	}
}

// add queues p; after abandon it reports p as not delivered.
func (k *completer) add(p pending) {
	k.mu.Lock()
	if k.closed {
		k.mu.Unlock()
		k.report(p, errNotDelivered)
		return
	}
	k.queue = append(k.queue, p)
	n := len(k.queue)
	k.mu.Unlock()
	if n >= k.size {
		k.poke()
	}
}

func (k *completer) poke() {
	select {
	case k.kick <- struct{}{}:
	default:
	}
}

// signal wakes the waiters of drain; k.mu is held.
func (k *completer) signal() {
	close(k.changed)
	k.changed = make(chan struct{})
}

// take moves the next group off the queue: at most maxGroup items and at
// most maxGroupBytes of JSON, but always at least one.
func (k *completer) take() []pending {
	k.mu.Lock()
	defer k.mu.Unlock()
	n, size := 0, 0
	for n < min(len(k.queue), maxGroup) {
		size += encodedSize(k.queue[n].ack)
		if n > 0 && size > maxGroupBytes {
			break
		}
		n++
	}
	batch := slices.Clone(k.queue[:n])
	k.queue = k.queue[n:]
	k.inflight += n
	if n > 0 {
		k.signal()
	}
	return batch
}

// settle records the outcome of a group of sent items: again goes back to
// the head of the queue, ahead of what was added meanwhile.
func (k *completer) settle(sent int, again []pending) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.inflight -= sent
	k.queue = append(again, k.queue...)
	k.signal()
}

// drain flushes and waits until every queued acknowledgement was delivered
// (or given up), or ctx ends; it reports whether it got there.
func (k *completer) drain(ctx context.Context) bool {
	for {
		k.mu.Lock()
		if len(k.queue) == 0 && k.inflight == 0 {
			k.mu.Unlock()
			return true
		}
		ch := k.changed
		k.mu.Unlock()
		k.poke()
		select {
		case <-ch:
		case <-ctx.Done():
			return false
		}
	}
}

// run sends acknowledgements until ctx ends: when poked (size reached, a
// drain) or every k.every.
func (k *completer) run(ctx context.Context) {
	tick, stop := k.clk.NewTicker(k.every)
	defer stop()
	fails := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-k.kick:
		case <-tick:
		}
		for ctx.Err() == nil {
			batch := k.take()
			if len(batch) == 0 {
				break
			}
			again := k.send(ctx, batch)
			k.settle(len(batch), again)
			if len(again) == 0 {
				fails = 0
				continue
			}
			fails++
			pause := k.pause(fails)
			k.logger.Warn("interop: acknowledgements not delivered; kept, sent again after a pause",
				"count", len(again), "attempt", fails, "pause", pause)
			if k.clk.Sleep(ctx, pause) != nil {
				return
			}
		}
	}
}

// abandon reports what is still queued once run has stopped; what is added
// later is reported at once.
func (k *completer) abandon() {
	k.mu.Lock()
	left := k.queue
	k.queue, k.closed = nil, true
	k.signal()
	k.mu.Unlock()
	for _, p := range left {
		k.report(p, errNotDelivered)
	}
}

// refused reports an acknowledgement error that sending again cannot cure.
func refused(err error) bool {
	return errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) || errors.Is(err, ErrBadRequest) ||
		errors.Is(err, ErrUnauthorized) || errors.Is(err, ErrForbidden) || errors.Is(err, ErrContractViolation)
}

// send sends one group and returns the acknowledgements to send again. A
// group is all or nothing, so when the server refuses one (a task deleted
// meanwhile answers 404, a task acknowledged otherwise 409) its tasks are
// acknowledged one by one so the others still get through.
func (c *Consumer) send(ctx context.Context, batch []pending) (again []pending) {
	items := make([]models.TaskAckGroupItem, len(batch))
	for i, p := range batch {
		items[i] = p.ack
	}
	_, err := c.c.AcknowledgeTasks(ctx, items)
	switch {
	case err == nil:
		for _, p := range batch {
			c.report(p, nil)
		}
		return nil
	case errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) || errors.Is(err, ErrBadRequest):
		for _, p := range batch {
			ack := models.TaskAck{Status: p.ack.Status, Message: p.ack.Message, SysAppID: p.ack.SysAppID}
			_, err := c.c.AcknowledgeTask(ctx, p.task.ID, ack)
			if err != nil && !refused(err) {
				again = append(again, p)
				continue
			}
			c.report(p, err)
		}
		return again
	case refused(err):
		for _, p := range batch {
			c.report(p, err)
		}
		return nil
	}
	return batch
}

func (c *Consumer) report(p pending, err error) {
	if err != nil {
		c.logger.Error("interop: acknowledging task failed; it will be delivered again after its lease",
			"task", p.task.ID, "status", p.ack.Status, "error", err)
	}
	if c.observe != nil {
		c.observe(AckResult{Task: p.task, Ack: p.ack, Err: err})
	}
}
