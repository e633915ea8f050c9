package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/interop-data/interop/gen/apiserver"
	"github.com/interop-data/interop/internal/specroute"
	"github.com/interop-data/interop/pkg/contract"
	"github.com/interop-data/interop/pkg/server/auth"
	"github.com/interop-data/interop/pkg/server/docs"
)

// DefaultBodyLimit is the largest request body accepted unless WithBodyLimit
// says otherwise: 2 MiB. The spec states it (info.x-request-body-limit and
// each operation's 413, decision request-body-limit). No byte limit admits
// every body the schemas allow (2000 escaped 4096-character messages are
// about 49 MB), so it is set by cost: a group acknowledgement at the limit
// costs the reference server under the 100 ms of CPU per request that issue
// 9 allows, where 10 MiB cost 250-400 ms. Clients split larger groups.
const DefaultBodyLimit = 2 << 20

// ValidationMode says what the kit does with a handler response that breaks
// the spec. It is the contract package's Mode, shared with the client.
type ValidationMode = contract.Mode

const (
	// ValidationOff sends responses unchecked (and unbuffered).
	ValidationOff = contract.ModeOff
	// ValidationReport logs and counts an invalid response, then sends it.
	ValidationReport = contract.ModeReport
	// ValidationEnforce logs and counts an invalid response and sends a 500
	// error body instead, so no client ever sees an off-contract answer.
	ValidationEnforce = contract.ModeEnforce
)

// Timeouts of the http.Server that ListenAndServe runs. Zero fields keep
// their defaults.
type Timeouts struct {
	ReadHeader time.Duration // default 10s: bounds slow-loris clients
	Read       time.Duration // default 30s
	Write      time.Duration // default 60s: a 2000-item page takes well under it
	Idle       time.Duration // default 30s: an idle keep-alive connection holds one of WithMaxConnections' slots
	Shutdown   time.Duration // default 15s: how long in-flight requests get to finish
}

// Server is an Interop Data API server: an Echo instance serving a
// apiserver.StrictServerInterface under contract.BasePath with authentication,
// validation both ways and one error model, plus /oauth/token (optional),
// /healthz, /readyz and /metrics.
type Server struct {
	echo *echo.Echo

	authn         auth.Authenticator
	token         *auth.OAuth2
	respMode      ValidationMode
	reqValidation bool
	logger        *slog.Logger
	accessLevel   slog.Level // of the per-request line; the zero value is slog.LevelInfo
	bodyLimit     int64
	maxDepth      int
	maxElements   int
	ready         func(context.Context) error
	trustProxy    bool
	proxies       proxies
	extra         []echo.MiddlewareFunc
	timeouts      Timeouts
	now           func() time.Time
	rateLimit     RateLimit
	limiters      *limiters // nil when rate limiting is off
	noDocs        bool      // WithDocs(false)
	tracer        trace.TracerProvider
	limits        limits
	links         links
	sharedLimit   SharedLimiter

	metricsOn  bool   // serve /metrics on the API handler
	metricsAdr string // serve /metrics on a listener of its own (ListenAndServe)
	metricsMW  func(http.Handler) http.Handler

	// contract is the spec compiled once per process: kin-openapi checks
	// parameters, headers and statuses, the compiled schemas check bodies.
	contract *contract.Compiled
	reqOpts  *openapi3filter.Options
	metrics  *metrics
}

// Option configures New.
type Option func(*Server)

// WithAuthenticator sets who may call the API. Without it, the token
// endpoint's OAuth2 (WithTokenEndpoint) authenticates; New fails when there
// is neither, so a server is never open by accident.
func WithAuthenticator(a auth.Authenticator) Option { return func(s *Server) { s.authn = a } }

// WithTokenEndpoint serves o's token endpoint at POST /oauth/token.
func WithTokenEndpoint(o *auth.OAuth2) Option { return func(s *Server) { s.token = o } }

// WithResponseValidation sets the response validation mode (default
// ValidationEnforce: a compatible server should never send what the spec
// forbids; choose ValidationReport to trade that guarantee for availability).
func WithResponseValidation(m ValidationMode) Option { return func(s *Server) { s.respMode = m } }

// WithRequestValidation turns request validation against the spec on (the
// default) or off. Off, only the generated binding checks parameter types.
func WithRequestValidation(on bool) Option { return func(s *Server) { s.reqValidation = on } }

// WithLogger sets the structured logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(s *Server) {
		if l != nil {
			s.logger = l
		}
	}
}

// WithBodyLimit sets the largest request body in bytes (default
// DefaultBodyLimit); larger bodies get 413.
func WithBodyLimit(n int64) Option {
	return func(s *Server) {
		if n > 0 {
			s.bodyLimit = n
		}
	}
}

// WithReadiness sets the check behind /readyz (for example, a database
// ping). Without it /readyz answers like /healthz.
func WithReadiness(f func(context.Context) error) Option { return func(s *Server) { s.ready = f } }

// WithTrustProxyHeaders makes RequestURL, the logged client address and the
// token endpoint's rate limit honour X-Forwarded-Proto, X-Forwarded-Host and
// X-Forwarded-For on requests from the proxies WithTrustedProxies names (New
// fails when it names none: trusting every peer let any client choose its
// address, and so its rate-limit bucket). X-Forwarded-Host is taken only
// when WithAllowedHosts lists it. WithTrustedProxies turns this on by
// itself; WithTrustProxyHeaders(false) turns it off.
func WithTrustProxyHeaders(on bool) Option { return func(s *Server) { s.trustProxy = on } }

// WithMiddleware adds Echo middleware to every API operation. It runs after
// authentication and request validation, just before the handler, so it sees
// the principal (auth.PrincipalFrom) and its responses are validated too.
func WithMiddleware(m ...echo.MiddlewareFunc) Option {
	return func(s *Server) { s.extra = append(s.extra, m...) }
}

// WithTimeouts sets the http.Server timeouts of ListenAndServe.
func WithTimeouts(t Timeouts) Option { return func(s *Server) { s.timeouts = t } }

// New returns a server for impl. It fails only on configuration errors.
func New(impl apiserver.StrictServerInterface, opts ...Option) (*Server, error) {
	if impl == nil {
		return nil, errors.New("server: nil implementation")
	}
	s := &Server{
		respMode:      ValidationEnforce,
		reqValidation: true,
		logger:        slog.Default(),
		bodyLimit:     DefaultBodyLimit,
		now:           time.Now,
		maxDepth:      DefaultMaxJSONDepth,
		maxElements:   DefaultMaxJSONElements,
		metricsOn:     true,
	}
	for _, o := range opts {
		o(s)
	}
	limited, err := s.rateLimit.validate()
	if err != nil {
		return nil, err
	}
	if s.authn == nil && s.token != nil {
		s.authn = s.token
	}
	if s.authn == nil {
		return nil, errors.New("server: no authenticator: use WithAuthenticator or WithTokenEndpoint")
	}
	s.timeouts = s.timeouts.withDefaults()
	s.limits = s.limits.withDefaults()
	if err := s.links.init(); err != nil {
		return nil, err
	}
	if err := s.proxies.init(); err != nil {
		return nil, err
	}
	if s.trustProxy && len(s.proxies.prefixes) == 0 {
		return nil, &ConfigError{Option: "WithTrustProxyHeaders", Reason: "name the proxies to trust with WithTrustedProxies"}
	}
	if s.metricsAdr != "" {
		s.metricsOn = false
	}

	if s.contract, err = contract.Shared(); err != nil {
		return nil, err
	}
	// The kit authenticates before validating (a stranger learns nothing
	// about parameters), so the filter's own security check is a no-op.
	// Bodies are checked by the compiled schemas (checkBody).
	s.reqOpts = specroute.FilterOptions()
	s.reqOpts.ExcludeRequestBody = true
	if fb := s.contract.Fallbacks(); len(fb) > 0 {
		s.logger.Warn("contract: some body schemas are validated by kin-openapi, not compiled", "schemas", fb)
	}
	s.logger.Debug("contract: " + s.contract.Summary())

	s.metrics = newMetrics()
	if limited {
		s.limiters = newLimiters(s.rateLimit, s.metrics.enableRateLimit())
	}

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	e.JSONSerializer = jsonSerializer{}
	e.IPExtractor = s.clientIP
	s.echo = e

	e.Use(s.requestID)
	e.Use(s.tracing()...)
	e.Use(s.observe, s.recover, s.limitURL, s.limitBody)

	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	if s.metricsOn {
		e.GET("/metrics", echo.WrapHandler(s.MetricsHandler()))
	}
	if s.token != nil {
		// Any method: the token handler answers non-POST itself, in RFC 6749 form.
		// With WithRateLimit, limited per client IP (nobody is authenticated
		// yet), and its 429 is in RFC 6749 form too.
		e.Any("/oauth/token", echo.WrapHandler(s.token.TokenHandler()), s.limitTokenByIP)
	}

	if err := s.mountDocs(e); err != nil {
		return nil, err
	}

	apiserver.RegisterHandlersWithOptions(e, apiserver.NewStrictHandler(impl, nil), apiserver.RegisterHandlersOptions{
		BaseURL:              contract.BasePath,
		OperationMiddlewares: s.operationMiddlewares(),
	})
	return s, nil
}

// operationMiddlewares binds each operation of the compiled contract to the
// Echo route the generated code registers for it. Echo's router then finds
// the route once per request and the kit reuses that match for
// authentication, request validation and response validation: no second
// router runs.
func (s *Server) operationMiddlewares() map[string][]echo.MiddlewareFunc {
	out := make(map[string][]echo.MiddlewareFunc)
	doc := s.contract.Doc()
	for _, op := range s.contract.Operations() {
		sec := op.Route.Operation.Security
		if sec == nil {
			sec = &doc.Security
		}
		mws := []echo.MiddlewareFunc{s.operation(op, len(*sec) > 0)}
		out[op.ID] = append(mws, s.extra...)
	}
	return out
}

// Handler returns the server as an http.Handler: the API under
// contract.BasePath, /oauth/token (with WithTokenEndpoint), /healthz, /readyz
// and /metrics.
func (s *Server) Handler() http.Handler { return s.echo }

// Echo returns the underlying Echo instance, for adding routes of one's own.
// Routes added to it get the kit's request ids, logging, metrics, panic
// recovery, body limit and error model, but no authentication.
func (s *Server) Echo() *echo.Echo { return s.echo }

// Registry returns the server's own Prometheus registry (the one /metrics
// serves), so an implementation can register its metrics beside the kit's.
func (s *Server) Registry() *prometheus.Registry { return s.metrics.reg }

func (t Timeouts) withDefaults() Timeouts {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&t.ReadHeader, 10*time.Second)
	def(&t.Read, 30*time.Second)
	def(&t.Write, 60*time.Second)
	def(&t.Idle, DefaultIdleTimeout)
	def(&t.Shutdown, 15*time.Second)
	return t
}

// ListenAndServe serves on addr until ctx ends, then shuts down gracefully:
// it stops accepting, lets in-flight requests finish (up to
// Timeouts.Shutdown) and returns nil. ready, when not nil, is called with the
// bound address once the listener is open, which lets tests use ":0".
func (s *Server) ListenAndServe(ctx context.Context, addr string, ready func(net.Addr)) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("server: listen: %w", err)
	}
	return s.Serve(ctx, ln, ready)
}

// Serve is ListenAndServe on a listener the caller opened, for programs
// that must know the address is theirs before they acquire anything else
// (interop serve listens before it creates its database file). Serve closes
// ln when it returns. It holds at most WithMaxConnections connections of ln
// open at once; at the limit, a new client gets the slot of the connection
// idle longest between requests (or of one that has sent no full request for a
// second), closed for it, and waits only while every connection is busy.
// With WithMetricsAddr it also serves /metrics on that address, failing when
// it cannot listen there.
func (s *Server) Serve(ctx context.Context, ln net.Listener, ready func(net.Addr)) error {
	api := s.httpServer(s.echo)
	if s.limits.maxConns > 0 {
		cl := newConnLimiter(ln, s.limits.maxConns, s.metrics.connsShed.Inc)
		api.ConnState = cl.trackState
		ln = cl
	}
	servers := []*http.Server{api}
	listeners := []net.Listener{ln}
	if s.metricsAdr != "" {
		var lc net.ListenConfig
		mln, err := lc.Listen(ctx, "tcp", s.metricsAdr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("server: metrics listen: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", s.MetricsHandler())
		servers = append(servers, s.httpServer(mux))
		listeners = append(listeners, mln)
		s.logger.Info("serving metrics", "addr", mln.Addr().String())
	}
	errc := make(chan error, len(servers))
	for i, srv := range servers {
		go func() { errc <- srv.Serve(listeners[i]) }()
	}
	s.logger.Info("listening", "addr", ln.Addr().String())
	if ready != nil {
		ready(ln.Addr())
	}
	var serveErr error
	select {
	case serveErr = <-errc:
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.timeouts.Shutdown)
	defer cancel()
	var errs []error
	for _, srv := range servers {
		errs = append(errs, srv.Shutdown(sctx))
	}
	remaining := len(servers)
	if serveErr != nil {
		remaining--
	}
	for range remaining {
		if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
	}
	if serveErr != nil {
		return fmt.Errorf("server: serve: %w", serveErr)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("server: shutdown: %w", err)
	}
	s.logger.Info("shut down")
	return nil
}

// httpServer is the http.Server for h with the kit's timeouts and limits.
func (s *Server) httpServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: s.timeouts.ReadHeader,
		ReadTimeout:       s.timeouts.Read,
		WriteTimeout:      s.timeouts.Write,
		IdleTimeout:       s.timeouts.Idle,
		MaxHeaderBytes:    s.limits.maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
	}
}

// healthz says the process is up; it checks nothing else, so an orchestrator
// does not restart a server whose database is briefly away.
func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readyz runs the readiness check with a short deadline; failing, it answers
// 503 so a load balancer stops sending traffic.
func (s *Server) readyz(c echo.Context) error {
	if s.ready != nil {
		ctx, cancel := context.WithTimeout(c.Request().Context(), 5*time.Second)
		defer cancel()
		if err := s.ready(ctx); err != nil {
			s.logger.WarnContext(ctx, "not ready", "request_id", RequestID(ctx), "err", err)
			return &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Message: "not ready"}
		}
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}

// handleError is Echo's HTTPErrorHandler: every error that reaches it, from
// a handler, a middleware or Echo's router, leaves as the spec's error body.
func (s *Server) handleError(err error, c echo.Context) {
	r := c.Request()
	ctx := r.Context()
	if c.Response().Committed {
		s.logger.ErrorContext(ctx, "error after response was committed", "request_id", RequestID(ctx), "err", err)
		return
	}
	e, public := s.publicError(c, err)
	if !public || serverFailure(e.Status) {
		s.logger.ErrorContext(ctx, "request failed", "request_id", RequestID(ctx), "operation", operationOf(c),
			"method", r.Method, "path", r.URL.Path, "err", err)
	}
	s.writeError(c, e)
}

// serverFailure reports whether a status is the server's failure, logged at
// ERROR: a 5xx, except 501, a server saying what it does not do
// (Unimplemented).
func serverFailure(status int) bool {
	return status >= 500 && status != http.StatusNotImplemented
}

func (s *Server) writeError(c echo.Context, e *Error) {
	h := c.Response().Header()
	h.Del("Content-Length")
	// Set, not defaulted: a handler may have set another type before failing.
	h.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	if e.Status == http.StatusUnauthorized && h.Get("WWW-Authenticate") == "" {
		h.Set("WWW-Authenticate", `Bearer realm="interop"`)
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(e.Status)
		return
	}
	_ = c.JSONBlob(e.Status, e.marshal())
}

// operationOf names the operation of a request for logs and metrics: the
// operationId, the kit endpoint's path, or "unmatched" so that scanners
// probing random paths cannot blow up the metric label space.
func operationOf(c echo.Context) string {
	if op, ok := c.Get(ctxOperation).(string); ok {
		return op
	}
	switch p := c.Path(); p {
	case "/healthz", "/readyz", "/metrics", "/oauth/token":
		return strings.TrimPrefix(p, "/")
	case "/", docs.PagePath, docs.PagePath + "/", docs.YAMLPath, docs.JSONPath, docs.ScriptPath, docs.LicensePath:
		return "docs"
	}
	return "unmatched"
}
