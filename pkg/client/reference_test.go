package client

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/interop-data/interop/gen/models"
	"github.com/interop-data/interop/internal/ops"
	"github.com/interop-data/interop/pkg/contract"
	"github.com/interop-data/interop/pkg/reference/referencetest"
	"github.com/interop-data/interop/pkg/reference/store"
	"github.com/interop-data/interop/pkg/server"
)

// countingTransport counts requests per path, to see the token endpoint,
// and records the operations of the contract they were.
type countingTransport struct {
	mu    sync.Mutex
	paths map[string]int
	ops   map[string]bool
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	if c.paths == nil {
		c.paths, c.ops = map[string]int{}, map[string]bool{}
	}
	c.paths[r.URL.Path]++
	if op, _ := requestOperation(r, contract.BasePath); op != nil {
		c.ops[op.id] = true
	}
	c.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

func (c *countingTransport) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.paths)
}

func (c *countingTransport) count(path string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.paths[path]
}

// refClient returns an enforcing client of tenant i of env.
func refClient(t testing.TB, env *referencetest.Env, i int, opts ...Option) (*Client, *countingTransport) {
	t.Helper()
	ct := &countingTransport{}
	all := append([]Option{
		WithHTTPClient(&http.Client{Transport: ct}),
		WithClientCredentials(env.Tenants[i].ClientID, env.Tenants[i].ClientSecret, env.TokenURL),
		WithValidation(ValidationEnforce),
		WithRetryPolicy(NoRetries()),
	}, opts...)
	c, err := New(env.URL, all...)
	if err != nil {
		t.Fatal(err)
	}
	return c, ct
}

func must[T any](t *testing.T, name string) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return v
	}
}

// TestReferenceEveryOperation calls every operation of the spec (the
// generated table says which; one it does not call fails it by name) through
// the wrapper against the reference server, enforcing the contract on every
// request and response, with small pages so every list walks several.
func TestReferenceEveryOperation(t *testing.T) {
	env := referencetest.Start(t)
	c, ct := refClient(t, env, 0)
	defer func() {
		// A list or find this test does not call by name (an operation new
		// in the spec) is called through its generated method; any other
		// operation must be called above.
		ct.mu.Lock()
		called := maps.Clone(ct.ops)
		ct.mu.Unlock()
		callGenerated(t, c, env.Tenants[0].Roster.Orgs[0].Sys.ID, called)
		ct.mu.Lock()
		defer ct.mu.Unlock()
		for _, o := range ops.All {
			if !ct.ops[o.ID] {
				t.Errorf("%s (%s %s) was not called", o.ID, o.Method, o.Path)
			}
		}
	}()
	ctx := context.Background()
	small := &ListOptions{PageSize: 3}

	orgs := must[[]models.Org](t, "orgs")(Collect(c.Orgs(ctx, small)))
	leas := must[[]models.Org](t, "leas")(Collect(c.LEAs(ctx, small)))
	schools := must[[]models.Org](t, "schools")(Collect(c.Schools(ctx, small)))
	if len(orgs) != len(leas)+len(schools) || len(leas) != 1 || len(schools) != 2 {
		t.Fatalf("orgs %d leas %d schools %d", len(orgs), len(leas), len(schools))
	}
	persons := must[[]models.Person](t, "persons")(Collect(c.Persons(ctx, small)))
	students := must[[]models.Person](t, "students")(Collect(c.Students(ctx, small)))
	teachers := must[[]models.Person](t, "teachers")(Collect(c.Teachers(ctx, small)))
	if len(students) != 16 || len(teachers) != 4 || len(persons) != 20 {
		t.Fatalf("persons %d students %d teachers %d", len(persons), len(students), len(teachers))
	}
	courses := must[[]models.Course](t, "courses")(Collect(c.Courses(ctx, small)))
	sections := must[[]models.Section](t, "sections")(Collect(c.Sections(ctx, small)))
	terms := must[[]models.Term](t, "terms")(Collect(c.Terms(ctx, small)))
	cats := must[[]models.GradingCategory](t, "categories")(Collect(c.GradingCategories(ctx, small)))
	if len(courses) != 4 || len(sections) != 8 || len(terms) != 3 || len(cats) != 24 {
		t.Fatalf("courses %d sections %d terms %d categories %d", len(courses), len(sections), len(terms), len(cats))
	}
	// No object twice across pages.
	seen := map[uuid.UUID]bool{}
	for _, p := range persons {
		if seen[p.Sys.ID] {
			t.Fatalf("person %s twice", p.Sys.ID)
		}
		seen[p.Sys.ID] = true
	}

	school := schools[0].Sys.ID
	var perSchool int
	for _, s := range schools {
		perSchool += len(must[[]models.Person](t, "students for org")(Collect(c.StudentsForOrg(ctx, s.Sys.ID, small))))
	}
	if perSchool != 16 {
		t.Fatalf("students over schools: %d", perSchool)
	}
	if n := len(must[[]models.Person](t, "teachers for org")(Collect(c.TeachersForOrg(ctx, school, small)))); n != 2 {
		t.Fatalf("teachers of a school: %d", n)
	}
	if n := len(must[[]models.Course](t, "courses for org")(Collect(c.CoursesForOrg(ctx, school, small)))); n != 2 {
		t.Fatalf("courses of a school: %d", n)
	}
	if n := len(must[[]models.Section](t, "sections for org")(Collect(c.SectionsForOrg(ctx, school, small)))); n != 4 {
		t.Fatalf("sections of a school: %d", n)
	}
	if n := len(must[[]models.Term](t, "terms for org")(Collect(c.TermsForOrg(ctx, school, small)))); n == 0 {
		t.Fatal("no terms for a school")
	}

	lea := leas[0].Sys.ID
	if o := must[*models.Org](t, "findOrg")(c.FindOrg(ctx, school)); o.Sys.ID != school {
		t.Fatal("findOrg")
	}
	if o := must[*models.Org](t, "findLEA")(c.FindLEA(ctx, lea)); o.Sys.ID != lea {
		t.Fatal("findLEA")
	}
	if _, err := c.FindLEA(ctx, school); !errors.Is(err, ErrNotFound) {
		t.Fatalf("findLEA of a school: %v", err)
	}
	if p := must[*models.Person](t, "findPerson")(c.FindPerson(ctx, students[0].Sys.ID)); p.Sys.ID != students[0].Sys.ID {
		t.Fatal("findPerson")
	}
	must[*models.Course](t, "findCourse")(c.FindCourse(ctx, courses[0].Sys.ID))
	must[*models.Section](t, "findSection")(c.FindSection(ctx, sections[0].Sys.ID))
	must[*models.Term](t, "findTerm")(c.FindTerm(ctx, terms[0].Sys.ID))
	unknown := uuid.New()
	for name, err := range map[string]error{
		"findOrg":     second(c.FindOrg(ctx, unknown)),
		"findPerson":  second(c.FindPerson(ctx, unknown)),
		"findCourse":  second(c.FindCourse(ctx, unknown)),
		"findSection": second(c.FindSection(ctx, unknown)),
		"findTerm":    second(c.FindTerm(ctx, unknown)),
		"studentsFor": second(Collect(c.StudentsForOrg(ctx, unknown, nil))),
	} {
		var ae *APIError
		if !errors.Is(err, ErrNotFound) || !errors.As(err, &ae) || ae.Code != "not_found" || ae.Operation == "" || ae.RequestID == "" {
			t.Errorf("%s of an unknown id: %v", name, err)
		}
	}
	// Another tenant's object is not found either.
	other, _ := refClient(t, env, 1)
	if _, err := other.FindOrg(ctx, school); !errors.Is(err, ErrNotFound) {
		t.Errorf("cross-tenant find: %v", err)
	}

	// Tasks: the admin view, then lease, acknowledge one and a group.
	admin := must[[]*Task](t, "adminTasks")(Collect(c.AdminTasks(ctx, &TaskListOptions{PageSize: 10})))
	if len(admin) < 10 || admin[0].Kind != KindLifecycle || admin[0].LifecycleEvent.Action != "TENANT_INSTALLED" {
		t.Fatalf("admin tasks: %d, first %+v", len(admin), admin[0])
	}
	flat := must[*Task](t, "findAdminTask")(c.FindAdminTask(ctx, admin[1].ID, "3.0.0"))
	if flat.Kind != admin[1].Kind || flat.Sequence != admin[1].Sequence || !strings.Contains(string(flat.Raw), `"type":`) {
		t.Fatalf("flat rendering: %+v", flat)
	}
	batch := must[[]*Task](t, "listTasks")(c.ListTasks(ctx, &TaskListOptions{PageSize: 4}))
	if len(batch) != 4 || batch[0].ID != admin[0].ID {
		t.Fatalf("batch %d", len(batch))
	}
	if again := must[[]*Task](t, "listTasks")(c.ListTasks(ctx, &TaskListOptions{PageSize: 4})); len(again) != 4 || again[0].ID == batch[0].ID {
		t.Fatal("leased tasks delivered again")
	}
	r := must[*models.TaskAckReceipt](t, "acknowledgeTask")(c.AcknowledgeTask(ctx, batch[0].ID, models.TaskAck{Status: models.Success, Message: "installed"}))
	if r.TaskID != batch[0].ID || r.Status != models.Success {
		t.Fatalf("receipt %+v", r)
	}
	rs := must[[]models.TaskAckReceipt](t, "acknowledgeTasks")(c.AcknowledgeTasks(ctx, []models.TaskAckGroupItem{
		{TaskID: batch[1].ID, Status: models.Success}, {TaskID: batch[2].ID, Status: models.Error, Message: "no school"},
	}))
	if len(rs) != 2 {
		t.Fatalf("receipts %+v", rs)
	}
	must[*models.TaskAckReceipt](t, "acknowledgeAdminTask")(c.AcknowledgeAdminTask(ctx, batch[3].ID, models.TaskAck{Status: models.Success}))
	must[[]models.TaskAckReceipt](t, "acknowledgeAdminTasks")(c.AcknowledgeAdminTasks(ctx, []models.TaskAckGroupItem{{TaskID: admin[5].ID, Status: models.Success}}))
	del := must[*Task](t, "deleteAdminTask")(c.DeleteAdminTask(ctx, admin[6].ID))
	if del.ID != admin[6].ID {
		t.Fatal("deleted another task")
	}
	if _, err := c.FindAdminTask(ctx, admin[6].ID, ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted task still found: %v", err)
	}
}

func second[T any](_ T, err error) error { return err }

// TestReferenceErrorTypes provokes every error the client distinguishes.
func TestReferenceErrorTypes(t *testing.T) {
	env := referencetest.Start(t)
	ctx := context.Background()

	// Wrong secret: the token endpoint refuses.
	bad, err := New(env.URL, WithClientCredentials("tenant-0", "wrong", env.TokenURL))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Collect(bad.Orgs(ctx, nil)); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("wrong secret: %v", err)
	}
	// No credentials at all: the API refuses.
	anon, _ := New(env.URL, WithValidation(ValidationEnforce))
	if _, err := Collect(anon.Orgs(ctx, nil)); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("anonymous: %v", err)
	}
	// A forged token.
	forged, _ := New(env.URL, WithBearerToken("forged"), WithValidation(ValidationEnforce))
	if _, err := Collect(forged.Orgs(ctx, nil)); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("forged token: %v", err)
	}

	// Bad request, as the server judges it (client validation off).
	c, _ := refClient(t, env, 0, WithValidation(ValidationOff))
	_, err = Collect(c.Orgs(ctx, &ListOptions{PageSize: 5000}))
	var ae *APIError
	if !errors.Is(err, ErrBadRequest) || !errors.As(err, &ae) || ae.Code != "invalid_parameter" {
		t.Errorf("page_size 5000: %v", err)
	}
	if _, err := c.ListTasks(ctx, &TaskListOptions{Schema: "9.9.9"}); !errors.Is(err, ErrBadRequest) {
		t.Errorf("unknown schema: %v", err)
	}
	// Forbidden: another tenant's queue.
	if _, err := c.ListTasks(ctx, &TaskListOptions{TenantID: env.Tenants[1].ID}); !errors.Is(err, ErrForbidden) {
		t.Errorf("other tenant's tasks: %v", err)
	}
	// Not found: a group with an unknown task acknowledges nothing.
	batch, err := c.ListTasks(ctx, &TaskListOptions{PageSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.AcknowledgeTasks(ctx, []models.TaskAckGroupItem{{TaskID: batch[0].ID, Status: models.Success}, {TaskID: uuid.New(), Status: models.Success}})
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("group with an unknown task: %v", err)
	}
	if _, err := c.FindAdminTask(ctx, batch[0].ID, ""); err != nil {
		t.Errorf("a refused group acknowledged a task: %v", err)
	}
	// Conflict: a different outcome for a removed task.
	if _, err := c.AcknowledgeTask(ctx, batch[0].ID, models.TaskAck{Status: models.Success}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AcknowledgeTask(ctx, batch[0].ID, models.TaskAck{Status: models.Success}); err != nil {
		t.Errorf("repeating an ack must succeed: %v", err)
	}
	if _, err := c.AcknowledgeTask(ctx, batch[0].ID, models.TaskAck{Status: models.Error, Message: "late"}); !errors.Is(err, ErrConflict) {
		t.Errorf("conflicting ack: %v", err)
	}
	// Enforced request validation stops a bad body before the server.
	ec, _ := refClient(t, env, 0)
	if _, err := ec.AcknowledgeTask(ctx, batch[1].ID, models.TaskAck{Status: "maybe"}); !errors.Is(err, ErrContractViolation) {
		t.Errorf("invalid ack status: %v", err)
	}
	// The server judges it too when the client does not.
	if _, err := c.AcknowledgeTask(ctx, batch[1].ID, models.TaskAck{Status: "maybe"}); !errors.Is(err, ErrBadRequest) {
		t.Errorf("invalid ack status, server side: %v", err)
	}
	// Server down: the network error surfaces after the retries.
	env.Server.Close()
	s := &fakeSleep{}
	down, _ := refClient(t, env, 0, WithRetryPolicy(testPolicy(s)))
	if _, err := Collect(down.Orgs(ctx, nil)); err == nil || errors.As(err, &ae) {
		t.Errorf("server down: %v", err)
	}
}

// TestReferenceExpiredTokenRefreshed lets the server's clock pass the token's
// expiry: the server answers 401, the client fetches one new token and the
// call succeeds.
func TestReferenceExpiredTokenRefreshed(t *testing.T) {
	env := referencetest.Start(t)
	c, ct := refClient(t, env, 0)
	ctx := context.Background()
	if _, err := Collect(c.LEAs(ctx, nil)); err != nil {
		t.Fatal(err)
	}
	env.Clock.Advance(25 * time.Hour)
	if _, err := Collect(c.LEAs(ctx, nil)); err != nil {
		t.Fatal(err)
	}
	if n := ct.count("/oauth/token"); n != 2 {
		t.Fatalf("token endpoint called %d times, want 2", n)
	}
}

// TestReferenceRateLimitRetryAfter runs the reference server with the kit's
// rate limiter (a request every 2s, burst 2, on the server's fake clock): its
// 429 passes the enforcing client's validation and surfaces as ErrRateLimited
// without retries; with retries, the client waits exactly the Retry-After
// the server sent (the injected sleep advances the server's clock by what it
// is asked to wait, so nothing really sleeps) and the call then succeeds.
func TestReferenceRateLimitRetryAfter(t *testing.T) {
	env := referencetest.Start(t, referencetest.WithTenants(1),
		referencetest.WithServerOptions(server.WithRateLimit(server.RateLimit{PerSecond: 0.5, Burst: 2})))
	ctx := context.Background()
	leas := "/v2/interop/data/rostering/leas"

	plain, _ := refClient(t, env, 0) // enforcing validation, no retries
	for i := range 2 {
		if _, err := Collect(plain.LEAs(ctx, nil)); err != nil {
			t.Fatalf("request %d within the burst: %v", i+1, err)
		}
	}
	_, err := Collect(plain.LEAs(ctx, nil))
	var ae *APIError
	if !errors.Is(err, ErrRateLimited) || !errors.As(err, &ae) || ae.Code != "rate_limited" {
		t.Fatalf("over the limit: %v, want a valid 429 rate_limited", err)
	}

	env.Clock.Advance(4 * time.Second) // the bucket is full again
	var mu sync.Mutex
	var slept []time.Duration
	p := DefaultRetryPolicy()
	p.clk = funcClock{now: env.Clock.Now, sleep: func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		slept = append(slept, d)
		mu.Unlock()
		env.Clock.Advance(d)
		return ctx.Err()
	}}
	c, ct := refClient(t, env, 0, WithRetryPolicy(p))
	for i := range 3 {
		if _, err := Collect(c.LEAs(ctx, nil)); err != nil {
			t.Fatalf("call %d with retries: %v", i+1, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(slept) != 1 || slept[0] != 2*time.Second {
		t.Errorf("slept %v, want one Retry-After of 2s", slept)
	}
	if n := ct.count(leas); n != 4 {
		t.Errorf("%s requested %d times, want 4 (two, then the third once refused and once retried)", leas, n)
	}
}

// TestReferenceConsumer checks the consumer's guarantees on the real queue:
// every task handled and acknowledged once, in each tenant's order, a
// handler error acknowledged as error, and the history says so.
func TestReferenceConsumer(t *testing.T) {
	env := referencetest.Start(t, referencetest.WithBatchSize(7))
	c, _ := refClient(t, env, 0, WithRetryPolicy(DefaultRetryPolicy()))
	ctx := context.Background()
	all := must[[]*Task](t, "admin")(Collect(c.AdminTasks(ctx, nil)))
	total := len(all)

	var mu sync.Mutex
	handled := map[uuid.UUID]int{}
	var seqs []int64
	var failID uuid.UUID
	h := HandlerFuncs{Default: func(_ context.Context, tk *Task) error {
		mu.Lock()
		defer mu.Unlock()
		handled[tk.ID]++
		seqs = append(seqs, tk.Sequence)
		if tk.Kind == KindData && failID == uuid.Nil {
			failID = tk.ID
			return errors.New("cannot map this object")
		}
		return nil
	}}
	var acked atomic.Int32
	var ackErrs atomic.Int32
	err := runUntil(t, c, h, func(r AckResult) bool {
		if r.Err != nil {
			ackErrs.Add(1)
		}
		return int(acked.Add(1)) == total
	}, WithIdleBackoff(time.Millisecond, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if len(handled) != total || ackErrs.Load() != 0 {
		t.Fatalf("handled %d of %d, %d ack errors", len(handled), total, ackErrs.Load())
	}
	for id, n := range handled {
		if n != 1 {
			t.Fatalf("task %s handled %d times", id, n)
		}
	}
	if !slices.IsSorted(seqs) {
		t.Fatalf("sequence order broken: %v", seqs)
	}
	if left := must[[]*Task](t, "admin")(Collect(c.AdminTasks(ctx, nil))); len(left) != 0 {
		t.Fatalf("%d tasks left in the queue", len(left))
	}
	hist, err := env.Store.History(ctx, env.Tenants[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	var errAcks int
	for _, e := range hist {
		if e.TaskID == failID && string(e.Status) == "error" && e.Message == "cannot map this object" {
			errAcks++
		}
	}
	if errAcks != 1 {
		t.Fatalf("history has %d error acks for the failing task: %+v", errAcks, hist)
	}
}

// TestReferenceConsumerCrashAndCancel: a worker that leases a batch and dies
// loses nothing (the batch comes back after the lease, on the fake clock, and
// a consumer handles it), and a worker cancelled mid-handler acknowledges what
// it handled and releases what it had not started, at once.
func TestReferenceConsumerCrashAndCancel(t *testing.T) {
	env := referencetest.Start(t, referencetest.WithTenants(1), referencetest.WithTaskLease(time.Minute), referencetest.WithBatchSize(5))
	c, _ := refClient(t, env, 0, WithRetryPolicy(DefaultRetryPolicy()))
	ctx := context.Background()
	total := len(must[[]*Task](t, "admin")(Collect(c.AdminTasks(ctx, nil))))
	crashed := must[[]*Task](t, "lease")(c.ListTasks(ctx, nil))
	if len(crashed) != 5 || total < 15 {
		t.Fatalf("leased %d of %d", len(crashed), total)
	}

	// Cancel while the first handler of the next batch runs: it must still
	// be acknowledged, and the four tasks after it released with retry.
	runCtx, cancel := context.WithCancel(ctx)
	var handled []uuid.UUID
	var mu sync.Mutex
	acks := map[uuid.UUID]AckResult{}
	h := HandlerFuncs{Default: func(_ context.Context, tk *Task) error {
		handled = append(handled, tk.ID)
		cancel()
		return nil
	}}
	cons := newConsumer(t, c, h, withConsumerSleep(func(ctx context.Context, d time.Duration) error { return ctx.Err() }),
		WithAckObserver(func(r AckResult) {
			mu.Lock()
			acks[r.Task.ID] = r
			mu.Unlock()
		}))
	if err := cons.Run(runCtx); err != nil {
		t.Fatal(err)
	}
	if len(handled) != 1 || len(acks) != 5 {
		t.Fatalf("handled %d, acknowledged %d after cancel", len(handled), len(acks))
	}
	if _, err := c.FindAdminTask(ctx, handled[0], ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the handled task was not acknowledged: %v", err)
	}
	if slices.Contains(taskIDs(crashed), handled[0]) {
		t.Fatal("a leased task was delivered before its lease ended")
	}
	var released []uuid.UUID
	for id, r := range acks {
		if id != handled[0] {
			if r.Err != nil || r.Ack.Status != models.Retry {
				t.Fatalf("unstarted task %s: %+v", id, r)
			}
			released = append(released, id)
		}
	}
	// The released tasks are leasable again before any lease ends, ahead of
	// the rest of the queue; the crashed worker's are not.
	again := must[[]*Task](t, "relist")(c.ListTasks(ctx, nil))
	if got := taskIDs(again); len(got) != 5 || !sameIDs(got[:4], released) || slices.Contains(taskIDs(crashed), got[4]) {
		t.Fatalf("released tasks not redelivered at once: got %v, released %v", got, released)
	}

	// After the lease, a consumer receives the crashed worker's batch (and
	// the one just leased) and everything else, each task exactly once, in
	// sequence order, until the queue is empty.
	env.Clock.Advance(2 * time.Minute)
	left := total - 1
	times := map[uuid.UUID]int{}
	var seqs []int64
	h = HandlerFuncs{Default: func(_ context.Context, tk *Task) error {
		times[tk.ID]++
		seqs = append(seqs, tk.Sequence)
		return nil
	}}
	var acked atomic.Int32
	if err := runUntil(t, c, h, func(r AckResult) bool { return int(acked.Add(1)) == left }); err != nil {
		t.Fatal(err)
	}
	if seqs[0] != crashed[0].Sequence || !slices.IsSorted(seqs) || len(times) != left {
		t.Fatalf("after the lease: %d tasks handled, sequences %v (crashed batch starts at %d)", len(times), seqs, crashed[0].Sequence)
	}
	for _, id := range taskIDs(crashed) {
		if times[id] != 1 {
			t.Fatalf("crashed task %s handled %d times", id, times[id])
		}
	}
	if rest := must[[]*Task](t, "admin")(Collect(c.AdminTasks(ctx, nil))); len(rest) != 0 {
		t.Fatalf("%d tasks left in the queue", len(rest))
	}
}

// TestReferenceConsumerIdleBackoff: once the real queue is empty the
// consumer polls with growing, capped pauses; the pauses are injected, so the
// test never waits.
func TestReferenceConsumerIdleBackoff(t *testing.T) {
	env := referencetest.Start(t, referencetest.WithTenants(1))
	c, _ := refClient(t, env, 0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var handled atomic.Int32
	var delays []time.Duration
	var pendingAtFirstPause int
	cons := newConsumer(t, c, HandlerFuncs{Default: func(context.Context, *Task) error { handled.Add(1); return nil }},
		WithIdleBackoff(time.Second, 4*time.Second),
		withConsumerSleep(func(ctx context.Context, d time.Duration) error {
			if len(delays) == 0 {
				pendingAtFirstPause = len(must[[]*Task](t, "admin")(Collect(c.AdminTasks(ctx, nil))))
			}
			if delays = append(delays, d); len(delays) == 5 {
				cancel()
			}
			return ctx.Err()
		}))
	cons.jitter = func() float64 { return 1 }
	if err := cons.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if handled.Load() == 0 || pendingAtFirstPause != 0 {
		t.Fatalf("handled %d; %d tasks still queued at the first pause", handled.Load(), pendingAtFirstPause)
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second, 4 * time.Second}
	if !slices.Equal(delays, want) {
		t.Fatalf("pauses %v, want %v", delays, want)
	}
}

func sameIDs(a, b []uuid.UUID) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	cmp := func(x, y uuid.UUID) int { return strings.Compare(x.String(), y.String()) }
	slices.SortFunc(a, cmp)
	slices.SortFunc(b, cmp)
	return slices.Equal(a, b)
}

func taskIDs(ts []*Task) []uuid.UUID {
	out := make([]uuid.UUID, len(ts))
	for i, t := range ts {
		out[i] = t.ID
	}
	return out
}

// TestReferenceConsumerGroupsFitTheBodyLimit: 700 tasks that fail with
// 4,000-character messages are 2.8 MB of acknowledgements, over the spec's
// 2 MiB body limit. The consumer sends them in groups that fit (no group is
// refused with a 413 and no task falls back to a single acknowledgement)
// and every message arrives whole.
func TestReferenceConsumerGroupsFitTheBodyLimit(t *testing.T) {
	env := referencetest.Start(t, referencetest.WithTenants(1), referencetest.WithDistrict(referencetest.SmallDistrict), referencetest.WithBatchSize(2000))
	ctx := context.Background()
	tn := env.Tenants[0].ID
	const total = 700
	env.QueueDataEvents(t, 0, total)
	c, ct := refClient(t, env, 0)
	message := strings.Repeat("<", 10) + strings.Repeat("m", 3990) // escapes count too
	h := HandlerFuncs{Default: func(context.Context, *Task) error { return errors.New(message) }}
	var acked, ackErrs atomic.Int32
	err := runUntil(t, c, h, func(r AckResult) bool {
		if r.Err != nil {
			ackErrs.Add(1)
		}
		return int(acked.Add(1)) == total
	}, WithBatchSize(total), WithAckFlush(total, time.Hour), WithIdleBackoff(time.Millisecond, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if ackErrs.Load() != 0 {
		t.Fatalf("%d acknowledgements failed", ackErrs.Load())
	}
	groups := ct.count(contract.BasePath + "/tasks/ack")
	single := 0
	for p, n := range ct.snapshot() {
		if strings.HasSuffix(p, "/ack") && p != contract.BasePath+"/tasks/ack" {
			single += n
		}
	}
	if groups < 2 || single != 0 {
		t.Fatalf("%d group and %d single acknowledgements for %d tasks with long messages", groups, single, total)
	}
	hist, err := env.Store.History(ctx, tn)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != total {
		t.Fatalf("history has %d entries, want %d", len(hist), total)
	}
	for _, e := range hist {
		if e.Status != store.AckError || e.Message != message {
			t.Fatalf("history entry %+v", e)
		}
	}
}

// callGenerated calls each list (page size 3, every page) and find of the
// spec not in called through the client's generated methods; a find gets
// the first id its list answers.
func callGenerated(t *testing.T, c *Client, org uuid.UUID, called map[string]bool) {
	t.Helper()
	ctx := reflect.ValueOf(context.Background())
	firstID := map[string]reflect.Value{}
	for _, l := range ops.Lists() {
		if l.Client == "" && !called[l.ID] {
			// A deprecated alias has no client helper (paths-2022): it is
			// called through the client's transport.
			resp, err := c.HTTPClient().Get(c.BaseURL() + l.Path)
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Errorf("%s: %v %v", l.ID, resp, err)
			}
			if resp != nil {
				_ = resp.Body.Close()
			}
			continue
		}
		m := reflect.ValueOf(c).MethodByName(l.Client)
		if !m.IsValid() || called[l.ID] && called[l.Find] {
			continue
		}
		args := []reflect.Value{ctx}
		if l.HasID {
			args = append(args, reflect.ValueOf(org))
		}
		seq := m.Call(append(args, reflect.ValueOf(&ListOptions{PageSize: 3})))[0]
		yield := reflect.MakeFunc(seq.Type().In(0), func(in []reflect.Value) []reflect.Value {
			if !in[1].IsNil() {
				t.Errorf("%s: %v", l.ID, in[1].Interface())
				return []reflect.Value{reflect.ValueOf(false)}
			}
			if _, ok := firstID[l.Find]; !ok && l.Find != "" {
				firstID[l.Find] = in[0].FieldByName("Sys").FieldByName("ID")
			}
			return []reflect.Value{reflect.ValueOf(true)}
		})
		seq.Call([]reflect.Value{yield})
	}
	for _, f := range ops.Finds() {
		id, ok := firstID[f.ID]
		m := reflect.ValueOf(c).MethodByName(f.Client)
		if called[f.ID] || !ok || !m.IsValid() {
			continue
		}
		if out := m.Call([]reflect.Value{ctx, id}); !out[1].IsNil() {
			t.Errorf("%s of %v: %v", f.ID, id, out[1].Interface())
		}
	}
}
