package listen_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"hash/fnv"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/interop-data/interop/gen/models"
	"github.com/interop-data/interop/pkg/client"
	"github.com/interop-data/interop/pkg/listen"
	"github.com/interop-data/interop/pkg/reference/referencetest"
)

var secret = []byte("shared-secret")

// queueEnv is a reference server, the ids of every task it queued, and
// the clients of its tenants.
type queueEnv struct {
	env *referencetest.Env
	ids map[uuid.UUID]bool
	url string
}

func newQueueEnv(t *testing.T, front func(http.Handler) http.Handler) *queueEnv {
	t.Helper()
	env := referencetest.Start(t, referencetest.WithTaskLease(5*time.Minute))
	qe := &queueEnv{env: env, ids: map[uuid.UUID]bool{}}
	for i := range env.Tenants {
		c, err := client.New(env.URL, client.WithClientCredentials(env.Tenants[i].ClientID, env.Tenants[i].ClientSecret, env.TokenURL))
		if err != nil {
			t.Fatal(err)
		}
		for tk, err := range c.AdminTasks(context.Background(), nil) {
			if err != nil {
				t.Fatal(err)
			}
			qe.ids[tk.ID] = true
		}
	}
	h := env.Server.Config.Handler
	if front != nil {
		h = front(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	qe.url = srv.URL
	return qe
}

// virtualSleep advances the server's clock instead of sleeping.
func virtualSleep(clock *referencetest.FakeClock) func(ctx context.Context, d time.Duration) error {
	return func(ctx context.Context, d time.Duration) error {
		clock.Advance(d)
		runtime.Gosched()
		time.Sleep(50 * time.Microsecond)
		return ctx.Err()
	}
}

// acks collects the acknowledgements the server recorded, and says when
// every task has a final one (success or error).
type acks struct {
	mu    sync.Mutex
	final map[uuid.UUID]models.TaskAckGroupItem
	all   []models.TaskAckGroupItem
	want  int
	done  chan struct{}
	once  sync.Once
}

func newAcks(want int) *acks {
	return &acks{final: map[uuid.UUID]models.TaskAckGroupItem{}, want: want, done: make(chan struct{})}
}

func (a *acks) observe(r client.AckResult) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if r.Err != nil {
		return
	}
	a.all = append(a.all, r.Ack)
	if r.Ack.Status == models.Success || r.Ack.Status == models.Error {
		a.final[r.Ack.TaskID] = r.Ack
	}
	if len(a.final) == a.want {
		a.once.Do(func() { close(a.done) })
	}
}

// listenAll runs one listener per tenant through qe.url until every task
// has a final acknowledgement, then stops them (as Ctrl-C does).
func (qe *queueEnv) listenAll(t *testing.T, d listen.Deliverer, a *acks, opts ...client.ConsumerOption) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errs := make(chan error, len(qe.env.Tenants))
	for i := range qe.env.Tenants {
		tn := qe.env.Tenants[i]
		p := client.DefaultRetryPolicy()
		p.Sleep = virtualSleep(qe.env.Clock)
		p.Now = qe.env.Clock.Now
		c, err := client.New(qe.url+"/v2/interop/data", client.WithClientCredentials(tn.ClientID, tn.ClientSecret, qe.url+"/oauth/token"),
			client.WithRetryPolicy(p))
		if err != nil {
			t.Fatal(err)
		}
		all := append([]client.ConsumerOption{client.WithBatchSize(10), client.WithConsumerSleep(virtualSleep(qe.env.Clock)),
			client.WithAckObserver(a.observe), client.WithConcurrency(2)}, opts...)
		go func() { errs <- listen.Run(ctx, c, d, all...) }()
	}
	select {
	case <-a.done:
	case err := <-errs:
		t.Fatalf("a listener stopped early: %v", err)
	case <-time.After(60 * time.Second):
		a.mu.Lock()
		n := len(a.final)
		a.mu.Unlock()
		t.Fatalf("after 60s, %d of %d tasks acknowledged", n, a.want)
	}
	cancel()
	for range qe.env.Tenants {
		if err := <-errs; err != nil {
			t.Fatalf("Run: %v", err)
		}
	}
}

// checkQueueEmpty: the server holds no task and recorded exactly one
// final outcome per task.
func (qe *queueEnv) checkQueueEmpty(t *testing.T) map[uuid.UUID]string {
	t.Helper()
	ctx := context.Background()
	outcomes := map[uuid.UUID]string{}
	for _, tn := range qe.env.Tenants {
		c, err := client.New(qe.env.URL, client.WithClientCredentials(tn.ClientID, tn.ClientSecret, qe.env.TokenURL))
		if err != nil {
			t.Fatal(err)
		}
		if queued, err := client.Collect(c.AdminTasks(ctx, nil)); err != nil || len(queued) != 0 {
			t.Fatalf("tenant %s: %d tasks left in the queue (%v)", tn.Name, len(queued), err)
		}
		left, err := qe.env.Store.History(ctx, tn.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range left {
			if h.Status != "success" && h.Status != "error" {
				continue // reauthenticate is recorded, and the task delivered again
			}
			if _, twice := outcomes[h.TaskID]; twice {
				t.Errorf("task %s has two outcomes", h.TaskID)
			}
			outcomes[h.TaskID] = string(h.Status)
		}
	}
	for id := range qe.ids {
		if _, ok := outcomes[id]; !ok {
			t.Errorf("task %s has no outcome", id)
		}
	}
	return outcomes
}

// delivery is what the endpoint saw of one POST.
type delivery struct {
	id      uuid.UUID
	tenant  uuid.UUID
	seq     int64
	attempt int
	kind    string
	body    []byte
	sigOK   bool
}

// endpoint is an integrator's endpoint: answer decides each answer.
type endpoint struct {
	mu  sync.Mutex
	got []delivery
	// answer answers a delivery; it calls take when it processes the task
	// (before answering, as a real endpoint would).
	answer func(w http.ResponseWriter, r *http.Request, d delivery, take func())
	srv    *httptest.Server
}

func newEndpoint(t *testing.T, answer func(w http.ResponseWriter, r *http.Request, d delivery, take func())) *endpoint {
	e := &endpoint{answer: answer}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		seq, _ := strconv.ParseInt(r.Header.Get(listen.HeaderSequence), 10, 64)
		n, _ := strconv.Atoi(r.Header.Get(listen.HeaderAttempt))
		d := delivery{
			id: uuid.MustParse(r.Header.Get(listen.HeaderTaskID)), tenant: uuid.MustParse(r.Header.Get(listen.HeaderTenantID)),
			seq: seq, attempt: n, kind: r.Header.Get(listen.HeaderTaskKind), body: body,
			sigOK: listen.Verify(secret, r.Header.Get(listen.HeaderSignature), body, time.Now(), 5*time.Minute) == nil,
		}
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			d.sigOK = false
		}
		e.answer(w, r, d, func() {
			e.mu.Lock()
			e.got = append(e.got, d)
			e.mu.Unlock()
		})
	}))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *endpoint) deliveries() []delivery {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]delivery(nil), e.got...)
}

// The answer decides the acknowledgement: 2xx success (with the JSON
// body's message and app_id), 4xx error with the answer's text, and the
// Interop-Ack header retry or reauthenticate sends the task back.
func TestListenAcknowledgesByTheAnswer(t *testing.T) {
	t.Parallel()
	qe := newQueueEnv(t, nil)
	seen := map[uuid.UUID]int{}
	var mu sync.Mutex
	ep := newEndpoint(t, func(w http.ResponseWriter, r *http.Request, d delivery, take func()) {
		take()
		mu.Lock()
		seen[d.id]++
		first := seen[d.id] == 1
		mu.Unlock()
		switch {
		case d.seq%5 == 0:
			w.WriteHeader(http.StatusUnprocessableEntity)
			_, _ = io.WriteString(w, "row "+strconv.FormatInt(d.seq, 10)+" is bad\n")
		case d.seq%5 == 1:
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"message":"stored","app_id":"app-`+strconv.FormatInt(d.seq, 10)+`"}`)
		case d.seq%5 == 2:
			w.WriteHeader(http.StatusNoContent)
		case d.seq%5 == 3 && first:
			w.Header().Set(listen.HeaderAck, "retry")
			w.WriteHeader(http.StatusAccepted)
		case d.seq%5 == 4 && first:
			w.Header().Set(listen.HeaderAck, "Reauthenticate")
			w.WriteHeader(http.StatusOK)
		default:
			w.WriteHeader(http.StatusOK)
		}
	})
	f, err := listen.NewForwarder(ep.srv.URL, listen.WithSecret(secret))
	if err != nil {
		t.Fatal(err)
	}
	a := newAcks(len(qe.ids))
	qe.listenAll(t, f, a)
	outcomes := qe.checkQueueEmpty(t)

	bySeq := map[uuid.UUID]int64{}
	for _, d := range ep.deliveries() {
		bySeq[d.id] = d.seq
		if !d.sigOK {
			t.Errorf("delivery of %s (attempt %d) is not signed right", d.id, d.attempt)
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	released := map[models.TaskAckStatus]int{}
	for _, ack := range a.all {
		// The consumer releases what follows a task sent back, to keep
		// the tenant's order: those are not the endpoint's answers.
		if (ack.Status == models.Retry || ack.Status == models.Reauthenticate) && !strings.HasPrefix(ack.Message, "released:") {
			released[ack.Status]++
			if s := bySeq[ack.TaskID] % 5; (ack.Status == models.Retry) != (s == 3) || (ack.Status == models.Reauthenticate) != (s == 4) {
				t.Errorf("task of sequence %d acknowledged %s", bySeq[ack.TaskID], ack.Status)
			}
		}
	}
	if released[models.Retry] == 0 || released[models.Reauthenticate] == 0 {
		t.Errorf("Interop-Ack retry and reauthenticate were not acknowledged as such: %v", released)
	}
	for id, ack := range a.final {
		seq := bySeq[id]
		switch seq % 5 {
		case 0:
			if ack.Status != models.Error || ack.Message != "row "+strconv.FormatInt(seq, 10)+" is bad" || outcomes[id] != "error" {
				t.Errorf("sequence %d: %+v (%s), want error with the answer's text", seq, ack, outcomes[id])
			}
		case 1:
			if ack.Status != models.Success || ack.Message != "stored" || ack.SysAppID != "app-"+strconv.FormatInt(seq, 10) {
				t.Errorf("sequence %d: %+v, want success with the message and app id", seq, ack)
			}
		default:
			if ack.Status != models.Success || outcomes[id] != "success" {
				t.Errorf("sequence %d: %+v (%s), want success", seq, ack, outcomes[id])
			}
		}
	}
}

// Faults of the endpoint, decided by a seed per task and attempt: a 500, a
// 429, a 401 (the endpoint refusing the listener), a time-out after the
// endpoint processed the task, a refused connection, a connection reset; and 20% of the API's requests answered
// 503. Every task is delivered, in its tenant's order, none is lost (one
// outcome each, the queue empty), and the duplicates are the deliveries
// whose answer timed out after the endpoint took them, no more.
func TestListenThroughEndpointAndAPIOutages(t *testing.T) {
	t.Parallel()
	const seed = 24
	var apiMu sync.Mutex
	apiCalls, apiFaults := 0, 0
	front := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			apiMu.Lock()
			apiCalls++
			fail := apiCalls%5 == 3 // a fixed 20%: the seed of the API's outages
			if fail {
				apiFaults++
			}
			apiMu.Unlock()
			if fail {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = io.WriteString(w, `{"error":{"status":503,"code":"unavailable","message":"down for a moment"}}`)
				return
			}
			h.ServeHTTP(w, r)
		})
	}
	qe := newQueueEnv(t, front)

	fault := func(id string, attempt int) string {
		if attempt > 3 {
			return "ok"
		}
		h := fnv.New32a()
		_, _ = h.Write([]byte(strconv.Itoa(seed) + id + strconv.Itoa(attempt)))
		return [...]string{"ok", "ok", "ok", "500", "429", "401", "timeout", "refused", "reset"}[h.Sum32()%9]
	}
	var fmu sync.Mutex
	faults := map[string]int{}
	count := func(f string) {
		fmu.Lock()
		faults[f]++
		fmu.Unlock()
	}
	ep := newEndpoint(t, func(w http.ResponseWriter, r *http.Request, d delivery, take func()) {
		f := fault(d.id.String(), d.attempt)
		count(f)
		switch f {
		case "500":
			w.WriteHeader(http.StatusInternalServerError)
		case "429":
			w.WriteHeader(http.StatusTooManyRequests)
		case "401": // the endpoint refuses the listener: nothing processed
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, "bad signature")
		case "timeout": // processed, but the answer never comes in time
			take()
			<-r.Context().Done()
		case "reset":
			hj, _ := w.(http.Hijacker)
			conn, _, err := hj.Hijack()
			if err == nil {
				_ = conn.(*net.TCPConn).SetLinger(0)
				conn.Close()
			}
		default:
			take()
			w.WriteHeader(http.StatusOK)
		}
	})
	// A refused connection is a real one: the attempt dials a port nothing
	// listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	refusing := &refuser{next: tr, closed: closed, fault: fault, count: count}
	// The forwarder's log says which attempts it gave up waiting for: the
	// injected time-outs, and any answer a loaded machine made late.
	timeouts := &reasonCounter{reason: "time-out"}
	f, err := listen.NewForwarder(ep.srv.URL, listen.WithSecret(secret), listen.WithHTTPClient(&http.Client{Transport: refusing}),
		listen.WithTimeout(100*time.Millisecond), listen.WithBackoff(time.Millisecond, 5*time.Millisecond),
		listen.WithLogger(slog.New(timeouts)))
	if err != nil {
		t.Fatal(err)
	}
	a := newAcks(len(qe.ids))
	qe.listenAll(t, f, a)
	outcomes := qe.checkQueueEmpty(t)
	for id, s := range outcomes {
		if s != "success" {
			t.Errorf("task %s: %s", id, s)
		}
	}

	ds := ep.deliveries()
	per := map[uuid.UUID]int{}
	last := map[uuid.UUID]int64{}
	for _, d := range ds {
		per[d.id]++
		if !d.sigOK {
			t.Errorf("delivery of %s not signed right", d.id)
		}
		if d.seq < last[d.tenant] {
			t.Errorf("tenant %s: sequence %d delivered after %d", d.tenant, d.seq, last[d.tenant])
		}
		last[d.tenant] = max(last[d.tenant], d.seq)
	}
	dups := len(ds) - len(per)
	fmu.Lock()
	defer fmu.Unlock()
	t.Logf("%d tasks, %d deliveries taken, %d duplicates; endpoint faults %v; API: %d of %d requests answered 503",
		len(qe.ids), len(ds), dups, faults, apiFaults, apiCalls)
	if len(per) != len(qe.ids) {
		t.Fatalf("%d of %d tasks delivered", len(per), len(qe.ids))
	}
	// A task is delivered again only after an attempt whose answer never
	// came: each duplicate is one such time-out, no more.
	if lost := timeouts.count(); dups > lost || dups < faults["timeout"] {
		t.Fatalf("%d duplicates; %d attempts timed out (%d injected after the endpoint took the task)", dups, lost, faults["timeout"])
	}
	for _, f := range []string{"500", "429", "401", "timeout", "refused", "reset"} {
		if faults[f] == 0 {
			t.Errorf("the seed injected no %s: the test proves less than it says", f)
		}
	}
}

// reasonCounter is a slog handler counting the records whose reason is
// reason.
type reasonCounter struct {
	reason string
	mu     sync.Mutex
	n      int
}

func (c *reasonCounter) Enabled(context.Context, slog.Level) bool { return true }
func (c *reasonCounter) WithAttrs([]slog.Attr) slog.Handler       { return c }
func (c *reasonCounter) WithGroup(string) slog.Handler            { return c }
func (c *reasonCounter) Handle(_ context.Context, r slog.Record) error {
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "reason" && a.Value.String() == c.reason {
			c.mu.Lock()
			c.n++
			c.mu.Unlock()
		}
		return true
	})
	return nil
}

func (c *reasonCounter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// refuser sends the attempts the seed refuses to a closed port.
type refuser struct {
	next   http.RoundTripper
	closed string
	fault  func(id string, attempt int) string
	count  func(string)
}

func (r *refuser) RoundTrip(req *http.Request) (*http.Response, error) {
	n, _ := strconv.Atoi(req.Header.Get(listen.HeaderAttempt))
	if r.fault(req.Header.Get(listen.HeaderTaskID), n) == "refused" {
		r.count("refused")
		out := req.Clone(req.Context())
		out.URL.Host = r.closed
		return r.next.RoundTrip(out)
	}
	return r.next.RoundTrip(req)
}

// Stopping (Ctrl-C) while the endpoint is down: the listener makes no new
// attempt, releases the task and returns, well before the shutdown grace.
func TestListenStopsWhileTheEndpointIsDown(t *testing.T) {
	t.Parallel()
	qe := newQueueEnv(t, nil)
	attempts := make(chan struct{}, 100)
	ep := newEndpoint(t, func(w http.ResponseWriter, r *http.Request, d delivery, take func()) {
		select {
		case attempts <- struct{}{}:
		default:
		}
		w.WriteHeader(http.StatusBadGateway)
	})
	f, err := listen.NewForwarder(ep.srv.URL, listen.WithBackoff(time.Hour, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(qe.url+"/v2/interop/data", client.WithClientCredentials(qe.env.Tenants[0].ClientID, qe.env.Tenants[0].ClientSecret, qe.url+"/oauth/token"))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var released []models.TaskAckGroupItem
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- listen.Run(ctx, c, f, client.WithShutdownGrace(time.Hour), client.WithConcurrency(1),
			client.WithAckObserver(func(r client.AckResult) {
				mu.Lock()
				released = append(released, r.Ack)
				mu.Unlock()
			}))
	}()
	<-attempts // the first attempt failed; the forwarder now waits an hour
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the listener did not stop while its endpoint was down")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(released) == 0 {
		t.Fatal("nothing was released")
	}
	for _, r := range released {
		if r.Status != models.Retry {
			t.Fatalf("a task was acknowledged %s although never delivered", r.Status)
		}
	}
}

// --jsonl: every task, one JSON object a line, each as the queue gave it.
func TestJSONLines(t *testing.T) {
	t.Parallel()
	qe := newQueueEnv(t, nil)
	var buf syncWriter
	a := newAcks(len(qe.ids))
	qe.listenAll(t, listen.NewJSONLines(&buf), a)
	qe.checkQueueEmpty(t)
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	seen := map[uuid.UUID]bool{}
	for _, l := range lines {
		var tk client.Task
		if err := json.Unmarshal([]byte(l), &tk); err != nil || !qe.ids[tk.ID] {
			t.Fatalf("line %q: %v", l, err)
		}
		seen[tk.ID] = true
	}
	if len(seen) != len(qe.ids) {
		t.Fatalf("%d of %d tasks written", len(seen), len(qe.ids))
	}
	if err := listen.NewJSONLines(failingWriter{}).Deliver(context.Background(), &client.Task{Raw: []byte(`{"a":1}`)}); err == nil {
		t.Fatal("a task that could not be written was acknowledged success")
	}
}

type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestVerify(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"data_event":{"id":"x"}}`)
	h := listen.Sign(secret, now, body)
	if !strings.HasPrefix(h, "t=1800000000,v1=") || len(h) != len("t=1800000000,v1=")+64 {
		t.Fatalf("header %q", h)
	}
	if err := listen.Verify(secret, h, body, now.Add(time.Minute), 5*time.Minute); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		secret []byte
		header string
		body   []byte
		now    time.Time
	}{
		"tampered body":   {secret, h, []byte(`{"data_event":{"id":"y"}}`), now},
		"other secret":    {[]byte("other"), h, body, now},
		"replayed later":  {secret, h, body, now.Add(6 * time.Minute)},
		"from the future": {secret, h, body, now.Add(-6 * time.Minute)},
		"no timestamp":    {secret, h[strings.Index(h, ",")+1:], body, now},
		"no signature":    {secret, "t=1800000000", body, now},
		"garbage":         {secret, "sha256=abc", body, now},
	} {
		if err := listen.Verify(c.secret, c.header, c.body, c.now, 5*time.Minute); !errors.Is(err, listen.ErrSignature) {
			t.Errorf("%s: %v, want ErrSignature", name, err)
		}
	}
}

func TestNewForwarderRefusesBadConfiguration(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		url  string
		opts []listen.Option
	}{
		{"ftp://x/", nil},
		{"/relative", nil},
		{"http://127.0.0.1:1/", []listen.Option{listen.WithTimeout(0)}},
		{"http://127.0.0.1:1/", []listen.Option{listen.WithBackoff(time.Second, time.Millisecond)}},
	} {
		var ce *listen.ConfigError
		if _, err := listen.NewForwarder(c.url, c.opts...); !errors.As(err, &ce) {
			t.Errorf("%s: %v, want a *ConfigError", c.url, err)
		}
	}
}
