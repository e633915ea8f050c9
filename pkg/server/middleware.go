package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/labstack/echo/v4"

	"github.com/interop-data/interop/pkg/contract"
	"github.com/interop-data/interop/pkg/server/auth"
)

// ctxOperation is the echo.Context key under which the operation middleware
// leaves the operationId for the logging and metrics middleware.
const ctxOperation = "interop.operation"

// HeaderRequestID carries the request id in and out.
const HeaderRequestID = "X-Request-Id"

type requestInfo struct {
	id         string
	r          *http.Request
	trustProxy bool
	links      *links
}

type requestInfoKey struct{}

// RequestID returns the id of the current request ("" outside the kit): the
// client's X-Request-Id when it sent a sane one, else a fresh random id. It is
// echoed in the X-Request-Id response header, logged with every line about
// the request and quoted in 500 bodies.
func RequestID(ctx context.Context) string {
	if info, ok := ctx.Value(requestInfoKey{}).(*requestInfo); ok {
		return info.id
	}
	return ""
}

// RequestURL returns the absolute URL of the current request, for building
// paging.next links, or nil outside the kit. With WithPublicURL it is built on
// that URL. Otherwise the scheme is https when the connection is TLS, and,
// from a proxy WithTrustedProxies names, X-Forwarded-Proto and X-Forwarded-Host
// (their first values, when well formed) take precedence over the connection
// and the Host header. A host the operator did not allow (WithAllowedHosts)
// is replaced by the address the connection arrived on, so a forged Host
// never reaches a link. The result is a fresh copy the caller may modify.
func RequestURL(ctx context.Context) *url.URL {
	info, ok := ctx.Value(requestInfoKey{}).(*requestInfo)
	if !ok {
		return nil
	}
	return info.links.requestURL(info.r, info.trustProxy)
}

func firstValue(v string) string {
	first, _, _ := strings.Cut(v, ",")
	return strings.ToLower(strings.TrimSpace(first))
}

// validHost accepts host[:port] made of the characters a DNS name, an IPv4 or
// a bracketed IPv6 address uses, so a forged header cannot smuggle a path or
// userinfo into the links the server hands out.
func validHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case c == '.' || c == '-' || c == ':' || c == '[' || c == ']':
		default:
			return false
		}
	}
	return true
}

// validRequestID accepts the ids proxies and tracing systems generate
// (UUIDs, hex, base32/64url, dotted or colon-separated) and nothing that
// could break a log line or a header.
func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-' || c == '_' || c == '.' || c == ':':
		default:
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// requestID is the outermost middleware: everything after it, the error
// handler included, can name the request.
func (s *Server) requestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		id := r.Header.Get(HeaderRequestID)
		if !validRequestID(id) {
			id = newRequestID()
		}
		c.Response().Header().Set(HeaderRequestID, id)
		info := &requestInfo{id: id, r: r, trustProxy: s.fromTrustedProxy(r), links: &s.links}
		c.SetRequest(r.WithContext(context.WithValue(r.Context(), requestInfoKey{}, info)))
		return next(c)
	}
}

// observe logs each request and records its metrics. It renders errors
// itself (c.Error) so that the status it records is the one sent.
func (s *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		if err := next(c); err != nil {
			c.Error(err)
		}
		elapsed := time.Since(start)
		r, resp := c.Request(), c.Response()
		op := operationOf(c)
		s.metrics.observe(op, r.Method, resp.Status, elapsed)
		level := s.accessLevel
		if serverFailure(resp.Status) {
			level = slog.LevelError
		}
		s.logger.LogAttrs(r.Context(), level, "request",
			slog.String("request_id", RequestID(r.Context())),
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.String("operation", op),
			slog.Int("status", resp.Status),
			slog.Int64("bytes", resp.Size),
			slog.Duration("duration", elapsed),
			slog.String("remote", c.RealIP()),
		)
		return nil
	}
}

// recover turns a panic into a 500 error body and a log line with the stack.
// http.ErrAbortHandler is re-raised: it is net/http's way to abort a response
// on purpose.
func (s *Server) recover(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			ctx := c.Request().Context()
			s.metrics.panics.Inc()
			s.logger.ErrorContext(ctx, "panic", "request_id", RequestID(ctx), "operation", operationOf(c),
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			err = internalError(RequestID(ctx))
		}()
		return next(c)
	}
}

// limitBody rejects a declared Content-Length over the limit at once and caps
// what can be read of any other body; whoever reads past the cap (the
// validator or the binder) gets an *http.MaxBytesError, which the error model
// turns into 413.
func (s *Server) limitBody(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.ContentLength > s.bodyLimit {
			return errTooLarge(s.bodyLimit)
		}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = http.MaxBytesReader(c.Response(), r.Body, s.bodyLimit)
		}
		return next(c)
	}
}

// operation is the per-operation middleware: it authenticates, applies the
// rate limit, validates the request, runs the handler and validates its response, all against the one
// route Echo matched.
func (s *Server) operation(op *contract.Operation, secured bool) echo.MiddlewareFunc {
	route, opID := op.Route, op.ID
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			// Echo lets a trailing path parameter swallow the rest of the path
			// ("/persons/{id}" matches "/persons/x/y" with id "x/y"). No path
			// parameter of the spec can hold a "/", so such a match is no match.
			for _, v := range c.ParamValues() {
				if strings.Contains(v, "/") {
					return echo.ErrNotFound
				}
			}
			c.Set(ctxOperation, opID)
			r := c.Request()
			if secured {
				p, err := s.authn.Authenticate(r)
				if err != nil {
					return s.unauthorized(c, err)
				}
				r = r.WithContext(auth.WithPrincipal(r.Context(), p))
				c.SetRequest(r)
			}
			// After authentication, so the principal names the bucket, and
			// before validation, so a limited caller costs next to nothing.
			if err := s.takeToken(c, rateLimitKey(c)); err != nil {
				return err
			}
			// The body is read here, once, for every operation that takes one,
			// and checked in one pass before any other parser sees it: its
			// limits always, its schema with request validation on, whose
			// verdict (bodyErr) waits for the parameters' checks.
			var bodyErr error
			if route.Operation.RequestBody != nil {
				body, err := s.readBody(r)
				if err == nil {
					err, bodyErr = s.checkBody(op, r, body)
				}
				if err != nil {
					if e := (*Error)(nil); errors.As(err, &e) && e.Status == http.StatusBadRequest {
						s.metrics.validationFailure(opID, "request")
					}
					return err
				}
			}
			if !s.reqValidation && s.respMode == ValidationOff {
				return next(c)
			}
			if s.reqValidation {
				// kin-openapi checks parameters and headers only (the kit
				// authenticated the caller and checks the body itself), yet
				// its security check reads the whole body into a new buffer
				// to hand each AuthenticationFunc a fresh reader: 16 MB of
				// allocation for an 8 MB body. It gets the request without one.
				bodiless := *r
				bodiless.Body = http.NoBody
				in := &openapi3filter.RequestValidationInput{Request: &bodiless, PathParams: pathParams(c), Route: route, Options: s.reqOpts}
				if err := openapi3filter.ValidateRequest(r.Context(), in); err != nil {
					s.metrics.validationFailure(opID, "request")
					return s.requestValidationError(err)
				}
				if bodyErr != nil {
					s.metrics.validationFailure(opID, "request")
					return bodyErr
				}
			}
			if s.respMode == ValidationOff {
				return next(c)
			}
			return s.validateResponse(c, next, op)
		}
	}
}

func pathParams(c echo.Context) map[string]string {
	names := c.ParamNames()
	if len(names) == 0 {
		return nil
	}
	values := c.ParamValues()
	escaped := c.Request().URL.RawPath != ""
	m := make(map[string]string, len(names))
	for i, n := range names {
		if i >= len(values) {
			break
		}
		v := values[i]
		if escaped {
			if u, err := url.PathUnescape(v); err == nil {
				v = u
			}
		}
		m[n] = v
	}
	return m
}

// unauthorized answers a failed authentication: 401 with a fixed message per
// reason and a WWW-Authenticate challenge (RFC 6750 §3). The authenticator's
// own error is logged, never sent.
func (s *Server) unauthorized(c echo.Context, err error) error {
	ctx := c.Request().Context()
	if errors.Is(err, auth.ErrUnavailable) {
		s.logger.ErrorContext(ctx, "authentication unavailable", "request_id", RequestID(ctx), "operation", operationOf(c), "err", err)
		// A 500 (the spec declares no 503), which clients retry and which
		// keeps their token; with the authenticator's hint, when to retry.
		if ue := (*auth.UnavailableError)(nil); errors.As(err, &ue) && ue.RetryAfter > 0 {
			c.Response().Header().Set("Retry-After", strconv.FormatInt(int64(math.Ceil(ue.RetryAfter.Seconds())), 10))
		}
		return internalError(RequestID(ctx))
	}
	e := &Error{Status: http.StatusUnauthorized, Code: CodeUnauthorized}
	challenge := `Bearer realm="interop"`
	level := slog.LevelInfo
	switch {
	case errors.Is(err, auth.ErrMissingToken):
		e.Message = "missing bearer token"
	case errors.Is(err, auth.ErrExpiredToken):
		e.Message = "access token is expired"
		challenge += `, error="invalid_token", error_description="the access token expired"`
	default:
		e.Message = "access token is invalid or expired"
		challenge += `, error="invalid_token"`
		if !errors.Is(err, auth.ErrInvalidToken) {
			level = slog.LevelWarn // an authenticator that says neither why nor ErrUnavailable
		}
	}
	s.logger.Log(ctx, level, "authentication failed", "request_id", RequestID(ctx), "operation", operationOf(c), "err", err)
	c.Response().Header().Set("WWW-Authenticate", challenge)
	return e
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// captureWriter holds a handler's response until it has been validated.
type captureWriter struct {
	header http.Header
	status int
	buf    *bytes.Buffer
}

func (w *captureWriter) Header() http.Header { return w.header }

func (w *captureWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *captureWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.buf.Write(p)
}

// capture runs next with its response going to cw, then puts the real
// writer back and forgets what next wrote, also when it fails or panics: the
// response is then written afresh, by the caller or by the error handler.
func capture(c echo.Context, next echo.HandlerFunc, cw *captureWriter) error {
	resp := c.Response()
	orig := resp.Writer
	resp.Writer = cw
	defer func() {
		resp.Writer = orig
		resp.Committed, resp.Status, resp.Size = false, http.StatusOK, 0
	}()
	return next(c)
}

// validateResponse runs the handler into a buffer, validates what it wrote
// against the operation's declared responses, then sends it or, in enforce
// mode, a 500 instead.
func (s *Server) validateResponse(c echo.Context, next echo.HandlerFunc, op *contract.Operation) error {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= 1<<20 { // do not pin huge buffers in the pool
			bufPool.Put(buf)
		}
	}()
	resp := c.Response()
	// The handler writes headers into a copy: a response replaced by a 500
	// must not carry what the handler meant for the one it wrote (a
	// Location, a Set-Cookie, a Content-Type of its own).
	sent := resp.Header()
	cw := &captureWriter{header: sent.Clone(), buf: buf}
	if err := capture(c, next, cw); err != nil {
		// An error is rendered by the error handler, with what the handler
		// set on the way (a Retry-After, a challenge), as before.
		replaceHeader(sent, cw.header)
		return err
	}
	ctx := c.Request().Context()
	opID := op.ID

	var verr error
	if cw.status == 0 {
		verr = errors.New("the handler wrote no response")
	} else {
		verr = s.contract.ValidateResponse(ctx, op, c.Request(), cw.status, cw.header, buf.Bytes())
	}
	if verr != nil {
		s.metrics.validationFailure(opID, "response")
		if s.respMode == ValidationEnforce {
			s.logger.ErrorContext(ctx, "invalid response replaced by 500", "request_id", RequestID(ctx), "operation", opID,
				"status", cw.status, "err", verr)
			s.writeError(c, internalError(RequestID(ctx)))
			return nil
		}
		s.logger.WarnContext(ctx, "invalid response sent (report mode)", "request_id", RequestID(ctx), "operation", opID,
			"status", cw.status, "err", verr)
	}
	if cw.status == 0 {
		cw.status = http.StatusOK
	}
	replaceHeader(sent, cw.header)
	resp.WriteHeader(cw.status)
	_, err := resp.Write(buf.Bytes())
	return err
}

// replaceHeader makes dst hold exactly what src holds.
func replaceHeader(dst, src http.Header) {
	for k := range dst {
		if _, ok := src[k]; !ok {
			delete(dst, k)
		}
	}
	for k, v := range src {
		dst[k] = v
	}
}
