package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics live in a registry of their own per Server, so tests and programs
// can build many servers without "duplicate collector" panics.
type metrics struct {
	reg        *prometheus.Registry
	requests   *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	validation *prometheus.CounterVec
	panics     prometheus.Counter
	connsShed  prometheus.Counter
	// rateLimited is registered only with WithRateLimit.
	rateLimited *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "interop_http_requests_total",
			Help: "HTTP requests served, by operation, method and status code.",
		}, []string{"operation", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "interop_http_request_duration_seconds",
			Help:    "Time to serve a request, by operation and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"operation", "method"}),
		validation: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "interop_validation_failures_total",
			Help: "Requests and responses that failed validation against the spec, by operation and direction.",
		}, []string{"operation", "direction"}),
		panics: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "interop_http_panics_total",
			Help: "Handler panics recovered and answered with 500.",
		}),
	}
	m.connsShed = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "interop_connections_shed_total",
		Help: "Idle or silent connections closed to make room for a new one at the connection limit.",
	})
	m.reg.MustRegister(m.requests, m.duration, m.validation, m.panics, m.connsShed,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// enableRateLimit registers the rate limiter's metrics and returns the
// setter of its key gauge.
func (m *metrics) enableRateLimit() func(int) {
	m.rateLimited = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "interop_rate_limited_total",
		Help: "Requests refused with 429 by the rate limiter, by operation.",
	}, []string{"operation"})
	keys := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "interop_rate_limit_keys",
		Help: "Callers (client ids and IPs) whose token buckets the rate limiter holds.",
	})
	m.reg.MustRegister(m.rateLimited, keys)
	return func(n int) { keys.Set(float64(n)) }
}

func (m *metrics) observe(op, method string, status int, d time.Duration) {
	method = methodLabel(method)
	m.requests.WithLabelValues(op, method, statusLabel(status)).Inc()
	m.duration.WithLabelValues(op, method).Observe(d.Seconds())
}

// methodLabel maps a request method to a closed set: the methods of RFC 9110
// and PATCH as they are, anything else to "other". The method is the
// client's to choose (any token), and each label value is a series kept for
// the life of the process, so an open set let 20,000 requests with made-up
// methods add 360,000 series.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "other"
}

// statusLabel keeps the code label to the three-digit statuses; the kit
// writes no other, but an extension's handler might.
func statusLabel(status int) string {
	if status < 100 || status > 599 {
		return "other"
	}
	return strconv.Itoa(status)
}

func (m *metrics) validationFailure(op, direction string) {
	m.validation.WithLabelValues(op, direction).Inc()
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// WithMetricsEndpoint serves /metrics on the API handler (on, the default) or
// not (off). The default keeps what scrapers of earlier versions read; the
// series hold no tenant data (operation ids, methods, status codes, Go
// runtime and process figures), but they do tell anyone who can reach the
// API how busy it is and which Go it runs. In production, prefer
// WithMetricsAddr (a listener only the scraper reaches), or turn it off and
// mount MetricsHandler behind your own authentication.
func WithMetricsEndpoint(on bool) Option { return func(s *Server) { s.metricsOn = on } }

// WithMetricsAddr makes ListenAndServe serve /metrics on a listener of its
// own at addr (for example "127.0.0.1:9090") instead of on the API handler.
func WithMetricsAddr(addr string) Option { return func(s *Server) { s.metricsAdr = addr } }

// WithMetricsMiddleware wraps /metrics, wherever it is served, in mw: the
// operator's own authentication, for example.
func WithMetricsMiddleware(mw func(http.Handler) http.Handler) Option {
	return func(s *Server) { s.metricsMW = mw }
}

// MetricsHandler serves the server's Prometheus registry (wrapped in the
// WithMetricsMiddleware middleware, if any), to mount wherever the operator
// wants it.
func (s *Server) MetricsHandler() http.Handler {
	h := s.metrics.handler()
	if s.metricsMW != nil {
		h = s.metricsMW(h)
	}
	return h
}
