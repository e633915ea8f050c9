package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/interop-data/interop/internal/exactjson"
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

// checkJSONBody runs the checks every JSON request body passes before any
// other parser sees it: the nesting depth and the element count (always) and,
// with request validation on, the checks for ambiguous JSON, in one pass.
// Bodies that are empty or not labelled JSON get the limits only and are left
// to the validator, which names the rule they break.
func (s *Server) checkJSONBody(r *http.Request, body []byte) error {
	if len(body) == 0 {
		return nil
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	isJSON := err == nil && mt == "application/json"
	// JSON is UTF-8 (RFC 8259 §8.1). A decoder would turn other bytes into
	// U+FFFD, so what the handler stored would not be what was sent:
	// refused, validation on or off.
	if isJSON && !utf8.Valid(body) {
		return &Error{Status: http.StatusBadRequest, Code: CodeInvalidBody, Message: "request body is invalid",
			Details: "the body is not UTF-8 (RFC 8259 §8.1)"}
	}
	strict := s.reqValidation && isJSON && len(bytes.TrimSpace(body)) > 0
	return checkJSON(body, s.maxDepth, s.maxElements, strict)
}

// errJSONSyntax marks a body that is not JSON at all: the validator's own
// message for it is as good, so the caller lets the validator speak.
var errJSONSyntax = errors.New("not JSON")

// checkJSON is one pass over a body's bytes, with no recursion, that refuses
// arrays and objects nested deeper than maxDepth and more than maxElements
// elements, so a body of a million '[' costs what reading it costs. It does
// not validate the JSON: brackets inside strings are skipped, and stray
// bytes are left to the parsers that run after it (which may count an
// element or two differently in a body that is not JSON anyway).
//
// strict adds what a JSON decoder lets through: data after the first value
// (`{...} junk` decodes as `{...}`) and an object naming a key twice (the
// last one wins, so `{"status":"success","status":"error"}` would acknowledge
// with whichever the decoder happened to keep). Both are ambiguous input,
// refused with 400. It allocates only for object keys (a set per object, the
// path only when an error names it) and checks structure only as far as it
// needs to: at a fault it does not look past (errJSONSyntax), it stops, since
// the validator that speaks next stops at that fault or before it, and so
// never sees the unchecked rest. Keys compare as a decoder reads them:
// escapes resolved, invalid UTF-8 replaced.
func checkJSON(body []byte, maxDepth, maxElements int, strict bool) error {
	var stack []jsonFrame // strict only; depth counts the levels either way
	depth, elements := 0, 0
	expectKey, done := false, false
	tooMany := func() error {
		return &Error{Status: http.StatusBadRequest, Code: CodeInvalidBody, Message: "request body is invalid",
			Details: fmt.Sprintf("JSON holds more than the limit of %d elements (values and keys)", maxElements)}
	}
	for i, n := 0, len(body); i < n; {
		c := body[i]
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
			i++
			continue
		}
		if done && strict {
			return &Error{Status: http.StatusBadRequest, Code: CodeInvalidBody, Message: "request body is invalid",
				Details: "data after the JSON value"}
		}
		switch c {
		case '"':
			if elements++; elements > maxElements {
				return tooMany()
			}
			j := i + 1
			for j < n && body[j] != '"' {
				if body[j] == '\\' {
					j++
				}
				j++
			}
			if j >= n {
				if strict {
					return errJSONSyntax
				}
				return nil // the rest is inside the string
			}
			if strict && len(stack) > 0 && expectKey {
				f := &stack[len(stack)-1]
				f.keyStart, f.keyEnd = i+1, j
				key, err := exactjson.Key(body[i+1 : j])
				if err != nil {
					return errJSONSyntax
				}
				if _, dup := f.keys[key]; dup {
					return &Error{Status: http.StatusBadRequest, Code: CodeInvalidBody, Message: "request body is invalid",
						Details: fmt.Sprintf("field %q: key appears more than once", pointerOf(body, stack))}
				}
				if f.keys == nil {
					f.keys = make(map[string]struct{})
				}
				f.keys[key] = struct{}{}
				expectKey = false
			} else if depth == 0 {
				done = true
			}
			i = j + 1
		case '{', '[':
			if elements++; elements > maxElements {
				return tooMany()
			}
			if depth++; depth > maxDepth {
				return &Error{Status: http.StatusBadRequest, Code: CodeInvalidBody, Message: "request body is invalid",
					Details: fmt.Sprintf("JSON nesting is deeper than the limit of %d levels", maxDepth)}
			}
			if strict {
				stack = append(stack, jsonFrame{obj: c == '{'})
			}
			expectKey = c == '{'
			i++
		case '}', ']':
			if strict {
				if len(stack) == 0 || stack[len(stack)-1].obj != (c == '}') {
					return errJSONSyntax
				}
				stack = stack[:len(stack)-1]
			}
			if depth > 0 {
				depth--
			}
			expectKey = false
			done = depth == 0
			i++
		case ',':
			if strict {
				if len(stack) == 0 {
					return errJSONSyntax
				}
				if f := &stack[len(stack)-1]; f.obj {
					expectKey = true
				} else {
					f.index++
				}
			}
			i++
		case ':':
			i++
		default: // a number or a literal, counted once
			if elements++; elements > maxElements {
				return tooMany()
			}
			for i < n && !isJSONDelimiter(body[i]) {
				i++
			}
			done = depth == 0
		}
	}
	if strict && len(stack) > 0 {
		return errJSONSyntax
	}
	return nil
}

func isJSONDelimiter(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', ',', ':', '[', ']', '{', '}', '"':
		return true
	}
	return false
}

// jsonFrame is an open array or object of checkStrictJSON's pass.
type jsonFrame struct {
	obj              bool
	keys             map[string]struct{} // the object's keys so far
	keyStart, keyEnd int                 // the raw bytes of the object's current key
	index            int                 // the array's current element
}

// pointerOf renders the way to the current key of the innermost object on
// the stack as an RFC 6901 JSON pointer.
func pointerOf(body []byte, stack []jsonFrame) string {
	var b strings.Builder
	for _, f := range stack {
		b.WriteByte('/')
		if !f.obj {
			b.WriteString(strconv.Itoa(f.index))
			continue
		}
		k, _ := exactjson.Key(body[f.keyStart:f.keyEnd])
		b.WriteString(strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1"))
	}
	return b.String()
}
