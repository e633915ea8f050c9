package contract

import (
	"github.com/interop-data/interop/internal/schemaerr"
)

// Bounds of what a violation carries: a body of a megabyte can hold a key of
// a megabyte, and no message may grow with the input.
const (
	maxPointer = schemaerr.MaxPointer
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
	// (not JSON, or data after it), "depth" (nested deeper than 10,000 levels,
	// or Limits.MaxDepth), "elements" (more than Limits.MaxElements), "utf8"
	// (not UTF-8, with Limits.UTF8), "duplicate" (a key twice in one object;
	// the pointer names the key), "contentType" (a media type the operation
	// does not declare) or "body" (a required body is missing).
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

// The helpers the client and the server kit share with the validator live
// in internal/schemaerr: they are no promise of this package.
var (
	bound      = schemaerr.Bound
	writeToken = schemaerr.WriteToken
)
