package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/interop-data/interop/pkg/contract"
	"github.com/labstack/echo/v4"

	"github.com/interop-data/interop/gen/models"
)

// Error codes the kit answers with: the known values of the spec's
// ErrorType.code.
const (
	CodeInvalidParameter     = "invalid_parameter"
	CodeInvalidBody          = "invalid_body"
	CodeUnauthorized         = "unauthorized"
	CodeForbidden            = "forbidden"
	CodeNotFound             = "not_found"
	CodeMethodNotAllowed     = "method_not_allowed"
	CodeConflict             = "conflict"
	CodePayloadTooLarge      = "payload_too_large"
	CodeUnsupportedMediaType = "unsupported_media_type"
	CodeRateLimited          = "rate_limited"
	// CodeRequestTimeout answers a request whose body did not arrive within
	// the server's read timeout (Timeouts.Read).
	CodeRequestTimeout = "request_timeout"
	CodeInternal       = "internal_error"
	CodeNotImplemented = "not_implemented"
	// CodeUnavailable answers /readyz when the readiness check fails. It is
	// not one of the spec's listed codes, which the spec allows (open vocabulary).
	CodeUnavailable = "unavailable"
)

// Error is an error a handler returns to answer with the spec's error body
// ({"error": {"status", "code", "message", "details"?}}) and Status. Anything
// a handler returns that is not an *Error (or one of the generated typed
// error responses) becomes a 500 with no internal text.
type Error struct {
	Status  int
	Code    string
	Message string
	Details string
}

// Error implements error.
func (e *Error) Error() string {
	s := fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message)
	if e.Details != "" {
		s += " (" + e.Details + ")"
	}
	return s
}

// Errorf returns an *Error with a formatted message.
func Errorf(status int, code string, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// WithDetails returns a copy of e with Details set.
func (e *Error) WithDetails(format string, args ...any) *Error {
	c := *e
	c.Details = fmt.Sprintf(format, args...)
	return &c
}

// MaxErrorText is the most bytes of Message, and of Details, an error body
// carries: longer texts (a message quoting a huge key or value) are cut, so
// no error costs more to send than this.
const MaxErrorText = 1024

// Body returns e as the spec's error body, Message and Details cut to
// MaxErrorText bytes.
func (e *Error) Body() models.ErrorResponse {
	return models.ErrorResponse{Error: models.ErrorType{Status: int32(e.Status), Code: e.Code,
		Message: truncate(e.Message, MaxErrorText), Details: truncate(e.Details, MaxErrorText)}}
}

// truncate cuts s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "... (truncated)"
	cut := n - len(mark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}

// marshal renders e as the JSON error body. Encoding a struct of strings
// cannot fail.
func (e *Error) marshal() []byte {
	b, _ := json.Marshal(e.Body())
	return b
}

func internalError(requestID string) *Error {
	e := &Error{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "internal server error"}
	if requestID != "" {
		e.Details = "request id " + requestID
	}
	return e
}

// codeForStatus is the code of an error the kit knows only by status.
func codeForStatus(status int) string {
	switch status {
	case http.StatusBadRequest:
		return CodeInvalidParameter
	case http.StatusUnauthorized:
		return CodeUnauthorized
	case http.StatusForbidden:
		return CodeForbidden
	case http.StatusNotFound:
		return CodeNotFound
	case http.StatusMethodNotAllowed:
		return CodeMethodNotAllowed
	case http.StatusConflict:
		return CodeConflict
	case http.StatusRequestEntityTooLarge:
		return CodePayloadTooLarge
	case http.StatusUnsupportedMediaType:
		return CodeUnsupportedMediaType
	case http.StatusTooManyRequests:
		return CodeRateLimited
	case http.StatusRequestTimeout:
		return CodeRequestTimeout
	case http.StatusRequestURITooLong:
		return CodeURITooLong
	case http.StatusNotImplemented:
		return CodeNotImplemented
	case http.StatusServiceUnavailable:
		return CodeUnavailable
	}
	return CodeInternal
}

// errRequestTimeout answers a body that did not arrive within the read
// timeout: a slow or stalled client, logged and counted as a 4xx.
var errRequestTimeout = &Error{Status: http.StatusRequestTimeout, Code: CodeRequestTimeout,
	Message: "request body was not received in time"}

// errBodyIncomplete answers a body that ended before its declared length (a
// client that gave up or lost its connection mid-upload).
var errBodyIncomplete = &Error{Status: http.StatusBadRequest, Code: CodeInvalidBody,
	Message: "request body is incomplete", Details: "the connection ended before the whole body arrived"}

// isTimeout reports a read deadline that passed (http.Server's ReadTimeout).
func isTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// errTooLarge is the one answer to a body over the limit, wherever it is
// noticed (Content-Length, the validator's read or the binder's).
func errTooLarge(limit int64) *Error {
	return &Error{Status: http.StatusRequestEntityTooLarge, Code: CodePayloadTooLarge,
		Message: "request body is too large", Details: fmt.Sprintf("the limit is %d bytes", limit)}
}

// publicError turns any error that reached the kit into the *Error to send.
// The second result is false for errors whose text must not be shown: they
// become a 500 and are logged instead.
func (s *Server) publicError(c echo.Context, err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errTooLarge(s.bodyLimit), true
	}
	if isTimeout(err) {
		return errRequestTimeout, true
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		return s.fromEchoError(c, he), he.Code < 500
	}
	return internalError(RequestID(c.Request().Context())), false
}

// fromEchoError maps echo's own errors (router 404/405, binder failures when
// request validation is off) into the error model without echoing Go error
// text.
func (s *Server) fromEchoError(c echo.Context, he *echo.HTTPError) *Error {
	r := c.Request()
	switch he.Code {
	case http.StatusNotFound:
		e := &Error{Status: he.Code, Code: CodeNotFound, Message: fmt.Sprintf("no operation at %s", r.URL.Path)}
		if p := r.URL.Path; p != contract.BasePath && !strings.HasPrefix(p, contract.BasePath+"/") && !strings.HasPrefix(p, "/oauth/") {
			// Most often a client's base URL without the mount path.
			e.Message += fmt.Sprintf(" (the API is served under %s, so a client's base URL must end with %s)", contract.BasePath, contract.BasePath)
		}
		return e
	case http.StatusMethodNotAllowed:
		e := &Error{Status: he.Code, Code: CodeMethodNotAllowed, Message: fmt.Sprintf("method %s is not allowed on %s", r.Method, r.URL.Path)}
		if allow := c.Response().Header().Get(echo.HeaderAllow); allow != "" {
			e.Details = "allowed: " + allow
		}
		return e
	case http.StatusRequestEntityTooLarge:
		return errTooLarge(s.bodyLimit)
	case http.StatusUnsupportedMediaType:
		return &Error{Status: he.Code, Code: CodeUnsupportedMediaType, Message: "request body must be application/json"}
	case http.StatusBadRequest:
		// The generated wrapper reports "Invalid format for parameter X: <Go
		// error>"; keep the parameter, drop the Go error.
		if msg, ok := he.Message.(string); ok {
			if rest, ok := strings.CutPrefix(msg, "Invalid format for parameter "); ok {
				name, _, _ := strings.Cut(rest, ":")
				return &Error{Status: 400, Code: CodeInvalidParameter, Message: fmt.Sprintf("parameter %q is invalid", name), Details: "value has an invalid format"}
			}
			if strings.HasPrefix(msg, "Query argument ") || strings.HasPrefix(msg, "Invalid value for") {
				return &Error{Status: 400, Code: CodeInvalidParameter, Message: "a query parameter is invalid"}
			}
		}
		return &Error{Status: 400, Code: CodeInvalidBody, Message: "request body is invalid", Details: "body is not valid JSON for this operation"}
	}
	if he.Code >= 500 {
		return internalError(RequestID(r.Context()))
	}
	return &Error{Status: he.Code, Code: codeForStatus(he.Code), Message: strings.ToLower(http.StatusText(he.Code))}
}

// requestValidationError translates a kin-openapi request error into the
// error model: which parameter or field failed, and the rule it broke, in
// words a client can act on and without Go internals.
func (s *Server) requestValidationError(err error) *Error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errTooLarge(s.bodyLimit)
	}
	var re *openapi3filter.RequestError
	if !errors.As(err, &re) {
		return &Error{Status: 400, Code: CodeInvalidParameter, Message: "request is invalid"}
	}
	switch {
	case re.Parameter != nil:
		p := re.Parameter
		return &Error{Status: 400, Code: CodeInvalidParameter,
			Message: fmt.Sprintf("parameter %q in %s is invalid", p.Name, p.In),
			Details: ruleOf(re.Err, re.Reason)}
	case re.RequestBody != nil || strings.HasPrefix(re.Reason, "header Content-Type"):
		if strings.HasPrefix(re.Reason, "header Content-Type") {
			return &Error{Status: http.StatusUnsupportedMediaType, Code: CodeUnsupportedMediaType,
				Message: "request body must be application/json",
				Details: fmt.Sprintf("got Content-Type %q", re.Input.Request.Header.Get("Content-Type"))}
		}
		if errors.Is(re.Err, openapi3filter.ErrInvalidRequired) {
			return &Error{Status: 400, Code: CodeInvalidBody, Message: "request body is required"}
		}
		if re.Reason == "failed to decode request body" {
			return &Error{Status: 400, Code: CodeInvalidBody, Message: "request body is invalid", Details: "body is not valid JSON"}
		}
		return &Error{Status: 400, Code: CodeInvalidBody, Message: "request body is invalid", Details: ruleOf(re.Err, re.Reason)}
	}
	return &Error{Status: 400, Code: CodeInvalidParameter, Message: "request is invalid", Details: ruleOf(re.Err, re.Reason)}
}

// bodyViolation translates the compiled validator's verdict on a request
// body into the error model: 415 for a media type the operation does not
// take, else 400 naming the field (a JSON pointer) and the rule.
func bodyViolation(v *contract.Violation, contentType string) *Error {
	switch v.Rule {
	case "contentType":
		return &Error{Status: http.StatusUnsupportedMediaType, Code: CodeUnsupportedMediaType,
			Message: "request body must be application/json",
			Details: fmt.Sprintf("got Content-Type %q", contract.Bound(contentType, 128))}
	case "body":
		return &Error{Status: 400, Code: CodeInvalidBody, Message: "request body is required"}
	case "json":
		if v.Reason == "body is not valid JSON" {
			return &Error{Status: 400, Code: CodeInvalidBody, Message: "request body is invalid", Details: "body is not valid JSON"}
		}
	}
	msg := cutPattern(v.Reason)
	if v.Pointer != "" {
		msg = fmt.Sprintf("field %q: %s", v.Pointer, msg)
	}
	return &Error{Status: 400, Code: CodeInvalidBody, Message: "request body is invalid", Details: msg}
}

// cutPattern drops the regular expression a format check appends: the
// format's name is what a client needs.
func cutPattern(msg string) string {
	for _, cut := range []string{" (string doesn't match pattern", " (regular expression"} {
		if i := strings.Index(msg, cut); i > 0 {
			msg = msg[:i]
		}
	}
	return msg
}

// ruleOf says in one line which rule a value broke, and where, using only
// the parts of kin-openapi's errors meant for people: SchemaError.Reason and
// its JSON pointer, ParseError.Reason. Error() strings are avoided because
// they carry the schema and the value.
func ruleOf(err error, reason string) string {
	// Bounded: a parameter's value or a key may be as long as the request.
	return contract.Bound(ruleWords(err, reason), 512)
}

func ruleWords(err error, reason string) string {
	if errors.Is(err, openapi3filter.ErrInvalidRequired) {
		return "value is required but missing"
	}
	if errors.Is(err, openapi3filter.ErrInvalidEmptyValue) {
		return "empty value is not allowed"
	}
	var me openapi3.MultiError
	if errors.As(err, &me) && len(me) > 0 {
		parts := make([]string, 0, len(me))
		for _, e := range me {
			parts = append(parts, ruleWords(e, ""))
		}
		return strings.Join(parts, "; ")
	}
	// The innermost first error names the field (under allOf the outer one
	// stops at the object) and the rule.
	if se, ptr := contract.FirstSchemaError(err); se != nil {
		msg := se.Reason
		if msg == "" {
			msg = fmt.Sprintf("value does not match the schema's %q rule", se.SchemaField)
		}
		msg = cutPattern(msg)
		if len(ptr) > 0 {
			return fmt.Sprintf("field %q: %s", contract.PointerOf(ptr), msg)
		}
		return msg
	}
	var pe *openapi3filter.ParseError
	if errors.As(err, &pe) {
		if pe.Value != nil {
			return fmt.Sprintf("value %q is %s", contract.Bound(fmt.Sprint(pe.Value), 128), pe.Reason)
		}
		if pe.Reason != "" {
			return pe.Reason
		}
	}
	if reason != "" {
		return reason
	}
	return "value is invalid"
}
