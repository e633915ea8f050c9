package client

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/interop-data/interop/gen/models"
	"github.com/interop-data/interop/pkg/contract"
)

// runUntil runs the consumer until stop reports true after an ack, then
// cancels it and returns Run's result.
func runUntil(t *testing.T, c *Client, h Handler, stop func(AckResult) bool, opts ...ConsumerOption) error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := &fakeSleep{}
	all := append([]ConsumerOption{
		withConsumerSleep(func(ctx context.Context, d time.Duration) error {
			runtime.Gosched()
			return s.sleep(ctx, d)
		}),
		WithAckObserver(func(r AckResult) {
			if stop(r) {
				cancel()
			}
		}),
	}, opts...)
	done := make(chan error, 1)
	go func() { done <- newConsumer(t, c, h, all...).Run(ctx) }()
	select {
	case err := <-done:
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("consumer did not stop")
		return nil
	}
}

func TestConsumerHandlesAndAcksEveryTaskOnce(t *testing.T) {
	f := newFakeAPI(t)
	q := newFakeQueue(f)
	q.newestFirst = true
	tenants := []uuid.UUID{uuid.New(), uuid.New(), uuid.New()}
	kinds := []string{KindLifecycle, KindSync, KindData, KindAuthenticate, "roster_event", KindGradesQuery}
	total := 0
	for i := range 8 {
		for _, tn := range tenants {
			q.add(tn, kinds[(i+total)%len(kinds)], nil)
			total++
		}
	}
	c := f.client(t, nil)

	var mu sync.Mutex
	order := map[uuid.UUID][]int64{}
	var running, maxRunning atomic.Int32
	record := func(tk *Task) error {
		n := running.Add(1)
		defer running.Add(-1)
		for m := maxRunning.Load(); n > m && !maxRunning.CompareAndSwap(m, n); m = maxRunning.Load() {
		}
		mu.Lock()
		order[tk.TenantID] = append(order[tk.TenantID], tk.Sequence)
		mu.Unlock()
		tk.SetAppID("app-" + tk.ID.String()[:4])
		return nil
	}
	h := HandlerFuncs{
		Lifecycle:    func(_ context.Context, tk *Task, _ *models.LifecycleEvent) error { return record(tk) },
		Sync:         func(_ context.Context, tk *Task, _ *models.SyncEvent) error { return record(tk) },
		Data:         func(_ context.Context, tk *Task, _ *models.DataEvent) error { return record(tk) },
		Authenticate: func(_ context.Context, tk *Task, _ *models.Authenticate) error { return record(tk) },
		Default:      func(_ context.Context, tk *Task) error { return record(tk) },
	}
	var acked atomic.Int32
	err := runUntil(t, c, h, func(r AckResult) bool {
		if r.Err != nil {
			t.Errorf("ack failed: %v", r.Err)
		}
		return int(acked.Add(1)) == total
	}, WithBatchSize(10), WithConcurrency(3))
	if err != nil {
		t.Fatal(err)
	}
	acks := q.snapshot()
	if len(acks) != total {
		t.Fatalf("%d of %d tasks acknowledged", len(acks), total)
	}
	for id, a := range acks {
		if len(a) != 1 || a[0].Status != "success" || !strings.HasPrefix(a[0].AppID, "app-") {
			t.Fatalf("task %s acks %+v", id, a)
		}
	}
	for tn, seqs := range order {
		for i := 1; i < len(seqs); i++ {
			if seqs[i] <= seqs[i-1] {
				t.Fatalf("tenant %s handled out of order: %v", tn, seqs)
			}
		}
	}
	if q.groupAcks >= total {
		t.Fatalf("acknowledgements were not batched: %d requests for %d tasks", q.groupAcks, total)
	}
	if maxRunning.Load() > 3 {
		t.Fatalf("%d handlers ran at once with concurrency 3", maxRunning.Load())
	}
}

func TestConsumerAckStatuses(t *testing.T) {
	f := newFakeAPI(t)
	q := newFakeQueue(f)
	tn := uuid.New()
	ids := map[string]uuid.UUID{}
	for _, name := range []string{"ok", "fail", "panic", "unknown", "retry", "after-retry"} {
		kind := KindData
		if name == "unknown" {
			kind = "future_event"
		}
		ids[name] = q.add(tn, kind, map[string]any{"label": name})
	}
	other := q.add(uuid.New(), KindData, map[string]any{"label": "reauth"})
	c := f.client(t, nil)

	var retried atomic.Bool
	var mu sync.Mutex
	var seen []string
	h := HandlerFuncs{Default: Ignore, Data: func(_ context.Context, tk *Task, e *models.DataEvent) error {
		if tk.TenantID == tn {
			mu.Lock()
			seen = append(seen, e.Label)
			mu.Unlock()
		}
		switch e.Label {
		case "fail":
			return errors.New("student has no school")
		case "panic":
			panic("boom")
		case "retry":
			if retried.CompareAndSwap(false, true) {
				return Retry(errors.New("database busy"))
			}
		case "reauth":
			return Reauthenticate(nil)
		}
		tk.SetMessage("done " + e.Label)
		return nil
	}}
	err := runUntil(t, c, h, func(AckResult) bool {
		a := q.snapshot()
		return len(a[ids["after-retry"]]) == 2
	}, WithIdleBackoff(time.Millisecond, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	acks := q.snapshot()
	want := map[uuid.UUID][]ackRecord{
		ids["ok"]:          {{"success", "done ok", ""}},
		ids["fail"]:        {{"error", "student has no school", ""}},
		ids["panic"]:       {{"error", "handler panic: boom", ""}},
		ids["unknown"]:     {{"success", "not handled: this integration ignores future_event tasks", ""}},
		ids["retry"]:       {{"retry", "database busy", ""}, {"success", "done retry", ""}},
		ids["after-retry"]: {{"retry", "released: task " + ids["retry"].String() + " (sequence 5) before it was not processed", ""}, {"success", "done after-retry", ""}},
	}
	for id, w := range want {
		got := acks[id]
		if len(got) != len(w) {
			t.Fatalf("task %s: acks %+v, want %+v", id, got, w)
		}
		for i := range w {
			if got[i] != w[i] {
				t.Errorf("task %s ack %d: %+v, want %+v", id, i, got[i], w[i])
			}
		}
	}
	if a := acks[other]; len(a) == 0 || a[0].Status != "reauthenticate" {
		t.Fatalf("reauthenticate: %+v", a)
	}
	// The tenant's order held across the redelivery: retry, then
	// after-retry, each handled after its predecessor.
	mu.Lock()
	defer mu.Unlock()
	joined := strings.Join(seen, ",")
	if joined != "ok,fail,panic,unknown,retry,retry,after-retry" && joined != "ok,fail,panic,retry,retry,after-retry" {
		t.Fatalf("handling order %s", joined)
	}
}

func TestConsumerCancellationFinishesInFlightAndLosesNoAck(t *testing.T) {
	f := newFakeAPI(t)
	q := newFakeQueue(f)
	tn := uuid.New()
	first := q.add(tn, KindData, nil)
	second := q.add(tn, KindData, nil)
	c := f.client(t, nil)

	ctx, cancel := context.WithCancel(context.Background())
	entered := make(chan struct{})
	release := make(chan struct{})
	var handled atomic.Int32
	h := HandlerFuncs{Default: Ignore, Data: func(hctx context.Context, tk *Task, _ *models.DataEvent) error {
		handled.Add(1)
		close(entered)
		<-release
		if hctx.Err() != nil {
			return errors.New("handler context was cancelled with Run's")
		}
		return nil
	}}
	done := make(chan error, 1)
	go func() { done <- newConsumer(t, c, h).Run(ctx) }()
	<-entered
	cancel()
	close(release)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
	acks := q.snapshot()
	if a := acks[first]; len(a) != 1 || a[0].Status != "success" {
		t.Fatalf("in-flight task: %+v", a)
	}
	if a := acks[second]; len(a) != 1 || a[0].Status != "retry" {
		t.Fatalf("unstarted task must be released: %+v", a)
	}
	if handled.Load() != 1 {
		t.Fatalf("%d handled", handled.Load())
	}
}

func TestConsumerRedeliversAfterLease(t *testing.T) {
	f := newFakeAPI(t)
	q := newFakeQueue(f)
	tn := uuid.New()
	id := q.add(tn, KindData, nil)
	c := f.client(t, nil)
	// A worker leases the task and crashes before acknowledging it.
	if got, err := c.ListTasks(context.Background(), nil); err != nil || len(got) != 1 {
		t.Fatalf("%v %v", got, err)
	}
	if got, _ := c.ListTasks(context.Background(), nil); len(got) != 0 {
		t.Fatal("leased task delivered again before its lease ended")
	}
	q.advance(2 * time.Minute)
	var deliveries atomic.Int32
	h := HandlerFuncs{Default: Ignore, Data: func(context.Context, *Task, *models.DataEvent) error { deliveries.Add(1); return nil }}
	if err := runUntil(t, c, h, func(r AckResult) bool { return r.Task.ID == id }); err != nil {
		t.Fatal(err)
	}
	if deliveries.Load() != 1 || len(q.snapshot()[id]) != 1 {
		t.Fatalf("deliveries %d acks %+v", deliveries.Load(), q.snapshot()[id])
	}
}

func TestConsumerGroupAckFallsBackToSingleAcks(t *testing.T) {
	f := newFakeAPI(t)
	q := newFakeQueue(f)
	tn := uuid.New()
	gone := q.add(tn, KindData, nil)
	kept := q.add(tn, KindData, nil)
	q.deleteOnLease[gone] = true
	c := f.client(t, nil)
	results := map[uuid.UUID]error{}
	var mu sync.Mutex
	h := HandlerFuncs{Default: Ignore, Data: func(context.Context, *Task, *models.DataEvent) error { return nil }}
	err := runUntil(t, c, h, func(r AckResult) bool {
		mu.Lock()
		defer mu.Unlock()
		results[r.Task.ID] = r.Err
		return len(results) == 2
	})
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(results[gone], ErrNotFound) || results[kept] != nil {
		t.Fatalf("results %v", results)
	}
	if a := q.snapshot()[kept]; len(a) != 1 || a[0].Status != "success" {
		t.Fatalf("kept: %+v", a)
	}
}

func TestConsumerAckRetriedAfterServerError(t *testing.T) {
	f := newFakeAPI(t)
	q := newFakeQueue(f)
	id := q.add(uuid.New(), KindData, nil)
	q.failAcks = 2
	c := f.client(t, nil)
	h := HandlerFuncs{Default: Ignore, Data: func(context.Context, *Task, *models.DataEvent) error { return nil }}
	var ackErr error
	if err := runUntil(t, c, h, func(r AckResult) bool { ackErr = r.Err; return true }); err != nil {
		t.Fatal(err)
	}
	if ackErr != nil || len(q.snapshot()[id]) != 1 || q.groupAcks != 3 {
		t.Fatalf("ack err %v, acks %v, requests %d", ackErr, q.snapshot()[id], q.groupAcks)
	}
}

func TestConsumerIdleBackoff(t *testing.T) {
	f := newFakeAPI(t)
	newFakeQueue(f)
	c := f.client(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	var delays []time.Duration
	cons := newConsumer(t, c, HandlerFuncs{Default: Ignore},
		WithIdleBackoff(time.Second, 8*time.Second),
		withConsumerSleep(func(ctx context.Context, d time.Duration) error {
			delays = append(delays, d)
			if len(delays) == 6 {
				cancel()
			}
			return ctx.Err()
		}))
	cons.jitter = func() float64 { return 1 }
	if err := cons.Run(ctx); err != nil {
		t.Fatal(err)
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second, 8 * time.Second}
	for i := range want {
		if delays[i] != want[i] {
			t.Fatalf("delays %v, want %v", delays, want)
		}
	}
	cons.jitter = func() float64 { return 0 }
	if d := cons.idle(1); d != 500*time.Millisecond {
		t.Fatalf("jitter floor %v", d)
	}
}

func TestConsumerStopsOnUnauthorizedAndBacksOffOnServerErrors(t *testing.T) {
	f := newFakeAPI(t)
	var polls atomic.Int32
	f.handle("GET", "/tasks", func(w http.ResponseWriter, r *http.Request) {
		if polls.Add(1) <= 2 {
			writeError(w, 500, "internal_error", "internal server error")
			return
		}
		writeError(w, 401, "unauthorized", "access token is invalid or expired")
	})
	c := f.client(t, nil, WithRetryPolicy(NoRetries()))
	var sleeps atomic.Int32
	err := newConsumer(t, c, HandlerFuncs{Default: Ignore}, withConsumerSleep(func(ctx context.Context, d time.Duration) error {
		sleeps.Add(1)
		return nil
	})).Run(context.Background())
	if !errors.Is(err, ErrUnauthorized) || sleeps.Load() != 2 {
		t.Fatalf("err %v after %d pauses", err, sleeps.Load())
	}
}

func TestTruncateKeepsUTF8(t *testing.T) {
	// The cut falls inside an "é" (2 bytes): the whole character goes.
	s := "a" + strings.Repeat("é", maxMessage)
	if got := truncate(s); len(got) != maxMessage-1 || !utf8.ValidString(got) {
		t.Fatalf("len %d, valid %v", len(got), utf8.ValidString(got))
	}
	// A stray invalid byte early on does not shorten the message further.
	s = "a\xffb" + strings.Repeat("x", 2*maxMessage)
	if got := truncate(s); len(got) != maxMessage || got[:3] != "a\xffb" {
		t.Fatalf("len %d", len(got))
	}
	if truncate("short") != "short" {
		t.Fatal("short message changed")
	}
}

// The consumer's size estimate never undercounts what encoding/json writes
// (an undercount would send a group over the body limit), and its budget is
// the spec's stated body limit.
func TestEncodedSizeIsAnUpperBound(t *testing.T) {
	parts := []string{"a", "é", "😀", "<", ">", "&", `"`, `\`, "\n", "\x00", "\x7f", "\u2028", "\u2029", "\xff", "\xe2\x80", "m m"}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 5000 {
		var sb strings.Builder
		for range rng.IntN(64) {
			sb.WriteString(parts[rng.IntN(len(parts))])
		}
		s := sb.String()
		if i == 0 {
			s = strings.Repeat("<", maxMessage)
		}
		a := models.TaskAckGroupItem{TaskID: uuid.New(), Status: models.Error, Message: s, SysAppID: s}
		b, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		if got := encodedSize(a); got < len(b)+1 { // +1: the comma between items
			t.Fatalf("encodedSize(%q) = %d, encoded %d bytes", s, got, len(b))
		}
	}
	spec, err := contract.Shared()
	if err != nil {
		t.Fatal(err)
	}
	limit, _ := spec.Doc().Info.Extensions["x-request-body-limit"].(float64)
	if maxGroupBytes >= int(limit) || maxGroupBytes < int(limit)-64<<10 {
		t.Fatalf("maxGroupBytes %d is not just under the spec's body limit %v", maxGroupBytes, limit)
	}
}
