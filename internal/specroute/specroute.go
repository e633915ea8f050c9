package specroute

import (
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/interop-data/interop/internal/filteropts"
	"github.com/interop-data/interop/pkg/contract"
)

// NewRouter loads the spec and returns a router that finds the operation of a
// request whatever its host: the contract's own path matcher (contract.Compiled.Find)
// behind kin-openapi's routers.Router interface, so that validating needs no
// HTTP router library.
func NewRouter() (*openapi3.T, routers.Router, error) {
	doc, err := contract.Load()
	if err != nil {
		return nil, nil, err
	}
	c, err := contract.Compile(doc)
	if err != nil {
		return nil, nil, err
	}
	return doc, router{c}, nil
}

type router struct{ c *contract.Compiled }

func (r router) FindRoute(req *http.Request) (*routers.Route, map[string]string, error) {
	p := req.URL.EscapedPath()
	rel, ok := strings.CutPrefix(p, contract.BasePath)
	if !ok || rel != "" && rel[0] != '/' {
		return nil, nil, routers.ErrPathNotFound
	}
	o, params, err := r.c.Find(req.Method, rel)
	if err != nil {
		if strings.HasPrefix(err.Error(), "method") {
			return nil, nil, routers.ErrMethodNotAllowed
		}
		return nil, nil, routers.ErrPathNotFound
	}
	return o.Route, params, nil
}

// FilterOptions returns the openapi3filter options of the contract's
// validator (contract.SchemaOptions, no defaults written, no security check).
func FilterOptions() *openapi3filter.Options { return filteropts.New(contract.SchemaOptions()) }
