package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// hashPrefix versions the stored form so a slower scheme can be added later
// without breaking stored clients.
const hashPrefix = "sha256$"

// HashSecret returns the stored form of a client secret: "sha256$" followed by
// a random salt and the SHA-256 of salt+secret, both hex.
//
// A plain fast hash is enough here, and deliberate: client secrets are
// machine-generated with 256 bits of entropy (NewSecret), so a slow password
// KDF buys nothing against guessing and would make the token endpoint a cheap
// CPU sink for anyone sending bad secrets. Use NewSecret for every secret.
func HashSecret(secret string) string {
	var salt [16]byte
	_, _ = rand.Read(salt[:]) // crypto/rand.Read never fails on supported platforms
	sum := saltedSum(salt[:], secret)
	return hashPrefix + hex.EncodeToString(salt[:]) + "$" + hex.EncodeToString(sum[:])
}

// VerifySecret reports whether secret matches a hash made by HashSecret. The
// comparison takes the same time wherever the first difference is; a
// malformed hash matches nothing.
func VerifySecret(hash, secret string) bool {
	rest, ok := strings.CutPrefix(hash, hashPrefix)
	if !ok {
		return false
	}
	saltHex, sumHex, ok := strings.Cut(rest, "$")
	if !ok {
		return false
	}
	salt, err1 := hex.DecodeString(saltHex)
	want, err2 := hex.DecodeString(sumHex)
	if err1 != nil || err2 != nil || len(want) != sha256.Size {
		return false
	}
	got := saltedSum(salt, secret)
	return subtle.ConstantTimeCompare(got[:], want) == 1
}

func saltedSum(salt []byte, secret string) [sha256.Size]byte {
	h := sha256.New()
	h.Write(salt)
	h.Write([]byte(secret))
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}

// NewSecret returns a fresh client secret: 32 random bytes, base64url.
func NewSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// HashToken returns the key under which a TokenStore keeps an access token:
// its SHA-256, hex. Tokens carry 256 random bits, so no salt is needed, and
// the store never holds a usable token.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
