package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/interop-data/interop/gen/models"
)

// Sentinel errors. An *APIError matches the sentinel of its status class with
// errors.Is, so callers can branch on the kind of failure without inspecting
// status codes.
var (
	// ErrBadRequest: 400, 413, 415 and 422. The contract declares only 400;
	// the kit answers 413 and 415 for bodies it will not read, and a gateway
	// may answer 422. All four say the request itself must change before
	// sending it again can succeed.
	ErrBadRequest        = errors.New("interop: bad request")
	ErrUnauthorized      = errors.New("interop: unauthorized") // 401, and a token endpoint refusal
	ErrForbidden         = errors.New("interop: forbidden")    // 403
	ErrNotFound          = errors.New("interop: not found")    // 404
	ErrConflict          = errors.New("interop: conflict")     // 409
	ErrRateLimited       = errors.New("interop: rate limited") // 429
	ErrServer            = errors.New("interop: server error") // 5xx
	ErrContractViolation = errors.New("interop: contract violation")

	// ErrInvalidResponse wraps a success response whose body could not be
	// decoded (not JSON, or JSON of the wrong shape).
	ErrInvalidResponse = errors.New("interop: invalid response body")

	// ErrPagingLoop is returned by an iterator when paging.next names a page
	// it has already fetched: following it would never end.
	ErrPagingLoop = errors.New("interop: paging.next loops")

	// ErrForeignNext is returned by an iterator when paging.next points to
	// another scheme or host than the client's base URL. The client refuses
	// to send its credentials there.
	ErrForeignNext = errors.New("interop: paging.next points to another origin")
)

// APIError is the error of every request the server answered with a status of
// 400 or more. It carries the spec's error body when the server sent one; when
// the body is not the error model (a proxy's HTML page, an empty body) Code is
// empty, Message is the HTTP status text and Body holds what was received.
type APIError struct {
	StatusCode int    // HTTP status of the response
	Code       string // error.code, e.g. "not_found"; empty if the body was not the error model
	Message    string // error.message
	Details    string // error.details
	ExtMessage string // error.ext_message
	RequestID  string // the X-Request-Id response header, to quote when reporting a failure
	Operation  string // the spec's operationId, e.g. "findPerson", or "token" for the token endpoint
	Body       []byte // the raw response body (at most 64 KiB)
	// RetryAfter is the pause the server asked for (Retry-After, seconds or
	// an HTTP date), zero when it sent none: with a 429 or 503 that the
	// client's retries did not outlast, wait at least this long.
	RetryAfter time.Duration
	Header     http.Header // the response headers
}

func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("interop: ")
	if e.Operation != "" {
		b.WriteString(e.Operation)
		b.WriteString(": ")
	}
	fmt.Fprintf(&b, "%d", e.StatusCode)
	if e.Code != "" {
		b.WriteString(" ")
		b.WriteString(e.Code)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Details != "" {
		b.WriteString(" (")
		b.WriteString(e.Details)
		b.WriteString(")")
	}
	if e.RequestID != "" {
		b.WriteString(" [request id ")
		b.WriteString(e.RequestID)
		b.WriteString("]")
	}
	return b.String()
}

// Is maps the status to the package's sentinels.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrBadRequest:
		return e.StatusCode == http.StatusBadRequest || e.StatusCode == http.StatusRequestEntityTooLarge ||
			e.StatusCode == http.StatusUnsupportedMediaType || e.StatusCode == http.StatusUnprocessableEntity
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized
	case ErrForbidden:
		return e.StatusCode == http.StatusForbidden
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrConflict:
		return e.StatusCode == http.StatusConflict
	case ErrRateLimited:
		return e.StatusCode == http.StatusTooManyRequests
	case ErrServer:
		return e.StatusCode >= 500
	}
	return false
}

const maxErrorBody = 64 << 10

// newAPIError builds the error of a failed response from its body.
func newAPIError(op string, resp *http.Response, body []byte) *APIError {
	if len(body) > maxErrorBody {
		body = body[:maxErrorBody]
	}
	e := &APIError{
		StatusCode: resp.StatusCode,
		Operation:  op,
		RequestID:  resp.Header.Get("X-Request-Id"),
		Body:       body,
		Header:     resp.Header,
	}
	if d, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
		e.RetryAfter = d
	}
	var env models.ErrorResponse
	if json.Unmarshal(body, &env) == nil && (env.Error.Code != "" || env.Error.Message != "") {
		e.Code = env.Error.Code
		e.Message = env.Error.Message
		e.Details = env.Error.Details
		e.ExtMessage = env.Error.ExtMessage
		return e
	}
	// Not the error model: keep what helps a human diagnose it.
	e.Message = http.StatusText(resp.StatusCode)
	if snippet := strings.TrimSpace(string(body)); snippet != "" {
		if len(snippet) > 200 {
			snippet = snippet[:200] + "..."
		}
		e.Details = snippet
	}
	return e
}

// ValidationError reports a request or response that breaks the API
// contract. It matches ErrContractViolation with errors.Is.
type ValidationError struct {
	Operation string // operationId, or "" when no operation of the contract matches
	Direction string // "request" or "response"
	Method    string
	Path      string // path relative to the API base, e.g. /rostering/persons
	Status    int    // response status (responses only)
	Field     string // JSON pointer or parameter naming the offending value, e.g. /data/0/$sys/person_type
	Rule      string // the schema keyword or rule broken, e.g. "required", "format", "status"
	Reason    string // human-readable reason
	Err       error  // the underlying error (*contract.Violation for bodies, else kin-openapi's)
	// Response is the server's answer when the violation is in a response
	// of status 400 or more (an undeclared 413, say): the error then also
	// matches that status's sentinel (ErrBadRequest, ...) and errors.As
	// finds the *APIError, so callers branch on it as on any failed call.
	Response *APIError
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("interop: contract violation in ")
	if e.Operation != "" {
		b.WriteString(e.Operation)
	} else {
		b.WriteString(e.Method + " " + e.Path)
	}
	b.WriteString(" " + e.Direction)
	if e.Status != 0 {
		fmt.Fprintf(&b, " %d", e.Status)
	}
	if e.Field != "" {
		fmt.Fprintf(&b, ": field %q", e.Field)
	}
	if e.Rule != "" {
		fmt.Fprintf(&b, " breaks rule %q", e.Rule)
	}
	if e.Reason != "" {
		b.WriteString(": " + e.Reason)
	}
	return b.String()
}

// Is makes a ValidationError match ErrContractViolation, and the sentinel of
// the server's status when it answered 400 or more.
func (e *ValidationError) Is(target error) bool {
	return target == ErrContractViolation || e.Response != nil && e.Response.Is(target)
}

// Unwrap returns the underlying validator error and, for a response of
// status 400 or more, the server's *APIError.
func (e *ValidationError) Unwrap() []error {
	var errs []error
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	if e.Response != nil {
		errs = append(errs, e.Response)
	}
	return errs
}

// ResponseMeta describes the last HTTP response of a call made with a
// context from CaptureResponse, successful or not.
type ResponseMeta struct {
	Operation  string      // operationId, e.g. "findPerson"
	StatusCode int         // HTTP status
	RequestID  string      // the X-Request-Id response header, to quote to the vendor
	Header     http.Header // all response headers
}

type metaKey struct{}

// CaptureResponse returns a context that makes the client's methods record
// the metadata of their response in m. An iterator records each page's
// response in turn, so m holds the last. m must not be read while a call
// using the context runs.
//
//	var meta client.ResponseMeta
//	org, err := c.FindOrg(client.CaptureResponse(ctx, &meta), id)
//	log.Print("request id ", meta.RequestID)
func CaptureResponse(ctx context.Context, m *ResponseMeta) context.Context {
	return context.WithValue(ctx, metaKey{}, m)
}

// recordResponse fills the ResponseMeta of ctx, if any.
func recordResponse(ctx context.Context, op string, resp *http.Response) {
	if m, ok := ctx.Value(metaKey{}).(*ResponseMeta); ok && m != nil {
		*m = ResponseMeta{Operation: op, StatusCode: resp.StatusCode, RequestID: resp.Header.Get("X-Request-Id"), Header: resp.Header}
	}
}
