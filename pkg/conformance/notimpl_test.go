package conformance_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/interop-data/interop/pkg/conformance"
	"github.com/interop-data/interop/pkg/server"
	"github.com/interop-data/interop/pkg/server/auth"
)

// A server built on the kit that implements nothing yet: every operation
// answers 501 (server.Unimplemented). The suite counts that apart, as not
// implemented, instead of reporting one contract breach per call, and fails
// nothing.
func TestUnimplementedServerIsNotImplementedNotFailing(t *testing.T) {
	tenants := []uuid.UUID{uuid.New(), uuid.New()}
	clients := auth.NewMemoryClientStore(
		auth.Client{ID: "a", TenantID: tenants[0], SecretHash: auth.HashSecret("sa")},
		auth.Client{ID: "b", TenantID: tenants[1], SecretHash: auth.HashSecret("sb")},
	)
	srv, err := server.New(server.Unimplemented{}, server.WithTokenEndpoint(auth.NewOAuth2(clients, auth.NewMemoryTokenStore())),
		server.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	rep, err := conformance.Run(t.Context(), conformance.Config{
		BaseURL: ts.URL + "/v2/interop/data",
		Clients: []conformance.Credentials{{ClientID: "a", ClientSecret: "sa"}, {ClientID: "b", ClientSecret: "sb"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	passed, failed, _ := rep.Counts()
	checks, ops := rep.NotImplemented()
	if failed != 0 || !rep.OK() {
		dump(t, rep)
		t.Fatalf("%d checks failed against a server that only answers 501", failed)
	}
	// Operations reached with valid requests are not implemented; the ones
	// that need ids from them are skipped, saying why.
	spec := 0
	for _, res := range rep.Results {
		if res.Group != "spec" {
			continue
		}
		spec++
		if res.Verdict != conformance.NotImplemented && (res.Verdict != conformance.Skip || !strings.Contains(res.Reason, "not implemented yet")) {
			t.Errorf("spec/%s: %s (%s)", res.Name, res.Verdict, res.Reason)
		}
	}
	if spec != 30 || len(ops) < 10 || checks <= len(ops) || passed == 0 {
		dump(t, rep)
		t.Fatalf("%d checks and %d operations not implemented, %d passed, %d spec results", checks, len(ops), passed, spec)
	}
	var text, js bytes.Buffer
	_ = rep.WriteText(&text)
	_ = rep.WriteJSON(&js)
	if !strings.Contains(text.String(), "0 failed") || !strings.Contains(text.String(), fmt.Sprintf("not implemented (TODO: %d operation(s) answer 501 Not Implemented: listGradingCategories2022, listGradingCategories, ", len(ops))) ||
		!strings.Contains(text.String(), "TODO  ") || strings.Contains(text.String(), "not one the contract declares") {
		t.Errorf("text report:\n%s", text.String())
	}
	m := decode(js.Bytes())
	if m["not_implemented"].(interface{ String() string }).String() == "0" || len(m["not_implemented_operations"].([]any)) != len(ops) {
		t.Errorf("json report lacks the not-implemented counts: %v %v", m["not_implemented"], m["not_implemented_operations"])
	}
}

// One operation not implemented, the rest correct: that operation and the
// checks that need it are not implemented, nothing fails, and everything
// else still passes.
func TestOneOperationNotImplemented(t *testing.T) {
	tg := fakeTarget(t)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rel := tg.rel(r); rel == "/rostering/terms" || strings.HasPrefix(rel, "/rostering/terms/") {
			writeJSON(w, http.StatusNotImplemented, map[string]any{"error": map[string]any{"status": 501, "code": "not_implemented", "message": "later"}})
			return
		}
		tg.inner.ServeHTTP(w, r)
	})
	rep, err := conformance.Run(t.Context(), tg.serve(t, h))
	if err != nil {
		t.Fatal(err)
	}
	checks, ops := rep.NotImplemented()
	if !rep.OK() || !slices.Equal(ops, []string{"listTerms", "findTerm"}) && !slices.Equal(ops, []string{"findTerm", "listTerms"}) {
		dump(t, rep)
		t.Fatalf("not implemented: %d checks, operations %v; OK %v", checks, ops, rep.OK())
	}
	for _, res := range rep.Results {
		if res.Verdict == conformance.NotImplemented && !strings.Contains(res.Name+res.Reason, "Term") {
			t.Errorf("%s/%s not implemented: %s", res.Group, res.Name, res.Reason)
		}
	}
}
