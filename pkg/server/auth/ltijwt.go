package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// Defaults of LTIJWTConfig.
const (
	DefaultTenantClaim  = "tenant_id"
	DefaultLeeway       = 30 * time.Second
	DefaultJWKSCacheTTL = 10 * time.Minute
	// DefaultJWKSFetchWait is how long a request waits for a JWKS fetch it
	// needs before it is answered as an outage (ErrUnavailable).
	DefaultJWKSFetchWait = 2 * time.Second
	jwksMinRefetch       = 30 * time.Second // at most one refetch per unknown kid burst
	maxJWKSBytes         = 1 << 20
	minRSABits           = 2048
	defaultJWKSFetchTime = 10 * time.Second
	// After a failed fetch the next waits 1 s, doubling per failure up to
	// 5 min; meanwhile requests are answered from the cache, or as an
	// outage, without touching the URL.
	jwksMinBackoff = time.Second
	jwksMaxBackoff = 5 * time.Minute
)

// validAlgs are the only algorithms accepted. Listing them up front is what
// stops "alg: none" and HS256 signed with the public key as HMAC secret: the
// parser rejects any other alg before the key function is ever asked.
var validAlgs = []string{"RS256", "ES256"}

// LTIJWTConfig configures NewLTIJWT. Issuer, Audience and exactly one key
// source (JWKSFile, JWKSURL or JWKS) are required.
type LTIJWTConfig struct {
	// Issuer is the iss every token must carry (the LTI platform).
	Issuer string
	// Audience must be one of the token's aud values (the tool's client id).
	Audience string
	// JWKSFile is a path to a JWKS document, read once by NewLTIJWT.
	JWKSFile string
	// JWKSURL is fetched on first use and cached for CacheTTL; a token with an
	// unknown kid triggers an early refetch (at most every 30s). One fetch
	// runs at a time, shared by every request that needs it, and never under
	// a lock: a request waits for it at most FetchWait (and no longer than
	// its own context), a stale key set is used while a fresh one is fetched
	// and for as long as the URL fails, and failed fetches back off (1 s
	// doubling to 5 min). With no usable key set, the answer is an
	// *UnavailableError (ErrUnavailable, with a Retry-After), not a 401: the
	// token may well be good.
	JWKSURL string
	// JWKS is an inline JWKS document.
	JWKS []byte
	// TenantClaim names the claim holding the tenant id(s): a string or an
	// array of strings, each a UUID. Default DefaultTenantClaim.
	TenantClaim string
	// Leeway is the clock-skew allowance for exp, nbf and iat
	// (default DefaultLeeway).
	Leeway time.Duration
	// Clock replaces time.Now, for tests.
	Clock func() time.Time
	// HTTPClient fetches JWKSURL (default: a client with a 10s timeout).
	HTTPClient *http.Client
	// CacheTTL is how long a fetched JWKS is used before it is fetched again
	// (default DefaultJWKSCacheTTL); while fetching fails it is used longer.
	CacheTTL time.Duration
	// FetchWait bounds how long a request waits for a JWKS fetch (default
	// DefaultJWKSFetchWait); the fetch itself goes on, for the next request.
	FetchWait time.Duration
}

// UnavailableError is ErrUnavailable with a hint of when to try again: the
// kit sends RetryAfter as the Retry-After of its 500.
type UnavailableError struct {
	RetryAfter time.Duration
	Err        error
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("auth: unavailable (retry after %s): %v", e.RetryAfter, e.Err)
}

// Unwrap makes errors.Is(e, ErrUnavailable) true, and reaches the cause.
func (e *UnavailableError) Unwrap() []error { return []error{ErrUnavailable, e.Err} }

// LTIJWT authenticates LTI JWT bearer tokens. It is safe for concurrent use.
type LTIJWT struct {
	cfg    LTIJWTConfig
	parser *jwt.Parser

	// JWKSURL's state. mu is never held across I/O.
	mu          sync.Mutex
	keys        []jwk
	fetched     time.Time // when keys were fetched from JWKSURL
	lastAttempt time.Time // when the last fetch started
	failures    int       // fetches failed in a row
	retryAt     time.Time // no fetch before this, after a failure
	call        *jwksCall // the fetch in flight, if any
}

// jwksCall is one fetch of JWKSURL, shared by every request that waits for
// it. keys and err are set before done is closed.
type jwksCall struct {
	done  chan struct{}
	keys  []jwk
	err   error
	retry time.Duration
}

type jwk struct {
	kid string
	alg string
	key crypto.PublicKey
}

// NewLTIJWT validates cfg and returns an authenticator. A JWKS given as file
// or bytes is parsed now, so a broken key set fails at startup.
func NewLTIJWT(cfg LTIJWTConfig) (*LTIJWT, error) {
	if cfg.Issuer == "" || cfg.Audience == "" {
		return nil, errors.New("auth: LTI JWT needs an Issuer and an Audience")
	}
	sources := 0
	for _, set := range []bool{cfg.JWKSFile != "", cfg.JWKSURL != "", len(cfg.JWKS) > 0} {
		if set {
			sources++
		}
	}
	if sources != 1 {
		return nil, errors.New("auth: LTI JWT needs exactly one of JWKSFile, JWKSURL and JWKS")
	}
	if cfg.TenantClaim == "" {
		cfg.TenantClaim = DefaultTenantClaim
	}
	if cfg.Leeway <= 0 {
		cfg.Leeway = DefaultLeeway
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: defaultJWKSFetchTime}
	}
	if cfg.CacheTTL <= 0 {
		cfg.CacheTTL = DefaultJWKSCacheTTL
	}
	if cfg.FetchWait <= 0 {
		cfg.FetchWait = DefaultJWKSFetchWait
	}
	a := &LTIJWT{cfg: cfg}
	a.parser = jwt.NewParser(
		jwt.WithValidMethods(validAlgs),
		jwt.WithIssuer(cfg.Issuer),
		jwt.WithAudience(cfg.Audience),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithTimeFunc(cfg.Clock),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
	)
	switch {
	case cfg.JWKSFile != "":
		b, err := os.ReadFile(cfg.JWKSFile)
		if err != nil {
			return nil, fmt.Errorf("auth: read JWKS: %w", err)
		}
		if a.keys, err = parseJWKS(b); err != nil {
			return nil, err
		}
	case len(cfg.JWKS) > 0:
		var err error
		if a.keys, err = parseJWKS(cfg.JWKS); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// Authenticate accepts a bearer JWT signed by a configured key.
func (a *LTIJWT) Authenticate(r *http.Request) (Principal, error) {
	raw, err := BearerToken(r)
	if err != nil {
		return Principal{}, err
	}
	claims := jwt.MapClaims{}
	_, err = a.parser.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		return a.keyFor(r.Context(), t)
	})
	if err != nil {
		if errors.Is(err, ErrUnavailable) {
			return Principal{}, err // the keys could not be had: the token may be good
		}
		if errors.Is(err, jwt.ErrTokenExpired) || errors.Is(err, jwt.ErrTokenNotValidYet) {
			return Principal{}, fmt.Errorf("%w: %v", ErrExpiredToken, err)
		}
		return Principal{}, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	// jwt checks iat only when present; LTI requires it.
	if iat, _ := claims.GetIssuedAt(); iat == nil {
		return Principal{}, fmt.Errorf("%w: token has no iat claim", ErrInvalidToken)
	}
	tenants, err := tenantIDs(claims[a.cfg.TenantClaim])
	if err != nil {
		return Principal{}, fmt.Errorf("%w: claim %q: %v", ErrInvalidToken, a.cfg.TenantClaim, err)
	}
	p := Principal{TenantIDs: tenants, Method: MethodLTIJWT}
	p.Subject, _ = claims.GetSubject()
	if azp, ok := claims["azp"].(string); ok && azp != "" {
		p.ClientID = azp
	} else if aud, _ := claims.GetAudience(); len(aud) > 0 {
		p.ClientID = aud[0]
	}
	return p, nil
}

func tenantIDs(v any) ([]uuid.UUID, error) {
	var raw []string
	switch x := v.(type) {
	case nil:
		return nil, errors.New("missing")
	case string:
		raw = []string{x}
	case []any:
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, errors.New("array holds a non-string")
			}
			raw = append(raw, s)
		}
	default:
		return nil, errors.New("neither a string nor an array of strings")
	}
	if len(raw) == 0 {
		return nil, errors.New("empty")
	}
	out := make([]uuid.UUID, 0, len(raw))
	for _, s := range raw {
		id, err := uuid.Parse(s)
		if err != nil || id == uuid.Nil {
			return nil, fmt.Errorf("%q is not a tenant id", s)
		}
		out = append(out, id)
	}
	return out, nil
}

// keyFor returns the keys that may have signed t: those with its kid (or all
// when it has none) whose type fits its alg.
func (a *LTIJWT) keyFor(ctx context.Context, t *jwt.Token) (any, error) {
	alg := t.Method.Alg()
	kid, _ := t.Header["kid"].(string)
	keys, err := a.currentKeys(ctx, false)
	if err != nil {
		return nil, err
	}
	set := matchKeys(keys, alg, kid)
	if len(set.Keys) == 0 && kid != "" && a.cfg.JWKSURL != "" {
		// The platform may have rotated its keys since we fetched them. If
		// the set cannot be refetched, the kid may be a new one: an outage.
		if keys, err = a.currentKeys(ctx, true); err != nil {
			return nil, err
		}
		set = matchKeys(keys, alg, kid)
	}
	if len(set.Keys) == 0 {
		return nil, fmt.Errorf("no %s key with kid %q", alg, kid)
	}
	return set, nil
}

func matchKeys(keys []jwk, alg, kid string) jwt.VerificationKeySet {
	var set jwt.VerificationKeySet
	for _, k := range keys {
		if kid != "" && k.kid != kid {
			continue
		}
		if k.alg != "" && k.alg != alg {
			continue
		}
		switch k.key.(type) {
		case *rsa.PublicKey:
			if alg != "RS256" {
				continue
			}
		case *ecdsa.PublicKey:
			if alg != "ES256" {
				continue
			}
		default:
			continue
		}
		set.Keys = append(set.Keys, k.key)
	}
	return set
}

// currentKeys returns the key set. From JWKSURL: the cached set while it is
// fresh; a stale one at once while a fetch runs in the background (or backs
// off after failing); with no set, or when refresh asks for a newer one (an
// unknown kid, at most every jwksMinRefetch), it waits for the one fetch in
// flight, at most FetchWait and while ctx lasts. It fails only with an
// *UnavailableError.
func (a *LTIJWT) currentKeys(ctx context.Context, refresh bool) ([]jwk, error) {
	if a.cfg.JWKSURL == "" {
		return a.keys, nil
	}
	a.mu.Lock()
	now := a.cfg.Clock()
	keys := a.keys
	stale := keys == nil || now.Sub(a.fetched) >= a.cfg.CacheTTL
	switch {
	case !stale && !refresh:
		a.mu.Unlock()
		return keys, nil
	case now.Before(a.retryAt): // backing off after a failed fetch
		err := &UnavailableError{RetryAfter: a.retryAt.Sub(now), Err: errors.New("auth: JWKS fetch failed recently")}
		a.mu.Unlock()
		if keys != nil && !refresh {
			return keys, nil
		}
		return nil, err
	case refresh && !stale && a.failures == 0 && now.Sub(a.lastAttempt) < jwksMinRefetch:
		a.mu.Unlock()
		return keys, nil
	}
	c := a.call
	if c == nil {
		c = &jwksCall{done: make(chan struct{})}
		a.call, a.lastAttempt = c, now
		go a.fetchInto(c)
	}
	a.mu.Unlock()
	if keys != nil && !refresh {
		return keys, nil // stale, but the best there is until the fetch ends
	}
	t := time.NewTimer(a.cfg.FetchWait)
	defer t.Stop()
	select {
	case <-c.done:
		if c.err != nil {
			return nil, &UnavailableError{RetryAfter: c.retry, Err: c.err}
		}
		return c.keys, nil
	case <-ctx.Done():
		return nil, &UnavailableError{RetryAfter: jwksMinBackoff, Err: fmt.Errorf("auth: waiting for the JWKS: %w", ctx.Err())}
	case <-t.C:
		return nil, &UnavailableError{RetryAfter: jwksMinBackoff, Err: fmt.Errorf("auth: JWKS fetch still running after %s", a.cfg.FetchWait)}
	}
}

// fetchInto runs one fetch of JWKSURL for c, bounded by its own deadline
// (not a caller's: those who wait may give up, the fetch is for everyone),
// and records the outcome.
func (a *LTIJWT) fetchInto(c *jwksCall) {
	ctx, cancel := context.WithTimeout(context.Background(), defaultJWKSFetchTime)
	keys, err := a.fetch(ctx)
	cancel()
	a.mu.Lock()
	now := a.cfg.Clock()
	if err == nil {
		a.keys, a.fetched, a.failures, a.retryAt = keys, now, 0, time.Time{}
	} else {
		a.failures++
		c.retry = min(jwksMaxBackoff, jwksMinBackoff<<min(a.failures-1, 20))
		a.retryAt = now.Add(c.retry)
	}
	c.keys, c.err = keys, err
	a.call = nil
	a.mu.Unlock()
	close(c.done)
}

func (a *LTIJWT) fetch(ctx context.Context) ([]jwk, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.cfg.JWKSURL, nil)
	if err != nil {
		return nil, fmt.Errorf("auth: JWKS request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := a.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("auth: fetch JWKS: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("auth: fetch JWKS: status %d", resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes))
	if err != nil {
		return nil, fmt.Errorf("auth: read JWKS: %w", err)
	}
	return parseJWKS(b)
}

// parseJWKS parses a JSON Web Key Set (RFC 7517), keeping the RSA keys of at
// least 2048 bits and the P-256 EC keys meant for signatures. It fails when
// none is usable, so a misconfigured set is noticed at once.
func parseJWKS(b []byte) ([]jwk, error) {
	var doc struct {
		Keys []struct {
			Kty string `json:"kty"`
			Kid string `json:"kid"`
			Use string `json:"use"`
			Alg string `json:"alg"`
			N   string `json:"n"`
			E   string `json:"e"`
			Crv string `json:"crv"`
			X   string `json:"x"`
			Y   string `json:"y"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("auth: JWKS is not valid JSON: %w", err)
	}
	var out []jwk
	for _, k := range doc.Keys {
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		switch k.Kty {
		case "RSA":
			n, err1 := base64.RawURLEncoding.DecodeString(k.N)
			e, err2 := base64.RawURLEncoding.DecodeString(k.E)
			if err1 != nil || err2 != nil || len(e) == 0 || len(e) > 4 {
				continue
			}
			pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
			if pub.N.BitLen() < minRSABits || pub.E < 3 || pub.E%2 == 0 {
				continue
			}
			out = append(out, jwk{kid: k.Kid, alg: k.Alg, key: pub})
		case "EC":
			if k.Crv != "P-256" {
				continue
			}
			x, err1 := base64.RawURLEncoding.DecodeString(k.X)
			y, err2 := base64.RawURLEncoding.DecodeString(k.Y)
			if err1 != nil || err2 != nil || len(x) != 32 || len(y) != 32 {
				continue
			}
			point := append(append([]byte{4}, x...), y...)
			pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
			if err != nil {
				continue // not on the curve
			}
			out = append(out, jwk{kid: k.Kid, alg: k.Alg, key: pub})
		}
	}
	if len(out) == 0 {
		return nil, errors.New("auth: JWKS holds no usable RS256 or ES256 key")
	}
	return out, nil
}
