package client

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// tokenSourceFunc adapts a function to oauth2.TokenSource.
type tokenSourceFunc func() (*oauth2.Token, error)

func (f tokenSourceFunc) Token() (*oauth2.Token, error) { return f() }

// authTransport adds the bearer token to every request. It owns an
// oauth2.ReuseTokenSource (the cache) over a source that always fetches a new
// token; on a 401 it drops the cache and retries the request once, so a token
// the server revoked or forgot (a restarted server, a rotated key) costs one
// round trip instead of an error.
type authTransport struct {
	next        http.RoundTripper
	fresh       oauth2.TokenSource // always fetches
	earlyExpiry time.Duration
	// static is set for a fixed token: asking again after a 401 would
	// return the same one, so the request is not replayed.
	static bool

	mu     sync.Mutex
	cached oauth2.TokenSource // ReuseTokenSource over fresh
}

func newAuthTransport(next http.RoundTripper, fresh oauth2.TokenSource, earlyExpiry time.Duration) *authTransport {
	t := &authTransport{next: next, fresh: fresh, earlyExpiry: earlyExpiry}
	t.cached = oauth2.ReuseTokenSourceWithExpiry(nil, fresh, earlyExpiry)
	return t
}

func (t *authTransport) token() (*oauth2.Token, error) {
	t.mu.Lock()
	ts := t.cached
	t.mu.Unlock()
	tok, err := ts.Token()
	if err != nil {
		return nil, tokenError(err)
	}
	return tok, nil
}

// reset drops the cached token, unless another request already replaced the
// token that failed: many requests failing together refetch only once.
func (t *authTransport) reset(failed string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if cur, err := t.cached.Token(); err == nil && cur.AccessToken != failed {
		return
	}
	t.cached = oauth2.ReuseTokenSourceWithExpiry(nil, t.fresh, t.earlyExpiry)
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
	tok, err := t.token()
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
	t.reset(tok.AccessToken)
	tok2, err := t.token()
	if err != nil {
		return resp, nil // keep the server's 401: it says more than the token error
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

// tokenError turns the token endpoint's refusal into an *APIError matching
// ErrUnauthorized (invalid client) or the sentinel of its status.
func tokenError(err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.Response == nil {
		return err
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

// clientCredentialsSource returns a source that fetches a new token from the
// token endpoint on every call, through hc.
func clientCredentialsSource(cfg *clientcredentials.Config, hc *http.Client) oauth2.TokenSource {
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, hc)
	return tokenSourceFunc(func() (*oauth2.Token, error) { return cfg.Token(ctx) })
}

// jwtFuncSource adapts a function returning an LTI JWT.
func jwtFuncSource(f func(context.Context) (string, error)) oauth2.TokenSource {
	return tokenSourceFunc(func() (*oauth2.Token, error) {
		s, err := f(context.Background())
		if err != nil {
			return nil, err
		}
		// The token is reused until the exp claim it carries (if any) comes
		// near, or until the server answers 401.
		return &oauth2.Token{AccessToken: s, TokenType: "Bearer", Expiry: jwtExpiry(s)}, nil
	})
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
