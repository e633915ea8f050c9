package auth

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/google/uuid"
)

// Methods a built-in authenticator records in Principal.Method.
const (
	MethodOAuth2 = "oauth2"
	MethodLTIJWT = "lti-jwt"
)

// Principal is the authenticated caller of one request.
type Principal struct {
	// TenantIDs are the tenants whose data the caller may read. An OAuth2
	// client has exactly one; an LTI JWT may name several.
	TenantIDs []uuid.UUID
	// ClientID is the OAuth2 client id, or the JWT's azp (else its first aud).
	ClientID string
	// Subject is who acts: the client id for OAuth2, the JWT's sub.
	Subject string
	// Method is how the caller authenticated: MethodOAuth2 or MethodLTIJWT.
	Method string
}

// HasTenant reports whether the principal may act for tenant id.
func (p Principal) HasTenant(id uuid.UUID) bool {
	for _, t := range p.TenantIDs {
		if t == id {
			return true
		}
	}
	return false
}

type principalKey struct{}

// WithPrincipal returns a copy of ctx that carries p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal the kit stored in ctx, and false when
// the request was not authenticated (which, behind the kit, only happens for
// operations the spec leaves unsecured).
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// Authenticator identifies the caller of a request. An error wrapping
// ErrUnavailable means the credentials could not be checked (the kit answers
// 500); any other error means 401. Wrap ErrMissingToken, ErrInvalidToken or
// ErrExpiredToken so the kit can say which. The kit logs the error but
// answers only with a fixed message, so internal detail never leaks.
type Authenticator interface {
	Authenticate(r *http.Request) (Principal, error)
}

// AuthenticatorFunc adapts a function to Authenticator.
type AuthenticatorFunc func(r *http.Request) (Principal, error)

// Authenticate calls f(r).
func (f AuthenticatorFunc) Authenticate(r *http.Request) (Principal, error) { return f(r) }

// Reasons an authentication fails; test with errors.Is.
var (
	// ErrMissingToken: the request carries no bearer token.
	ErrMissingToken = errors.New("auth: missing bearer token")
	// ErrInvalidToken: the token is malformed, unknown or wrongly signed.
	ErrInvalidToken = errors.New("auth: invalid token")
	// ErrExpiredToken: the token was valid but has expired (or is not valid yet).
	ErrExpiredToken = errors.New("auth: token expired")
	// ErrUnavailable: the authenticator could not check the credentials (its
	// token store or key source failed). Answering 401 would tell a client
	// holding a good token to throw it away; the kit answers 500, which
	// clients retry.
	ErrUnavailable = errors.New("auth: authenticator unavailable")
)

// BearerToken returns the token of an "Authorization: Bearer <token>" header
// (RFC 6750 §2.1; the scheme is case-insensitive). It fails with
// ErrMissingToken when there is no Authorization header and with
// ErrInvalidToken when the header is not a well-formed bearer credential.
func BearerToken(r *http.Request) (string, error) {
	values := r.Header.Values("Authorization")
	if len(values) == 0 {
		return "", ErrMissingToken
	}
	if len(values) > 1 {
		return "", ErrInvalidToken
	}
	scheme, token, ok := strings.Cut(values[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", ErrInvalidToken
	}
	token = strings.TrimLeft(token, " ")
	if token == "" || !isB64Token(token) {
		return "", ErrInvalidToken
	}
	return token, nil
}

// isB64Token reports whether s matches RFC 6750's b64token:
// 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isB64Token(s string) bool {
	body := strings.TrimRight(s, "=")
	if body == "" {
		return false
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/':
		default:
			return false
		}
	}
	return true
}

// Chain returns an Authenticator that tries each of a in order and accepts the
// first success. When all fail it returns the most telling error: an outage
// beats everything (the failed authenticator might have accepted), an expired
// token beats an invalid one, which beats a missing one, so a caller with a
// stale OAuth2 token is told it expired even though the LTI authenticator
// found it malformed too.
func Chain(a ...Authenticator) Authenticator {
	list := append([]Authenticator(nil), a...)
	return AuthenticatorFunc(func(r *http.Request) (Principal, error) {
		var best error
		for _, x := range list {
			p, err := x.Authenticate(r)
			if err == nil {
				return p, nil
			}
			if best == nil || rank(err) > rank(best) {
				best = err
			}
		}
		if best == nil {
			best = ErrMissingToken
		}
		return Principal{}, best
	})
}

func rank(err error) int {
	switch {
	case errors.Is(err, ErrUnavailable):
		return 4 // another authenticator might have accepted the token
	case errors.Is(err, ErrExpiredToken):
		return 3
	case errors.Is(err, ErrInvalidToken):
		return 2
	case errors.Is(err, ErrMissingToken):
		return 0
	default:
		return 1
	}
}
