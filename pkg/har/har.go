package har

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Entry is one request and its answer.
type Entry struct {
	Method        string
	URL           *url.URL
	RequestHeader http.Header
	RequestBody   []byte

	Status         int
	ResponseHeader http.Header
	ResponseBody   []byte
	// ResponseBodyMissing: the recording left the answer's body out (tools
	// do for binary or large content); an empty body is not missing.
	ResponseBodyMissing bool
}

// Error is a recording Read cannot read; Entry is the index of the entry
// at fault (-1 for the document around the entries).
type Error struct {
	Entry int
	Err   error
}

func (e *Error) Error() string {
	if e.Entry < 0 {
		return "har: " + e.Err.Error()
	}
	return fmt.Sprintf("har: entry %d: %v", e.Entry, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// ErrNoLog is wrapped by the error of a document without a log.entries
// array.
var ErrNoLog = errors.New("not a HAR document: no log.entries")

type nameValue struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type rawEntry struct {
	Request *struct {
		Method   string      `json:"method"`
		URL      string      `json:"url"`
		Headers  []nameValue `json:"headers"`
		PostData *struct {
			MimeType string `json:"mimeType"`
			Text     string `json:"text"`
			Encoding string `json:"encoding"` // not in 1.2, written by some tools
		} `json:"postData"`
	} `json:"request"`
	Response *struct {
		Status  int         `json:"status"`
		Headers []nameValue `json:"headers"`
		Content *struct {
			Size     int64   `json:"size"`
			MimeType string  `json:"mimeType"`
			Text     *string `json:"text"`
			Encoding string  `json:"encoding"`
		} `json:"content"`
	} `json:"response"`
}

// Read calls fn with each entry of the HAR document r holds, in order. It
// stops at the first error of the document or of fn. An entry without a
// response (a request that failed) is skipped.
func Read(r io.Reader, fn func(*Entry) error) error {
	d := json.NewDecoder(r)
	if err := enter(d, "log"); err != nil {
		return &Error{Entry: -1, Err: err}
	}
	if err := enter(d, "entries"); err != nil {
		return &Error{Entry: -1, Err: err}
	}
	if t, err := d.Token(); err != nil || t != json.Delim('[') {
		return &Error{Entry: -1, Err: fmt.Errorf("log.entries is not an array: %w", orBad(err))}
	}
	for i := 0; d.More(); i++ {
		var raw rawEntry
		if err := d.Decode(&raw); err != nil {
			return &Error{Entry: i, Err: err}
		}
		e, err := convert(&raw)
		if err != nil {
			return &Error{Entry: i, Err: err}
		}
		if e == nil {
			continue
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	if t, err := d.Token(); err != nil || t != json.Delim(']') {
		return &Error{Entry: -1, Err: fmt.Errorf("log.entries does not end: %w", orBad(err))}
	}
	return nil
}

var errBadToken = errors.New("unexpected token")

func orBad(err error) error {
	if err == nil {
		return errBadToken
	}
	return err
}

// enter reads the start of an object and its members up to key, skipping
// the others, and leaves d before key's value.
func enter(d *json.Decoder, key string) error {
	t, err := d.Token()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNoLog, err)
	}
	if t != json.Delim('{') {
		return ErrNoLog
	}
	for d.More() {
		t, err := d.Token()
		if err != nil {
			return fmt.Errorf("%w: %v", ErrNoLog, err)
		}
		if k, _ := t.(string); k == key {
			return nil
		}
		var skip json.RawMessage
		if err := d.Decode(&skip); err != nil {
			return fmt.Errorf("%w: %v", ErrNoLog, err)
		}
	}
	return ErrNoLog
}

func convert(raw *rawEntry) (*Entry, error) {
	if raw.Request == nil {
		return nil, errors.New("no request")
	}
	if raw.Response == nil || raw.Response.Status == 0 {
		return nil, nil // no answer was recorded
	}
	if raw.Request.Method == "" || !isToken(raw.Request.Method) {
		return nil, errors.New("request.method is not an HTTP method")
	}
	u, err := url.Parse(raw.Request.URL)
	if err != nil {
		return nil, errors.New("request.url is not a URL")
	}
	if raw.Response.Status < 100 || raw.Response.Status > 999 {
		return nil, fmt.Errorf("response.status %d is not an HTTP status", raw.Response.Status)
	}
	e := &Entry{
		Method:         raw.Request.Method,
		URL:            u,
		RequestHeader:  headers(raw.Request.Headers),
		Status:         raw.Response.Status,
		ResponseHeader: headers(raw.Response.Headers),
	}
	if pd := raw.Request.PostData; pd != nil {
		e.RequestBody = []byte(pd.Text)
		if pd.Encoding == "base64" {
			if e.RequestBody, err = base64.StdEncoding.DecodeString(pd.Text); err != nil {
				return nil, errors.New("request.postData.text is not base64")
			}
		}
		if e.RequestHeader.Get("Content-Type") == "" && pd.MimeType != "" {
			e.RequestHeader.Set("Content-Type", pd.MimeType)
		}
	}
	// The recorded content is decoded: its Content-Encoding no longer
	// applies.
	e.ResponseHeader.Del("Content-Encoding")
	switch c := raw.Response.Content; {
	case c == nil || c.Text == nil:
		e.ResponseBodyMissing = c == nil || c.Size != 0
	case c.Encoding == "base64":
		if e.ResponseBody, err = base64.StdEncoding.DecodeString(*c.Text); err != nil {
			return nil, errors.New("response.content.text is not base64")
		}
	default:
		e.ResponseBody = []byte(*c.Text)
	}
	return e, nil
}

func headers(nv []nameValue) http.Header {
	h := http.Header{}
	for _, x := range nv {
		if x.Name == "" || strings.HasPrefix(x.Name, ":") {
			continue
		}
		h.Add(x.Name, x.Value)
	}
	return h
}

func isToken(s string) bool {
	for _, c := range s {
		if c <= ' ' || c >= 0x7f || strings.ContainsRune(`()<>@,;:\"/[]?={}`, c) {
			return false
		}
	}
	return true
}
