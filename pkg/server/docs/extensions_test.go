package docs

import (
	"net/http"
	"strings"
	"testing"

	"github.com/interop-data/interop/api"
)

// The page's copy of the spec goes without the code generator's extensions
// (x-go-type-skip-optional-pointer under every parameter, x-go-name) and
// keeps those readers need; /openapi.yaml and /openapi.json stay whole.
func TestPageHidesGeneratorExtensions(t *testing.T) {
	t.Parallel()
	h, err := New(api.Spec)
	if err != nil {
		t.Fatal(err)
	}
	page := get(t, h, http.MethodGet, PagePath).Body.String()
	for _, gone := range []string{`"x-go-type-skip-optional-pointer":`, `"x-go-name":`, `"x-go-type":`, `"x-oapi-codegen-`} {
		if strings.Contains(page, gone) { // as a key: the go-types decision names one in its text
			t.Errorf("the page still carries %s", gone)
		}
	}
	for _, kept := range []string{"x-known-values", "x-decision", "x-unconfirmed", "x-object-filter"} {
		if !strings.Contains(page, `"`+kept+`"`) && !strings.Contains(page, `"`+kept+`-`) {
			t.Errorf("the page lost %s", kept)
		}
	}
	for _, p := range []string{YAMLPath, JSONPath} {
		if body := get(t, h, http.MethodGet, p).Body.String(); !strings.Contains(body, "x-go-type-skip-optional-pointer:") && !strings.Contains(body, `"x-go-type-skip-optional-pointer":`) {
			t.Errorf("%s lost the generator's extensions: generators read it", p)
		}
	}
}
