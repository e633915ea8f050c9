package schemaerr

import (
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/interop-data/interop/internal/textcut"
)

// Bound cuts s to at most n bytes (on a rune boundary), marking the cut:
// for the messages of errors whose size the caller does not control.
func Bound(s string, n int) string { return textcut.Cut(s, n, "…") }

// First returns the error kin-openapi reports first inside err
// and the JSON pointer (as unescaped tokens) of the value it is about, or
// nil. Under allOf, kin-openapi wraps the errors of the failing branches in
// one error whose pointer stops at the value; each inner error already
// carries the full pointer (kin-openapi marks them as it returns), so the
// innermost first error is the one to read, and its pointer alone, not
// joined to the outer ones.
func First(err error) (*openapi3.SchemaError, []string) {
	var se *openapi3.SchemaError
	if !errors.As(err, &se) {
		return nil, nil
	}
	for se.Origin != nil {
		inner := firstOf(se.Origin)
		if inner == nil {
			break
		}
		se = inner
	}
	return se, se.JSONPointer()
}

// firstOf returns the first SchemaError of an allOf (or oneOf) origin: an
// error wrapping a list of errors.
func firstOf(origin error) *openapi3.SchemaError {
	u := errors.Unwrap(origin)
	if u == nil {
		return nil
	}
	var list openapi3.MultiError
	switch x := u.(type) {
	case openapi3.MultiError:
		list = x
	case interface{ Unwrap() error }:
		m, ok := x.Unwrap().(openapi3.MultiError)
		if !ok {
			return nil
		}
		list = m
	default:
		return nil
	}
	for _, e := range list {
		var se *openapi3.SchemaError
		if errors.As(e, &se) {
			return se
		}
	}
	return nil
}

// MaxPointer bounds a pointer a violation carries: a body of a megabyte can
// hold a key of a megabyte.
const MaxPointer = 512

// Pointer joins pointer tokens as an RFC 6901 pointer, cut to MaxPointer
// bytes.
func Pointer(tokens []string) string {
	var b strings.Builder
	for _, t := range tokens {
		b.WriteByte('/')
		WriteToken(&b, []byte(t))
	}
	return Bound(b.String(), MaxPointer)
}

// WriteToken escapes a key as a pointer token (~ and /), with each byte that
// is not UTF-8 replaced as encoding/json replaces it.
func WriteToken(b *strings.Builder, key []byte) {
	for len(key) > 0 {
		c, size := utf8.DecodeRune(key)
		switch {
		case c == '~':
			b.WriteString("~0")
		case c == '/':
			b.WriteString("~1")
		default:
			b.WriteRune(c) // an invalid byte is RuneError, size 1
		}
		key = key[size:]
	}
}
