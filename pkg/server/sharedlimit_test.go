package server_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/interop-data/interop/pkg/server"
)

// sharedFake is a SharedLimiter that records what it is asked and answers
// wait (or err).
type sharedFake struct {
	mu   sync.Mutex
	keys []string
	wait time.Duration
	err  error
}

func (f *sharedFake) TakeRateToken(_ context.Context, key string, perSecond float64, burst int, _ time.Time) (time.Duration, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys = append(f.keys, key)
	return f.wait, f.err
}

// The shared limiter decides for authenticated clients, after the
// process's own bucket: its refusal is the kit's 429; a request the
// process's bucket refuses never reaches it; its failure lets the request
// through (logged); the token endpoint's per-IP buckets never reach it.
func TestSharedRateLimit(t *testing.T) {
	t.Parallel()
	f := &sharedFake{}
	e := limitedEnv(t, 1, 2, server.WithSharedRateLimit(f))
	spend(t, e, 1)
	if len(f.keys) != 1 || f.keys[0] != "client:"+clientID {
		t.Fatalf("shared limiter asked %q, want the client's key once", f.keys)
	}
	f.wait = 1500 * time.Millisecond
	want429(t, e.do("GET", persons, ""), 2)
	want429(t, e.do("GET", persons, ""), 1) // the process's own bucket: 2 taken of 2
	if len(f.keys) != 2 {
		t.Fatalf("shared limiter asked %d times, want 2 (the process's refusal costs it nothing)", len(f.keys))
	}
	e.clock.Advance(2 * time.Second)
	f.wait, f.err = 0, errors.New("database down")
	spend(t, e, 1)
	if !strings.Contains(e.logs.String(), "shared rate limiter failed") {
		t.Error("the shared limiter's failure is not logged")
	}
	for range 3 {
		if rec := tokenFrom(e, "198.51.100.7"); rec.Code == http.StatusInternalServerError {
			t.Fatalf("token request: %d", rec.Code)
		}
	}
	for _, k := range f.keys {
		if !strings.HasPrefix(k, "client:") {
			t.Fatalf("shared limiter asked for %q: only clients' buckets are shared", k)
		}
	}
}
