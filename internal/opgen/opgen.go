// Package opgen generates the per-operation layers that sit above
// oapi-codegen's output from api/openapi.yaml: the client's list iterators,
// find helpers and operation table (pkg/client), the server kit's
// Unimplemented stubs (pkg/server) and the conformance suite's tables of
// lists and id operations (pkg/conformance). A new operation in the spec gets
// each of them from `make generate`, with no hand edits.
//
// What it derives from the spec, per operation:
//   - a list: a GET whose 200 body has data (an array) and paging; an
//     iterator is generated when its only query parameters are page,
//     page_size and cursor and its only path parameter is id;
//   - a find: a GET with an id path parameter whose 200 body's data is one
//     object;
//   - an acknowledgement: a PUT whose body is a TaskAck or a TaskAckGroup.
//
// Task operations (whose data is a Task) keep their hand-written client
// methods: they take task-specific options.
package opgen

import (
	"bytes"
	"context"
	"fmt"
	"go/format"
	"net/http"
	"os"
	"sort"
	"strings"
	"text/template"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/oapi-codegen/oapi-codegen/v2/pkg/codegen"
)

// Shape is what an operation's successful answer looks like.
type Shape string

// The shapes the client's wire tolerance knows.
const (
	ShapeList  Shape = "list"  // {"data": [...], "paging": {"next": ...}}
	ShapeFind  Shape = "find"  // {"data": {...}}
	ShapeAck   Shape = "ack"   // a receipt, or a group of receipts, for acknowledgements
	ShapeOther Shape = "other" // anything else
)

// Operation is one operation of the spec as the generated layers see it.
type Operation struct {
	ID       string // operationId, e.g. listStudentsForOrg
	GoName   string // oapi-codegen's name for it, e.g. ListStudentsForOrg
	Method   string
	Path     string // e.g. /rostering/orgs/{id}/students
	Summary  string
	Shape    Shape
	Object   string // the schema of data (its items for a list), e.g. Person; "" when none
	Group    bool   // an acknowledgement of a group (TaskAckGroup body)
	HasID    bool   // takes the {id} path parameter
	Pageable bool   // its query parameters are page, page_size and cursor only
	// Deprecated is the operation's deprecated flag: an alias kept for older
	// clients (the 2022 paths), served and checked but given no client helper.
	Deprecated bool
	// Filter is the x-object-filter of a list: the $sys field every object
	// it lists must have one of the values of (org_type, person_type).
	FilterField  string
	FilterValues []string
	order        int // position of its path in the spec's text
}

// Spec is the operations of a spec in document order.
type Spec struct {
	Ops []Operation
}

// Load reads the OpenAPI document at path.
func Load(path string) (*Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(b)
}

// Parse reads an OpenAPI document.
func Parse(b []byte) (*Spec, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(b)
	if err != nil {
		return nil, fmt.Errorf("opgen: load spec: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("opgen: spec: %w", err)
	}
	text := string(b)
	var s Spec
	for path, item := range doc.Paths.Map() {
		order := strings.Index(text, "\n  "+path+":")
		for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodPost, http.MethodDelete, http.MethodPatch} {
			op := item.GetOperation(m)
			if op == nil {
				continue
			}
			if op.OperationID == "" {
				return nil, fmt.Errorf("opgen: %s %s has no operationId", m, path)
			}
			o := Operation{ID: op.OperationID, GoName: codegen.ToCamelCaseWithInitialisms(op.OperationID),
				Method: m, Path: path, Summary: op.Summary, Shape: ShapeOther, Deprecated: op.Deprecated, order: order}
			classify(&o, item, op)
			s.Ops = append(s.Ops, o)
		}
	}
	sort.SliceStable(s.Ops, func(i, j int) bool {
		if s.Ops[i].order != s.Ops[j].order {
			return s.Ops[i].order < s.Ops[j].order
		}
		return methodRank(s.Ops[i].Method) < methodRank(s.Ops[j].Method)
	})
	return &s, nil
}

func methodRank(m string) int {
	return strings.Index("GET PUT POST DELETE PATCH", m)
}

func classify(o *Operation, item *openapi3.PathItem, op *openapi3.Operation) {
	params := append(openapi3.Parameters{}, item.Parameters...)
	params = append(params, op.Parameters...)
	o.Pageable = true
	for _, p := range params {
		switch {
		case p.Value.In == openapi3.ParameterInPath && p.Value.Name == "id":
			o.HasID = true
		case p.Value.In == openapi3.ParameterInQuery && (p.Value.Name == "page" || p.Value.Name == "page_size" || p.Value.Name == "cursor"):
			// cursor travels in paging.next, which the iterator follows.
		default:
			o.Pageable = false
		}
	}
	if f, ok := op.Extensions["x-object-filter"].(map[string]any); ok {
		for k, v := range f {
			o.FilterField = k
			if vs, ok := v.([]any); ok {
				for _, x := range vs {
					o.FilterValues = append(o.FilterValues, fmt.Sprint(x))
				}
			}
		}
	}
	if op.RequestBody != nil && op.RequestBody.Value != nil {
		if mt := op.RequestBody.Value.Content.Get("application/json"); mt != nil && mt.Schema != nil {
			switch refName(mt.Schema.Ref) {
			case "TaskAck":
				o.Shape = ShapeAck
			case "TaskAckGroup":
				o.Shape, o.Group = ShapeAck, true
			}
		}
	}
	if o.Shape == ShapeAck {
		return
	}
	resp := op.Responses.Status(http.StatusOK)
	if resp == nil || resp.Value == nil {
		return
	}
	mt := resp.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil || mt.Schema.Value == nil {
		return
	}
	body := mt.Schema.Value
	data := body.Properties["data"]
	if data == nil || data.Value == nil {
		return
	}
	_, paged := body.Properties["paging"]
	switch {
	case data.Value.Type.Is(openapi3.TypeArray) && paged && data.Value.Items != nil:
		o.Shape, o.Object = ShapeList, refName(data.Value.Items.Ref)
	case o.Method == http.MethodGet && o.HasID && data.Ref != "":
		o.Shape, o.Object = ShapeFind, refName(data.Ref)
	}
}

func refName(ref string) string {
	return ref[strings.LastIndex(ref, "/")+1:]
}

// IsTask reports whether the operation's data is a task.
func (o Operation) IsTask() bool { return o.Object == "Task" }

// Iterator reports whether the client gets a generated iterator for o.
func (o Operation) Iterator() bool {
	return o.Shape == ShapeList && !o.IsTask() && o.Pageable && o.Object != "" && !o.Deprecated
}

// Finder reports whether the client gets a generated find helper for o.
func (o Operation) Finder() bool {
	return o.Shape == ShapeFind && !o.IsTask() && o.Object != ""
}

// ClientName is the client method of an iterator or find helper: the
// operation's Go name without its "List" prefix for lists (ListOrgs: Orgs).
func (o Operation) ClientName() string {
	if o.Shape == ShapeList {
		if n, ok := strings.CutPrefix(o.GoName, "List"); ok && n != "" {
			return n
		}
	}
	return o.GoName
}

// TypeName is the Go type of the operation's object in gen/models.
func (o Operation) TypeName() string { return codegen.SchemaNameToTypeName(o.Object) }

// Doc is the summary as the tail of a sentence.
func (o Operation) Doc() string {
	s := strings.TrimSuffix(strings.TrimSpace(o.Summary), ".")
	if s == "" {
		return o.ID
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// Prefix and Suffix split the path around {id}.
func (o Operation) Prefix() string { p, _, _ := strings.Cut(o.Path, "{id}"); return p }

// Suffix is the part of the path after {id}.
func (o Operation) Suffix() string { _, s, _ := strings.Cut(o.Path, "{id}"); return s }

// Generate renders every layer: file name (relative to the module root) to
// gofmt-ed source.
func (s *Spec) Generate() (map[string][]byte, error) {
	out := map[string][]byte{}
	for name, t := range map[string]*template.Template{
		"pkg/client/operations.gen.go":      clientTmpl,
		"pkg/server/unimplemented.gen.go":   serverTmpl,
		"pkg/conformance/operations.gen.go": conformanceTmpl,
	} {
		var buf bytes.Buffer
		if err := t.Execute(&buf, s); err != nil {
			return nil, fmt.Errorf("opgen: %s: %w", name, err)
		}
		src, err := format.Source(buf.Bytes())
		if err != nil {
			return nil, fmt.Errorf("opgen: %s: %w\n%s", name, err, buf.Bytes())
		}
		out[name] = src
	}
	return out, nil
}

// RosterLists are the lists of objects without path parameters; OrgLists
// those under /rostering/orgs/{id}/; IDOps every GET that takes an id.
func (s *Spec) RosterLists() []Operation {
	return s.filter(func(o Operation) bool { return o.Shape == ShapeList && !o.IsTask() && !o.HasID })
}

// OrgLists are the lists of an org's objects.
func (s *Spec) OrgLists() []Operation {
	return s.filter(func(o Operation) bool {
		return o.Shape == ShapeList && !o.IsTask() && o.HasID && o.Prefix() == "/rostering/orgs/"
	})
}

// IDOps are the GET operations that take an id.
func (s *Spec) IDOps() []Operation {
	return s.filter(func(o Operation) bool { return o.Method == http.MethodGet && o.HasID })
}

// FindFor is the find operation of a list's objects: the GET of the list's
// path with /{id} appended, else find<Object>; nil when there is none.
func (s *Spec) FindFor(l Operation) *Operation {
	if l.HasID {
		// Lists under an object find their objects where the object's own list does.
		for _, o := range s.Ops {
			if o.Shape == ShapeList && !o.HasID && o.Object == l.Object && o.FilterField == "" {
				return s.FindFor(o)
			}
		}
	}
	for i, o := range s.Ops {
		if o.Shape == ShapeFind && o.Path == l.Path+"/{id}" {
			return &s.Ops[i]
		}
	}
	for i, o := range s.Ops {
		if o.Shape == ShapeFind && o.Object == l.Object && o.ID == "find"+l.Object {
			return &s.Ops[i]
		}
	}
	return nil
}

func (s *Spec) filter(keep func(Operation) bool) []Operation {
	var out []Operation
	for _, o := range s.Ops {
		if keep(o) {
			out = append(out, o)
		}
	}
	return out
}

const header = "// Code generated by internal/cmd/opgen from api/openapi.yaml. DO NOT EDIT.\n\n"

var funcs = template.FuncMap{"quote": func(s string) string { return fmt.Sprintf("%q", s) },
	"quotes": func(ss []string) string {
		q := make([]string, len(ss))
		for i, s := range ss {
			q[i] = fmt.Sprintf("%q", s)
		}
		return strings.Join(q, ", ")
	}}

var clientTmpl = template.Must(template.New("client").Funcs(funcs).Parse(header + `package client

import (
	"context"
	"iter"
	"net/http"

	"github.com/google/uuid"

	"github.com/interop-data/interop/gen/apiclient"
	"github.com/interop-data/interop/gen/models"
)

// operations is every operation of the contract, for the wire tolerance
// (normalize.go) to know what a response should look like.
var operations = []operation{
{{- range .Ops}}
	{id: {{quote .ID}}, method: {{quote .Method}}, path: {{quote .Path}}, shape: shape{{if eq .Shape "list"}}List{{else if eq .Shape "find"}}Find{{else if eq .Shape "ack"}}Ack{{else}}Other{{end}}, object: {{quote .Object}}{{if .Group}}, group: true{{end}}},
{{- end}}
}
{{range .Ops}}{{if .Iterator}}
// {{.ClientName}} iterates over every object of {{.ID}} ({{.Method}} {{.Path}}): {{.Doc}}.
{{- if .HasID}} An unknown id yields an error matching ErrNotFound.{{end}}
func (c *Client) {{.ClientName}}(ctx context.Context, {{if .HasID}}id uuid.UUID, {{end}}opts *ListOptions) iter.Seq2[models.{{.TypeName}}, error] {
	return walk[models.{{.TypeName}}](c, ctx, {{quote .ID}}, func(server string) (*http.Request, error) {
		page, size := opts.params()
		return apiclient.New{{.GoName}}Request(server, {{if .HasID}}id, {{end}}&models.{{.GoName}}Params{Page: page, PageSize: size})
	})
}
{{end}}{{if .Finder}}
// {{.ClientName}} returns the object of {{.ID}} ({{.Method}} {{.Path}}): {{.Doc}}. An
// unknown id is an error matching ErrNotFound.
func (c *Client) {{.ClientName}}(ctx context.Context, id uuid.UUID) (*models.{{.TypeName}}, error) {
	req, err := apiclient.New{{.GoName}}Request(c.server, id)
	return fetch[models.{{.TypeName}}](c, ctx, {{quote .ID}}, req, err)
}
{{end}}{{end}}`))

var serverTmpl = template.Must(template.New("server").Funcs(funcs).Parse(header + `package server

import (
	"context"

	"github.com/interop-data/interop/gen/apiserver"
)
{{range .Ops}}
// {{.GoName}} answers 501 ({{.ID}}: {{.Method}} {{.Path}}).
func (Unimplemented) {{.GoName}}(context.Context, apiserver.{{.GoName}}RequestObject) (apiserver.{{.GoName}}ResponseObject, error) {
	return nil, notImplemented({{quote .ID}})
}
{{end}}`))

var conformanceTmpl = template.Must(template.New("conformance").Funcs(funcs).Parse(header + `package conformance

// rosterLists are the contract's lists of objects, in the spec's order.
var rosterLists = []list{
{{- range .RosterLists}}
	{op: {{quote .ID}}, path: {{quote .Path}}{{with $.FindFor .}}, find: {{quote .Prefix}}, findOp: {{quote .ID}}{{end}}{{template "filter" .}}},
{{- end}}
}

// orgLists are the lists under one org; path is appended to /rostering/orgs/{id}.
var orgLists = []list{
{{- range .OrgLists}}
	{op: {{quote .ID}}, path: {{quote .Suffix}}{{with $.FindFor .}}, find: {{quote .Prefix}}, findOp: {{quote .ID}}{{end}}{{template "filter" .}}},
{{- end}}
}

// idFinds are the operations that take an id, as path prefix and suffix.
var idFinds = []struct{ op, prefix, suffix string }{
{{- range .IDOps}}
	{ {{- quote .ID}}, {{quote .Prefix}}, {{quote .Suffix -}} },
{{- end}}
}
{{define "filter"}}{{if eq .FilterField "org_type"}}, orgType: {{index .FilterValues 0 | quote}}{{else if eq .FilterField "person_type"}}, personType: []string{ {{- quotes .FilterValues -}} }{{end}}{{end}}`))
