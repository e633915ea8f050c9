package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/interop-data/interop/pkg/reference/store/postgres"
	"github.com/interop-data/interop/pkg/reference/store/postgres/pgtest"
	"github.com/interop-data/interop/pkg/server"
)

var _ server.SharedLimiter = (*postgres.Store)(nil)

// A bucket in the database is one bucket for every store on it: two stores
// taking from one key share its burst and its refill.
func TestTakeRateTokenSharedAcrossStores(t *testing.T) {
	t.Parallel()
	url := pgtest.Schema(t)
	a, b := open(t, url), open(t, url)
	defer a.Close()
	defer b.Close()
	ctx := context.Background()
	t0 := time.Date(2025, 11, 16, 12, 0, 0, 0, time.UTC)
	take := func(s *postgres.Store, key string, at time.Time) time.Duration {
		t.Helper()
		d, err := s.TakeRateToken(ctx, key, 2, 4, at)
		if err != nil {
			t.Fatalf("TakeRateToken: %v", err)
		}
		return d
	}
	for i := range 4 {
		s := a
		if i%2 == 1 {
			s = b
		}
		if d := take(s, "client:x", t0); d != 0 {
			t.Fatalf("request %d within the burst refused, wait %v", i, d)
		}
	}
	if d := take(b, "client:x", t0); d != 500*time.Millisecond {
		t.Fatalf("fifth request: wait %v, want 500ms (2 a second)", d)
	}
	if d := take(a, "client:y", t0); d != 0 {
		t.Fatalf("another key refused: %v", d)
	}
	// A refused request takes nothing: half a second later there is one.
	if d := take(a, "client:x", t0.Add(500*time.Millisecond)); d != 0 {
		t.Fatalf("after the refill: wait %v", d)
	}
	if d := take(b, "client:x", t0.Add(500*time.Millisecond)); d <= 0 {
		t.Fatal("a second token from half a second's refill")
	}
	// A replica whose clock is behind refills nothing and is refused.
	if d := take(b, "client:x", t0); d <= 0 {
		t.Fatal("a clock behind the bucket's refilled it")
	}
	// Full again after burst/rate.
	for i := range 4 {
		if d := take(a, "client:x", t0.Add(3*time.Second)); d != 0 {
			t.Fatalf("request %d after a full refill refused, wait %v", i, d)
		}
	}
	if _, err := a.TakeRateToken(ctx, "bad\x00key", 2, 4, t0); err == nil {
		t.Fatal("a key with U+0000 was taken")
	}
}
