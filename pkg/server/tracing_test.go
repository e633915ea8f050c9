package server_test

import (
	"context"
	"net/http"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/interop-data/interop/gen/apiserver"
	"github.com/interop-data/interop/pkg/server"
)

func recordingProvider() (*sdktrace.TracerProvider, *tracetest.InMemoryExporter) {
	exp := tracetest.NewInMemoryExporter()
	return sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp)), exp
}

func attrs(s tracetest.SpanStub) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, a := range s.Attributes {
		m[a.Key] = a.Value
	}
	return m
}

// With a tracer provider, each request is one server span named after its
// route, with its status, operation and request id, continuing the caller's
// trace; a failed request's span carries its error status.
func TestTracing(t *testing.T) {
	tp, exp := recordingProvider()
	prev := otel.GetTextMapPropagator()
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() { otel.SetTextMapPropagator(prev) })

	f := &fake{listPersons: func(context.Context, apiserver.ListPersonsRequestObject) (apiserver.ListPersonsResponseObject, error) {
		return personsPage(2), nil
	}}
	e := newEnv(t, f, server.WithTracerProvider(tp))

	parent := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1, 2, 3}, SpanID: trace.SpanID{4, 5, 6}, TraceFlags: trace.FlagsSampled,
	})
	traceparent := "00-" + parent.TraceID().String() + "-" + parent.SpanID().String() + "-01"
	ok := e.do(http.MethodGet, base+"/rostering/persons", "", "traceparent", traceparent)
	if ok.Code != 200 {
		t.Fatalf("list persons: %d %s", ok.Code, ok.Body)
	}
	denied := e.do(http.MethodGet, base+"/rostering/persons", "", "Authorization", "Bearer nope")
	if denied.Code != 401 {
		t.Fatalf("bad token: %d", denied.Code)
	}

	spans := exp.GetSpans()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want 2: %v", len(spans), spans)
	}
	s := spans[0]
	a := attrs(s)
	if s.Name != "GET "+base+"/rostering/persons" || s.SpanKind != trace.SpanKindServer {
		t.Errorf("span %q kind %v", s.Name, s.SpanKind)
	}
	if s.Parent.TraceID() != parent.TraceID() || s.Parent.SpanID() != parent.SpanID() {
		t.Errorf("span's parent %v, want the caller's %v", s.Parent, parent)
	}
	if a["interop.operation"].AsString() != "listPersons" || a["interop.request_id"].AsString() != ok.Header().Get(server.HeaderRequestID) {
		t.Errorf("attributes %v, want operation listPersons and request id %s", a, ok.Header().Get(server.HeaderRequestID))
	}
	if a["http.status_code"].AsInt64() != 200 || a["http.route"].AsString() != base+"/rostering/persons" {
		t.Errorf("attributes %v", a)
	}
	if s.Status.Code == codes.Error {
		t.Errorf("status %v for a 200", s.Status)
	}
	d := attrs(spans[1])
	if d["http.status_code"].AsInt64() != 401 || d["interop.operation"].AsString() != "listPersons" {
		t.Errorf("the denied request's span: %v", d)
	}
}

// Without the option nothing is traced, not even through the global
// tracer provider.
func TestNoTracingByDefault(t *testing.T) {
	tp, exp := recordingProvider()
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(tp)
	t.Cleanup(func() { otel.SetTracerProvider(prev) })

	e := newEnv(t, &fake{})
	e.do(http.MethodGet, "/healthz", "")
	e.do(http.MethodGet, base+"/rostering/persons", "")
	if n := len(exp.GetSpans()); n != 0 {
		t.Fatalf("%d spans without WithTracerProvider", n)
	}
}
