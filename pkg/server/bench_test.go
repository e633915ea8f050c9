package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/interop-data/interop/gen/apiserver"
	"github.com/interop-data/interop/internal/cputime"
	"github.com/interop-data/interop/pkg/server"
)

// BenchmarkListPersons sends one list request answering 100 or 2000
// persons through the whole Handler (request id, logging, metrics,
// authentication, routing, the generated binding, JSON encoding) with
// validation off, on requests only, and on requests and responses (enforce,
// the default): the CPU a production server pays per request for checking
// the contract.
func BenchmarkListPersons(b *testing.B) {
	quiet := server.WithLogger(slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelError})))
	for _, n := range []int{100, 2000} {
		page := personsPage(n)
		impl := &fake{listPersons: func(context.Context, apiserver.ListPersonsRequestObject) (apiserver.ListPersonsResponseObject, error) {
			return page, nil
		}}
		for _, bc := range []struct {
			name string
			opts []server.Option
		}{
			{"validation=off", []server.Option{server.WithRequestValidation(false), server.WithResponseValidation(server.ValidationOff)}},
			{"validation=request", []server.Option{server.WithRequestValidation(true), server.WithResponseValidation(server.ValidationOff)}},
			{"validation=enforce", []server.Option{server.WithRequestValidation(true), server.WithResponseValidation(server.ValidationEnforce)}},
		} {
			b.Run(fmt.Sprintf("persons=%d/%s", n, bc.name), func(b *testing.B) {
				e := newEnv(b, impl, append(bc.opts, quiet)...)
				h := e.srv.Handler()
				req := httptest.NewRequest("GET", fmt.Sprintf("%s/rostering/persons?page=0&page_size=%d", base, n), nil)
				req.Header.Set("Authorization", "Bearer "+e.token)
				b.ReportAllocs()
				defer cputime.Measure(b)()
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
}
