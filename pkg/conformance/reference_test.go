package conformance_test

import (
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/interop-data/interop/pkg/conformance"
	"github.com/interop-data/interop/pkg/server/reference"
)

func init() { targets["reference"] = referenceTarget }

// clock is a settable clock for the reference server's leases.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// referenceTarget is our reference server on a temporary database: the demo
// tenant with a small district, and a second tenant with another district.
func referenceTarget(t testing.TB) *target {
	t.Helper()
	ctx := t.Context()
	clk := &clock{now: time.Date(2025, 11, 16, 12, 0, 0, 0, time.UTC)}
	small := reference.DemoSize{Schools: 2, StudentsPerSchool: 6, TeachersPerSchool: 2, CoursesPerSchool: 2, SectionsPerCourse: 2, StudentsPerSection: 3}
	srv, inst, err := reference.NewServer(ctx, reference.Config{
		DBPath: filepath.Join(t.TempDir(), "interop.db"), Demo: true, DemoSize: &small,
		TaskLease: time.Minute, Clock: clk.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = inst.Close() })
	second, err := reference.CreateTenant(ctx, inst.Store, "Second District", reference.WithTenantClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	other := small
	other.Seed = 7
	if _, err := reference.Load(ctx, inst.Store, second.TenantID, reference.Demo(other), clk.Now()); err != nil {
		t.Fatal(err)
	}
	return &target{
		inner: srv.Handler(),
		base:  "/v2/interop/data",
		clients: [2]conformance.Credentials{
			{ClientID: inst.Demo.ClientID, ClientSecret: inst.Demo.ClientSecret},
			{ClientID: second.ClientID, ClientSecret: second.ClientSecret},
		},
		advance:  clk.Advance,
		lease:    time.Minute,
		tokenURL: "/oauth/token",
	}
}
