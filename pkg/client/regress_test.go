package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/interop-data/interop/gen/models"
)

// Regression tests of issue 15, each injecting the fault it names.

// tokenEndpoint serves a token endpoint at path on f that answers the n-th
// call (from 1) with answer(n): a status, with Retry-After ra when ra != "".
func tokenEndpoint(f *fakeAPI, path string, answer func(n int) (status int, ra string)) *atomic.Int32 {
	var calls atomic.Int32
	f.mux.HandleFunc("POST "+path, func(w http.ResponseWriter, r *http.Request) {
		n := int(calls.Add(1))
		st, ra := answer(n)
		if ra != "" {
			w.Header().Set("Retry-After", ra)
		}
		if st != 200 {
			writeJSON(w, st, map[string]any{"error": "temporarily_unavailable"})
			return
		}
		writeJSON(w, 200, map[string]any{"access_token": fmt.Sprintf("tok-%d", n), "token_type": "Bearer", "expires_in": 3600})
	})
	return &calls
}

func servePerson(f *fakeAPI, refuse func(auth string) bool) *atomic.Int32 {
	var calls atomic.Int32
	f.handle("GET", "/rostering/persons/{id}", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if refuse != nil && refuse(r.Header.Get("Authorization")) {
			writeError(w, 401, "unauthorized", "access token is invalid or expired")
			return
		}
		w.Header().Set("X-Request-Id", "req-42")
		writeJSON(w, 200, map[string]any{"data": person(1)})
	})
	return &calls
}

// Finding 2: 429, 500 and 503 from the token endpoint are retried, and its
// Retry-After is honoured.
func TestTokenEndpointTransientAnswersRetried(t *testing.T) {
	f := newFakeAPI(t)
	servePerson(f, nil)
	calls := tokenEndpoint(f, "/flaky/token", func(n int) (int, string) {
		return [...]int{429, 503, 500, 200}[min(n, 4)-1], map[bool]string{true: "7"}[n == 1]
	})
	s := &fakeSleep{}
	// A fixed auth style: detecting it would send a second request after
	// the first failure.
	c := f.client(t, s, WithOAuth2Config(clientcredentials.Config{ClientID: "id", ClientSecret: "secret",
		TokenURL: f.srv.URL + "/flaky/token", AuthStyle: oauth2.AuthStyleInHeader}))
	if _, err := c.FindPerson(context.Background(), personID); err != nil {
		t.Fatal(err)
	}
	// Retry-After: 7 first, then the policy's backoff (jitter 0.5).
	if want := []time.Duration{7 * time.Second, 250 * time.Millisecond, 500 * time.Millisecond}; calls.Load() != 4 || !slices.Equal(s.all(), want) {
		t.Fatalf("%d token calls, sleeps %v; want 4 and %v", calls.Load(), s.all(), want)
	}

	// A Retry-After longer than the policy accepts ends the fetch at once
	// with the endpoint's answer, which carries it.
	calls = tokenEndpoint(f, "/slow/token", func(int) (int, string) { return 503, "3600" })
	c = f.client(t, &fakeSleep{}, WithOAuth2Config(clientcredentials.Config{ClientID: "id", ClientSecret: "secret",
		TokenURL: f.srv.URL + "/slow/token", AuthStyle: oauth2.AuthStyleInHeader}))
	_, err := c.FindPerson(context.Background(), personID)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Operation != "token" || ae.RetryAfter != time.Hour || calls.Load() != 1 || errors.Is(err, ErrUnauthorized) {
		t.Fatalf("err %v after %d token calls", err, calls.Load())
	}
}

// Finding 1: after a 401, a token endpoint that fails is an outage, not a
// refusal of the credentials: the error does not match ErrUnauthorized.
func TestFailedRefreshIsTransient(t *testing.T) {
	f := newFakeAPI(t)
	servePerson(f, func(auth string) bool { return auth == "Bearer tok-1" })
	tokenEndpoint(f, "/t", func(n int) (int, string) {
		if n == 1 {
			return 200, ""
		}
		return 503, ""
	})
	c := f.client(t, nil, WithClientCredentials("id", "secret", f.srv.URL+"/t"))
	_, err := c.FindPerson(context.Background(), personID)
	var ae *APIError
	if errors.Is(err, ErrUnauthorized) || !errors.As(err, &ae) || ae.Operation != "token" || ae.StatusCode != 503 {
		t.Fatalf("err = %v, want the token endpoint's 503", err)
	}
}

// hijackCut answers with the full Content-Length and half the body, then
// closes the connection.
func hijackCut(w http.ResponseWriter, body string) {
	conn, bw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	fmt.Fprintf(bw, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body[:len(body)/2])
	_ = bw.Flush()
	_ = conn.Close()
}

// Finding 4: with validation off, a connection closed mid-body is retried.
func TestCutBodyRetriedWithValidationOff(t *testing.T) {
	f := newFakeAPI(t)
	var calls atomic.Int32
	f.handle("GET", "/rostering/persons/{id}", func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			hijackCut(w, `{"data":{"$sys":{"id":"`+personID.String()+`"}}}`)
			return
		}
		writeJSON(w, 200, map[string]any{"data": person(1)})
	})
	c := f.client(t, nil, WithValidation(ValidationOff))
	if _, err := c.FindPerson(context.Background(), personID); err != nil || calls.Load() != 2 {
		t.Fatalf("err %v after %d calls", err, calls.Load())
	}
}

// Finding 5: a truncated 200 (its length consistent, its JSON cut) on the
// idempotent ack PUT is retried; the retry gets the receipt.
func TestTruncatedAckAnswerRetried(t *testing.T) {
	f := newFakeAPI(t)
	q := &fakeQueue{lease: time.Minute, acks: map[uuid.UUID][]ackRecord{}, deleteOnLease: map[uuid.UUID]bool{}}
	id := q.add(uuid.New(), KindData, nil)
	var calls atomic.Int32
	f.handle("PUT", "/tasks/ack", func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			rec := &cutWriter{ResponseWriter: w}
			q.ackGroup(rec, r)
			return
		}
		q.ackGroup(w, r)
	})
	c := f.client(t, nil, WithValidation(ValidationOff))
	rs, err := c.AcknowledgeTasks(context.Background(), []models.TaskAckGroupItem{{TaskID: id, Status: models.Success}})
	if err != nil || len(rs) != 1 || calls.Load() != 2 {
		t.Fatalf("receipts %v, err %v after %d calls", rs, err, calls.Load())
	}
}

// cutWriter writes only the first half of what it is given, with a
// matching Content-Length.
type cutWriter struct{ http.ResponseWriter }

func (c *cutWriter) WriteHeader(int) {}
func (c *cutWriter) Write(b []byte) (int, error) {
	c.ResponseWriter.Header().Set("Content-Length", fmt.Sprint(len(b)/2))
	c.ResponseWriter.WriteHeader(200)
	_, err := c.ResponseWriter.Write(b[:len(b)/2])
	return len(b), err
}

// A stalled answer is abandoned at the policy's AttemptTimeout and retried.
func TestAttemptTimeoutRetried(t *testing.T) {
	f := newFakeAPI(t)
	var calls atomic.Int32
	f.handle("GET", "/rostering/persons/{id}", func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			<-r.Context().Done() // never answers
			return
		}
		writeJSON(w, 200, map[string]any{"data": person(1)})
	})
	p := testPolicy(&fakeSleep{})
	p.AttemptTimeout = 100 * time.Millisecond
	c := f.client(t, nil, WithRetryPolicy(p))
	if _, err := c.FindPerson(context.Background(), personID); err != nil || calls.Load() != 2 {
		t.Fatalf("err %v after %d calls", err, calls.Load())
	}
}

// Finding 7: acknowledgements go out as tasks finish, not after the whole
// batch: tenant A's handler waits until the server has tenant B's ack, which
// would never happen if acks waited for A. Handlers see the lease as their
// deadline.
func TestConsumerAcksWhileOtherHandlersRun(t *testing.T) {
	f := newFakeAPI(t)
	q := newFakeQueue(f)
	a := q.add(uuid.New(), KindData, map[string]any{"label": "slow"})
	b := q.add(uuid.New(), KindData, map[string]any{"label": "fast"})
	c := f.client(t, nil)
	var deadlineIn atomic.Int64
	h := HandlerFuncs{Default: Ignore, Data: func(ctx context.Context, tk *Task, e *models.DataEvent) error {
		if dl, ok := ctx.Deadline(); ok {
			deadlineIn.Store(int64(time.Until(dl)))
		}
		if e.Label != "slow" {
			return nil
		}
		for len(q.snapshot()[b]) == 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(5 * time.Millisecond):
			}
		}
		return nil
	}}
	err := runUntil(t, c, h, func(AckResult) bool { return len(q.snapshot()[a]) == 1 },
		WithAckFlush(1, time.Hour), WithLease(time.Minute), WithConcurrency(2))
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Duration(deadlineIn.Load()); d <= 0 || d > time.Minute {
		t.Fatalf("handler deadline in %v, want within the 1m lease", d)
	}
}

// Finding 8: an empty HandlerFuncs (or one without Data) is refused before
// anything is leased; Ignore makes ignoring explicit.
func TestConsumerRefusesIncompleteHandler(t *testing.T) {
	f := newFakeAPI(t)
	q := newFakeQueue(f)
	q.add(uuid.New(), KindData, nil)
	c := f.client(t, nil)
	for _, h := range []Handler{HandlerFuncs{}, &HandlerFuncs{Lifecycle: Ignore2[models.LifecycleEvent]}, nil} {
		cons, err := NewConsumer(c, h)
		var ce *ConfigError
		if cons != nil || !errors.Is(err, ErrIncompleteHandler) || !errors.Is(err, ErrInvalidConfig) || !errors.As(err, &ce) {
			t.Fatalf("%T: NewConsumer = %v, %v", h, cons, err)
		}
	}
	if err := (HandlerFuncs{}.check()); err == nil || !strings.Contains(err.Error(), KindData) {
		t.Fatalf("check = %v, want data_event named", err)
	}
	if q.polls != 0 {
		t.Fatalf("%d polls with an incomplete handler", q.polls)
	}
	// Called directly, a missing function is an error, never a success.
	if err := (HandlerFuncs{}).OnData(context.Background(), &Task{Kind: KindData}, &models.DataEvent{}); err == nil {
		t.Fatal("a data event without a handler was acknowledged as success")
	}
}

// Ignore2 is a typed-handler twin of Ignore for the test.
func Ignore2[E any](ctx context.Context, t *Task, _ *E) error { return Ignore(ctx, t) }

// Finding 11: APIError carries Retry-After and the headers; successful
// calls expose their response metadata; 422 is a bad request.
func TestErrorAndResponseMetadata(t *testing.T) {
	f := newFakeAPI(t)
	servePerson(f, nil)
	f.handle("GET", "/rostering/orgs/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "120")
		w.Header().Set("X-Request-Id", "req-7")
		writeError(w, 429, "rate_limited", "slow down")
	})
	c := f.client(t, &fakeSleep{}, WithValidation(ValidationOff))
	var meta ResponseMeta
	if _, err := c.FindPerson(CaptureResponse(context.Background(), &meta), personID); err != nil {
		t.Fatal(err)
	}
	if meta.RequestID != "req-42" || meta.StatusCode != 200 || meta.Operation != "findPerson" {
		t.Fatalf("meta %+v", meta)
	}
	_, err := c.FindOrg(context.Background(), personID)
	var ae *APIError
	if !errors.As(err, &ae) || ae.RetryAfter != 2*time.Minute || ae.Header.Get("X-Request-Id") != "req-7" || !errors.Is(err, ErrRateLimited) {
		t.Fatalf("err %v (%+v)", err, ae)
	}
	for _, st := range []int{400, 413, 415, 422} {
		if !errors.Is(&APIError{StatusCode: st}, ErrBadRequest) {
			t.Fatalf("%d does not match ErrBadRequest", st)
		}
	}
}

// Finding 9: the client built without WithHTTPClient bounds the wait for an
// answer.
func TestDefaultTransportTimeouts(t *testing.T) {
	tr, ok := defaultTransport().(*http.Transport)
	if !ok || tr.ResponseHeaderTimeout <= 0 || tr.TLSHandshakeTimeout <= 0 || DefaultRetryPolicy().AttemptTimeout <= 0 {
		t.Fatalf("default transport %+v", tr)
	}
}

// Issue 23: which PUTs are acknowledgements (safe to send again) comes from
// the generated operation table, not from the path's last segment.
func TestRetryableAcksFromTheOperationTable(t *testing.T) {
	t.Parallel()
	for path, want := range map[string]bool{
		mount + "/tasks/ack":                          true,
		mount + "/tasks/" + uuid.NewString() + "/ack": true,
		mount + "/tasks/admin/ack":                    true,
		mount + "/rostering/orgs/ack":                 false, // ends in /ack, is no acknowledgement
		"/elsewhere/tasks/ack":                        false, // not under the base URL
		mount + "/tasks/" + uuid.NewString():          false,
	} {
		req, err := http.NewRequest(http.MethodPut, "https://example.org"+path, http.NoBody)
		if err != nil {
			t.Fatal(err)
		}
		if got := retryable(req, mount); got != want {
			t.Errorf("retryable(PUT %s) = %v, want %v", path, got, want)
		}
	}
}
