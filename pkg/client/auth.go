package client

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	"golang.org/x/sync/singleflight"
)

// DefaultTokenTimeout bounds one token fetch (all its attempts) when no
// WithTokenTimeout option is given.
const DefaultTokenTimeout = 30 * time.Second

// fetchFunc obtains a new token; it never reads a cache.
type fetchFunc func(ctx context.Context) (*oauth2.Token, error)

// tokenCache holds the current token and fetches a new one when it is
// missing or about to expire. Concurrent callers share one fetch
// (singleflight); each waits for it only as long as its own context allows,
// so a hanging token endpoint never holds a request past its deadline. The
// shared fetch runs under the first caller's context values but not its
// cancellation (another caller may still want the token), bounded by
// timeout.
type tokenCache struct {
	fetch       fetchFunc
	earlyExpiry time.Duration
	timeout     time.Duration

	mu  sync.Mutex
	tok *oauth2.Token
	sf  singleflight.Group
}

func (c *tokenCache) valid(tok *oauth2.Token) bool {
	if tok == nil || tok.AccessToken == "" {
		return false
	}
	return tok.Expiry.IsZero() || time.Now().Add(c.earlyExpiry).Before(tok.Expiry)
}

func (c *tokenCache) token(ctx context.Context) (*oauth2.Token, error) {
	c.mu.Lock()
	tok := c.tok
	c.mu.Unlock()
	if c.valid(tok) {
		return tok, nil
	}
	ch := c.sf.DoChan("token", func() (any, error) {
		fctx := context.WithoutCancel(ctx)
		if c.timeout > 0 {
			var cancel context.CancelFunc
			fctx, cancel = context.WithTimeout(fctx, c.timeout)
			defer cancel()
		}
		tok, err := c.fetch(fctx)
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		c.tok = tok
		c.mu.Unlock()
		return tok, nil
	})
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*oauth2.Token), nil
	}
}

// reset drops the cached token, unless another request already replaced the
// token that failed: many requests failing together refetch only once.
func (c *tokenCache) reset(failed string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tok != nil && c.tok.AccessToken == failed {
		c.tok = nil
	}
}

// authTransport adds the bearer token to every request. On a 401 it drops
// the cached token and sends the request once more with a new one, so a
// token the server revoked or forgot (a restarted server, a rotated key)
// costs one round trip instead of an error.
type authTransport struct {
	next  http.RoundTripper
	cache *tokenCache
	// static is set for a fixed token: asking again after a 401 would
	// return the same one, so the request is not replayed.
	static bool
}

// refreshKey is the context key of a *refreshBudget.
type refreshKey struct{}

// refreshBudget is shared by every attempt of one logical request (the
// retrier puts it in the request's context), so the token is refreshed after
// a 401 once per request, not once per retry attempt: a server that keeps
// refusing fresh tokens must not make each attempt hit the token endpoint.
type refreshBudget struct{ used atomic.Bool }

func withRefreshBudget(req *http.Request) *http.Request {
	return req.WithContext(context.WithValue(req.Context(), refreshKey{}, new(refreshBudget)))
}

// mayRefresh reports whether req may still refresh its token, and uses up
// the chance. A request sent without a budget (never retried) has one.
func mayRefresh(req *http.Request) bool {
	b, ok := req.Context().Value(refreshKey{}).(*refreshBudget)
	return !ok || b.used.CompareAndSwap(false, true)
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	tok, err := t.cache.token(req.Context())
	if err != nil {
		return nil, err
	}
	resp, err := t.send(req, tok)
	if err != nil || resp.StatusCode != http.StatusUnauthorized || t.static {
		return resp, err
	}
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return resp, nil // cannot replay the body
	}
	if !mayRefresh(req) {
		return resp, nil // refreshed once already for an earlier attempt
	}
	t.cache.reset(tok.AccessToken)
	tok2, err := t.cache.token(req.Context())
	if err != nil {
		// The new token could not be had. When the token endpoint refused
		// the credentials the error says so (ErrUnauthorized, invalid_client);
		// otherwise the failure is transient (an outage of the token
		// endpoint, a timeout) and must not read as a refusal: the server's
		// 401 only said that the old token is no longer good.
		_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
		_ = resp.Body.Close()
		return nil, err
	}
	_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
	_ = resp.Body.Close()
	retry := req
	if req.GetBody != nil {
		body, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		retry = req.Clone(req.Context())
		retry.Body = body
	}
	return t.send(retry, tok2)
}

func (t *authTransport) send(req *http.Request, tok *oauth2.Token) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	return t.next.RoundTrip(r)
}

// TokenError is the error of a token fetch that failed for a reason other
// than an answer of the token endpoint (a network error, a timeout, a body
// that is not a token). It is transient: the client tries again on the next
// request. A refusal by the token endpoint is an *APIError with Operation
// "token" instead, matching ErrUnauthorized when the credentials were
// refused.
type TokenError struct{ Err error }

func (e *TokenError) Error() string { return "interop: token: " + e.Err.Error() }
func (e *TokenError) Unwrap() error { return e.Err }

// tokenError turns a token fetch failure into an *APIError (the token
// endpoint answered) or a *TokenError (it did not answer usably).
func tokenError(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &TokenError{Err: err}
	}
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.Response == nil {
		return &TokenError{Err: err}
	}
	e := newAPIError("token", re.Response, re.Body)
	if re.ErrorCode != "" {
		e.Code = re.ErrorCode
		e.Message = re.ErrorDescription
	}
	if e.StatusCode == http.StatusBadRequest && (re.ErrorCode == "invalid_client" || re.ErrorCode == "unauthorized_client") {
		// RFC 6749 lets a server refuse client credentials with 400.
		e.StatusCode = http.StatusUnauthorized
	}
	return e
}

// transientTokenError reports whether a token fetch may succeed when tried
// again: anything but an answer of the token endpoint refusing the request
// (invalid_client, invalid_scope, ...), which only a change of
// configuration cures.
func transientTokenError(err error) bool {
	var ae *APIError
	if errors.As(err, &ae) {
		return retryableStatus(ae.StatusCode)
	}
	return true
}

// clientCredentialsFetch fetches a token from the token endpoint through hc,
// retrying transient failures (network errors, cut bodies, 429, 500, 502,
// 503, 504) as p says, Retry-After included.
func clientCredentialsFetch(cfg *clientcredentials.Config, hc *http.Client, p RetryPolicy) fetchFunc {
	return func(ctx context.Context) (*oauth2.Token, error) {
		ctx = context.WithValue(ctx, oauth2.HTTPClient, hc)
		start := p.now()
		for attempt := 1; ; attempt++ {
			tok, err := cfg.Token(ctx)
			if err == nil {
				return tok, nil
			}
			err = tokenError(err)
			var refused *APIError
			if errors.As(err, &refused) && refused.StatusCode == http.StatusUnauthorized {
				// Say whose credentials: a program may hold several.
				refused.Message = strings.TrimSuffix(fmt.Sprintf("the token endpoint refused client id %q: %s", cfg.ClientID, refused.Message), ": ")
			}
			if ctx.Err() != nil || !transientTokenError(err) || attempt >= p.MaxAttempts {
				return nil, err
			}
			var ae *APIError
			var ra time.Duration
			hasRA := errors.As(err, &ae) && ae.RetryAfter > 0
			if hasRA {
				ra = ae.RetryAfter
			}
			delay, ok := p.delay(ctx, start, attempt, ra, hasRA)
			if !ok {
				return nil, err
			}
			if serr := p.sleep(ctx, delay); serr != nil {
				return nil, err
			}
		}
	}
}

// staticFetch returns a fixed token.
func staticFetch(tok *oauth2.Token) fetchFunc {
	return func(context.Context) (*oauth2.Token, error) { return tok, nil }
}

// sourceFetch adapts an oauth2.TokenSource, which takes no context.
func sourceFetch(ts oauth2.TokenSource) fetchFunc {
	return func(context.Context) (*oauth2.Token, error) {
		tok, err := ts.Token()
		if err != nil {
			return nil, tokenError(err)
		}
		return tok, nil
	}
}

// jwtFuncFetch adapts a function returning an LTI JWT.
func jwtFuncFetch(f func(context.Context) (string, error)) fetchFunc {
	return func(ctx context.Context) (*oauth2.Token, error) {
		s, err := f(ctx)
		if err != nil {
			return nil, err
		}
		// The token is reused until the exp claim it carries (if any) comes
		// near, or until the server answers 401.
		return &oauth2.Token{AccessToken: s, TokenType: "Bearer", Expiry: jwtExpiry(s)}, nil
	}
}

// jwtExpiry reads the exp claim of a JWT without verifying it (the server
// does that); the zero time when there is none.
func jwtExpiry(jwt string) time.Time {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return time.Time{}
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return time.Time{}
	}
	var claims struct {
		Exp json.Number `json:"exp"`
	}
	if json.Unmarshal(payload, &claims) != nil || claims.Exp == "" {
		return time.Time{}
	}
	secs, err := claims.Exp.Float64()
	if err != nil {
		return time.Time{}
	}
	return time.Unix(int64(secs), 0)
}
