package server

import (
	"net/http"
	"sync"

	"github.com/labstack/echo/v4"

	"github.com/interop-data/interop/api"
	"github.com/interop-data/interop/pkg/server/docs"
)

// WithDocs serves the API reference (on by default): the spec rendered at
// /docs, the spec itself at /openapi.yaml and /openapi.json, and / redirects
// to /docs. They need no authentication: the spec is public. Pass false to
// serve none of them.
func WithDocs(on bool) Option { return func(s *Server) { s.noDocs = !on } }

// apiDocs renders the reference once per process: every server of the kit
// serves the same embedded spec, and the handler is read-only.
var apiDocs = sync.OnceValues(func() (*docs.Handler, error) { return docs.New(api.Spec) })

// mountDocs adds the reference's routes to e.
func (s *Server) mountDocs(e *echo.Echo) error {
	if s.noDocs {
		return nil
	}
	h, err := apiDocs()
	if err != nil {
		return err
	}
	methods := []string{http.MethodGet, http.MethodHead}
	for _, p := range h.Routes() {
		e.Match(methods, p, echo.WrapHandler(h))
	}
	e.Match(methods, "/", func(c echo.Context) error {
		return c.Redirect(http.StatusFound, "docs")
	})
	return nil
}
