package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// readStrictJSON reads a JSON request body and checks what kin-openapi and
// the generated decoder let through: data after the first value (`{...} junk`
// decodes as `{...}`) and an object naming a key twice (the last one wins, so
// `{"status":"success","status":"error"}` would acknowledge with whichever the
// decoder happened to keep). Both are ambiguous input, refused with 400. The
// body is put back for the validator and the handler. Bodies that are empty or
// not JSON are left to the validator, which names the rule they break.
func readStrictJSON(r *http.Request) error {
	if r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return nil
	}
	body, err := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return err // *http.MaxBytesError: 413 through the error model
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	return checkStrictJSON(body)
}

// errJSONSyntax marks a body that is not JSON at all: the validator's own
// message for it is as good, so the caller lets the validator speak.
var errJSONSyntax = errors.New("not JSON")

func checkStrictJSON(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := walkValue(dec, ""); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return &Error{Status: http.StatusBadRequest, Code: CodeInvalidBody, Message: "request body is invalid",
			Details: "data after the JSON value"}
	}
	return nil
}

// walkValue consumes one JSON value, checking every object for repeated keys.
func walkValue(dec *json.Decoder, path string) error {
	tok, err := dec.Token()
	if err != nil {
		return errJSONSyntax
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	switch d {
	case '{':
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return errJSONSyntax
			}
			k, _ := kt.(string)
			child := path + "/" + strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1") // RFC 6901
			if seen[k] {
				return &Error{Status: http.StatusBadRequest, Code: CodeInvalidBody, Message: "request body is invalid",
					Details: fmt.Sprintf("field %q: key appears more than once", child)}
			}
			seen[k] = true
			if err := walkValue(dec, child); err != nil {
				return err
			}
		}
	case '[':
		for i := 0; dec.More(); i++ {
			if err := walkValue(dec, fmt.Sprintf("%s/%d", path, i)); err != nil {
				return err
			}
		}
	}
	if _, err := dec.Token(); err != nil { // the closing delimiter
		return errJSONSyntax
	}
	return nil
}
