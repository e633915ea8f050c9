// Package lti is the reference server's LTI test issuer: it mints LTI JWTs
// (ES256, `tenant_id` naming one or several tenants) with a signing key kept
// in the store, publishes the keys that verify as a JWKS, and accepts its own
// tokens as an auth.Authenticator, so that an integration using LTI JWT
// bearer tokens can be tried against `interop serve` without an LTI platform.
//
// Keys rotate (Rotate): the new key signs from then on, and the keys before
// it keep verifying for MaxTTL, the longest lifetime of a token, so a token
// signed just before a rotation stays valid until it expires. Every process
// on the store reads the same keys: `interop tenant lti-token` mints with
// the key `interop serve` verifies, and a running server sees a rotation the
// first time a token names the new key (or within a minute).
//
// Verification is auth.LTIJWT's (the kit's LTI authenticator), fed the JWKS
// of the store's keys.
package lti
