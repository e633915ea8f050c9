// Package referencetest starts the reference server for other packages'
// tests: a real server (store, OAuth2, kit validation both ways) on a
// temporary SQLite file behind an httptest server, with two tenants holding
// small deterministic districts and a fake clock that moves only when told.
//
//	env := referencetest.Start(t)
//	c, _ := client.New(env.URL, client.WithClientCredentials(env.Tenants[0].ClientID, env.Tenants[0].ClientSecret, env.TokenURL))
//	env.Clock.Advance(6 * time.Minute) // every lease has expired
package referencetest

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/interop-data/interop/internal/fakeclock"
	"github.com/interop-data/interop/pkg/contract"
	"github.com/interop-data/interop/pkg/reference"
	"github.com/interop-data/interop/pkg/reference/lti"
	"github.com/interop-data/interop/pkg/reference/store"
	"github.com/interop-data/interop/pkg/reference/store/sqlite"
	"github.com/interop-data/interop/pkg/server"
)

// Epoch is where every Env's clock begins.
var Epoch = time.Date(2025, 11, 16, 12, 0, 0, 0, time.UTC)

// FakeClock is a clock that moves only when told; safe for concurrent use.
type FakeClock = fakeclock.Clock

// NewFakeClock returns a clock reading t.
func NewFakeClock(t time.Time) *FakeClock { return fakeclock.New(t) }

// Tenant is one of the Env's tenants.
type Tenant struct {
	ID           uuid.UUID
	Name         string
	ClientID     string
	ClientSecret string
	// Roster is the district loaded into the tenant: its ids are the ones
	// the server answers.
	Roster reference.Roster
}

// Env is a running reference server.
type Env struct {
	// URL is the API's base URL, ending in /v2/interop/data.
	URL string
	// TokenURL is the OAuth2 token endpoint.
	TokenURL string
	// Root is the server's root URL (for /healthz, /readyz, /metrics).
	Root    string
	Tenants []Tenant
	Clock   *FakeClock
	Store   store.Store
	// DBPath is the SQLite file, for restart tests.
	DBPath   string
	Server   *httptest.Server
	Instance *reference.Instance
	// LTI is the server's LTI test issuer (on the Env's clock): LTIToken
	// mints its tokens, and the server accepts them beside OAuth2.
	LTI *lti.Issuer

	closeOnce sync.Once
}

type config struct {
	open       func(ctx context.Context, dsn string) (store.Store, error)
	lease      time.Duration
	batch      int
	tenants    int
	size       reference.DemoSize
	trustProxy bool
	dbPath     string
	serverOpts []server.Option
	logger     *slog.Logger
}

// Option configures Start.
type Option func(*config)

// WithTaskLease sets the task lease (default 5m).
func WithTaskLease(d time.Duration) Option { return func(c *config) { c.lease = d } }

// WithBatchSize sets the GET /tasks batch size (default 100).
func WithBatchSize(n int) Option { return func(c *config) { c.batch = n } }

// WithTenants sets how many tenants to create (default 2).
func WithTenants(n int) Option { return func(c *config) { c.tenants = n } }

// WithDistrict sets the size of each tenant's district (Seed is set per tenant).
func WithDistrict(s reference.DemoSize) Option { return func(c *config) { c.size = s } }

// WithTrustProxy makes the server believe X-Forwarded-* from a proxy on
// loopback, where the test's requests come from (a forwarded host still
// needs server.WithAllowedHosts to reach a link).
func WithTrustProxy() Option {
	return func(c *config) {
		c.trustProxy = true
		c.serverOpts = append(c.serverOpts, server.WithTrustedProxies("127.0.0.0/8", "::1"))
	}
}

// WithDBPath uses this file instead of a fresh temporary one (restart tests:
// start a second Env on the first one's DBPath; it creates no tenant when
// the file already has some).
func WithDBPath(p string) Option { return func(c *config) { c.dbPath = p } }

// WithOpener opens the database of WithDBPath with open instead of as a
// SQLite file: open.Store opens a PostgreSQL URL too. referencetest itself
// links only the SQLite driver.
func WithOpener(open func(ctx context.Context, dsn string) (store.Store, error)) Option {
	return func(c *config) { c.open = open }
}

// WithServerOptions adds kit options.
func WithServerOptions(o ...server.Option) Option {
	return func(c *config) { c.serverOpts = append(c.serverOpts, o...) }
}

// WithLogger sets the server's logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// SmallDistrict is the default district of each tenant: one LEA, two
// schools, 16 students, 4 teachers, 4 courses, 8 sections, 3 terms, 24
// grading categories.
var SmallDistrict = reference.DemoSize{Schools: 2, StudentsPerSchool: 8, TeachersPerSchool: 2, CoursesPerSchool: 2, SectionsPerCourse: 2, StudentsPerSection: 4}

// Start starts a server and stops it when the test ends. Tenant i (from 0)
// has client id "tenant-<i>" and secret "secret-<i>"; its tasks are
// TENANT_INSTALLED then the sync of its district, all leasable.
func Start(t testing.TB, opts ...Option) *Env {
	t.Helper()
	cfg := config{tenants: 2, size: SmallDistrict, logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.dbPath == "" {
		cfg.dbPath = filepath.Join(t.TempDir(), "reference.db")
	}
	clock := NewFakeClock(Epoch)
	ctx := context.Background()
	if cfg.open == nil {
		cfg.open = func(ctx context.Context, path string) (store.Store, error) { return sqlite.Open(ctx, path) }
	}
	st, err := cfg.open(ctx, cfg.dbPath)
	if err != nil {
		t.Fatalf("referencetest: %v", err)
	}
	issuer := lti.New(st, lti.WithClock(clock.Now))
	if _, err := issuer.Ensure(ctx); err != nil {
		t.Fatalf("referencetest: lti key: %v", err)
	}
	srv, inst, err := reference.NewServer(ctx, reference.Config{
		Store: st, TaskLease: cfg.lease, BatchSize: cfg.batch, Clock: clock.Now,
		Logger: cfg.logger, TrustProxy: cfg.trustProxy, ServerOptions: cfg.serverOpts,
		LTI: issuer,
	})
	if err != nil {
		t.Fatalf("referencetest: %v", err)
	}
	env := &Env{Clock: clock, Store: inst.Store, DBPath: cfg.dbPath, Instance: inst, LTI: issuer}
	for i := 0; i < cfg.tenants; i++ {
		size := cfg.size
		size.Seed = uint64(i + 1)
		tn := Tenant{
			ID: uuid.NewSHA1(uuid.NameSpaceURL, []byte("referencetest/tenant/"+strconv.Itoa(i))), Name: "Tenant " + strconv.Itoa(i),
			ClientID: "tenant-" + strconv.Itoa(i), ClientSecret: "secret-" + strconv.Itoa(i), Roster: reference.Demo(size),
		}
		if _, err := inst.Store.FindTenant(ctx, tn.ID); err == nil {
			env.Tenants = append(env.Tenants, tn) // restarted on an existing file
			continue
		}
		if _, err := reference.InstallTenant(ctx, inst.Store, tn.Name, clock.Now(), reference.TenantCredentials{TenantID: tn.ID, ClientID: tn.ClientID, ClientSecret: tn.ClientSecret}); err != nil {
			t.Fatalf("referencetest: tenant %d: %v", i, err)
		}
		if _, err := reference.Load(ctx, inst.Store, tn.ID, tn.Roster, clock.Now()); err != nil {
			t.Fatalf("referencetest: load tenant %d: %v", i, err)
		}
		env.Tenants = append(env.Tenants, tn)
	}
	env.Server = httptest.NewServer(srv.Handler())
	env.Root = env.Server.URL
	env.URL = env.Server.URL + contract.BasePath
	env.TokenURL = env.Server.URL + "/oauth/token"
	t.Cleanup(env.Close)
	return env
}

// Close stops the server and closes its store; Start arranges it at the end
// of the test, and calling it earlier (a restart test) is fine.
func (e *Env) Close() {
	e.closeOnce.Do(func() {
		e.Server.Close()
		e.Instance.Close()
	})
}

// LTIToken mints an LTI JWT of the test issuer naming the tenants at these
// indexes (tenant 0 when none is given), valid for an hour of the Env's clock.
func (e *Env) LTIToken(t testing.TB, tenants ...int) string {
	t.Helper()
	if len(tenants) == 0 {
		tenants = []int{0}
	}
	ids := make([]uuid.UUID, len(tenants))
	for n, i := range tenants {
		ids[n] = e.Tenants[i].ID
	}
	tok, err := e.LTI.Mint(context.Background(), ids, time.Hour, "")
	if err != nil {
		t.Fatalf("referencetest: lti token: %v", err)
	}
	return tok.Token
}

// Token obtains an access token for tenant i through the token endpoint.
func (e *Env) Token(t testing.TB, i int) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {e.Tenants[i].ClientID}, "client_secret": {e.Tenants[i].ClientSecret}}
	resp, err := http.Post(e.TokenURL, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatalf("referencetest: token: %v", err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("referencetest: token: %s: %s", resp.Status, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.AccessToken == "" {
		t.Fatalf("referencetest: token: %v", err)
	}
	return body.AccessToken
}

// QueueDataEvents leaves tenant i's queue holding n ADD events of its first
// person and nothing else: what the district's load queued is leased for
// good (never delivered again), so a test or benchmark of the queue sees
// exactly the tasks it asked for.
func (e *Env) QueueDataEvents(t testing.TB, i, n int) {
	t.Helper()
	ctx := context.Background()
	tn := e.Tenants[i].ID
	if _, err := e.Store.LeaseTasks(ctx, store.LeaseQuery{Tenants: []uuid.UUID{tn}, Limit: 1 << 20, Now: e.Clock.Now(), Lease: 1 << 62}); err != nil {
		t.Fatalf("referencetest: clear the queue: %v", err)
	}
	person := e.Tenants[i].Roster.Persons[0]
	data, _ := json.Marshal(person)
	obj := store.Object{ID: person.Sys.ID, Kind: store.KindPerson, Subtype: string(person.Sys.PersonType), Label: person.Sys.Label, Data: data}
	group := uuid.New()
	for left := n; left > 0; left -= 5000 {
		batch := make([]store.NewTask, min(left, 5000))
		for j := range batch {
			batch[j] = reference.DataTask(reference.ActionAdd, obj, data, nil, group, "")
		}
		if _, err := e.Store.Enqueue(ctx, tn, batch, e.Clock.Now()); err != nil {
			t.Fatalf("referencetest: enqueue: %v", err)
		}
	}
}
