package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// widgets is an operation the spec does not have, with a find beside it.
const widgets = `  /rostering/widgets:
    get:
      tags: [Rostering]
      operationId: listWidgets
      summary: List all Widgets
      parameters:
        - $ref: '#/components/parameters/PageParam'
        - $ref: '#/components/parameters/PageSizeParam'
      responses:
        '200': {$ref: '#/components/responses/CoursesPage'}
        '400': {$ref: '#/components/responses/BadRequest'}
  /rostering/widgets/{id}:
    parameters:
      - $ref: '#/components/parameters/OrgIdPathParam'
    get:
      tags: [Rostering]
      operationId: findWidget
      summary: Find a Widget by $sys.id
      responses:
        '200': {$ref: '#/components/responses/CourseFound'}
        '404': {$ref: '#/components/responses/NotFound'}
`

// A new operation in the spec gets an iterator and a find helper in the
// client, a stub in the server kit and a place in the conformance tables,
// from the generator alone.
func TestNewOperationReachesEveryLayer(t *testing.T) {
	spec, err := os.ReadFile("../../../api/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(spec), "\npaths:\n", "\npaths:\n"+widgets, 1)
	if text == string(spec) {
		t.Fatal("the spec has no paths: line to append to")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "openapi.yaml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run(p, dir); err != nil {
		t.Fatal(err)
	}

	client := funcs(t, filepath.Join(dir, "pkg/client/operations.gen.go"))
	for _, want := range []string{"Client.Widgets", "Client.FindWidget", "Client.Courses"} {
		if !client[want] {
			t.Errorf("the client has no %s", want)
		}
	}
	server := funcs(t, filepath.Join(dir, "pkg/server/unimplemented.gen.go"))
	for _, want := range []string{"Unimplemented.ListWidgets", "Unimplemented.FindWidget", "Unimplemented.ListCourses"} {
		if !server[want] {
			t.Errorf("the server kit has no %s", want)
		}
	}
	conf, err := os.ReadFile(filepath.Join(dir, "pkg/conformance/operations.gen.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`{op: "listWidgets", path: "/rostering/widgets", find: "/rostering/widgets/", findOp: "findWidget"}`,
		`{"findWidget", "/rostering/widgets/", ""}`,
	} {
		if !strings.Contains(string(conf), want) {
			t.Errorf("the conformance tables lack %s:\n%s", want, conf)
		}
	}
	ops, err := os.ReadFile(filepath.Join(dir, "pkg/client/operations.gen.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ops), `{id: "findWidget", method: "GET", path: "/rostering/widgets/{id}", shape: shapeFind, object: "Course"}`) {
		t.Error("the client's operation table lacks findWidget")
	}
}

// A deprecated alias (the 2022 path of listGradingCategories) is served and
// checked like any operation but gets no client iterator of its own: the
// client walks the canonical path.
func TestDeprecatedAliasGetsNoClientHelper(t *testing.T) {
	dir := t.TempDir()
	if err := run("../../../api/openapi.yaml", dir); err != nil {
		t.Fatal(err)
	}
	client := funcs(t, filepath.Join(dir, "pkg/client/operations.gen.go"))
	if client["Client.GradingCategories2022"] || !client["Client.GradingCategories"] {
		t.Errorf("client iterators: GradingCategories2022 %v (want none), GradingCategories %v", client["Client.GradingCategories2022"], client["Client.GradingCategories"])
	}
	if !funcs(t, filepath.Join(dir, "pkg/server/unimplemented.gen.go"))["Unimplemented.ListGradingCategories2022"] {
		t.Error("the server kit has no stub for listGradingCategories2022")
	}
	for f, want := range map[string]string{
		"pkg/client/operations.gen.go":      `{id: "listGradingCategories2022", method: "GET", path: "/grades/categories", shape: shapeList, object: "GradingCategory"}`,
		"pkg/conformance/operations.gen.go": `{op: "listGradingCategories2022", path: "/grades/categories"}`,
	} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %s", f, want)
		}
	}
}

// The committed files are what the generator writes for the committed spec
// (make check-generate checks the same in CI).
func TestCommittedFilesAreCurrent(t *testing.T) {
	dir := t.TempDir()
	if err := run("../../../api/openapi.yaml", dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"pkg/client/operations.gen.go", "pkg/server/unimplemented.gen.go", "pkg/conformance/operations.gen.go"} {
		got, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		committed, err := os.ReadFile(filepath.Join("../../..", f))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(committed) {
			t.Errorf("%s is out of date with api/openapi.yaml: run make generate", f)
		}
	}
}

// funcs returns the methods declared in a Go file, as Receiver.Name.
func funcs(t *testing.T, path string) map[string]bool {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Recv == nil {
			continue
		}
		recv := fd.Recv.List[0].Type
		if s, ok := recv.(*ast.StarExpr); ok {
			recv = s.X
		}
		if id, ok := recv.(*ast.Ident); ok {
			out[id.Name+"."+fd.Name.Name] = true
		}
	}
	return out
}
