package server

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/interop-data/interop/pkg/contract"
)

// DefaultMaxJSONDepth is the deepest nesting of arrays and objects a request
// body may have unless WithMaxJSONDepth says otherwise. The deepest body the
// spec describes (a group acknowledgement: array, item, error or params
// object) is 3 levels; 64 leaves room for any extension while keeping every
// later parser (the validator, the binder, the handler) far from the depth at
// which their recursion costs more than the body is worth.
const DefaultMaxJSONDepth = 64

// DefaultMaxJSONElements is the most elements a JSON request body may hold
// unless WithMaxJSONElements says otherwise: every string (object keys
// included), number, true, false, null, array and object counts one. The
// validator and the binder each build a value per element, so this bounds
// their work where the byte limit alone does not (2 MiB of tiny object
// members is 165,000 map entries to build twice). A group acknowledgement of
// 2000 items with their five usual fields is about 22,000.
const DefaultMaxJSONElements = 50_000

// readBody reads the request body once (within the body limit) and puts it
// back for the validator and the binder. A body the client stopped sending,
// or sent too slowly for the server's read timeout, is the client's fault: it
// answers 408 or 400, never a 500.
func (s *Server) readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	var body []byte
	var err error
	if n := r.ContentLength; n > 0 && n <= s.bodyLimit {
		// The declared length within the limit: one allocation instead of
		// ReadAll's growing copies (a sixth of a 2 MiB body's CPU went to
		// growing and zeroing). A body shorter than declared is cut short;
		// a longer one net/http does not deliver.
		body = make([]byte, n)
		var got int
		got, err = io.ReadFull(r.Body, body)
		body = body[:got]
	} else {
		body, err = io.ReadAll(r.Body)
	}
	r.Body = newBufferedBody(body)
	if err != nil {
		return nil, s.bodyReadError(err)
	}
	return body, nil
}

// bodyReadError classifies an error met while reading a request body.
func (s *Server) bodyReadError(err error) error {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return errTooLarge(s.bodyLimit)
	case isTimeout(err):
		return errRequestTimeout
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF), errors.Is(err, http.ErrBodyReadAfterClose):
		return errBodyIncomplete
	}
	// Any other read failure is the connection going away under the body
	// (reset, malformed chunking): still nothing the server did wrong.
	return errBodyIncomplete.WithDetails("the body could not be read")
}

// The kit's words for the faults the one pass over a body finds before the
// schema's (contract.Limits and the strict JSON rules): what the kit has
// always answered for them.
const (
	detailsUTF8     = "the body is not UTF-8 (RFC 8259 §8.1)"
	detailsDepth    = "JSON nesting is deeper than the limit of %d levels"
	detailsElements = "JSON holds more than the limit of %d elements (values and keys)"
)

// maxJSONDepthCap is the deepest nesting the validator's decoder reads at
// all: a larger WithMaxJSONDepth is this.
const maxJSONDepthCap = 10_000

// checkBody is the one pass over a request body before any other parser
// sees it. The nesting depth and the element count are checked always and,
// for a body labelled JSON, its encoding (JSON is UTF-8, RFC 8259 §8.1: a
// decoder would turn other bytes into U+FFFD, so what the handler stored
// would not be what was sent). With request validation on, the same pass is
// the validator's: it also refuses ambiguous JSON (data after the value,
// `{...} junk`, which a decoder reads as `{...}`; a key named twice in one
// object, of which a decoder keeps whichever it keeps last) and judges the
// schema.
//
// now is the answer owed at once (a limit, the encoding, ambiguous JSON),
// before the parameters are checked; later is the validator's verdict on the
// schema, the syntax, the media type or a missing body, owed after them.
// That is the order the kit answered in when these were separate passes.
func (s *Server) checkBody(op *contract.Operation, r *http.Request, body []byte) (now, later error) {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	lim := contract.Limits{MaxDepth: s.maxDepth, MaxElements: s.maxElements,
		UTF8: err == nil && mt == "application/json"}
	var v *contract.Violation
	if s.reqValidation {
		sc, bv := op.RequestBody(ct, body)
		if sc != nil {
			v = sc.ValidateWithin(body, lim)
		} else {
			// No schema to read it with (an empty body, a media type the
			// operation does not take): the limits alone, then bv.
			v, later = contract.CheckLimits(body, lim), violationError(bv, ct)
		}
	} else if len(body) > 0 {
		v = contract.CheckLimits(body, lim)
	}
	if v == nil {
		return nil, later
	}
	switch {
	case v.Rule == "utf8":
		return s.invalidBody(detailsUTF8), nil
	case v.Rule == "depth":
		return s.invalidBody(fmt.Sprintf(detailsDepth, min(s.maxDepth, maxJSONDepthCap))), nil
	case v.Rule == "elements":
		return s.invalidBody(fmt.Sprintf(detailsElements, s.maxElements)), nil
	case v.Rule == "duplicate", v.Rule == "json" && v.Reason == "data after the JSON value":
		return bodyViolation(v, ct), nil
	}
	return nil, bodyViolation(v, ct)
}

func (s *Server) invalidBody(details string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeInvalidBody, Message: "request body is invalid", Details: details}
}

// violationError is v as the kit answers it, or nil.
func violationError(v *contract.Violation, contentType string) error {
	if v == nil {
		return nil
	}
	return bodyViolation(v, contentType)
}
