package client

import (
	"net/http"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/trace"
)

// WithTracerProvider traces the client's HTTP calls with OpenTelemetry (the
// contrib otelhttp transport): one client span per request on the wire, so
// each retry and each token request has its own span, as a child of the span
// in the call's context. The trace context goes out in the headers of the
// global propagator (otel.SetTextMapPropagator). Without this option
// nothing is traced, whatever the global tracer provider.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) error { c.tracer = tp; return nil }
}

// traced wraps the transport nearest the wire when tracing is on.
func traced(rt http.RoundTripper, tp trace.TracerProvider) http.RoundTripper {
	if tp == nil {
		return rt
	}
	return otelhttp.NewTransport(rt, otelhttp.WithTracerProvider(tp))
}
