package server

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"

	"github.com/interop-data/interop/pkg/server/auth"
)

// RateLimit configures WithRateLimit: a token bucket per caller that refills
// at PerSecond tokens a second and holds at most Burst. Every request takes
// one token; a request that finds the bucket empty is answered 429 at once
// (it never waits) and takes nothing.
type RateLimit struct {
	// PerSecond is the sustained rate allowed to each caller, in requests a
	// second (fractions allowed: 0.5 is one request every two seconds).
	// Zero turns rate limiting off.
	PerSecond float64
	// Burst is how many requests a caller may make back to back after being
	// idle. Zero means PerSecond rounded up, at least 1.
	Burst int
}

// WithRateLimit limits how fast each caller may call (default: no limit).
//
// Callers are told apart this way:
//   - an authenticated API operation counts against the principal's ClientID
//     (auth.Principal.ClientID), whatever address it comes from and whichever
//     of its tokens it uses; a principal without a ClientID (a custom
//     authenticator's) counts against its client IP;
//   - POST /oauth/token, where nobody is authenticated yet, counts against the
//     client IP (the connection's address or, from a proxy WithTrustedProxies
//     names, the nearest X-Forwarded-For address that is not a named proxy),
//     in buckets separate from the clients'.
//
// Requests that fail authentication, /healthz, /readyz and /metrics are not
// limited. A limited request gets 429 with the spec's error body (code
// rate_limited) and Retry-After: the whole seconds, at least 1, until the
// bucket holds a token again; it is counted in
// interop_rate_limited_total{operation}. Buckets live in the process: behind
// a load balancer each instance limits on its own, unless WithSharedRateLimit
// gives the clients' buckets a home every instance sees. A bucket idle long enough
// to have refilled (Burst/PerSecond, at least a minute, at most a day) is
// forgotten, which changes nothing for its caller; interop_rate_limit_keys says how many are
// held. Time comes from WithClock.
func WithRateLimit(l RateLimit) Option { return func(s *Server) { s.rateLimit = l } }

// SharedLimiter keeps token buckets where every replica of a server sees
// them (a database), so that one caller's limit holds across replicas.
type SharedLimiter interface {
	// TakeRateToken takes one token from key's bucket, which refills at
	// perSecond and holds at most burst, at now. It returns 0 when it did,
	// else how long until the bucket holds a token again (and takes
	// nothing).
	TakeRateToken(ctx context.Context, key string, perSecond float64, burst int, now time.Time) (time.Duration, error)
}

// WithSharedRateLimit makes WithRateLimit's per-client buckets (API
// operations of an authenticated client) live in l, shared by every server
// using it, instead of in the process. A request is first checked against
// the process's own bucket, which costs nothing and turns away a caller
// flooding this replica without asking l; only what passes it asks l. When
// l fails, the request is let through on the process's bucket alone, and
// the failure logged: the limiter never turns a database hiccup into an
// outage. The token endpoint's per-IP buckets stay in the process (nobody
// is authenticated there; sharing them would write to l for every
// anonymous caller): with N replicas an address gets up to N times its
// limit there. Without WithRateLimit, l is not used.
func WithSharedRateLimit(l SharedLimiter) Option { return func(s *Server) { s.sharedLimit = l } }

// WithClock sets the clock of the kit's time-dependent behaviour, today the
// rate limiter (default time.Now). Request durations in logs and metrics
// always use the real clock.
func WithClock(now func() time.Time) Option {
	return func(s *Server) {
		if now != nil {
			s.now = now
		}
	}
}

// validate checks l and fills in its default burst. It reports whether
// limiting is on.
func (l *RateLimit) validate() (bool, error) {
	if math.IsNaN(l.PerSecond) || math.IsInf(l.PerSecond, 0) || l.PerSecond < 0 {
		return false, fmt.Errorf("server: rate limit: PerSecond must be a finite number >= 0, not %v", l.PerSecond)
	}
	if l.Burst < 0 {
		return false, fmt.Errorf("server: rate limit: Burst must be >= 0, not %d", l.Burst)
	}
	if l.PerSecond == 0 {
		return false, nil
	}
	if l.Burst == 0 {
		l.Burst = max(1, int(math.Ceil(l.PerSecond)))
	}
	return true, nil
}

// A bucket is kept for its refill time (Burst/PerSecond) after its last
// request, but at least minIdle, so that sweeps stay rare however fast
// buckets refill, and at most maxIdle, so that a very slow rate cannot make
// the map hold every key ever seen.
const (
	minIdle = time.Minute
	maxIdle = 24 * time.Hour
)

// limiters holds one token bucket per key. Every key's bucket remembers when
// it was last used; a sweep, run from reserve at most once per idle period,
// drops the buckets idle for longer than idle. Since a bucket idle that long
// is full (unless maxIdle cut idle short), dropping it and starting a fresh
// (full) one later is the same to its caller, and the map holds only the keys
// seen in the last two idle periods.
type limiters struct {
	limit rate.Limit
	burst int
	idle  time.Duration
	keys  func(n int) // reports the number of keys held (a gauge)

	mu        sync.Mutex
	m         map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	lim  *rate.Limiter
	last time.Time
}

func newLimiters(l RateLimit, keys func(int)) *limiters {
	idle := maxIdle
	if refill := float64(l.Burst) / l.PerSecond; refill < maxIdle.Seconds() {
		idle = max(minIdle, time.Duration(refill*float64(time.Second)))
	}
	return &limiters{limit: rate.Limit(l.PerSecond), burst: l.Burst, idle: idle, keys: keys, m: make(map[string]*bucket)}
}

// reserve takes a token from key's bucket at now. It returns 0 when it did,
// else how long until a token will be there (and takes none).
func (l *limiters) reserve(key string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	b := l.m[key]
	if b == nil {
		b = &bucket{lim: rate.NewLimiter(l.limit, l.burst)}
		l.m[key] = b
		l.keys(len(l.m))
	}
	if now.After(b.last) {
		b.last = now
	}
	r := b.lim.ReserveN(now, 1)
	if !r.OK() { // cannot happen with burst >= 1
		return time.Second
	}
	d := r.DelayFrom(now)
	if d > 0 {
		r.CancelAt(now) // a refused request takes nothing
		return d
	}
	return 0
}

// sweep drops the buckets idle for longer than l.idle, at most once per
// l.idle. l.mu must be held.
func (l *limiters) sweep(now time.Time) {
	if l.lastSweep.IsZero() {
		l.lastSweep = now
		return
	}
	if now.Sub(l.lastSweep) < l.idle {
		return
	}
	l.lastSweep = now
	for k, b := range l.m {
		if now.Sub(b.last) > l.idle {
			delete(l.m, k)
		}
	}
	l.keys(len(l.m))
}

// clientKeyPrefix starts the bucket keys of authenticated clients, the only
// ones WithSharedRateLimit shares.
const clientKeyPrefix = "client:"

// rateLimitKey says whose bucket a request of an API operation draws from;
// see WithRateLimit.
func rateLimitKey(c echo.Context) string {
	if p, ok := auth.PrincipalFrom(c.Request().Context()); ok && p.ClientID != "" {
		return clientKeyPrefix + p.ClientID
	}
	return "ip:" + c.RealIP()
}

// takeToken answers a request whose bucket is empty: it counts it, sets
// Retry-After and returns the 429 for the error handler to write. It returns
// nil when the request may go on (or limiting is off).
func (s *Server) takeToken(c echo.Context, key string) error {
	if s.limiters == nil {
		return nil
	}
	now := s.now()
	d := s.limiters.reserve(key, now)
	if d <= 0 && s.sharedLimit != nil && strings.HasPrefix(key, clientKeyPrefix) {
		var err error
		d, err = s.sharedLimit.TakeRateToken(c.Request().Context(), key, s.rateLimit.PerSecond, s.rateLimit.Burst, now)
		if err != nil {
			s.logger.WarnContext(c.Request().Context(), "shared rate limiter failed; limiting in this process only", "err", err)
			d = 0
		}
	}
	if d <= 0 {
		return nil
	}
	secs := max(1, int64(math.Ceil(d.Seconds())))
	s.metrics.rateLimited.WithLabelValues(operationOf(c)).Inc()
	c.Response().Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	return &Error{Status: http.StatusTooManyRequests, Code: CodeRateLimited, Message: "too many requests",
		Details: fmt.Sprintf("retry after %d seconds", secs)}
}

// limitTokenByIP is the rate-limiting middleware of POST /oauth/token: its
// callers are told apart by IP (nobody is authenticated yet), and its 429
// speaks the token endpoint's language, RFC 6749 §5.2 ({"error":
// "temporarily_unavailable", "error_description": ...}, Cache-Control:
// no-store), because OAuth2 libraries read "error" there as a string.
func (s *Server) limitTokenByIP(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := s.takeToken(c, "ip:"+c.RealIP())
		var e *Error
		if !errors.As(err, &e) {
			return next(c)
		}
		h := c.Response().Header()
		h.Set("Cache-Control", "no-store")
		h.Set("Pragma", "no-cache")
		return c.JSON(e.Status, tokenRateLimited{Code: "temporarily_unavailable", Description: "too many token requests; " + e.Details})
	}
}

// tokenRateLimited is the RFC 6749 §5.2 error body of a rate-limited token request.
type tokenRateLimited struct {
	Code        string `json:"error"`
	Description string `json:"error_description"`
}
