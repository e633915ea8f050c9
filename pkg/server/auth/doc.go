// Package auth authenticates callers of an Interop Data API server built with
// pkg/server and carries who they are to the handler.
//
// The kit asks an Authenticator for a Principal before any request reaches a
// handler; the handler reads it back with PrincipalFrom. Two authenticators
// are built in:
//
//   - OAuth2: bearer tokens issued by the kit's own token endpoint
//     (POST /oauth/token, the client-credentials grant of RFC 6749 §4.4).
//     Client secrets are stored hashed (HashSecret) and compared in constant
//     time; tokens are 256 random bits, stored only as their SHA-256 hash in a
//     TokenStore, and expire (one hour by default).
//   - LTIJWT: JWT bearer tokens signed with RS256 or ES256 by a key of a
//     configured JWKS (file or URL), with iss, aud, exp, nbf and iat checked
//     with a small clock-skew allowance. Only asymmetric algorithms are
//     accepted, so "alg: none" and HMAC-keyed-with-the-public-key forgeries
//     fail before any signature is computed.
//
// A TokenCache in front of the TokenStore answers repeated checks of a token
// from memory for a few seconds (revocation through it takes effect at once;
// elsewhere, within its TTL), so that a request does not cost a database read.
//
// Chain tries several authenticators in turn, so one server can accept both.
// Implementers with their own identity system implement Authenticator.
package auth
