// Command opgen writes the per-operation layers generated from the spec (see
// package internal/opgen): pkg/client/operations.gen.go,
// pkg/server/unimplemented.gen.go and pkg/conformance/operations.gen.go.
// `make generate` runs it from the module root after oapi-codegen.
//
//	go run ./internal/cmd/opgen [-spec api/openapi.yaml] [-root .]
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/interop-data/interop/internal/opgen"
)

func main() {
	spec := flag.String("spec", "api/openapi.yaml", "the OpenAPI document")
	root := flag.String("root", ".", "the module root the generated files are written under")
	flag.Parse()
	if err := run(*spec, *root); err != nil {
		fmt.Fprintln(os.Stderr, "opgen:", err)
		os.Exit(1)
	}
}

func run(specPath, root string) error {
	s, err := opgen.Load(specPath)
	if err != nil {
		return err
	}
	files, err := s.Generate()
	if err != nil {
		return err
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := filepath.Join(root, n)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, files[n], 0o644); err != nil {
			return err
		}
	}
	return nil
}
