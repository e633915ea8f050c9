package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// DefaultTokenTTL is how long an access token issued by OAuth2 stays valid.
const DefaultTokenTTL = time.Hour

// TokenLimit bounds the tokens OAuth2 issues to one client, so that a
// client (or whoever holds its secret) cannot fill the token store: without
// it, one client was issued about 1,800 tokens a second, each kept for a day
// past its expiry. A request past either limit is answered 429
// temporarily_unavailable with Retry-After, and no token is stored.
// The limits are counted in the TokenStore (QuotaTokenStore), so replicas
// on one database share them.
type TokenLimit struct {
	// Live is the most unexpired tokens a client may hold; 0 is no cap.
	Live int
	// PerMinute is the most tokens a client is issued in any minute; 0 is
	// no limit.
	PerMinute int
}

// DefaultTokenLimit is OAuth2's TokenLimit unless WithTokenLimit says
// otherwise: 100 live tokens, 20 a minute. A client that keeps its token
// until it expires (as pkg/client does) needs one; a fleet of workers each
// fetching its own at start-up fits many times over.
var DefaultTokenLimit = TokenLimit{Live: 100, PerMinute: 20}

// maxTokenRequest bounds the token endpoint's form body: a client-credentials
// request is a few hundred bytes.
const maxTokenRequest = 16 << 10

// OAuth2 issues bearer tokens through TokenHandler (the client-credentials
// grant of RFC 6749 §4.4) and, as an Authenticator, accepts them.
type OAuth2 struct {
	clients ClientStore
	tokens  TokenStore
	ttl     time.Duration
	now     func() time.Time
	logger  *slog.Logger
	realm   string
	limit   TokenLimit
}

// OAuth2Option configures NewOAuth2.
type OAuth2Option func(*OAuth2)

// WithTokenTTL sets the lifetime of issued tokens (default DefaultTokenTTL).
func WithTokenTTL(d time.Duration) OAuth2Option {
	return func(o *OAuth2) {
		if d > 0 {
			o.ttl = d
		}
	}
}

// WithClock replaces time.Now, for tests that expire tokens without sleeping.
func WithClock(now func() time.Time) OAuth2Option {
	return func(o *OAuth2) {
		if now != nil {
			o.now = now
		}
	}
}

// WithLogger sets where store failures of the token endpoint are logged
// (default slog.Default()).
func WithLogger(l *slog.Logger) OAuth2Option {
	return func(o *OAuth2) {
		if l != nil {
			o.logger = l
		}
	}
}

// WithTokenLimit sets how many tokens one client may be issued (default
// DefaultTokenLimit; TokenLimit{} turns both limits off; negative values
// count as 0).
func WithTokenLimit(l TokenLimit) OAuth2Option {
	return func(o *OAuth2) { o.limit = TokenLimit{Live: max(0, l.Live), PerMinute: max(0, l.PerMinute)} }
}

// NewOAuth2 returns an OAuth2 issuer and authenticator over the given stores.
func NewOAuth2(clients ClientStore, tokens TokenStore, opts ...OAuth2Option) *OAuth2 {
	o := &OAuth2{clients: clients, tokens: tokens, ttl: DefaultTokenTTL, now: time.Now, logger: slog.Default(), realm: "interop", limit: DefaultTokenLimit}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

// TTL returns the lifetime of the tokens o issues.
func (o *OAuth2) TTL() time.Duration { return o.ttl }

// Authenticate accepts a bearer token that o issued and that has not expired.
func (o *OAuth2) Authenticate(r *http.Request) (Principal, error) {
	token, err := BearerToken(r)
	if err != nil {
		return Principal{}, err
	}
	p, expires, err := o.tokens.LookupToken(r.Context(), HashToken(token))
	if errors.Is(err, ErrUnknownToken) {
		return Principal{}, fmt.Errorf("%w: unknown access token", ErrInvalidToken)
	}
	if err != nil {
		return Principal{}, fmt.Errorf("%w: look up token: %w", ErrUnavailable, err)
	}
	if !o.now().Before(expires) {
		return Principal{}, fmt.Errorf("%w: access token expired at %s", ErrExpiredToken, expires.UTC().Format(time.RFC3339))
	}
	return p, nil
}

// IssueToken creates, stores and returns a new access token for client, as
// the token endpoint does after authenticating it. Servers and tests that
// authenticate clients some other way can use it directly. Past the
// client's TokenLimit it stores nothing and returns an error wrapping a
// *QuotaError.
func (o *OAuth2) IssueToken(ctx context.Context, c Client) (token string, expires time.Time, err error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", time.Time{}, fmt.Errorf("auth: random token: %w", err)
	}
	token = base64.RawURLEncoding.EncodeToString(b[:])
	now := o.now()
	expires = now.Add(o.ttl)
	p := Principal{TenantIDs: []uuid.UUID{c.TenantID}, ClientID: c.ID, Subject: c.ID, Method: MethodOAuth2}
	if qs, ok := o.tokens.(QuotaTokenStore); ok && (o.limit.Live > 0 || o.limit.PerMinute > 0) {
		var quotas []TokenQuota
		if o.limit.Live > 0 {
			quotas = append(quotas, TokenQuota{After: now, Max: o.limit.Live})
		}
		if o.limit.PerMinute > 0 {
			// Issued in the last minute: expiring after now+TTL-1m.
			quotas = append(quotas, TokenQuota{After: expires.Add(-time.Minute), Max: o.limit.PerMinute})
		}
		err = qs.SaveTokenWithin(ctx, HashToken(token), p, expires, quotas...)
	} else {
		err = o.tokens.SaveToken(ctx, HashToken(token), p, expires)
	}
	if err != nil {
		return "", time.Time{}, fmt.Errorf("auth: save token: %w", err)
	}
	return token, expires, nil
}

// TokenResponse is the successful answer of the token endpoint (RFC 6749 §5.1).
type TokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
}

// TokenError is an error answer of the token endpoint (RFC 6749 §5.2).
type TokenError struct {
	Code        string `json:"error"`
	Description string `json:"error_description,omitempty"`
	status      int
	basic       bool  // answer with WWW-Authenticate: Basic
	retryAfter  int64 // seconds, for Retry-After; 0: none
}

func (e *TokenError) Error() string { return e.Code + ": " + e.Description }

func tokenErr(status int, code, desc string) *TokenError {
	return &TokenError{Code: code, Description: desc, status: status}
}

// dummyHash is verified against when the client is unknown, so that an
// unknown client id and a wrong secret take the same time to reject.
var dummyHash = HashSecret("not a real secret")

// TokenHandler serves the client-credentials grant of RFC 6749 §4.4. Mount it
// at POST /oauth/token (pkg/server does, with WithTokenEndpoint).
//
// It takes only form-encoded bodies; the client authenticates with HTTP Basic
// (RFC 6749 §2.3.1, id and secret form-encoded) or with client_id and
// client_secret in the body, never both. Errors follow §5.2: invalid_request
// (400) for a malformed request, invalid_client (401, with WWW-Authenticate
// when Basic was tried) when client authentication fails,
// unsupported_grant_type (400) for any grant but client_credentials,
// unauthorized_client (400) for a client bound to no tenant and invalid_scope
// (400) for any scope, since the API defines none; a client past its
// TokenLimit gets 429 temporarily_unavailable with Retry-After (the code
// RFC 6749 §4.1.2.1 gives a server that cannot answer now, as the kit's
// rate limiter answers too). invalid_grant does not
// arise: this grant carries nothing to be invalid but the client's own
// credentials. Every answer carries Cache-Control: no-store.
func (o *OAuth2) TokenHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := o.token(r)
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "no-store")
		h.Set("Pragma", "no-cache")
		if err != nil {
			var te *TokenError
			if !errors.As(err, &te) {
				o.logger.ErrorContext(r.Context(), "oauth2 token endpoint failed", "err", err)
				te = tokenErr(http.StatusInternalServerError, "server_error", "the server could not issue a token")
			}
			if te.status == http.StatusMethodNotAllowed {
				h.Set("Allow", http.MethodPost)
			}
			if te.basic {
				h.Set("WWW-Authenticate", fmt.Sprintf("Basic realm=%q", o.realm))
			}
			if te.retryAfter > 0 {
				h.Set("Retry-After", strconv.FormatInt(te.retryAfter, 10))
			}
			w.WriteHeader(te.status)
			_ = json.NewEncoder(w).Encode(te)
			return
		}
		w.WriteHeader(http.StatusOK)
		_ = json.NewEncoder(w).Encode(resp)
	})
}

func (o *OAuth2) token(r *http.Request) (*TokenResponse, error) {
	if r.Method != http.MethodPost {
		return nil, tokenErr(http.StatusMethodNotAllowed, "invalid_request", "the token endpoint accepts POST only")
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, tokenErr(http.StatusBadRequest, "invalid_request", "the body must be application/x-www-form-urlencoded")
	}
	// Credentials in the URL end up in logs and proxies (RFC 6749 §2.3.1).
	if q := r.URL.Query(); q.Has("client_secret") {
		return nil, tokenErr(http.StatusBadRequest, "invalid_request", "client_secret must not be sent in the URL")
	}
	raw, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxTokenRequest))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tokenErr(http.StatusRequestEntityTooLarge, "invalid_request", "the request body is too large")
		}
		return nil, tokenErr(http.StatusBadRequest, "invalid_request", "the request body could not be read")
	}
	form, err := url.ParseQuery(string(raw))
	if err != nil {
		return nil, tokenErr(http.StatusBadRequest, "invalid_request", "the body is not valid form encoding")
	}
	// RFC 6749 §3.2: parameters must not be included more than once.
	for k, v := range form {
		if len(v) > 1 {
			return nil, tokenErr(http.StatusBadRequest, "invalid_request", fmt.Sprintf("parameter %q is included more than once", k))
		}
	}
	switch gt := form.Get("grant_type"); gt {
	case "":
		return nil, tokenErr(http.StatusBadRequest, "invalid_request", `missing parameter "grant_type"`)
	case "client_credentials":
	default:
		return nil, tokenErr(http.StatusBadRequest, "unsupported_grant_type", "only the client_credentials grant is supported")
	}

	id, secret, viaHeader, err := clientCredentials(r, form)
	if err != nil {
		return nil, err
	}
	client, err := o.clients.FindClient(r.Context(), id)
	if errors.Is(err, ErrUnknownClient) {
		VerifySecret(dummyHash, secret)
		return nil, &TokenError{Code: "invalid_client", Description: "client authentication failed", status: http.StatusUnauthorized, basic: viaHeader}
	}
	if err != nil {
		return nil, fmt.Errorf("auth: find client: %w", err)
	}
	if !VerifySecret(client.SecretHash, secret) {
		return nil, &TokenError{Code: "invalid_client", Description: "client authentication failed", status: http.StatusUnauthorized, basic: viaHeader}
	}
	if client.TenantID == uuid.Nil {
		return nil, tokenErr(http.StatusBadRequest, "unauthorized_client", "the client is not bound to a tenant")
	}
	if strings.TrimSpace(form.Get("scope")) != "" {
		return nil, tokenErr(http.StatusBadRequest, "invalid_scope", "this API defines no scopes")
	}
	token, expires, err := o.IssueToken(r.Context(), client)
	var qe *QuotaError
	if errors.As(err, &qe) {
		// The quota has room once its window (After, which moves with the
		// clock) has passed the oldest token counted in it.
		wait := qe.Oldest.Sub(qe.Quota.After)
		secs := max(1, int64(math.Ceil(wait.Seconds())))
		te := tokenErr(http.StatusTooManyRequests, "temporarily_unavailable",
			fmt.Sprintf("this client was issued too many tokens (at most %d live, %d a minute); use the one it holds, or retry after %d seconds", o.limit.Live, o.limit.PerMinute, secs))
		te.retryAfter = secs
		return nil, te
	}
	if err != nil {
		return nil, err
	}
	return &TokenResponse{AccessToken: token, TokenType: "Bearer", ExpiresIn: int64(expires.Sub(o.now()).Round(time.Second) / time.Second)}, nil
}

// clientCredentials extracts the client's id and secret from exactly one of
// the Authorization header (Basic) and the body.
func clientCredentials(r *http.Request, form url.Values) (id, secret string, viaHeader bool, err error) {
	bodyID, bodySecret := form.Get("client_id"), form.Get("client_secret")
	if r.Header.Get("Authorization") != "" {
		u, p, ok := r.BasicAuth()
		if !ok {
			return "", "", true, &TokenError{Code: "invalid_client", Description: "the Authorization header must use the Basic scheme", status: http.StatusUnauthorized, basic: true}
		}
		if form.Has("client_secret") {
			return "", "", true, tokenErr(http.StatusBadRequest, "invalid_request", "use either HTTP Basic or client_secret in the body, not both")
		}
		// RFC 6749 §2.3.1: id and secret are form-encoded before Basic encoding.
		uid, err1 := url.QueryUnescape(u)
		psw, err2 := url.QueryUnescape(p)
		if err1 != nil || err2 != nil || uid == "" {
			return "", "", true, &TokenError{Code: "invalid_client", Description: "malformed Basic credentials", status: http.StatusUnauthorized, basic: true}
		}
		if bodyID != "" && bodyID != uid {
			return "", "", true, tokenErr(http.StatusBadRequest, "invalid_request", "client_id in the body differs from the authenticated client")
		}
		return uid, psw, true, nil
	}
	if bodyID == "" || !form.Has("client_secret") {
		return "", "", false, tokenErr(http.StatusUnauthorized, "invalid_client", "client authentication is required (HTTP Basic or client_id and client_secret)")
	}
	return bodyID, bodySecret, false, nil
}
