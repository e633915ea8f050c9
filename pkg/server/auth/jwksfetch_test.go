package auth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/interop-data/interop/pkg/server/auth"
)

// wantUnavailable checks err is an outage with a retry hint, not a 401.
func wantUnavailable(t *testing.T, err error) *auth.UnavailableError {
	t.Helper()
	var ue *auth.UnavailableError
	if !errors.Is(err, auth.ErrUnavailable) || !errors.As(err, &ue) || ue.RetryAfter <= 0 {
		t.Fatalf("err = %v, want an UnavailableError with a RetryAfter", err)
	}
	if errors.Is(err, auth.ErrInvalidToken) || errors.Is(err, auth.ErrExpiredToken) {
		t.Fatalf("err = %v is also a 401 reason", err)
	}
	return ue
}

// jwksServer serves the key set, or hangs until released, or fails, as the
// test says; arrived receives one value per request.
type jwksServer struct {
	*httptest.Server
	mode    atomic.Int32 // 0 serve, 1 hang, 2 fail
	release chan struct{}
	arrived chan struct{}
	count   atomic.Int32
}

func newJWKSServer(t *testing.T) *jwksServer {
	s := &jwksServer{release: make(chan struct{}), arrived: make(chan struct{}, 100)}
	body := jwks(rsaJWK("r1", &rsaKey.PublicKey))
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.count.Add(1)
		s.arrived <- struct{}{}
		switch s.mode.Load() {
		case 1:
			select {
			case <-s.release:
			case <-r.Context().Done():
				return
			}
		case 2:
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write(body)
	}))
	t.Cleanup(func() {
		s.Server.CloseClientConnections()
		s.Server.Close()
	})
	return s
}

// within runs f and fails the test if it has not returned after a bound far
// above what it needs (the old code took 10 s per waiting caller, or never
// returned).
func within(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not return", what)
	}
}

// Issue 20, item 5: with the URL hung and no keys yet, concurrent requests
// share one fetch, none holds a lock across it, and each is bounded by its
// own context: cancelled, all answer at once, as an outage. The old code
// fetched under a global lock, so the 6th of 6 callers waited 50 s, and
// every answer was a 401.
func TestLTIJWKSHungURLOneFetchCallersBounded(t *testing.T) {
	t.Parallel()
	clk := newClock()
	srv := newJWKSServer(t)
	srv.mode.Store(1)
	a := newLTI(t, clk, func(c *auth.LTIJWTConfig) {
		c.JWKS, c.JWKSURL, c.HTTPClient, c.FetchWait = nil, srv.URL, &http.Client{}, time.Hour
	})
	tok := sign(t, jwt.SigningMethodRS256, rsaKey, "r1", claims(clk, nil))
	ctx, cancel := context.WithCancel(context.Background())
	const callers = 6
	errs := make(chan error, callers)
	var started sync.WaitGroup
	for range callers {
		started.Add(1)
		go func() {
			r := bearer(tok).WithContext(ctx)
			started.Done()
			_, err := a.Authenticate(r)
			errs <- err
		}()
	}
	started.Wait()
	<-srv.arrived // the one fetch is under way
	cancel()
	within(t, "callers whose context ended", func() {
		for range callers {
			wantUnavailable(t, <-errs)
		}
	})
	if n := srv.count.Load(); n != 1 {
		t.Errorf("%d fetches for %d concurrent callers, want 1", n, callers)
	}
	// The fetch went on without them; when the URL answers, the keys serve.
	srv.mode.Store(0)
	close(srv.release)
	within(t, "a request once the URL answered", func() {
		if _, err := a.Authenticate(bearer(tok)); err != nil {
			t.Errorf("after the URL answered: %v", err)
		}
	})
}

// A request waits for a fetch at most FetchWait, even with a context that
// never ends.
func TestLTIJWKSFetchWaitBoundsACaller(t *testing.T) {
	t.Parallel()
	clk := newClock()
	srv := newJWKSServer(t)
	srv.mode.Store(1)
	a := newLTI(t, clk, func(c *auth.LTIJWTConfig) {
		c.JWKS, c.JWKSURL, c.HTTPClient, c.FetchWait = nil, srv.URL, &http.Client{}, 50*time.Millisecond
	})
	within(t, "a caller without a deadline", func() {
		_, err := a.Authenticate(bearer(sign(t, jwt.SigningMethodRS256, rsaKey, "r1", claims(clk, nil))))
		wantUnavailable(t, err)
	})
}

// A key set past its TTL keeps serving, at once, while the URL hangs or
// fails; the refetch happens beside the requests, not in front of them.
func TestLTIJWKSStaleKeysServeWhileTheURLFails(t *testing.T) {
	t.Parallel()
	clk := newClock()
	srv := newJWKSServer(t)
	a := newLTI(t, clk, func(c *auth.LTIJWTConfig) {
		c.JWKS, c.JWKSURL, c.HTTPClient, c.FetchWait = nil, srv.URL, &http.Client{}, time.Hour
	})
	if _, err := a.Authenticate(bearer(sign(t, jwt.SigningMethodRS256, rsaKey, "r1", claims(clk, nil)))); err != nil {
		t.Fatal(err)
	}
	<-srv.arrived
	srv.mode.Store(1) // hung
	clk.Advance(auth.DefaultJWKSCacheTTL + time.Minute)
	within(t, "a request with stale keys and a hung URL", func() {
		for range 3 {
			if _, err := a.Authenticate(bearer(sign(t, jwt.SigningMethodRS256, rsaKey, "r1", claims(clk, nil)))); err != nil {
				t.Errorf("stale keys, hung URL: %v", err)
			}
		}
	})
	<-srv.arrived
	if n := srv.count.Load(); n != 2 {
		t.Errorf("%d fetches, want 2 (one refetch in the background)", n)
	}
	srv.mode.Store(2) // failing
	close(srv.release)
	clk.Advance(time.Hour)
	within(t, "a request with stale keys and a failing URL", func() {
		if _, err := a.Authenticate(bearer(sign(t, jwt.SigningMethodRS256, rsaKey, "r1", claims(clk, nil)))); err != nil {
			t.Errorf("stale keys, failing URL: %v", err)
		}
	})
}

// Failed fetches back off on the injected clock: 1 s, then 2 s, then 4 s;
// meanwhile requests are answered as an outage, with the time left as the
// retry hint, and the URL is left alone.
func TestLTIJWKSBackoffBetweenFailedFetches(t *testing.T) {
	t.Parallel()
	clk := newClock()
	srv := newJWKSServer(t)
	srv.mode.Store(2)
	a := newLTI(t, clk, func(c *auth.LTIJWTConfig) {
		c.JWKS, c.JWKSURL, c.HTTPClient, c.FetchWait = nil, srv.URL, &http.Client{}, time.Hour
	})
	try := func() *auth.UnavailableError {
		t.Helper()
		_, err := a.Authenticate(bearer(sign(t, jwt.SigningMethodRS256, rsaKey, "r1", claims(clk, nil))))
		return wantUnavailable(t, err)
	}
	for _, step := range []struct {
		advance time.Duration
		fetches int32
		retry   time.Duration
	}{
		{0, 1, time.Second}, // the first fetch fails: back off 1 s
		{0, 1, time.Second}, // within it: no fetch
		{500 * time.Millisecond, 1, 500 * time.Millisecond},
		{500 * time.Millisecond, 2, 2 * time.Second}, // due: the second fails, 2 s
		{time.Second, 2, time.Second},
		{time.Second, 3, 4 * time.Second},
	} {
		clk.Advance(step.advance)
		ue := try()
		if n := srv.count.Load(); n != step.fetches || ue.RetryAfter != step.retry {
			t.Fatalf("after +%s: %d fetches, retry after %s; want %d, %s", step.advance, n, ue.RetryAfter, step.fetches, step.retry)
		}
	}
	// The URL comes back: the next due fetch succeeds and the backoff ends.
	srv.mode.Store(0)
	clk.Advance(4 * time.Second)
	if _, err := a.Authenticate(bearer(sign(t, jwt.SigningMethodRS256, rsaKey, "r1", claims(clk, nil)))); err != nil {
		t.Fatalf("after the URL came back: %v", err)
	}
}
