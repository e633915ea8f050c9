package store

import (
	"context"
	"time"
)

// LTIKey is a signing key of the reference server's LTI test issuer
// (package lti): kept in the store so that `interop tenant lti-token` and
// every replica sign and verify with the same keys, and so that a rotation
// made by one process is seen by all.
type LTIKey struct {
	// ID is the key's JWKS kid.
	ID string
	// Private is the PKCS#8 DER encoding of the private key.
	Private []byte
	// CreatedAt is when the key was made; it signs from then on.
	CreatedAt time.Time
	// RetiredAt is when a newer key replaced it; zero while it is current.
	// A retired key signs nothing more but still verifies the tokens it
	// signed until they expire.
	RetiredAt time.Time
}

// LTIKeyStore keeps the LTI test issuer's keys. Store embeds it.
type LTIKeyStore interface {
	// LTIKeys returns the kept keys, newest first; none is an empty slice.
	LTIKeys(ctx context.Context) ([]LTIKey, error)
	// AddLTIKey stores k (RetiredAt zero) as the current key, atomically.
	// With rotate false it stores k only when there is no current key, so
	// that processes starting together agree on one; with rotate true it
	// retires the current key at k.CreatedAt and deletes the keys retired
	// before prune (the zero time deletes none). It returns the current key
	// after the call. A taken ID is ErrConflict.
	AddLTIKey(ctx context.Context, k LTIKey, rotate bool, prune time.Time) (LTIKey, error)
}
