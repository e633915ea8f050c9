package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/interop-data/interop/gen/apiserver"
	"github.com/interop-data/interop/pkg/server"
)

// BenchmarkListPersons100 sends one list request answering 100 persons
// through the whole Handler (request id, logging, metrics, authentication,
// routing, the generated binding, JSON encoding) with validation off, on
// requests only, and on requests and responses.
func BenchmarkListPersons100(b *testing.B) {
	page := personsPage(100)
	impl := &fake{listPersons: func(context.Context, apiserver.ListPersonsRequestObject) (apiserver.ListPersonsResponseObject, error) {
		return page, nil
	}}
	quiet := server.WithLogger(slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelError})))
	for _, bc := range []struct {
		name string
		opts []server.Option
	}{
		{"validation=off", []server.Option{server.WithRequestValidation(false), server.WithResponseValidation(server.ValidationOff)}},
		{"validation=request", []server.Option{server.WithRequestValidation(true), server.WithResponseValidation(server.ValidationOff)}},
		{"validation=request+response", []server.Option{server.WithRequestValidation(true), server.WithResponseValidation(server.ValidationEnforce)}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			e := newEnv(b, impl, append(bc.opts, quiet)...)
			h := e.srv.Handler()
			req := httptest.NewRequest("GET", base+"/rostering/persons?page=0&page_size=100", nil)
			req.Header.Set("Authorization", "Bearer "+e.token)
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
			}
		})
	}
}
