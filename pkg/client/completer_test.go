package client

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/interop-data/interop/gen/models"
	"github.com/interop-data/interop/internal/fakeclock"
)

// testCompleter is a completer whose sends go to send and whose reports
// are recorded; its clock is fake.
type testCompleter struct {
	*completer
	clk *fakeclock.Clock

	mu       sync.Mutex
	reported map[uuid.UUID]error
	groups   [][]pending
}

func newTestCompleter(size int, send func(batch []pending) []pending) *testCompleter {
	tc := &testCompleter{clk: fakeclock.New(time.Unix(0, 0)), reported: map[uuid.UUID]error{}}
	tc.completer = &completer{
		size: size, every: time.Second, clk: tc.clk, logger: slog.New(slog.DiscardHandler),
		pause: func(n int) time.Duration { return time.Duration(n) * time.Second },
		send: func(_ context.Context, batch []pending) []pending {
			tc.mu.Lock()
			tc.groups = append(tc.groups, batch)
			tc.mu.Unlock()
			return send(batch)
		},
		report: func(p pending, err error) {
			tc.mu.Lock()
			tc.reported[p.task.ID] = err
			tc.mu.Unlock()
		},
		kick: make(chan struct{}, 1), changed: make(chan struct{}),
	}
	return tc
}

func ackOf(msg string) pending {
	t := &Task{ID: uuid.New()}
	return pending{task: t, ack: models.TaskAckGroupItem{TaskID: t.ID, Status: models.Success, Message: msg}}
}

func TestCompleterTakeCutsByCountAndBytes(t *testing.T) {
	k := newTestCompleter(1, nil)
	for range maxGroup + 5 {
		k.add(ackOf("ok"))
	}
	if got := len(k.take()); got != maxGroup {
		t.Fatalf("first group %d items, want maxGroup %d", got, maxGroup)
	}
	if got := len(k.take()); got != 5 {
		t.Fatalf("second group %d items, want 5", got)
	}
	if got := k.take(); len(got) != 0 {
		t.Fatalf("empty queue gave %d", len(got))
	}
	if k.inflight != maxGroup+5 {
		t.Fatalf("inflight %d", k.inflight)
	}

	// The byte cut: messages of the spec's maximum make a group end before
	// maxGroupBytes, and the group's estimate stays under it.
	k = newTestCompleter(1, nil)
	long := strings.Repeat("<", maxMessage) // 6 bytes each once escaped
	for range 100 {
		k.add(ackOf(long))
	}
	g := k.take()
	per := encodedSize(g[0].ack)
	if want := maxGroupBytes / per; len(g) != want {
		t.Fatalf("byte cut at %d items of %d bytes, want %d", len(g), per, want)
	}
	// One item larger than the budget still goes out alone: never an
	// empty group that would stall the queue.
	k = newTestCompleter(1, nil)
	big := ackOf(strings.Repeat("<", maxGroupBytes))
	k.add(big)
	k.add(ackOf("next"))
	if g := k.take(); len(g) != 1 || g[0].task != big.task {
		t.Fatalf("oversized item: group of %d", len(g))
	}
}

func TestCompleterSettlePutsFailuresFirst(t *testing.T) {
	k := newTestCompleter(100, nil)
	a, b, c := ackOf("a"), ackOf("b"), ackOf("c")
	k.add(a)
	k.add(b)
	g := k.take()
	k.add(c) // arrives while a and b are in flight
	k.settle(len(g), g[1:])
	if k.inflight != 0 || len(k.queue) != 2 || k.queue[0].task != b.task || k.queue[1].task != c.task {
		t.Fatalf("after settle: inflight %d, queue %v", k.inflight, k.queue)
	}
}

func TestCompleterDrainWaitsForDeliveryAndRetriesWithPauses(t *testing.T) {
	fails := 2
	var sent []pending
	var mu sync.Mutex
	k := newTestCompleter(100, func(batch []pending) []pending {
		mu.Lock()
		defer mu.Unlock()
		if fails > 0 {
			fails--
			return batch // not delivered: kept
		}
		sent = append(sent, batch...)
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); k.run(ctx) }()
	a, b := ackOf("a"), ackOf("b")
	k.add(a)
	k.add(b)
	start := k.clk.Now()
	if !k.drain(ctx) {
		t.Fatal("drain gave up")
	}
	mu.Lock()
	n := len(sent)
	mu.Unlock()
	if n != 2 || len(k.groups) != 3 {
		t.Fatalf("delivered %d in %d sends, want 2 in 3", n, len(k.groups))
	}
	// Two failures in a row: pauses of 1s and 2s on the fake clock.
	if d := k.clk.Now().Sub(start); d != 3*time.Second {
		t.Fatalf("paused %v in all, want 3s", d)
	}
	cancel()
	<-done

	// A drain with nothing queued returns at once; with a dead context and
	// work left it reports false.
	if !k.drain(context.Background()) {
		t.Fatal("empty drain")
	}
	k.add(ackOf("left"))
	if k.drain(ctx) {
		t.Fatal("drain reported success with a queued item and no sender")
	}
}

func TestCompleterFlushesBySizeAndTicker(t *testing.T) {
	got := make(chan int, 10)
	k := newTestCompleter(3, func(batch []pending) []pending { got <- len(batch); return nil })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go k.run(ctx)
	for range 3 {
		k.add(ackOf("x"))
	}
	if n := <-got; n != 3 {
		t.Fatalf("size flush sent %d", n)
	}
	k.add(ackOf("y")) // below the size: waits for the ticker (armed: run has sent)
	select {
	case n := <-got:
		t.Fatalf("sent %d before the interval", n)
	default:
	}
	k.clk.Advance(time.Second)
	if n := <-got; n != 1 {
		t.Fatalf("ticker flush sent %d", n)
	}
}

func TestCompleterAbandonReportsTheRest(t *testing.T) {
	k := newTestCompleter(100, nil)
	a, b := ackOf("a"), ackOf("b")
	k.add(a)
	k.abandon()
	k.add(b) // after Run: reported at once, never queued
	for _, p := range []pending{a, b} {
		if err := k.reported[p.task.ID]; !errors.Is(err, errNotDelivered) {
			t.Fatalf("%s reported %v", p.ack.Message, err)
		}
	}
	if len(k.queue) != 0 || !k.drain(context.Background()) {
		t.Fatal("abandoned completer still holds work")
	}
}
