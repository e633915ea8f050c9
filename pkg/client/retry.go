package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/interop-data/interop/internal/clockctx"
)

// RetryPolicy says when and how long the client retries a failed request.
// Only requests that are safe to repeat are retried: GETs and the PUT
// acknowledgements (the spec makes repeating an acknowledgement with the same
// status succeed again). They are retried on network errors and on 429, 500,
// 502, 503 and 504.
//
// The delay before retry n (n = 1, 2, ...) is drawn uniformly from
// [0, min(MaxDelay, BaseDelay*2^(n-1))] ("full jitter"), unless the response
// carries Retry-After, which is honoured up to MaxRetryAfter. The client never
// sleeps past its context's deadline nor past MaxElapsed since the first
// attempt: when the next wait would cross either, it returns the last result.
//
// The response body of a safe request is read inside the attempt: a
// connection closed mid-body, an attempt that outlives AttemptTimeout, or a
// 2xx JSON body that is not complete JSON (cut by a proxy) is retried like a
// network error, whatever the validation mode.
//
// A 401 is not retried here: the authentication layer below drops the cached
// token and sends the request again with a new one, once per request (not
// once per attempt), and that replay does not use up an attempt. Token
// fetches are retried by the authentication layer with the same policy.
type RetryPolicy struct {
	MaxAttempts   int           // total attempts including the first; <= 1 disables retries
	BaseDelay     time.Duration // first backoff ceiling
	MaxDelay      time.Duration // cap of the backoff ceiling; 0 means no cap
	MaxElapsed    time.Duration // total time budget across attempts; 0 means no budget
	MaxRetryAfter time.Duration // cap on a server's Retry-After; a longer one is not waited for
	// AttemptTimeout bounds one attempt of a safe request, reading its body
	// included; an attempt cut by it is retried. 0 means no bound (the
	// caller's context still applies).
	AttemptTimeout time.Duration

	// clk and jitter are the policy's time and randomness: the client's
	// clock and math/rand/v2 unless a test injects others.
	clk    clock
	jitter func() float64
}

// DefaultRetryPolicy is used when no WithRetryPolicy option is given.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{
		MaxAttempts:   4,
		BaseDelay:     250 * time.Millisecond,
		MaxDelay:      8 * time.Second,
		MaxElapsed:    30 * time.Second,
		MaxRetryAfter: 30 * time.Second,
		// Generous for a 2,000-item page on a slow link; it exists so that
		// a stalled connection is abandoned rather than waited on forever.
		AttemptTimeout: 60 * time.Second,
	}
}

// NoRetries is a policy that sends every request exactly once.
func NoRetries() RetryPolicy { return RetryPolicy{MaxAttempts: 1} }

func (p RetryPolicy) clock() clock {
	if p.clk != nil {
		return p.clk
	}
	return realClock{}
}

func (p RetryPolicy) now() time.Time { return p.clock().Now() }

// withClockOf is p on the clock ctx carries (internal/clockctx), if any.
func (p RetryPolicy) withClockOf(ctx context.Context) RetryPolicy {
	if clk, ok := clockctx.From(ctx); ok {
		p.clk = clk
	}
	return p
}

func (p RetryPolicy) sleep(ctx context.Context, d time.Duration) error {
	return p.clock().Sleep(ctx, d)
}

// expCeiling returns base*2^(n-1) capped at limit; limit <= 0 means no cap
// (short of overflowing). The retrier and the consumer's idle pauses both
// grow this way.
func expCeiling(base, limit time.Duration, n int) time.Duration {
	d := base
	for i := 1; i < n && d < math.MaxInt64/2 && (limit <= 0 || d < limit); i++ {
		d *= 2
	}
	if limit > 0 && d > limit {
		d = limit
	}
	return d
}

// backoff returns the full-jitter delay before retry n (1-based).
func (p RetryPolicy) backoff(n int) time.Duration {
	ceil := expCeiling(p.BaseDelay, p.MaxDelay, n)
	j := rand.Float64()
	if p.jitter != nil {
		j = p.jitter()
	}
	return time.Duration(j * float64(ceil))
}

// retryable reports whether the request may be sent again: GETs and the
// acknowledgement PUTs (the operations of shape ack in the generated table:
// the spec makes repeating an acknowledgement succeed again), when their
// body can be sent again. basePath is the base URL's path.
func retryable(req *http.Request, basePath string) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead:
		return true
	case http.MethodPut:
		if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
			return false
		}
		op, _ := requestOperation(req, basePath)
		return op != nil && op.shape == shapeAck
	}
	return false
}

func retryableStatus(code int) bool {
	switch code {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// retryAfter parses a Retry-After header: delay-seconds or an HTTP date.
func retryAfter(h string, now time.Time) (time.Duration, bool) {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0, false
	}
	if secs, err := strconv.Atoi(h); err == nil {
		if secs < 0 {
			return 0, false
		}
		if int64(secs) > math.MaxInt64/int64(time.Second) {
			// Beyond what a Duration holds: as good as forever (and never
			// a negative pause from the overflow).
			return time.Duration(math.MaxInt64), true
		}
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(h); err == nil {
		d := t.Sub(now)
		if d < 0 {
			d = 0
		}
		return d, true
	}
	return 0, false
}

// delay returns the pause before retry n (1-based) of a request first sent
// at start, or false when the caller should have its last answer now: the
// server asks for a longer pause than MaxRetryAfter, or the pause would cross
// MaxElapsed or ctx's deadline. ra is the server's Retry-After when hasRA.
func (p RetryPolicy) delay(ctx context.Context, start time.Time, n int, ra time.Duration, hasRA bool) (time.Duration, bool) {
	now := p.now()
	d := p.backoff(n)
	if hasRA {
		if p.MaxRetryAfter > 0 && ra > p.MaxRetryAfter {
			return 0, false
		}
		d = ra
	}
	if p.MaxElapsed > 0 && now.Add(d).Sub(start) > p.MaxElapsed {
		return 0, false
	}
	if dl, ok := ctx.Deadline(); ok && now.Add(d).After(dl) {
		return 0, false
	}
	return d, true
}

// retrier is the http.RoundTripper that applies a RetryPolicy.
type retrier struct {
	next     http.RoundTripper
	policy   RetryPolicy
	basePath string
}

func (r *retrier) RoundTrip(req *http.Request) (*http.Response, error) {
	p := r.policy.withClockOf(req.Context())
	if !retryable(req, r.basePath) {
		return r.next.RoundTrip(req)
	}
	req = withRefreshBudget(req)
	ctx := req.Context()
	if noRetry, _ := ctx.Value(noRetryKey{}).(bool); noRetry {
		p.MaxAttempts = 1
	}
	start := p.now()
	for attempt := 1; ; attempt++ {
		try := req
		if attempt > 1 {
			try = req.Clone(ctx)
			if req.GetBody != nil {
				body, err := req.GetBody()
				if err != nil {
					return nil, err
				}
				try.Body = body
			}
		}
		actx, cancel := ctx, context.CancelFunc(func() {})
		if p.AttemptTimeout > 0 {
			actx, cancel = context.WithTimeout(ctx, p.AttemptTimeout)
			try = try.WithContext(actx)
		}
		// The body of a safe request is read (by bodyReader, the innermost
		// layer) before RoundTrip returns, so the attempt's context may end
		// here.
		resp, err := r.next.RoundTrip(try)
		timedOut := actx.Err() != nil && ctx.Err() == nil
		cancel()
		if attempt >= p.MaxAttempts || !(timedOut || r.shouldRetry(ctx, resp, err)) {
			return resp, err
		}
		var ra time.Duration
		hasRA := false
		if resp != nil {
			ra, hasRA = retryAfter(resp.Header.Get("Retry-After"), p.now())
		}
		delay, ok := p.delay(ctx, start, attempt, ra, hasRA)
		if !ok {
			return resp, err
		}
		if resp != nil {
			// Drain a little so the connection can be reused, then close.
			_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
			_ = resp.Body.Close()
		}
		if err := p.sleep(ctx, delay); err != nil {
			return nil, err
		}
	}
}

func (r *retrier) shouldRetry(ctx context.Context, resp *http.Response, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	if err != nil {
		// A contract violation or a refused token is not transient, and a
		// token fetch has had its own retries.
		var verr *ValidationError
		var aerr *APIError
		var terr *TokenError
		if errors.As(err, &verr) || errors.As(err, &aerr) || errors.As(err, &terr) ||
			errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return false
		}
		return true
	}
	return retryableStatus(resp.StatusCode)
}

// noRetryKey marks a context whose requests are sent once: the consumer
// polls this way when it handles a lost answer itself.
type noRetryKey struct{}

func withoutRetries(ctx context.Context) context.Context {
	return context.WithValue(ctx, noRetryKey{}, true)
}

// BodyError is the error of a safe request whose response body could not be
// read whole: the connection closed mid-body, or a 2xx JSON body is not
// complete JSON. It is retried like a network error; after the last attempt
// it reaches the caller (a cut JSON body matches ErrInvalidResponse).
type BodyError struct {
	StatusCode int
	Err        error
}

func (e *BodyError) Error() string {
	return fmt.Sprintf("interop: response %d cut short: %v", e.StatusCode, e.Err)
}
func (e *BodyError) Unwrap() error { return e.Err }

var errCutJSON = fmt.Errorf("%w: not complete JSON", ErrInvalidResponse)

// bodyReader is the innermost layer: it reads the whole response body of
// every safe request before the layers above see it, so a failure while
// reading is a failure of the attempt (and retried) rather than of the
// caller's decoding, with or without validation.
type bodyReader struct {
	next     http.RoundTripper
	basePath string
}

func (b bodyReader) RoundTrip(req *http.Request) (*http.Response, error) {
	if noRetry, _ := req.Context().Value(noRetryKey{}).(bool); noRetry && req.Method == http.MethodGet {
		// net/http's Transport silently sends a GET again when a reused
		// connection fails before the answer; a request with a body and no
		// GetBody is documented as never replayed. The empty body is not
		// sent (a GET with nothing to read goes out without one).
		req = req.Clone(req.Context())
		req.Body, req.GetBody, req.ContentLength = io.NopCloser(strings.NewReader("")), nil, 0
	}
	resp, err := b.next.RoundTrip(req)
	if err != nil || !retryable(req, b.basePath) {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, &BodyError{StatusCode: resp.StatusCode, Err: err}
	}
	if resp.StatusCode/100 == 2 && resp.StatusCode != http.StatusNoContent && req.Method != http.MethodHead &&
		strings.Contains(resp.Header.Get("Content-Type"), "json") && len(bytes.TrimSpace(body)) > 0 && !json.Valid(body) {
		// An empty body is not a cut one: the vendor's 2022 acknowledgements
		// answer 200 with nothing (normalize.go makes their receipt).
		return nil, &BodyError{StatusCode: resp.StatusCode, Err: errCutJSON}
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	return resp, nil
}
