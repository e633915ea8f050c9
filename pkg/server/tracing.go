package server

import (
	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/contrib/instrumentation/github.com/labstack/echo/otelecho"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// TracerName is the service name the kit's spans carry (the server.address
// of otelecho's attributes falls back to it).
const TracerName = "interop"

// WithTracerProvider traces every request with OpenTelemetry (the contrib
// otelecho middleware): one server span per request, named after its route,
// with the HTTP attributes of the semantic conventions and the kit's own
// interop.operation (the operationId, or "docs", "healthz", ...) and
// interop.request_id. The incoming trace context is read with the global
// propagator (otel.SetTextMapPropagator). Without this option nothing is
// traced, whatever the global tracer provider.
func WithTracerProvider(tp trace.TracerProvider) Option { return func(s *Server) { s.tracer = tp } }

// tracing returns the middleware that traces requests, or none when no
// tracer provider is configured. It goes after requestID and before observe:
// observe renders errors, so the span ends with the status that was sent,
// and the access log line is written inside the span.
func (s *Server) tracing() []echo.MiddlewareFunc {
	if s.tracer == nil {
		return nil
	}
	annotate := func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			err := next(c)
			ctx := c.Request().Context()
			trace.SpanFromContext(ctx).SetAttributes(
				attribute.String("interop.operation", operationOf(c)),
				attribute.String("interop.request_id", RequestID(ctx)),
			)
			return err
		}
	}
	return []echo.MiddlewareFunc{otelecho.Middleware(TracerName, otelecho.WithTracerProvider(s.tracer)), annotate}
}
