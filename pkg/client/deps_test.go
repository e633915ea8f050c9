package client

import (
	"os/exec"
	"strings"
	"testing"
)

// forbiddenDeps are what a client must not bring into an integrator's
// program: a web framework, an HTTP router, the server kit.
var forbiddenDeps = []string{
	"github.com/labstack/echo",
	"github.com/gorilla/mux",
	"github.com/interop-data/interop/pkg/server",
	"github.com/interop-data/interop/gen/apiserver",
}

// The client, and the generated models and client it exposes, depend on no
// server code (docs/DEPENDENCIES.md has the numbers).
func TestNoServerDependencies(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list; skipped with -short")
	}
	for _, pkg := range []string{".", "../../gen/models", "../../gen/apiclient"} {
		out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, bad := range forbiddenDeps {
				if dep == bad || strings.HasPrefix(dep, bad+"/") {
					t.Errorf("%s depends on %s", pkg, dep)
				}
			}
		}
	}
}
