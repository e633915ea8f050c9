package specroute_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/interop-data/interop/internal/specroute"
)

// The router must find operations whatever host the request names: the
// production host, the reference server's, or an arbitrary test host.
func TestRouterIgnoresTheHost(t *testing.T) {
	_, router, err := specroute.NewRouter()
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{
		"https://api.us2.kimonocloud.com/v2/interop/data/rostering/orgs",
		"http://localhost:8080/v2/interop/data/rostering/orgs",
		"http://127.0.0.1:40123/v2/interop/data/rostering/orgs",
	} {
		route, _, err := router.FindRoute(httptest.NewRequest("GET", u, nil))
		if err != nil {
			t.Errorf("%s: %v", u, err)
			continue
		}
		if route.Operation.OperationID != "listOrgs" {
			t.Errorf("%s: matched %s", u, route.Operation.OperationID)
		}
	}
	if _, _, err := router.FindRoute(httptest.NewRequest("GET", "http://x/rostering/orgs", nil)); err == nil {
		t.Error("a path outside the base path matched an operation")
	}
}

// The formats and bounds the spec names are checked with the project's options.
func TestFilterOptionsCheckFormatsAndBounds(t *testing.T) {
	_, router, err := specroute.NewRouter()
	if err != nil {
		t.Fatal(err)
	}
	validate := func(url string) error {
		req := httptest.NewRequest("GET", url, nil)
		route, params, err := router.FindRoute(req)
		if err != nil {
			t.Fatal(err)
		}
		return openapi3filter.ValidateRequest(context.Background(), &openapi3filter.RequestValidationInput{
			Request: req, PathParams: params, Route: route, Options: specroute.FilterOptions(),
		})
	}
	if err := validate("/v2/interop/data/rostering/orgs/2a4a2e06-7755-43bb-9766-4f398079ef8c"); err != nil {
		t.Errorf("a valid uuid was rejected: %v", err)
	}
	if err := validate("/v2/interop/data/rostering/orgs/not-a-uuid"); err == nil || !strings.Contains(err.Error(), "uuid") {
		t.Errorf("a malformed uuid was not rejected as such: %v", err)
	}
	if err := validate("/v2/interop/data/rostering/orgs?page_size=2001"); err == nil {
		t.Error("page_size above the maximum passed")
	}
}
