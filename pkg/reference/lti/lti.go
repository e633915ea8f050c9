package lti

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/interop-data/interop/pkg/reference/store"
	"github.com/interop-data/interop/pkg/server/auth"
)

// The test issuer's fixed names, printed by `interop serve`. Every database
// uses the same ones: its keys are what tell its tokens apart.
const (
	// IssuerName is the iss of every token the test issuer mints.
	IssuerName = "urn:interop:lti-test-issuer"
	// Audience is the aud of every token the test issuer mints.
	Audience = "urn:interop:reference-server"
	// JWKSPath is where `interop serve` publishes the test issuer's keys.
	JWKSPath = "/.well-known/jwks.json"
	// MaxTTL is the longest lifetime of a minted token, and so how long a
	// retired key keeps verifying: a token signed just before a rotation
	// stays valid until it expires.
	MaxTTL = 24 * time.Hour
	// DefaultTTL is the lifetime of a minted token when none is asked for.
	DefaultTTL = time.Hour
)

// How often a running issuer rereads the keys (DefaultRefresh), so that a
// rotation made by another process (`interop tenant lti-key --rotate`,
// another replica) is seen; a token with an unknown kid rereads them at
// once, at most every DefaultRefreshFloor (a flood of forged kids costs the
// store one read a second).
const (
	DefaultRefresh      = time.Minute
	DefaultRefreshFloor = time.Second
)

// Errors of Mint; test with errors.Is.
var (
	// ErrTTL: the lifetime asked for is not within (0, MaxTTL].
	ErrTTL = errors.New("lti: the token lifetime must be positive and at most 24h")
	// ErrNoTenant: a token must name at least one tenant.
	ErrNoTenant = errors.New("lti: a token names at least one tenant")
)

// Issuer is the test issuer over a store's keys. It mints tokens and, as an
// auth.Authenticator, accepts them; it is safe for concurrent use.
type Issuer struct {
	st     store.LTIKeyStore
	now    func() time.Time
	leeway time.Duration
	every  time.Duration
	floor  time.Duration

	mu       sync.Mutex
	verifier *auth.LTIJWT
	kids     map[string]bool
	loaded   time.Time // by the wall clock: refreshes are not test time
}

// Option configures New.
type Option func(*Issuer)

// WithClock sets the clock of minted tokens' iat and exp, of verification
// and of key retirement (tests use a fake one).
func WithClock(now func() time.Time) Option {
	return func(i *Issuer) {
		if now != nil {
			i.now = now
		}
	}
}

// WithKeyRefresh sets how often the keys are reread (default
// DefaultRefresh) and the least time between two rereads for unknown kids
// (default DefaultRefreshFloor; 0 rereads for every one, for tests).
func WithKeyRefresh(every, floor time.Duration) Option {
	return func(i *Issuer) {
		if every > 0 {
			i.every = every
		}
		if floor >= 0 {
			i.floor = floor
		}
	}
}

// New returns the test issuer of st's keys.
func New(st store.LTIKeyStore, opts ...Option) *Issuer {
	i := &Issuer{st: st, now: time.Now, leeway: auth.DefaultLeeway, every: DefaultRefresh, floor: DefaultRefreshFloor}
	for _, o := range opts {
		o(i)
	}
	return i
}

// Ensure makes the first signing key when the store holds none, and returns
// the current key's id.
func (i *Issuer) Ensure(ctx context.Context) (string, error) {
	k, err := i.current(ctx)
	if err != nil {
		return "", err
	}
	return k.ID, nil
}

// Rotate makes a new signing key. Tokens signed with the keys before it stay
// valid until they expire (those keys are published for MaxTTL more); keys
// retired longer ago than that are deleted.
func (i *Issuer) Rotate(ctx context.Context) (string, error) {
	k, err := newKey(i.now())
	if err != nil {
		return "", err
	}
	cur, err := i.st.AddLTIKey(ctx, k, true, k.CreatedAt.Add(-MaxTTL-i.leeway))
	if err != nil {
		return "", err
	}
	i.invalidate()
	return cur.ID, nil
}

// current returns the signing key, making the first one when needed.
func (i *Issuer) current(ctx context.Context) (store.LTIKey, error) {
	ks, err := i.st.LTIKeys(ctx)
	if err != nil {
		return store.LTIKey{}, err
	}
	for _, k := range ks {
		if k.RetiredAt.IsZero() {
			return k, nil
		}
	}
	k, err := newKey(i.now())
	if err != nil {
		return store.LTIKey{}, err
	}
	return i.st.AddLTIKey(ctx, k, false, time.Time{})
}

func newKey(now time.Time) (store.LTIKey, error) {
	pk, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return store.LTIKey{}, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(pk)
	if err != nil {
		return store.LTIKey{}, err
	}
	id := make([]byte, 12)
	if _, err := rand.Read(id); err != nil {
		return store.LTIKey{}, err
	}
	return store.LTIKey{ID: base64.RawURLEncoding.EncodeToString(id), Private: der, CreatedAt: now.UTC()}, nil
}

// Token is a minted token and what it says.
type Token struct {
	Token     string         `json:"token"`
	ExpiresAt time.Time      `json:"expires_at"`
	KeyID     string         `json:"kid"`
	Claims    map[string]any `json:"claims"`
}

// Mint signs a token naming tenants (the tenant_id claim: a string for one,
// an array for several) that expires after ttl (DefaultTTL when 0). subject
// is its sub ("" means "lti-test-user").
func (i *Issuer) Mint(ctx context.Context, tenants []uuid.UUID, ttl time.Duration, subject string) (Token, error) {
	if ttl == 0 {
		ttl = DefaultTTL
	}
	if ttl < 0 || ttl > MaxTTL {
		return Token{}, ErrTTL
	}
	if len(tenants) == 0 {
		return Token{}, ErrNoTenant
	}
	if subject == "" {
		subject = "lti-test-user"
	}
	k, err := i.current(ctx)
	if err != nil {
		return Token{}, err
	}
	key, err := x509.ParsePKCS8PrivateKey(k.Private)
	if err != nil {
		return Token{}, fmt.Errorf("lti: key %s: %w", k.ID, err)
	}
	now := i.now().UTC().Truncate(time.Second)
	exp := now.Add(ttl)
	var claim any
	if len(tenants) == 1 {
		claim = tenants[0].String()
	} else {
		ids := make([]any, len(tenants))
		for n, t := range tenants {
			ids[n] = t.String()
		}
		claim = ids
	}
	claims := jwt.MapClaims{
		"iss": IssuerName, "aud": Audience, "sub": subject,
		"iat": now.Unix(), "exp": exp.Unix(),
		auth.DefaultTenantClaim: claim,
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, claims)
	tok.Header["kid"] = k.ID
	s, err := tok.SignedString(key)
	if err != nil {
		return Token{}, err
	}
	return Token{Token: s, ExpiresAt: exp, KeyID: k.ID, Claims: claims}, nil
}

// JWKS is the JSON Web Key Set of the keys that verify: the current one and
// those retired less than MaxTTL ago.
func (i *Issuer) JWKS(ctx context.Context) ([]byte, error) {
	ks, err := i.st.LTIKeys(ctx)
	if err != nil {
		return nil, err
	}
	return i.jwks(ks)
}

type jwkDoc struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

func (i *Issuer) jwks(ks []store.LTIKey) ([]byte, error) {
	cutoff := i.now().Add(-MaxTTL - i.leeway)
	doc := struct {
		Keys []jwkDoc `json:"keys"`
	}{Keys: []jwkDoc{}}
	for _, k := range ks {
		if !k.RetiredAt.IsZero() && k.RetiredAt.Before(cutoff) {
			continue
		}
		priv, err := x509.ParsePKCS8PrivateKey(k.Private)
		if err != nil {
			return nil, fmt.Errorf("lti: key %s: %w", k.ID, err)
		}
		ec, ok := priv.(*ecdsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("lti: key %s is not an ECDSA key", k.ID)
		}
		pt, err := ec.PublicKey.Bytes() // 0x04 || X || Y, 32 bytes each on P-256
		if err != nil || len(pt) != 65 {
			return nil, fmt.Errorf("lti: key %s: public key: %v", k.ID, err)
		}
		doc.Keys = append(doc.Keys, jwkDoc{
			Kty: "EC", Crv: "P-256", Kid: k.ID, Alg: "ES256", Use: "sig",
			X: base64.RawURLEncoding.EncodeToString(pt[1:33]), Y: base64.RawURLEncoding.EncodeToString(pt[33:]),
		})
	}
	return json.Marshal(doc)
}

// Authenticate implements auth.Authenticator: a token the test issuer
// signed, with a key it still publishes, not expired.
func (i *Issuer) Authenticate(r *http.Request) (auth.Principal, error) {
	raw, err := auth.BearerToken(r)
	if err != nil {
		return auth.Principal{}, err
	}
	v, err := i.verifierFor(r.Context(), kidOf(raw))
	if err != nil {
		return auth.Principal{}, err
	}
	if v == nil {
		return auth.Principal{}, fmt.Errorf("%w: the test issuer has no key that verifies", auth.ErrInvalidToken)
	}
	return v.Authenticate(r)
}

// verifierFor returns the verifier, rereading the keys when they are stale
// or when kid is one it does not know (a rotation elsewhere).
func (i *Issuer) verifierFor(ctx context.Context, kid string) (*auth.LTIJWT, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	since := time.Since(i.loaded)
	stale := i.verifier == nil || since >= i.every || (kid != "" && !i.kids[kid] && since >= i.floor)
	if !stale {
		return i.verifier, nil
	}
	ks, err := i.st.LTIKeys(ctx)
	if err != nil {
		if i.verifier != nil {
			return i.verifier, nil // keep verifying with the keys known
		}
		return nil, fmt.Errorf("%w: lti keys: %v", auth.ErrUnavailable, err)
	}
	i.loaded = time.Now()
	doc, err := i.jwks(ks)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", auth.ErrUnavailable, err)
	}
	kids := map[string]bool{}
	for _, k := range ks {
		kids[k.ID] = true
	}
	if len(ks) == 0 {
		i.verifier, i.kids = nil, kids
		return nil, nil
	}
	v, err := auth.NewLTIJWT(auth.LTIJWTConfig{Issuer: IssuerName, Audience: Audience, JWKS: doc, Clock: i.now, Leeway: i.leeway})
	if err != nil {
		// Every key is retired past MaxTTL: no token can be valid.
		i.verifier, i.kids = nil, kids
		return nil, nil
	}
	i.verifier, i.kids = v, kids
	return v, nil
}

// invalidate makes the next Authenticate reread the keys.
func (i *Issuer) invalidate() {
	i.mu.Lock()
	i.verifier = nil
	i.mu.Unlock()
}

// kidOf is the kid of a JWT's header, "" when it has none or is not a JWT.
func kidOf(raw string) string {
	h, _, ok := strings.Cut(raw, ".")
	if !ok {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		return ""
	}
	var hdr struct {
		Kid string `json:"kid"`
	}
	_ = json.Unmarshal(b, &hdr)
	return hdr.Kid
}
