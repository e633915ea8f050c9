package server_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/interop-data/interop/pkg/server"
	"github.com/interop-data/interop/pkg/server/auth"
)

// A request outside the API's mount path, what a client with a base URL
// lacking /v2/interop/data sends, is told what the base URL must end with;
// an unknown path under the mount is not.
func TestNotFoundSaysWhereTheAPIIs(t *testing.T) {
	t.Parallel()
	srv, err := server.New(server.Unimplemented{}, server.WithTokenEndpoint(auth.NewOAuth2(auth.NewMemoryClientStore(), auth.NewMemoryTokenStore())))
	if err != nil {
		t.Fatal(err)
	}
	h := srv.Handler()
	for path, hint := range map[string]bool{
		"/rostering/schools":            true,
		"/v2/rostering/schools":         true,
		"/v2/interop/data/nothing/here": false,
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		var body struct {
			Error struct{ Code, Message string }
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != 404 || body.Error.Code != "not_found" {
			t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body.String())
		}
		says := strings.Contains(body.Error.Message, "base URL must end with /v2/interop/data")
		if says != hint {
			t.Errorf("GET %s: %q (want the base URL hint: %v)", path, body.Error.Message, hint)
		}
	}
}
