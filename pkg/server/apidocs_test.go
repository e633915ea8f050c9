package server_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/interop-data/interop/api"
	"github.com/interop-data/interop/pkg/server"
	"github.com/interop-data/interop/pkg/server/docs"
)

// Every kit server serves the reference without a token, unless told not to;
// its routes are counted under one metrics label, not as "unmatched".
func TestDocsServedByTheKit(t *testing.T) {
	e := newEnv(t, &fake{})
	for _, p := range []string{docs.PagePath, docs.YAMLPath, docs.JSONPath, docs.ScriptPath} {
		if rec := e.do(http.MethodGet, p, "", "Authorization", ""); rec.Code != 200 {
			t.Errorf("GET %s without a token: %d", p, rec.Code)
		}
	}
	if rec := e.do(http.MethodGet, docs.YAMLPath, ""); !bytes.Equal(rec.Body.Bytes(), api.Spec) {
		t.Error("/openapi.yaml is not the embedded spec")
	}
	if rec := e.do(http.MethodHead, docs.PagePath, ""); rec.Code != 200 || rec.Body.Len() != 0 {
		t.Errorf("HEAD /docs: %d with %d bytes", rec.Code, rec.Body.Len())
	}
	if rec := e.do(http.MethodGet, "/", ""); rec.Code != http.StatusFound || rec.Header().Get("Location") != "docs" {
		t.Errorf("GET /: %d to %q", rec.Code, rec.Header().Get("Location"))
	}
	// A wrong method gets the kit's error model.
	rec := e.do(http.MethodPost, docs.PagePath, "")
	wantError(t, rec, http.StatusMethodNotAllowed, "method_not_allowed")
	metrics := e.do(http.MethodGet, "/metrics", "").Body.String()
	if !strings.Contains(metrics, `operation="docs"`) {
		t.Error("the reference's requests are not labelled operation=\"docs\" in /metrics")
	}

	off := newEnv(t, &fake{}, server.WithDocs(false))
	for _, p := range []string{"/", docs.PagePath, docs.YAMLPath, docs.JSONPath, docs.ScriptPath} {
		wantError(t, off.do(http.MethodGet, p, ""), http.StatusNotFound, "not_found")
	}
}
