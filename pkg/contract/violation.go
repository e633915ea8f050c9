package contract

import (
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
)

// Bounds of what a violation carries: a body of a megabyte can hold a key of
// a megabyte, and no message may grow with the input.
const (
	maxPointer = 512
	maxReason  = 512
)

// Violation is a body that breaks its schema. It names where (a JSON pointer)
// and which rule, never the offending value, and its fields are bounded in
// size whatever the body.
type Violation struct {
	// Pointer is the RFC 6901 JSON pointer of the offending value ("" for the
	// whole body), cut to 512 bytes.
	Pointer string
	// Rule is the schema keyword broken (kin-openapi's SchemaField: "type",
	// "required", "format", "enum", "nullable", "maxLength", ...), or "json"
	// (not JSON, or data after it), "depth" (nested deeper than MaxDepth),
	// "duplicate" (a key twice in one object), "contentType" (a media type the
	// operation does not declare) or "body" (a required body is missing).
	Rule string
	// Reason says what is wrong in words, without the value, in kin-openapi's
	// wording where kin-openapi has one; cut to 512 bytes.
	Reason string
}

func (v *Violation) Error() string {
	if v.Pointer == "" {
		return v.Reason
	}
	return "at " + v.Pointer + ": " + v.Reason
}

// bound cuts s to at most n bytes (on a rune boundary), marking the cut.
func bound(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "…"
	cut := n - len(mark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}

// Bound cuts a message to at most n bytes, on a rune boundary, marking the
// cut: for the messages of errors whose size the caller does not control.
func Bound(s string, n int) string { return bound(s, n) }

// FirstSchemaError returns the error kin-openapi reports first inside err
// and the JSON pointer (as unescaped tokens) of the value it is about, or
// nil. Under allOf, kin-openapi wraps the errors of the failing branches in
// one error whose pointer stops at the value; each inner error already
// carries the full pointer (kin-openapi marks them as it returns), so the
// innermost first error is the one to read, and its pointer alone, not
// joined to the outer ones.
func FirstSchemaError(err error) (*openapi3.SchemaError, []string) {
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

// PointerOf joins pointer tokens as an RFC 6901 pointer.
func PointerOf(tokens []string) string {
	var b strings.Builder
	for _, t := range tokens {
		b.WriteByte('/')
		writeToken(&b, []byte(t))
	}
	return bound(b.String(), maxPointer)
}
