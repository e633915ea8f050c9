package server

import (
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// The defaults of the resource limits besides the body limit
// (DefaultBodyLimit) and the nesting depth (DefaultMaxJSONDepth). Each has an
// option; the README lists them all in one table.
const (
	// DefaultMaxHeaderBytes bounds the request line and headers together
	// (http.Server.MaxHeaderBytes). Over it, net/http itself answers 431.
	DefaultMaxHeaderBytes = 64 << 10
	// DefaultMaxURLLength bounds the request target (path and query). The
	// longest URL the API needs (a list with every query parameter) is far
	// below it; over it, the kit answers 414 with the JSON error body.
	DefaultMaxURLLength = 8 << 10
	// DefaultMaxConnections bounds the connections ListenAndServe holds open
	// at once (keep-alive ones included). At the limit, a new client takes
	// the slot of an idle keep-alive connection (the one idle longest, which
	// the server closes), or of a connection that has sent no full request for a
	// second; only when every connection is busy with a request does it
	// wait in the kernel's accept queue.
	DefaultMaxConnections = 1024
	// DefaultIdleTimeout is how long a keep-alive connection may wait for
	// its next request (Timeouts.Idle) before the server closes it.
	DefaultIdleTimeout = 30 * time.Second
)

// CodeURITooLong answers a request target longer than the URL limit.
const CodeURITooLong = "uri_too_long"

type limits struct {
	maxHeaderBytes int
	maxURLLength   int
	maxConns       int
}

func (l limits) withDefaults() limits {
	if l.maxHeaderBytes <= 0 {
		l.maxHeaderBytes = DefaultMaxHeaderBytes
	}
	if l.maxURLLength <= 0 {
		l.maxURLLength = DefaultMaxURLLength
	}
	if l.maxConns == 0 {
		l.maxConns = DefaultMaxConnections
	}
	return l
}

// WithMaxJSONDepth sets the deepest nesting of arrays and objects a request
// body may have (default DefaultMaxJSONDepth, at most 10,000); deeper
// bodies get 400 from the one pass that reads them before the binder, at the
// level over the limit.
func WithMaxJSONDepth(n int) Option {
	return func(s *Server) {
		if n > 0 {
			s.maxDepth = n
		}
	}
}

// WithMaxJSONElements sets the most elements (values and keys) a JSON
// request body may hold (default DefaultMaxJSONElements); more get 400 from
// the same single pass as the depth.
func WithMaxJSONElements(n int) Option {
	return func(s *Server) {
		if n > 0 {
			s.maxElements = n
		}
	}
}

// WithMaxHeaderBytes sets the most bytes of request line and headers
// ListenAndServe reads (default DefaultMaxHeaderBytes).
func WithMaxHeaderBytes(n int) Option { return func(s *Server) { s.limits.maxHeaderBytes = n } }

// WithMaxURLLength sets the longest request target, path and query, in bytes
// (default DefaultMaxURLLength); longer ones get 414.
func WithMaxURLLength(n int) Option { return func(s *Server) { s.limits.maxURLLength = n } }

// WithMaxConnections sets how many connections ListenAndServe holds open at
// once (default DefaultMaxConnections), shedding idle ones for newcomers at
// the limit; a negative n means no limit.
func WithMaxConnections(n int) Option { return func(s *Server) { s.limits.maxConns = n } }

// limitURL answers a request target over the URL limit with 414 before
// anything parses its query.
func (s *Server) limitURL(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		n := len(r.RequestURI)
		if n == 0 { // a request built in-process, not read from the wire
			n = len(r.URL.RequestURI())
		}
		if n > s.limits.maxURLLength {
			return &Error{Status: http.StatusRequestURITooLong, Code: CodeURITooLong, Message: "request URL is too long",
				Details: fmt.Sprintf("the limit is %d bytes", s.limits.maxURLLength)}
		}
		return next(c)
	}
}
