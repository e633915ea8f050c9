package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/interop-data/interop/gen/apiclient"
	"github.com/interop-data/interop/internal/exactjson"
)

// Version is sent in the default User-Agent.
const Version = "0.1.0"

// Client is a client of the Interop Data API. It is safe for concurrent use.
type Client struct {
	base      *url.URL // the base URL, without a trailing slash, e.g. https://host/v2/interop/data
	server    string   // base URL with a trailing slash, as gen's request builders want it
	hc        *http.Client
	raw       *apiclient.ClientWithResponses
	userAgent string
	logger    *slog.Logger
	auth      *authTransport
	clk       clock // the consumer's, unless it is given its own
}

type config struct {
	hc           *http.Client
	userAgent    string
	logger       *slog.Logger
	retry        RetryPolicy
	validation   ValidationMode
	reporter     func(*ValidationError)
	oauth        *clientcredentials.Config
	tokenFetch   fetchFunc
	staticToken  bool
	refreshAhead time.Duration
	tracer       trace.TracerProvider
	tokenTimeout time.Duration
	clk          clock
}

// Option configures a Client. An option refuses a value it cannot work
// with: New then returns its *ConfigError.
type Option func(*config) error

// ConfigError is the error of New or NewConsumer for an option or argument
// they cannot work with (a nil HTTP client, a negative backoff, an
// incomplete handler...). It matches ErrInvalidConfig with errors.Is.
type ConfigError struct {
	Option string // the option or argument, e.g. "WithHTTPClient"
	Reason string
	Err    error // a more specific sentinel, e.g. ErrIncompleteHandler; may be nil
}

func (e *ConfigError) Error() string { return "interop: " + e.Option + ": " + e.Reason }

// Unwrap returns Err.
func (e *ConfigError) Unwrap() error { return e.Err }

// Is makes every ConfigError match ErrInvalidConfig.
func (e *ConfigError) Is(target error) bool { return target == ErrInvalidConfig }

// ErrInvalidConfig is matched by every *ConfigError.
var ErrInvalidConfig = errors.New("interop: invalid configuration")

func configErr(option, format string, args ...any) error {
	return &ConfigError{Option: option, Reason: fmt.Sprintf(format, args...)}
}

// durationOption is an option that sets one duration, refusing a negative
// one (and zero too unless zeroOK).
func durationOption[C any](option string, d time.Duration, zeroOK bool, set func(*C)) func(*C) error {
	return func(c *C) error {
		if d < 0 || d == 0 && !zeroOK {
			return configErr(option, "%v: must be positive", d)
		}
		set(c)
		return nil
	}
}

// WithHTTPClient makes the client send through hc: its Transport is the
// innermost layer (below retries, authentication and validation) and its
// other settings (Timeout, Jar, CheckRedirect) are kept. The token endpoint
// is called through it too.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) error {
		if hc == nil {
			return configErr("WithHTTPClient", "nil *http.Client")
		}
		c.hc = hc
		return nil
	}
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option { return func(c *config) error { c.userAgent = ua; return nil } }

// WithLogger sets the logger for retries and reported contract violations.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return configErr("WithLogger", "nil *slog.Logger (leave the option out to log nothing)")
		}
		c.logger = l
		return nil
	}
}

// WithRetryPolicy replaces DefaultRetryPolicy.
func WithRetryPolicy(p RetryPolicy) Option {
	return func(c *config) error {
		if p.BaseDelay < 0 || p.MaxDelay < 0 || p.MaxElapsed < 0 || p.MaxRetryAfter < 0 || p.AttemptTimeout < 0 {
			return configErr("WithRetryPolicy", "negative duration in %+v", p)
		}
		c.retry = p
		return nil
	}
}

// WithValidation sets the validation mode; ValidationReport by default.
func WithValidation(m ValidationMode) Option {
	return func(c *config) error { c.validation = m; return nil }
}

// WithValidationReporter is called with every contract violation, in report
// and in enforce mode, before the mode's action.
func WithValidationReporter(f func(*ValidationError)) Option {
	return func(c *config) error { c.reporter = f; return nil }
}

// WithClientCredentials authenticates with the OAuth2 client-credentials
// grant. tokenURL may be empty: the token endpoint is then /oauth/token on the
// base URL's host, where the vendor and the reference server serve it. The
// client authenticates to the token endpoint as the server prefers (HTTP
// Basic or form fields, detected on first use).
func WithClientCredentials(clientID, clientSecret, tokenURL string) Option {
	return func(c *config) error {
		if clientID == "" {
			return configErr("WithClientCredentials", "empty client id")
		}
		c.oauth = &clientcredentials.Config{ClientID: clientID, ClientSecret: clientSecret, TokenURL: tokenURL, AuthStyle: oauth2.AuthStyleAutoDetect}
		return nil
	}
}

// WithOAuth2Config authenticates with a full client-credentials configuration
// (scopes, endpoint parameters, a fixed AuthStyle).
func WithOAuth2Config(cfg clientcredentials.Config) Option {
	return func(c *config) error { c.oauth = &cfg; return nil }
}

// WithTokenRefreshAhead sets how long before its expiry a cached token is
// replaced (30s by default), so that no request leaves with a token that
// expires in flight.
func WithTokenRefreshAhead(d time.Duration) Option {
	return durationOption("WithTokenRefreshAhead", d, true, func(c *config) { c.refreshAhead = d })
}

// WithTokenTimeout bounds one token fetch, its retries included
// (DefaultTokenTimeout by default). Requests waiting for the token give up
// sooner when their own context ends; the fetch goes on for the others.
func WithTokenTimeout(d time.Duration) Option {
	return durationOption("WithTokenTimeout", d, true, func(c *config) { c.tokenTimeout = d })
}

// WithLTIJWT authenticates with LTI JWTs from ts, sent as a Bearer token.
// Tokens are cached until their expiry; on a 401 the cache is dropped and ts
// asked again once.
func WithLTIJWT(ts oauth2.TokenSource) Option {
	return func(c *config) error {
		if ts == nil {
			return configErr("WithLTIJWT", "nil token source")
		}
		c.tokenFetch, c.staticToken = sourceFetch(ts), false
		return nil
	}
}

// WithLTIJWTFunc authenticates with the JWT f returns. f is called for the
// first request, when the token's exp claim comes near, and after a 401.
func WithLTIJWTFunc(f func(ctx context.Context) (string, error)) Option {
	return func(c *config) error {
		if f == nil {
			return configErr("WithLTIJWTFunc", "nil function")
		}
		c.tokenFetch, c.staticToken = jwtFuncFetch(f), false
		return nil
	}
}

// WithBearerToken sends a fixed token; useful for tests and short scripts.
func WithBearerToken(token string) Option {
	return func(c *config) error {
		if token == "" {
			return configErr("WithBearerToken", "empty token")
		}
		c.tokenFetch = staticFetch(&oauth2.Token{AccessToken: token})
		c.staticToken = true
		return nil
	}
}

// New returns a client of the API served at baseURL, for example
// https://api.us2.kimonocloud.com/v2/interop/data. The base URL may name any
// host and any mount point.
func New(baseURL string, opts ...Option) (*Client, error) {
	cfg := config{
		userAgent:    "interop-go/" + Version,
		retry:        DefaultRetryPolicy(),
		validation:   ValidationReport,
		refreshAhead: 30 * time.Second,
		tokenTimeout: DefaultTokenTimeout,
	}
	for _, o := range opts {
		if o == nil {
			return nil, configErr("New", "nil Option")
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if baseURL == "" {
		return nil, configErr("New", "empty base URL")
	}
	if cfg.clk == nil {
		cfg.clk = realClock{}
	}
	if cfg.retry.clk == nil {
		cfg.retry.clk = cfg.clk
	}
	base, err := url.Parse(strings.TrimSuffix(baseURL, "/"))
	if err != nil {
		return nil, fmt.Errorf("interop: base URL: %w", err)
	}
	if base.Scheme != "http" && base.Scheme != "https" || base.Host == "" {
		return nil, fmt.Errorf("interop: base URL %q must be an absolute http(s) URL", baseURL)
	}
	if cfg.logger == nil {
		cfg.logger = slog.New(slog.DiscardHandler)
	}
	user := cfg.hc
	if user == nil {
		user = &http.Client{Transport: defaultTransport()}
	}
	baseRT := user.Transport
	if baseRT == nil {
		baseRT = http.DefaultTransport
	}
	baseRT = traced(baseRT, cfg.tracer)

	c := &Client{base: base, server: base.String() + "/", userAgent: cfg.userAgent, logger: cfg.logger, clk: cfg.clk}

	// Innermost first: the normalizer rewrites the documented variants of
	// the vendor's wire into the contract's shape (normalize.go), validation
	// sees exactly what goes on the wire after that,
	// authentication retries a 401 once with a new token, and retries wrap
	// both so every attempt is validated and authenticated afresh.
	basePath := strings.TrimSuffix(base.EscapedPath(), "/")
	var rt http.RoundTripper = &normalizer{next: bodyReader{next: baseRT, basePath: basePath}, basePath: basePath, now: cfg.clk.Now}
	if cfg.validation != ValidationOff {
		v, err := newValidator(rt, base, cfg.validation, cfg.reporter, cfg.logger)
		if err != nil {
			return nil, err
		}
		rt = v
	}
	var fetch fetchFunc
	switch {
	case cfg.oauth != nil:
		oc := *cfg.oauth
		if oc.TokenURL == "" {
			oc.TokenURL = (&url.URL{Scheme: base.Scheme, Host: base.Host, Path: "/oauth/token"}).String()
		}
		tokenHC := &http.Client{Transport: baseRT, Timeout: user.Timeout}
		fetch = clientCredentialsFetch(&oc, tokenHC, cfg.retry)
	case cfg.tokenFetch != nil:
		fetch = cfg.tokenFetch
	}
	if fetch != nil {
		c.auth = &authTransport{next: rt, static: cfg.staticToken && cfg.oauth == nil,
			cache: &tokenCache{fetch: fetch, earlyExpiry: cfg.refreshAhead, timeout: cfg.tokenTimeout}}
		rt = c.auth
	}
	rt = &retrier{next: rt, policy: cfg.retry, basePath: basePath}

	hc := *user
	hc.Transport = rt
	c.hc = &hc

	c.raw, err = apiclient.NewClientWithResponses(c.server, apiclient.WithHTTPClient(c.hc), apiclient.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
		r.Header.Set("User-Agent", c.userAgent)
		return nil
	}))
	if err != nil {
		return nil, err
	}
	return c, nil
}

// defaultTransport is http.DefaultTransport with a bound on the wait for
// response headers, so a server that accepts the connection and never
// answers does not hold a request forever (safe requests are further bounded
// per attempt by RetryPolicy.AttemptTimeout, body included).
func defaultTransport() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = 60 * time.Second
	return t
}

// Raw returns the generated typed client, sharing this client's transport
// (authentication, validation, retries), for anything the wrapper does not
// cover.
func (c *Client) Raw() *apiclient.ClientWithResponses { return c.raw }

// BaseURL returns the base URL the client was created with, without a
// trailing slash.
func (c *Client) BaseURL() string { return c.base.String() }

// HTTPClient returns the *http.Client carrying the client's full transport
// stack.
func (c *Client) HTTPClient() *http.Client { return c.hc }

// do sends req for operation op and decodes a 2xx JSON body into out.
func (c *Client) do(ctx context.Context, op string, req *http.Request, out any) error {
	req = req.WithContext(ctx)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	resp, err := c.hc.Do(req)
	if err != nil {
		return unwrapURLError(err)
	}
	defer func() { _ = resp.Body.Close() }()
	recordResponse(ctx, op, resp)
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("interop: %s: read response: %w", op, err)
	}
	// Only a 2xx is a success. A 3xx reaches here when http.Client does not
	// follow it (300, 304, a redirect without a Location): its body is not
	// the operation's answer.
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return newAPIError(op, resp, body)
	}
	if out == nil {
		return nil
	}
	// A key that differs from a field's name only by case would fill that
	// field (encoding/json matches without case, the last key winning), so a
	// receipt {"status":"error","STATUS":"success"} would read as a success
	// that validation never saw: refused as an invalid response.
	if err := exactjson.Check(body, out); err != nil {
		return fmt.Errorf("%w: %s answered %d: %w", ErrInvalidResponse, op, resp.StatusCode, err)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("%w: %s answered %d: %w", ErrInvalidResponse, op, resp.StatusCode, err)
	}
	return nil
}

// fetch sends req for operation op (or returns err, the error of building
// it) and returns the data member of the answer. Every single-object and
// acknowledgement response carries one; a 2xx without it is
// ErrInvalidResponse rather than a zero value the caller would take for real.
func fetch[T any](c *Client, ctx context.Context, op string, req *http.Request, err error) (*T, error) {
	if err != nil {
		return nil, fmt.Errorf("interop: %s: build request: %w", op, err)
	}
	var out struct {
		Data *T `json:"data"`
	}
	if err := c.do(ctx, op, req, &out); err != nil {
		return nil, err
	}
	if out.Data == nil {
		return nil, fmt.Errorf("%w: %s answered without data", ErrInvalidResponse, op)
	}
	return out.Data, nil
}

// unwrapURLError returns the package's own typed errors without the
// *url.Error that http.Client wraps around transport errors, so their
// messages read as they were written.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		var ve *ValidationError
		var ae *APIError
		switch {
		case errors.As(ue.Err, &ve):
			return ve
		case errors.As(ue.Err, &ae):
			return ae
		}
	}
	return err
}
