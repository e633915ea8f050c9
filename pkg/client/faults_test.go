package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/interop-data/interop/pkg/contract"
	"github.com/interop-data/interop/pkg/reference"
	"github.com/interop-data/interop/pkg/reference/referencetest"
)

// The fault-injection suite: an httptest proxy in front of the reference
// server (referencetest) answers some requests itself or breaks them, as a
// flaky network, gateway or token endpoint would. Every pause of the client
// (retry backoff, idle polls, ack resends) advances the reference server's
// fake clock instead of sleeping, so leases run out and outages end in
// virtual time and the suite stays quick; random faults come from fixed
// seeds, so a run is reproducible.

// fault is what the proxy does with one request.
type fault int

const (
	pass         fault = iota
	answer503          // answered by the proxy, never reaches the server
	answer429          // answered by the proxy with Retry-After: 1
	answer500          // answered by the proxy
	answer401          // the token expires: this and every later request with it are answered 401
	resetBefore        // connection closed before forwarding
	resetAfter         // forwarded (the server did the work), connection closed before the answer
	cutBody            // forwarded, answer cut mid-body (the connection closes short of Content-Length)
	truncated200       // forwarded, answer cut with a matching Content-Length: incomplete JSON
	numFaults
)

var faultNames = [...]string{"pass", "503", "429", "500", "401", "reset-before", "reset-after", "cut-body", "truncated-200"}

func (f fault) String() string { return faultNames[f] }

// reqKind classifies the requests the rules look at.
func reqKind(r *http.Request) string {
	switch {
	case r.URL.Path == "/oauth/token":
		return "token"
	case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/tasks"):
		return "poll"
	case r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/ack"):
		return "ack"
	}
	return "other"
}

// faultProxy forwards to the reference server, asking rule what to do with
// each request.
type faultProxy struct {
	t      testing.TB
	env    *referencetest.Env
	srv    *httptest.Server
	rt     http.RoundTripper
	rule   func(r *http.Request) fault
	mu     sync.Mutex
	counts map[string]map[fault]int // by reqKind
	// reached counts requests of each kind that reached the server.
	reached map[string]int
	// onForward, if set, is called for each request that reached the server.
	onForward func(kind string)
	// seen and expired are bearer tokens used before and those answer401
	// expired: a token expires only after use, and stays expired.
	seen, expired map[string]bool
}

func newFaultProxy(t testing.TB, env *referencetest.Env, rule func(r *http.Request) fault) *faultProxy {
	p := &faultProxy{t: t, env: env, rule: rule, counts: map[string]map[fault]int{}, reached: map[string]int{},
		seen: map[string]bool{}, expired: map[string]bool{},
		rt: &http.Transport{MaxIdleConnsPerHost: 16}}
	p.srv = httptest.NewServer(p)
	t.Cleanup(p.srv.Close)
	return p
}

func (p *faultProxy) URL() string      { return p.srv.URL + contract.BasePath }
func (p *faultProxy) TokenURL() string { return p.srv.URL + "/oauth/token" }

func (p *faultProxy) count(kind string, f fault) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.counts[kind][f]
}

func (p *faultProxy) reachedServer(kind string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.reached[kind]
}

func (p *faultProxy) summary() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var b strings.Builder
	for _, k := range []string{"poll", "ack", "token"} {
		fmt.Fprintf(&b, "%s:", k)
		for f := pass; f < numFaults; f++ {
			if n := p.counts[k][f]; n > 0 {
				fmt.Fprintf(&b, " %s=%d", f, n)
			}
		}
		b.WriteString("; ")
	}
	return b.String()
}

func hangUp(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		_ = conn.Close()
	}
}

func (p *faultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	kind := reqKind(r)
	f := p.rule(r)
	p.mu.Lock()
	if tok := r.Header.Get("Authorization"); kind != "token" {
		switch {
		case p.expired[tok]:
			f = answer401
		case f == answer401 && !p.seen[tok]:
			f = pass // a fresh token does not expire on its first use
		case f == answer401:
			p.expired[tok] = true
		}
		p.seen[tok] = true
	}
	if p.counts[kind] == nil {
		p.counts[kind] = map[fault]int{}
	}
	p.counts[kind][f]++
	p.mu.Unlock()
	switch f {
	case answer503, answer500, answer401, answer429:
		st := map[fault]int{answer503: 503, answer500: 500, answer401: 401, answer429: 429}[f]
		if f == answer429 {
			w.Header().Set("Retry-After", "1")
		}
		if kind == "token" {
			writeJSON(w, st, map[string]any{"error": "temporarily_unavailable"})
			return
		}
		writeError(w, st, strings.ToLower(strings.ReplaceAll(http.StatusText(st), " ", "_")), "injected by the fault proxy")
		return
	case resetBefore:
		hangUp(w)
		return
	}
	body, _ := io.ReadAll(r.Body)
	out, err := http.NewRequestWithContext(r.Context(), r.Method, p.env.Server.URL+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		p.t.Errorf("proxy: %v", err)
		return
	}
	out.Header = r.Header.Clone()
	resp, err := p.rt.RoundTrip(out)
	if err != nil {
		writeError(w, 502, "bad_gateway", err.Error())
		return
	}
	rb, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	p.mu.Lock()
	p.reached[kind]++
	on := p.onForward
	p.mu.Unlock()
	if on != nil {
		on(kind)
	}
	switch f {
	case resetAfter:
		hangUp(w)
		return
	case cutBody:
		conn, bw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		fmt.Fprintf(bw, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n", resp.StatusCode,
			http.StatusText(resp.StatusCode), resp.Header.Get("Content-Type"), len(rb))
		_, _ = bw.Write(rb[:len(rb)/2])
		_ = bw.Flush()
		_ = conn.Close()
		return
	case truncated200:
		rb = rb[:len(rb)/2]
	}
	for k, v := range resp.Header {
		if k != "Content-Length" {
			w.Header()[k] = v
		}
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(rb)))
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(rb)
}

// randomFaults breaks each request with probability rate, the fault drawn
// uniformly, from a seeded source.
func randomFaults(seed uint64, rate float64) func(*http.Request) fault {
	var mu sync.Mutex
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	return func(r *http.Request) fault {
		mu.Lock()
		defer mu.Unlock()
		if rng.Float64() >= rate {
			return pass
		}
		f := fault(1 + rng.IntN(int(numFaults)-1))
		if f == answer401 && reqKind(r) == "token" {
			f = answer503
		}
		return f
	}
}

// faultEnv is a reference server with a district big enough for a few
// hundred tasks and a proxy in front.
type faultEnv struct {
	env   *referencetest.Env
	proxy *faultProxy
	ids   map[uuid.UUID]bool // every queued task
}

// bigDistrict makes 233 tasks; the scenarios that need fewer use
// referencetest.SmallDistrict (69), which loads faster.
var bigDistrict = reference.DemoSize{Schools: 2, StudentsPerSchool: 30, TeachersPerSchool: 3, CoursesPerSchool: 2, SectionsPerCourse: 2, StudentsPerSection: 6}

func newFaultEnv(t *testing.T, rule func(*http.Request) fault, lease time.Duration, size reference.DemoSize) *faultEnv {
	t.Helper()
	// One tenant and one consumer: its requests go out one after the
	// other, so a seed always breaks the same requests.
	env := referencetest.Start(t, referencetest.WithTenants(1), referencetest.WithTaskLease(lease), referencetest.WithDistrict(size))
	fe := &faultEnv{env: env, ids: map[uuid.UUID]bool{}}
	for i := range env.Tenants {
		direct, _ := refClient(t, env, i)
		for tk, err := range direct.AdminTasks(context.Background(), nil) {
			if err != nil {
				t.Fatal(err)
			}
			fe.ids[tk.ID] = true
		}
	}
	fe.proxy = newFaultProxy(t, env, rule)
	return fe
}

// tenantClient returns a client of tenant i through the proxy.
func (fe *faultEnv) tenantClient(t *testing.T, i int, opts ...Option) *Client {
	t.Helper()
	p := DefaultRetryPolicy()
	p.clk = virtualClock{fe.env.Clock}
	all := append([]Option{
		WithClientCredentials(fe.env.Tenants[i].ClientID, fe.env.Tenants[i].ClientSecret, fe.proxy.TokenURL()),
		WithRetryPolicy(p),
		WithValidation(ValidationOff),
	}, opts...)
	c, err := New(fe.proxy.URL(), all...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// tally is what the consumers of a scenario did.
type tally struct {
	mu          sync.Mutex
	handled     map[uuid.UUID]int
	acked       map[uuid.UUID]bool // the server recorded the ack
	lastSeq     map[uuid.UUID]int64
	regressions int // a tenant's sequence went backwards
	ackErrs     int
	all         int
	done        chan struct{}
	doneOnce    sync.Once
}

func newTally(all int) *tally {
	return &tally{handled: map[uuid.UUID]int{}, acked: map[uuid.UUID]bool{}, lastSeq: map[uuid.UUID]int64{}, all: all, done: make(chan struct{})}
}

func (ty *tally) handler() Handler {
	return HandlerFuncs{Default: func(_ context.Context, tk *Task) error {
		ty.mu.Lock()
		defer ty.mu.Unlock()
		ty.handled[tk.ID]++
		if last, ok := ty.lastSeq[tk.TenantID]; ok && tk.Sequence < last {
			ty.regressions++
		}
		ty.lastSeq[tk.TenantID] = max(ty.lastSeq[tk.TenantID], tk.Sequence)
		return nil
	}}
}

func (ty *tally) observe(r AckResult) {
	ty.mu.Lock()
	defer ty.mu.Unlock()
	if r.Err != nil {
		ty.ackErrs++
		return
	}
	ty.acked[r.Task.ID] = true
	if len(ty.acked) == ty.all {
		ty.doneOnce.Do(func() { close(ty.done) })
	}
}

// duplicates is the number of handlings beyond the first.
func (ty *tally) duplicates() (dups int) {
	ty.mu.Lock()
	defer ty.mu.Unlock()
	for _, n := range ty.handled {
		dups += n - 1
	}
	return dups
}

// consume runs one consumer per tenant (acks flushed only before each poll,
// so the requests are the same from run to run) until every task's ack was recorded,
// then cancels them; it fails the test if that takes more than limit of
// real time or a consumer returns an error.
func (fe *faultEnv) consume(t *testing.T, ty *tally, limit time.Duration, clientOpts []Option, opts ...ConsumerOption) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errs := make(chan error, len(fe.env.Tenants))
	for i := range fe.env.Tenants {
		c := fe.tenantClient(t, i, clientOpts...)
		all := append([]ConsumerOption{WithBatchSize(10), withConsumerClock(virtualClock{fe.env.Clock}),
			WithAckObserver(ty.observe), WithConcurrency(2), WithAckFlush(maxGroup, time.Hour)}, opts...)
		cons := newConsumer(t, c, ty.handler(), all...)
		go func() { errs <- cons.Run(ctx) }()
	}
	select {
	case <-ty.done:
	case err := <-errs:
		t.Fatalf("a consumer stopped early: %v (%s)", err, fe.proxy.summary())
	case <-time.After(limit):
		ty.mu.Lock()
		n := len(ty.acked)
		ty.mu.Unlock()
		t.Fatalf("after %v: %d of %d tasks acknowledged (%s)", limit, n, ty.all, fe.proxy.summary())
	}
	cancel()
	for range fe.env.Tenants {
		if err := <-errs; err != nil {
			t.Fatalf("Run: %v", err)
		}
	}
}

// checkQueueEmpty asserts that the server holds no task and recorded
// exactly one outcome per task.
func (fe *faultEnv) checkQueueEmpty(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	outcomes := map[uuid.UUID]int{}
	for i, tn := range fe.env.Tenants {
		c, _ := refClient(t, fe.env, i)
		left, err := Collect(c.AdminTasks(ctx, nil))
		if err != nil || len(left) != 0 {
			t.Fatalf("tenant %d: %d tasks left in the queue (%v)", i, len(left), err)
		}
		hist, err := fe.env.Store.History(ctx, tn.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range hist {
			outcomes[h.TaskID]++
		}
	}
	for id := range fe.ids {
		if outcomes[id] != 1 {
			t.Fatalf("task %s has %d recorded outcomes, want 1", id, outcomes[id])
		}
	}
}

// TestFaultsRandom: at 20% and 40% of requests broken (all nine faults,
// token endpoint included), two consumers handle every task, none is lost,
// and none is handled twice: every ack is kept until the server has it, so
// the only duplicates possible are tasks whose ack never reached the server
// within their lease, and here the lease (5m of virtual time) outlasts every
// outage. The figures are in docs/CONSUMER.md.
func TestFaultsRandom(t *testing.T) {
	for _, tc := range []struct {
		name   string
		rate   float64
		seed   uint64
		strict bool
	}{
		{"20%", 0.2, 1, false},
		{"40%", 0.4, 2, false},
		{"20% strict order", 0.2, 3, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fe := newFaultEnv(t, randomFaults(tc.seed, tc.rate), 5*time.Minute, bigDistrict)
			ty := newTally(len(fe.ids))
			var opts []ConsumerOption
			if tc.strict {
				opts = append(opts, WithStrictOrder())
			}
			fe.consume(t, ty, 40*time.Second, nil, opts...)
			fe.checkQueueEmpty(t)
			dups := ty.duplicates()
			t.Logf("%s: %d tasks, %d handled, %d duplicates, %d sequence regressions; faults %s",
				tc.name, ty.all, len(ty.handled), dups, ty.regressions, fe.proxy.summary())
			if len(ty.handled) != ty.all || dups != 0 {
				t.Fatalf("handled %d of %d tasks, %d duplicates", len(ty.handled), ty.all, dups)
			}
			if tc.strict && ty.regressions != 0 {
				t.Fatalf("strict order: %d sequence regressions", ty.regressions)
			}
			if fe.proxy.count("poll", resetAfter)+fe.proxy.count("ack", resetAfter) == 0 {
				t.Fatal("the seed injected no reset after the server did the work: the scenario proves less than it says")
			}
		})
	}
}

// TestFaultsAckOutage: every acknowledgement is answered 503 for 20 s (of
// virtual time) from the first one on, twice the 10 s lease. The consumer
// keeps the batch's acknowledgements and sends them again with backoff, and
// leases nothing while they are undelivered; the server records them when
// the outage ends (an ack after the lease is still taken). Goal: at most one
// batch of duplicates. Before this change the same outage cost 80-90% of
// the queue (issue 15).
func TestFaultsAckOutage(t *testing.T) {
	const outage, batch = 20 * time.Second, 25
	var (
		mu    sync.Mutex
		start time.Time
		clock *referencetest.FakeClock
	)
	inOutage := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return !start.IsZero() && clock.Now().Before(start.Add(outage))
	}
	fe := newFaultEnv(t, func(r *http.Request) fault {
		if reqKind(r) != "ack" {
			return pass
		}
		mu.Lock()
		if start.IsZero() {
			start = clock.Now()
		}
		mu.Unlock()
		if inOutage() {
			return answer503
		}
		return pass
	}, 10*time.Second, referencetest.SmallDistrict)
	clock = fe.env.Clock
	var pollsInOutage atomic.Int32
	fe.proxy.onForward = func(kind string) {
		if kind == "poll" && inOutage() {
			pollsInOutage.Add(1)
		}
	}
	ty := newTally(len(fe.ids))
	fe.consume(t, ty, 30*time.Second, nil, WithBatchSize(batch))
	fe.checkQueueEmpty(t)
	dups := ty.duplicates()
	t.Logf("ack outage %v, lease 10s, batch %d: %d tasks, %d duplicates, %d polls during the outage, %d acks refused",
		outage, batch, ty.all, dups, pollsInOutage.Load(), fe.proxy.count("ack", answer503))
	if fe.proxy.count("ack", answer503) < 4 {
		t.Fatalf("the outage refused only %d acks", fe.proxy.count("ack", answer503))
	}
	if dups > batch || len(ty.handled) != ty.all {
		t.Fatalf("%d duplicates (at most one batch, %d, allowed); %d of %d handled", dups, batch, len(ty.handled), ty.all)
	}
	if n := pollsInOutage.Load(); n != 0 {
		t.Fatalf("%d polls leased work while acks could not be delivered", n)
	}
}

// TestFaults401ThenTokenOutage: a poll is answered 401 (the token
// expired), then the token endpoint fails six times in a row (503, 429 with
// Retry-After, a reset, 500, a cut 200, 503). The failed refresh is
// transient: the consumer backs off, fetches a token when the endpoint is
// back and finishes the queue; only invalid_client would stop it.
func TestFaults401ThenTokenOutage(t *testing.T) {
	tokenFaults := []fault{answer503, answer429, resetBefore, answer500, truncated200, answer503}
	var mu sync.Mutex
	polls, tokens := 0, 0
	fe := newFaultEnv(t, func(r *http.Request) fault {
		mu.Lock()
		defer mu.Unlock()
		switch reqKind(r) {
		case "poll":
			if polls++; polls == 2 {
				return answer401
			}
		case "token":
			if tokens++; tokens >= 2 && tokens-2 < len(tokenFaults) {
				return tokenFaults[tokens-2]
			}
		}
		return pass
	}, 5*time.Minute, referencetest.SmallDistrict)
	ty := newTally(len(fe.ids))
	fe.consume(t, ty, 30*time.Second, nil)
	fe.checkQueueEmpty(t)
	mu.Lock()
	defer mu.Unlock()
	t.Logf("401 then %d token failures: %d tasks handled, %d duplicates, %d token requests", len(tokenFaults), len(ty.handled), ty.duplicates(), tokens)
	if len(ty.handled) != ty.all || ty.duplicates() != 0 || tokens != 1+len(tokenFaults)+1 {
		t.Fatalf("handled %d of %d, %d duplicates, %d token requests", len(ty.handled), ty.all, ty.duplicates(), tokens)
	}
}

// TestFaultsInvalidClientStopsConsumer: the one token failure that stops
// the consumer is the endpoint refusing the credentials.
func TestFaultsInvalidClientStopsConsumer(t *testing.T) {
	fe := newFaultEnv(t, func(*http.Request) fault { return pass }, 5*time.Minute, referencetest.SmallDistrict)
	c := fe.tenantClient(t, 0, WithClientCredentials(fe.env.Tenants[0].ClientID, "wrong", fe.proxy.TokenURL()))
	err := newConsumer(t, c, HandlerFuncs{Default: Ignore}, withConsumerClock(virtualClock{fe.env.Clock})).Run(context.Background())
	var ae *APIError
	if !errors.Is(err, ErrUnauthorized) || !errors.As(err, &ae) || ae.Operation != "token" {
		t.Fatalf("Run = %v, want the token endpoint's refusal", err)
	}
}

// TestFaultsHangingTokenEndpoint: the token endpoint accepts the
// connection and never answers. Calls honour their own deadline (200 ms)
// instead of queueing behind the fetch, concurrent callers share one fetch,
// a caller without a deadline gives up at the token timeout, and once the
// endpoint answers, the shared fetch completes and serves everyone.
func TestFaultsHangingTokenEndpoint(t *testing.T) {
	release := make(chan struct{})
	var hung atomic.Bool
	var arrived atomic.Int32 // token requests that reached the proxy
	hung.Store(true)
	fe := newFaultEnv(t, func(r *http.Request) fault {
		if reqKind(r) == "token" {
			arrived.Add(1)
		}
		if reqKind(r) == "token" && hung.Load() {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		return pass
	}, 5*time.Minute, referencetest.SmallDistrict)
	t.Cleanup(func() {
		if hung.CompareAndSwap(true, false) {
			close(release)
		}
	})
	c := fe.tenantClient(t, 0, WithRetryPolicy(DefaultRetryPolicy()))
	org := fe.env.Tenants[0].Roster.Orgs[0].Sys.ID

	var wg sync.WaitGroup
	errs := make([]error, 5)
	took := make([]time.Duration, 5)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			begin := time.Now()
			_, errs[i] = c.FindOrg(ctx, org)
			took[i] = time.Since(begin)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, context.DeadlineExceeded) || took[i] > 5*time.Second {
			t.Fatalf("caller %d: %v after %v, want its deadline (200ms)", i, err, took[i])
		}
	}
	if n := arrived.Load(); n != 1 {
		t.Fatalf("%d token requests for 5 concurrent callers, want 1 shared", n)
	}

	// Without a deadline of its own a call gives up at the token timeout.
	c2 := fe.tenantClient(t, 0, WithRetryPolicy(DefaultRetryPolicy()), WithTokenTimeout(300*time.Millisecond))
	begin := time.Now()
	_, err := c2.FindOrg(context.Background(), org)
	var te *TokenError
	if !errors.As(err, &te) || !errors.Is(err, context.DeadlineExceeded) || time.Since(begin) > 2*time.Second {
		t.Fatalf("no deadline: %v after %v, want a TokenError at the 300ms token timeout", err, time.Since(begin))
	}

	// The endpoint answers: the fetch the first callers started completes
	// and its token serves the next call.
	hung.Store(false)
	close(release)
	deadline := time.Now().Add(5 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := c.FindOrg(ctx, org)
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the endpoint came back: %v", err)
		}
	}
	// The second client's request was abandoned at its timeout; the shared
	// fetch is the only one that reached the server, and no other was made.
	if n, a := fe.proxy.reachedServer("token"), arrived.Load(); n != 1 || a != 2 {
		t.Fatalf("%d token requests reached the server and %d the proxy, want 1 and 2", n, a)
	}
}

// TestFaultsCancelMidRun: Run's context ends while a handler hangs and
// ignores its context. Run returns within the shutdown grace plus the flush
// timeout; the tasks handled before are acknowledged, the batch's unstarted
// tasks released at once, and the hung task, never acknowledged, comes back
// after its lease. The grace and the flush timeout run on the fake clock:
// the test moves it, and nothing waits on a real timer.
func TestFaultsCancelMidRun(t *testing.T) {
	const grace, flushTO = 10 * time.Second, 15 * time.Second
	fe := newFaultEnv(t, func(*http.Request) fault { return pass }, time.Minute, referencetest.SmallDistrict)
	c := fe.tenantClient(t, 0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hang := make(chan struct{})
	defer close(hang)
	var (
		mu      sync.Mutex
		handled []uuid.UUID
		hungID  uuid.UUID
		hctxEnd = make(chan time.Time, 1)
	)
	h := HandlerFuncs{Default: func(hctx context.Context, tk *Task) error {
		mu.Lock()
		handled = append(handled, tk.ID)
		n := len(handled)
		mu.Unlock()
		if n == 3 {
			hungID = tk.ID
			cancel()
			go func() { <-hctx.Done(); hctxEnd <- fe.env.Clock.Now() }()
			<-hang // ignores its context
		}
		return nil
	}}
	acks := map[uuid.UUID]AckResult{}
	cons := newConsumer(t, c, h, WithBatchSize(10), WithConcurrency(1), WithShutdownGrace(grace), WithFlushTimeout(flushTO),
		withConsumerClock(virtualClock{fe.env.Clock}), WithAckObserver(func(r AckResult) {
			mu.Lock()
			acks[r.Task.ID] = r
			mu.Unlock()
		}))
	done := make(chan error, 1)
	go func() { done <- cons.Run(ctx) }()
	<-ctx.Done()
	cancelled := fe.env.Clock.Now()
	// Move the clock in steps of a tenth of the grace until the hung
	// handler's context ends (the grace is over). From then on the clock
	// stands still: the acknowledgements' flush runs in real time, and its
	// timeout (on this clock) cannot fire however slowly a loaded machine
	// runs the requests, so Run must return by itself. (A clock moved on
	// regardless gave a loaded machine's flush a few milliseconds, and the
	// acks came back "not delivered".)
	var hctxEnded time.Time
	for realLimit := time.Now().Add(20 * time.Second); ; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case hctxEnded = <-hctxEnd:
			continue
		case <-time.After(time.Millisecond):
			if time.Now().After(realLimit) {
				t.Fatalf("Run did not return; the clock stands %v after cancellation (grace %v)", fe.env.Clock.Now().Sub(cancelled), grace)
			}
			if hctxEnded.IsZero() {
				fe.env.Clock.Advance(grace / 10)
			}
			continue
		}
		break
	}
	if hctxEnded.IsZero() {
		select {
		case hctxEnded = <-hctxEnd:
		case <-time.After(10 * time.Second):
			t.Fatal("the hung handler's context was not cancelled after the grace")
		}
	}
	if d := hctxEnded.Sub(cancelled); d < grace {
		t.Fatalf("the handler's context ended %v after cancellation, before the grace", d)
	}
	if took := fe.env.Clock.Now().Sub(cancelled); took > grace+flushTO {
		t.Fatalf("Run returned %v (fake clock) after cancellation, more than grace + flush timeout", took)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(handled) != 3 || len(acks) != 9 {
		t.Fatalf("handled %d, %d acks reported; want 3 handled and 9 acks (2 success, 7 released)", len(handled), len(acks))
	}
	if _, ok := acks[hungID]; ok {
		t.Fatal("the hung task was acknowledged")
	}
	var released []uuid.UUID
	for id, r := range acks {
		switch {
		case r.Err != nil:
			t.Fatalf("ack of %s not delivered: %v", id, r.Err)
		case id == handled[0] || id == handled[1]:
			if r.Ack.Status != "success" {
				t.Fatalf("handled task %s acknowledged %s", id, r.Ack.Status)
			}
		default:
			if r.Ack.Status != "retry" {
				t.Fatalf("unstarted task %s acknowledged %s", id, r.Ack.Status)
			}
			released = append(released, id)
		}
	}
	direct, _ := refClient(t, fe.env, 0)
	again, err := direct.ListTasks(context.Background(), &TaskListOptions{PageSize: 7})
	if err != nil || !sameIDs(taskIDs(again), released) {
		t.Fatalf("released tasks not leasable at once: %v, %v", taskIDs(again), err)
	}
	fe.env.Clock.Advance(2 * time.Minute)
	back, err := direct.ListTasks(context.Background(), &TaskListOptions{PageSize: 1})
	if err != nil || len(back) != 1 || back[0].ID != hungID {
		t.Fatalf("after the lease the hung task must come back first: %v, %v", taskIDs(back), err)
	}
}
