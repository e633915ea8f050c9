package client

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/interop-data/interop/gen/models"
)

var personID = uuid.MustParse("00000000-0000-4000-8000-000000000001")

func TestRetryTransientThenSuccess(t *testing.T) {
	f := newFakeAPI(t)
	var calls atomic.Int32
	f.handle("GET", "/rostering/persons/{id}", func(w http.ResponseWriter, r *http.Request) {
		switch calls.Add(1) {
		case 1:
			writeError(w, 503, "unavailable", "try later")
		case 2:
			writeError(w, 502, "bad_gateway", "upstream")
		default:
			writeJSON(w, 200, map[string]any{"data": person(1)})
		}
	})
	s := &fakeSleep{}
	c := f.client(t, s, WithValidation(ValidationOff))
	p, err := c.FindPerson(context.Background(), personID)
	if err != nil {
		t.Fatal(err)
	}
	if p.LocalID != "S1" || calls.Load() != 3 {
		t.Fatalf("person %v after %d calls", p.LocalID, calls.Load())
	}
	// Full jitter at 0.5 of the ceilings 250ms and 500ms.
	got := s.all()
	if len(got) != 2 || got[0] != 125*time.Millisecond || got[1] != 250*time.Millisecond {
		t.Fatalf("delays %v", got)
	}
}

func TestRetryGivesUpAfterMaxAttempts(t *testing.T) {
	f := newFakeAPI(t)
	var calls atomic.Int32
	f.handle("GET", "/rostering/persons/{id}", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("X-Request-Id", "req-42")
		writeError(w, 500, "internal_error", "internal server error")
	})
	c := f.client(t, nil)
	_, err := c.FindPerson(context.Background(), personID)
	var ae *APIError
	if !errors.As(err, &ae) || !errors.Is(err, ErrServer) {
		t.Fatalf("err = %v", err)
	}
	if calls.Load() != 4 || ae.RequestID != "req-42" || ae.Operation != "findPerson" || ae.Code != "internal_error" {
		t.Fatalf("calls %d, err %+v", calls.Load(), ae)
	}
}

func TestRetryNotForNonIdempotentOrClientErrors(t *testing.T) {
	f := newFakeAPI(t)
	var deletes, finds atomic.Int32
	f.handle("DELETE", "/tasks/admin/{id}", func(w http.ResponseWriter, r *http.Request) {
		deletes.Add(1)
		writeError(w, 503, "unavailable", "down")
	})
	f.handle("GET", "/rostering/persons/{id}", func(w http.ResponseWriter, r *http.Request) {
		finds.Add(1)
		writeError(w, 404, "not_found", "person not found")
	})
	c := f.client(t, nil)
	if _, err := c.DeleteAdminTask(context.Background(), personID); !errors.Is(err, ErrServer) {
		t.Fatalf("delete: %v", err)
	}
	if _, err := c.FindPerson(context.Background(), personID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("find: %v", err)
	}
	if deletes.Load() != 1 || finds.Load() != 1 {
		t.Fatalf("deletes %d finds %d, want 1 and 1", deletes.Load(), finds.Load())
	}
}

func TestRetryAcknowledgementReplaysBody(t *testing.T) {
	f := newFakeAPI(t)
	var calls atomic.Int32
	var bodies []string
	f.handle("PUT", "/tasks/ack", func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, 1024)
		n, _ := r.Body.Read(b)
		bodies = append(bodies, string(b[:n]))
		if calls.Add(1) == 1 {
			writeError(w, 429, "rate_limited", "slow down")
			return
		}
		writeJSON(w, 200, map[string]any{"data": []any{map[string]any{"task_id": personID, "status": "success", "acknowledged_at": "2025-11-16T12:20:00Z"}}})
	})
	c := f.client(t, nil)
	rs, err := c.AcknowledgeTasks(context.Background(), []models.TaskAckGroupItem{{TaskID: personID, Status: models.Success}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || calls.Load() != 2 || bodies[0] != bodies[1] || !strings.Contains(bodies[1], personID.String()) {
		t.Fatalf("receipts %v calls %d bodies %q", rs, calls.Load(), bodies)
	}
}

func TestRetryAfterHonouredAndCapped(t *testing.T) {
	now := time.Date(2025, 11, 16, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		header string
		want   []time.Duration // sleeps; nil means no retry
		calls  int32
	}{
		{"seconds", "2", []time.Duration{2 * time.Second}, 2},
		{"http date", now.Add(5 * time.Second).Format(http.TimeFormat), []time.Duration{5 * time.Second}, 2},
		{"past date", now.Add(-time.Minute).Format(http.TimeFormat), []time.Duration{0}, 2},
		{"beyond cap", "3600", nil, 1},
		{"garbage uses backoff", "soon", []time.Duration{125 * time.Millisecond}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAPI(t)
			var calls atomic.Int32
			f.handle("GET", "/rostering/persons/{id}", func(w http.ResponseWriter, r *http.Request) {
				if calls.Add(1) == 1 {
					w.Header().Set("Retry-After", tc.header)
					writeError(w, 429, "rate_limited", "too many requests")
					return
				}
				writeJSON(w, 200, map[string]any{"data": person(1)})
			})
			s := &fakeSleep{}
			p := testPolicy(s)
			p.clk = funcClock{now: func() time.Time { return now }, sleep: s.sleep}
			c := f.client(t, s, WithRetryPolicy(p), WithValidation(ValidationOff))
			_, err := c.FindPerson(context.Background(), personID)
			if tc.want == nil {
				var ae *APIError
				if !errors.Is(err, ErrRateLimited) || !errors.As(err, &ae) || ae.StatusCode != 429 {
					t.Fatalf("err = %v", err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if got := s.all(); calls.Load() != tc.calls || len(got) != len(tc.want) || (len(got) > 0 && got[0] != tc.want[0]) {
				t.Fatalf("calls %d sleeps %v, want %d %v", calls.Load(), got, tc.calls, tc.want)
			}
		})
	}
}

func TestRetryBudgetAndDeadline(t *testing.T) {
	f := newFakeAPI(t)
	var calls atomic.Int32
	f.handle("GET", "/rostering/persons/{id}", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Retry-After", "10")
		writeError(w, 503, "unavailable", "down")
	})

	t.Run("max elapsed", func(t *testing.T) {
		calls.Store(0)
		s := &fakeSleep{}
		p := testPolicy(s)
		p.MaxElapsed = 15 * time.Second
		clock := time.Unix(0, 0)
		p.clk = funcClock{now: func() time.Time { return clock },
			sleep: func(ctx context.Context, d time.Duration) error { clock = clock.Add(d); return s.sleep(ctx, d) }}
		c := f.client(t, s, WithRetryPolicy(p))
		if _, err := c.FindPerson(context.Background(), personID); !errors.Is(err, ErrServer) {
			t.Fatal(err)
		}
		// 10s fits in 15s, the second 10s would not.
		if calls.Load() != 2 || len(s.all()) != 1 {
			t.Fatalf("calls %d sleeps %v", calls.Load(), s.all())
		}
	})
	t.Run("context deadline", func(t *testing.T) {
		calls.Store(0)
		s := &fakeSleep{}
		c := f.client(t, s)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := c.FindPerson(ctx, personID); !errors.Is(err, ErrServer) {
			t.Fatal(err)
		}
		if calls.Load() != 1 || len(s.all()) != 0 {
			t.Fatalf("slept %v past a 5s deadline after %d calls", s.all(), calls.Load())
		}
	})
	t.Run("cancelled while sleeping", func(t *testing.T) {
		calls.Store(0)
		ctx, cancel := context.WithCancel(context.Background())
		p := DefaultRetryPolicy()
		p.clk = funcClock{sleep: func(ctx context.Context, d time.Duration) error { cancel(); return ctx.Err() }}
		c := f.client(t, nil, WithRetryPolicy(p))
		if _, err := c.FindPerson(ctx, personID); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
		if calls.Load() != 1 {
			t.Fatalf("calls %d", calls.Load())
		}
	})
}

func TestRetryNetworkErrorAndServerDown(t *testing.T) {
	f := newFakeAPI(t)
	var calls atomic.Int32
	f.handle("GET", "/rostering/persons/{id}", func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			// Drop the connection without an answer.
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_ = conn.Close()
			}
			return
		}
		writeJSON(w, 200, map[string]any{"data": person(1)})
	})
	c := f.client(t, nil)
	if _, err := c.FindPerson(context.Background(), personID); err != nil {
		t.Fatalf("after a dropped connection: %v", err)
	}

	// A server that is down: every attempt fails, the error is the network's.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	s := &fakeSleep{}
	down, err := New("http://"+addr+"/v2/interop/data", WithRetryPolicy(testPolicy(s)), WithBearerToken("x"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = down.FindPerson(context.Background(), personID)
	var op *net.OpError
	if !errors.As(err, &op) || len(s.all()) != 3 {
		t.Fatalf("err = %v, sleeps %v", err, s.all())
	}
}

func TestOAuth2RefreshOn401(t *testing.T) {
	f := newFakeAPI(t)
	var revoked atomic.Bool
	var calls atomic.Int32
	f.handle("GET", "/rostering/persons/{id}", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		auth := r.Header.Get("Authorization")
		if auth == "" || (revoked.Load() && auth == "Bearer tok-1") {
			writeError(w, 401, "unauthorized", "access token is invalid or expired")
			return
		}
		writeJSON(w, 200, map[string]any{"data": person(1)})
	})
	c := f.client(t, nil, WithClientCredentials("id", "secret", ""))
	ctx := context.Background()
	for range 3 {
		if _, err := c.FindPerson(ctx, personID); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.tokenCalls.Load(); n != 1 {
		t.Fatalf("token cached: endpoint called %d times, want 1", n)
	}
	revoked.Store(true) // the server forgets tok-1
	if _, err := c.FindPerson(ctx, personID); err != nil {
		t.Fatal(err)
	}
	if n := f.tokenCalls.Load(); n != 2 {
		t.Fatalf("after a 401 the token endpoint was called %d times in all, want exactly 2", n)
	}
	if calls.Load() != 5 {
		t.Fatalf("API calls %d, want 5 (one replay)", calls.Load())
	}
}

func TestOAuth2PersistentUnauthorizedRetriesOnce(t *testing.T) {
	f := newFakeAPI(t)
	var calls atomic.Int32
	f.handle("GET", "/rostering/persons/{id}", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		writeError(w, 401, "unauthorized", "access token is invalid or expired")
	})
	c := f.client(t, nil, WithClientCredentials("id", "secret", f.srv.URL+"/oauth/token"))
	_, err := c.FindPerson(context.Background(), personID)
	if !errors.Is(err, ErrUnauthorized) || calls.Load() != 2 || f.tokenCalls.Load() != 2 {
		t.Fatalf("err %v calls %d token calls %d", err, calls.Load(), f.tokenCalls.Load())
	}
}

func TestOAuth2RefreshAheadOfExpiry(t *testing.T) {
	f := newFakeAPI(t)
	f.tokenTTL.Store(20) // expires within the 30s refresh window
	f.handle("GET", "/rostering/persons/{id}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"data": person(1)})
	})
	c := f.client(t, nil, WithClientCredentials("id", "secret", ""))
	for range 2 {
		if _, err := c.FindPerson(context.Background(), personID); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.tokenCalls.Load(); n != 2 {
		t.Fatalf("a token about to expire must be replaced: %d fetches, want 2", n)
	}
	c2 := f.client(t, nil, WithClientCredentials("id", "secret", ""), WithTokenRefreshAhead(time.Second))
	for range 2 {
		if _, err := c2.FindPerson(context.Background(), personID); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.tokenCalls.Load(); n != 3 {
		t.Fatalf("with a 1s window the 20s token is reused: %d fetches, want 3", n)
	}
}

func TestOAuth2WrongCredentials(t *testing.T) {
	f := newFakeAPI(t)
	var calls atomic.Int32
	f.handle("GET", "/rostering/persons/{id}", func(w http.ResponseWriter, r *http.Request) { calls.Add(1) })
	c := f.client(t, nil, WithClientCredentials("id", "wrong", ""))
	_, err := c.FindPerson(context.Background(), personID)
	var ae *APIError
	if !errors.Is(err, ErrUnauthorized) || !errors.As(err, &ae) || ae.Operation != "token" || ae.Code != "invalid_client" {
		t.Fatalf("err = %v", err)
	}
	if calls.Load() != 0 {
		t.Fatal("the API was called without a token")
	}
}

func TestLTIJWTFunc(t *testing.T) {
	f := newFakeAPI(t)
	f.handle("GET", "/rostering/persons/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer jwt-2" {
			writeError(w, 401, "unauthorized", "expired")
			return
		}
		writeJSON(w, 200, map[string]any{"data": person(1)})
	})
	var n atomic.Int32
	c := f.client(t, nil, WithLTIJWTFunc(func(context.Context) (string, error) {
		if n.Add(1) == 1 {
			return "jwt-1", nil
		}
		return "jwt-2", nil
	}))
	for range 2 {
		if _, err := c.FindPerson(context.Background(), personID); err != nil {
			t.Fatal(err)
		}
	}
	if n.Load() != 2 {
		t.Fatalf("JWT func called %d times, want 2 (first use, after the 401)", n.Load())
	}

	failing := f.client(t, nil, WithLTIJWTFunc(func(context.Context) (string, error) { return "", errors.New("no key") }))
	if _, err := failing.FindPerson(context.Background(), personID); err == nil || !strings.Contains(err.Error(), "no key") {
		t.Fatalf("err = %v", err)
	}
}

func TestJWTExpiry(t *testing.T) {
	// {"alg":"none"}.{"exp":1900000000}.
	exp := jwtExpiry("eyJhbGciOiJub25lIn0.eyJleHAiOjE5MDAwMDAwMDB9.sig")
	if exp.Unix() != 1900000000 {
		t.Fatalf("exp = %v", exp)
	}
	for _, bad := range []string{"", "a.b", "a.!!!.c", "a.eyJ4IjoxfQ.c"} {
		if !jwtExpiry(bad).IsZero() {
			t.Fatalf("%q has an expiry", bad)
		}
	}
}

// TestInvalidJSONBody: a 200 whose JSON is cut (a proxy, a dropped
// connection with a wrong length) is retried in every validation mode, and
// after the last attempt is ErrInvalidResponse, not a contract violation.
func TestInvalidJSONBody(t *testing.T) {
	f := newFakeAPI(t)
	var calls atomic.Int32
	f.handle("GET", "/rostering/persons/{id}", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"data": {"$sys": `))
	})
	for _, mode := range []ValidationMode{ValidationOff, ValidationReport, ValidationEnforce} {
		calls.Store(0)
		c := f.client(t, nil, WithValidation(mode))
		_, err := c.FindPerson(context.Background(), personID)
		var be *BodyError
		if !errors.Is(err, ErrInvalidResponse) || !errors.As(err, &be) || calls.Load() != 4 {
			t.Fatalf("mode %v: err = %v after %d calls, want ErrInvalidResponse after 4", mode, err, calls.Load())
		}
	}
}

// TestSuccessWithoutData: valid JSON that lacks the data member is an error,
// not a zero object or receipt the caller would take for the server's.
func TestSuccessWithoutData(t *testing.T) {
	f := newFakeAPI(t)
	f.handle("GET", "/rostering/persons/{id}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"data": nil})
	})
	f.handle("PUT", "/tasks/ack", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{})
	})
	c := f.client(t, nil, WithValidation(ValidationOff))
	if p, err := c.FindPerson(context.Background(), personID); !errors.Is(err, ErrInvalidResponse) || p != nil {
		t.Fatalf("find: %v %v", p, err)
	}
	if rs, err := c.AcknowledgeTasks(context.Background(), []models.TaskAckGroupItem{{TaskID: personID, Status: models.Success}}); !errors.Is(err, ErrInvalidResponse) || rs != nil {
		t.Fatalf("group ack: %v %v", rs, err)
	}
}

func TestErrorBodyThatIsNotTheModel(t *testing.T) {
	f := newFakeAPI(t)
	f.handle("GET", "/rostering/persons/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte("<html>proxy says no</html>"))
	})
	c := f.client(t, nil, WithValidation(ValidationOff))
	_, err := c.FindPerson(context.Background(), personID)
	var ae *APIError
	if !errors.As(err, &ae) || !errors.Is(err, ErrForbidden) {
		t.Fatalf("err = %v", err)
	}
	if ae.Code != "" || ae.Message != "Forbidden" || !strings.Contains(ae.Details, "proxy says no") || string(ae.Body) != "<html>proxy says no</html>" {
		t.Fatalf("%+v", ae)
	}
	if !strings.Contains(ae.Error(), "403") {
		t.Fatal(ae.Error())
	}
}

func TestAPIErrorSentinels(t *testing.T) {
	all := []error{ErrBadRequest, ErrUnauthorized, ErrForbidden, ErrNotFound, ErrConflict, ErrRateLimited, ErrServer}
	for status, want := range map[int]error{
		400: ErrBadRequest, 413: ErrBadRequest, 415: ErrBadRequest, 401: ErrUnauthorized, 403: ErrForbidden,
		404: ErrNotFound, 409: ErrConflict, 429: ErrRateLimited, 500: ErrServer, 503: ErrServer, 418: nil,
	} {
		e := &APIError{StatusCode: status, Code: "x", Message: "m", Details: "d", RequestID: "r", Operation: "op"}
		for _, s := range all {
			if got := errors.Is(e, s); got != (s == want) {
				t.Errorf("%d Is %v = %v", status, s, got)
			}
		}
		if errors.Is(e, ErrContractViolation) {
			t.Errorf("%d is a contract violation", status)
		}
	}
	msg := (&APIError{StatusCode: 404, Code: "not_found", Message: "gone", Details: "d", RequestID: "r1", Operation: "findOrg"}).Error()
	if msg != "interop: findOrg: 404 not_found: gone (d) [request id r1]" {
		t.Fatal(msg)
	}
}

func TestNewRejectsBadBaseURL(t *testing.T) {
	for _, u := range []string{"", "ftp://x/y", "/relative", "http://[::1"} {
		if _, err := New(u); err == nil {
			t.Errorf("New(%q) succeeded", u)
		}
	}
	c, err := New("https://api.example.org/v2/interop/data/")
	if err != nil || c.BaseURL() != "https://api.example.org/v2/interop/data" || c.Raw() == nil || c.HTTPClient() == nil {
		t.Fatalf("%v %v", c, err)
	}
}

func TestUserAgentAndRawClient(t *testing.T) {
	f := newFakeAPI(t)
	var ua atomic.Value
	f.handle("GET", "/rostering/persons/{id}", func(w http.ResponseWriter, r *http.Request) {
		ua.Store(r.Header.Get("User-Agent") + "|" + r.Header.Get("Authorization"))
		writeJSON(w, 200, map[string]any{"data": person(1)})
	})
	c := f.client(t, nil, WithUserAgent("acme-sync/2"))
	resp, err := c.Raw().FindPersonWithResponse(context.Background(), personID)
	if err != nil || resp.JSON200 == nil {
		t.Fatalf("%v %v", resp, err)
	}
	if ua.Load() != "acme-sync/2|Bearer static" {
		t.Fatalf("raw client did not share the stack: %v", ua.Load())
	}
}

func TestStaticTokenNotReplayedOn401(t *testing.T) {
	f := newFakeAPI(t)
	var calls atomic.Int32
	f.handle("GET", "/rostering/persons/{id}", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		writeError(w, 401, "unauthorized", "access token is invalid or expired")
	})
	c := f.client(t, nil) // WithBearerToken("static")
	if _, err := c.FindPerson(context.Background(), personID); !errors.Is(err, ErrUnauthorized) || calls.Load() != 1 {
		t.Fatalf("err %v after %d calls", err, calls.Load())
	}
}

func TestBackoffCeilingDoublesAndIsCapped(t *testing.T) {
	p := RetryPolicy{BaseDelay: 250 * time.Millisecond, MaxDelay: 2 * time.Second, jitter: func() float64 { return 1 }}
	want := []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second, 2 * time.Second}
	for n, w := range want {
		if got := p.backoff(n + 1); got != w {
			t.Fatalf("backoff(%d) = %v, want %v", n+1, got, w)
		}
	}
	// Full jitter: the delay is drawn from [0, ceiling], not from its upper
	// half, so the floor is zero.
	p.jitter = func() float64 { return 0 }
	if got := p.backoff(3); got != 0 {
		t.Fatalf("full jitter floor %v", got)
	}
	// The default source stays within the ceiling.
	p.jitter = nil
	for range 100 {
		if d := p.backoff(2); d < 0 || d > 500*time.Millisecond {
			t.Fatalf("backoff(2) = %v outside [0, 500ms]", d)
		}
	}
	// No cap: the ceiling keeps doubling and never overflows.
	p = RetryPolicy{BaseDelay: time.Second, jitter: func() float64 { return 1 }}
	if got := p.backoff(5); got != 16*time.Second {
		t.Fatalf("uncapped backoff(5) = %v", got)
	}
	if got := p.backoff(200); got <= 0 {
		t.Fatalf("backoff(200) overflowed to %v", got)
	}
}

func TestRetryNotForUnreplayableBody(t *testing.T) {
	f := newFakeAPI(t)
	var calls atomic.Int32
	f.handle("PUT", "/tasks/ack", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		writeError(w, 503, "unavailable", "down")
	})
	c := f.client(t, nil, WithValidation(ValidationOff))
	// A body without GetBody cannot be sent twice: a retry would send it empty.
	body := io.NopCloser(strings.NewReader(`[{"task_id":"` + personID.String() + `","status":"success"}]`))
	req, _ := http.NewRequest(http.MethodPut, f.base+"/tasks/ack", body)
	resp, err := c.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != 503 || calls.Load() != 1 {
		t.Fatalf("status %d after %d calls, want 503 after 1", resp.StatusCode, calls.Load())
	}
}

// TestRefreshOn401OncePerRequestAndNotAnAttempt: the token refresh after a
// 401 and the retries of transient failures are two separate budgets.
func TestRefreshOn401OncePerRequestAndNotAnAttempt(t *testing.T) {
	for _, tc := range []struct {
		name string
		// answers maps (token, nth call with that token) to a status.
		answer     func(tok string, n int) int
		wantErr    error
		wantCalls  int32
		wantTokens int32 // token endpoint calls in all
		wantSleeps int
	}{
		{
			// tok-1 is refused; with tok-2 three transient failures still
			// get the policy's three retries: the replay after the refresh
			// did not use one up.
			name: "refresh does not use an attempt",
			answer: func(tok string, n int) int {
				if tok == "tok-1" {
					return 401
				}
				return map[bool]int{true: 503, false: 200}[n <= 3]
			},
			wantCalls: 5, wantTokens: 2, wantSleeps: 3,
		},
		{
			// A retry does not use up the refresh: the token is revoked
			// between the attempts.
			name: "attempt does not use the refresh",
			answer: func(tok string, n int) int {
				if tok == "tok-1" {
					return map[bool]int{true: 503, false: 401}[n == 1]
				}
				return 200
			},
			wantCalls: 3, wantTokens: 2, wantSleeps: 1,
		},
		{
			// tok-2 is refused after a transient failure: the request has
			// had its refresh, so the 401 is the answer and the token
			// endpoint is not called a third time.
			name: "one refresh per request",
			answer: func(tok string, n int) int {
				switch {
				case tok == "tok-1":
					return 401
				case tok == "tok-2" && n == 1:
					return 503
				case tok == "tok-2":
					return 401
				}
				return 200
			},
			wantErr: ErrUnauthorized, wantCalls: 3, wantTokens: 2, wantSleeps: 1,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAPI(t)
			var mu sync.Mutex
			perToken := map[string]int{}
			var calls atomic.Int32
			f.handle("GET", "/rostering/persons/{id}", func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
				mu.Lock()
				perToken[tok]++
				n := perToken[tok]
				mu.Unlock()
				if st := tc.answer(tok, n); st != 200 {
					writeError(w, st, http.StatusText(st), "no")
					return
				}
				writeJSON(w, 200, map[string]any{"data": person(1)})
			})
			s := &fakeSleep{}
			c := f.client(t, s, WithClientCredentials("id", "secret", ""), WithValidation(ValidationOff))
			_, err := c.FindPerson(context.Background(), personID)
			if (tc.wantErr == nil && err != nil) || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if calls.Load() != tc.wantCalls || f.tokenCalls.Load() != tc.wantTokens || len(s.all()) != tc.wantSleeps {
				t.Fatalf("API calls %d, token calls %d, sleeps %v; want %d, %d, %d",
					calls.Load(), f.tokenCalls.Load(), s.all(), tc.wantCalls, tc.wantTokens, tc.wantSleeps)
			}
		})
	}
}
