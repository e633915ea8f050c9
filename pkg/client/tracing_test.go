package client

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// With a tracer provider, every request on the wire is a client span: each
// attempt of a retried call under the caller's span, with the trace context
// sent to the server, and the token request (a token is shared by calls, so
// it starts a trace of its own).
func TestTracing(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	prev := otel.GetTextMapPropagator()
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() { otel.SetTextMapPropagator(prev) })

	f := newFakeAPI(t)
	var calls atomic.Int32
	var mu sync.Mutex
	var seen []string
	f.handle("GET", "/rostering/persons", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("traceparent"))
		mu.Unlock()
		if calls.Add(1) == 1 {
			writeError(w, http.StatusServiceUnavailable, "unavailable", "try again")
			return
		}
		writeJSON(w, 200, personsPage(0, 1, nil))
	})
	c := f.client(t, nil, WithClientCredentials("id", "secret", ""), WithTracerProvider(tp))

	ctx, parent := tp.Tracer("test").Start(context.Background(), "export")
	for _, err := range c.Persons(ctx, nil) {
		if err != nil {
			t.Fatal(err)
		}
	}
	parent.End()

	var client []tracetest.SpanStub
	for _, s := range exp.GetSpans() {
		if s.SpanKind == trace.SpanKindClient {
			client = append(client, s)
		}
	}
	if len(client) != 3 {
		t.Fatalf("%d client spans, want 3 (token, 503, 200): %v", len(client), client)
	}
	methods := map[string]int{}
	for _, s := range client {
		method := ""
		for _, a := range s.Attributes {
			if a.Key == "http.request.method" {
				method = a.Value.AsString()
			}
		}
		methods[method]++
		if method == "GET" && s.Parent.SpanID() != parent.SpanContext().SpanID() {
			t.Errorf("span %q is not a child of the caller's span", s.Name)
		}
	}
	if methods["POST"] != 1 || methods["GET"] != 2 {
		t.Errorf("request methods of the spans: %v, want one POST (token) and two GETs", methods)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, tp := range seen {
		if len(tp) < 55 || tp[3:35] != parent.SpanContext().TraceID().String() {
			t.Errorf("the server got traceparent %q, want the caller's trace %s", tp, parent.SpanContext().TraceID())
		}
	}
}

// Without the option nothing is traced, not even through the global
// tracer provider.
func TestNoTracingByDefault(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp)))
	t.Cleanup(func() { otel.SetTracerProvider(prev) })

	f := newFakeAPI(t)
	f.handle("GET", "/rostering/persons", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, personsPage(0, 1, nil))
	})
	for _, err := range f.client(t, nil).Persons(context.Background(), nil) {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := len(exp.GetSpans()); n != 0 {
		t.Fatalf("%d spans without WithTracerProvider", n)
	}
}
