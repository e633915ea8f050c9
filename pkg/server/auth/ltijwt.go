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
	DefaultTenantClaim   = "tenant_id"
	DefaultLeeway        = 30 * time.Second
	DefaultJWKSCacheTTL  = 10 * time.Minute
	jwksMinRefetch       = 30 * time.Second // at most one refetch per unknown kid burst
	maxJWKSBytes         = 1 << 20
	minRSABits           = 2048
	defaultJWKSFetchTime = 10 * time.Second
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
	// unknown kid triggers an early refetch (at most every 30s).
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
	// CacheTTL is how long a fetched JWKS is used (default DefaultJWKSCacheTTL).
	CacheTTL time.Duration
}

// LTIJWT authenticates LTI JWT bearer tokens. It is safe for concurrent use.
type LTIJWT struct {
	cfg    LTIJWTConfig
	parser *jwt.Parser

	mu          sync.Mutex
	keys        []jwk
	fetched     time.Time // when keys were fetched from JWKSURL
	lastAttempt time.Time
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
		// The platform may have rotated its keys since we fetched them.
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

// currentKeys returns the key set, fetching JWKSURL when the cache is empty
// or stale, or when refresh asks for it and the last attempt is old enough.
// A failed refetch keeps serving the keys already known.
func (a *LTIJWT) currentKeys(ctx context.Context, refresh bool) ([]jwk, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cfg.JWKSURL == "" {
		return a.keys, nil
	}
	now := a.cfg.Clock()
	stale := a.keys == nil || now.Sub(a.fetched) >= a.cfg.CacheTTL
	if !stale && !refresh {
		return a.keys, nil
	}
	if a.keys != nil && now.Sub(a.lastAttempt) < jwksMinRefetch {
		return a.keys, nil
	}
	a.lastAttempt = now
	keys, err := a.fetch(ctx)
	if err != nil {
		if a.keys != nil {
			return a.keys, nil
		}
		return nil, err
	}
	a.keys, a.fetched = keys, now
	return keys, nil
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
