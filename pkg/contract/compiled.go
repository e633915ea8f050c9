package contract

import (
	"github.com/interop-data/interop/internal/filteropts"

	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// Compiled is the spec ready for validation: kin-openapi's resolved document
// (for routing, parameters and headers) and every body schema compiled for
// the one-pass validator. It is immutable and safe for concurrent use; Shared
// builds it once per process.
type Compiled struct {
	doc       *openapi3.T
	ops       []*Operation
	byID      map[string]*Operation
	fallbacks []string
	schemas   int
	reqOpts   *openapi3filter.Options
	respOpts  *openapi3filter.Options
}

// Operation is one operation of the spec with its compiled body schemas.
type Operation struct {
	ID     string
	Method string
	Path   string // the spec's path template, e.g. /rostering/orgs/{id}
	// Route is kin-openapi's route of the operation, for its parameter and
	// header checks (openapi3filter.RequestValidationInput.Route).
	Route *routers.Route

	segments []string // Path split on "/", "{...}" for a parameter
	bodies   map[*openapi3.MediaType]*Schema
}

var shared struct {
	once sync.Once
	c    *Compiled
	err  error
}

// Shared returns the embedded spec compiled once per process (loading and
// compiling costs tens of milliseconds and megabytes; every server and client
// of the process shares the result, read-only).
func Shared() (*Compiled, error) {
	shared.once.Do(func() {
		doc, err := Load()
		if err != nil {
			shared.err = err
			return
		}
		shared.c, shared.err = Compile(doc)
	})
	return shared.c, shared.err
}

// Compile compiles every request and response body schema of doc, which must
// be loaded and validated (as Load returns it) and is not modified
// afterwards.
func Compile(doc *openapi3.T) (*Compiled, error) {
	if len(doc.Servers) == 0 {
		doc.Servers = openapi3.Servers{{URL: BasePath}}
	}
	names := map[*openapi3.Schema]string{}
	if doc.Components != nil {
		for name, ref := range doc.Components.Schemas {
			if ref != nil && ref.Value != nil {
				names[ref.Value] = "#/components/schemas/" + name
			}
		}
	}
	c := &Compiled{doc: doc, byID: map[string]*Operation{}}
	compilers := [2]*compiler{newCompiler(Request, names), newCompiler(Response, names)}
	builders := [2]*setBuilder{{c: compilers[0], memo: map[string]*set{}}, {c: compilers[1], memo: map[string]*set{}}}
	opts := [2][]openapi3.SchemaValidationOption{
		append(SchemaOptions(), Request.option()),
		append(SchemaOptions(), Response.option()),
	}
	compileBody := func(dir Direction, name string, content openapi3.Content, into map[*openapi3.MediaType]*Schema) {
		for mtName, mt := range content {
			if mt == nil || mt.Schema == nil {
				continue
			}
			where := name + " " + mtName
			n := compilers[dir].compile(mt.Schema, where)
			into[mt] = &Schema{
				name: where, dir: dir, ref: mt.Schema, opts: opts[dir],
				root: builders[dir].build([]root{{n: n, parent: -1}}),
			}
			c.schemas++
		}
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.OperationID == "" {
				return nil, fmt.Errorf("contract: %s %s has no operationId", method, path)
			}
			o := &Operation{
				ID: op.OperationID, Method: method, Path: path,
				Route:    &routers.Route{Spec: doc, Server: doc.Servers[0], Path: path, PathItem: item, Method: method, Operation: op},
				segments: strings.Split(strings.TrimPrefix(path, "/"), "/"),
				bodies:   map[*openapi3.MediaType]*Schema{},
			}
			if rb := op.RequestBody; rb != nil && rb.Value != nil {
				compileBody(Request, op.OperationID+" request", rb.Value.Content, o.bodies)
			}
			if op.Responses != nil {
				for status, ref := range op.Responses.Map() {
					if ref != nil && ref.Value != nil {
						compileBody(Response, op.OperationID+" response "+status, ref.Value.Content, o.bodies)
					}
				}
			}
			c.ops = append(c.ops, o)
			c.byID[o.ID] = o
		}
	}
	sort.Slice(c.ops, func(i, j int) bool { return c.ops[i].ID < c.ops[j].ID })
	seen := map[string]bool{}
	for _, comp := range compilers {
		for name, kw := range comp.fallbacks {
			if !seen[name] {
				seen[name] = true
				c.fallbacks = append(c.fallbacks, name+" ("+kw+")")
			}
		}
	}
	sort.Strings(c.fallbacks)

	c.reqOpts = filteropts.New(SchemaOptions())
	c.reqOpts.ExcludeRequestBody = true // bodies go through the compiled schemas
	c.respOpts = filteropts.New(SchemaOptions())
	c.respOpts.IncludeResponseStatus = true
	c.respOpts.ExcludeResponseBody = true
	return c, nil
}

// Schemas lists every compiled body schema, by name.
func (c *Compiled) Schemas() []*Schema {
	seen := map[*Schema]bool{}
	var out []*Schema
	for _, o := range c.ops {
		for _, sc := range o.bodies {
			if !seen[sc] {
				seen[sc] = true
				out = append(out, sc)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// Doc returns the resolved document. It is shared: do not modify it.
func (c *Compiled) Doc() *openapi3.T { return c.doc }

// Operations lists the operations by operationId.
func (c *Compiled) Operations() []*Operation { return c.ops }

// Operation returns the operation with this operationId, or nil.
func (c *Compiled) Operation(id string) *Operation { return c.byID[id] }

// Fallbacks names the schemas (with their unsupported keywords) that the
// compiled validator hands to kin-openapi. Servers and clients log them when
// they start, so nothing is skipped silently.
func (c *Compiled) Fallbacks() []string { return c.fallbacks }

// Summary says in one line how the bodies are validated, for a start-up log.
func (c *Compiled) Summary() string {
	if len(c.fallbacks) == 0 {
		return fmt.Sprintf("%d body schemas of %d operations compiled; none falls back to kin-openapi", c.schemas, len(c.ops))
	}
	return fmt.Sprintf("%d body schemas of %d operations compiled; validated by kin-openapi (unsupported keywords): %s",
		c.schemas, len(c.ops), strings.Join(c.fallbacks, "; "))
}

// Find returns the operation that serves method on path (relative to
// BasePath and escaped as on the wire, e.g. /rostering/orgs/2a4a...) and its
// path parameters, unescaped. A literal segment wins over a parameter
// (/tasks/admin/ack is not /tasks/{id}/ack). It returns an error naming the
// path or the method when nothing matches.
func (c *Compiled) Find(method, path string) (*Operation, map[string]string, error) {
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	var best *Operation
	var bestScore []bool
	pathMatched := false
	for _, o := range c.ops {
		score, ok := o.match(segs)
		if !ok {
			continue
		}
		pathMatched = true
		if o.Method != method {
			continue
		}
		if best == nil || lessSpecific(bestScore, score) {
			best, bestScore = o, score
		}
	}
	if best == nil {
		if pathMatched {
			return nil, nil, fmt.Errorf("method %s is not allowed on %q", method, bound(path, 128))
		}
		return nil, nil, fmt.Errorf("no operation of the contract matches %q", bound(path, 128))
	}
	params := map[string]string{}
	for i, s := range best.segments {
		if isParam(s) {
			v, err := url.PathUnescape(segs[i])
			if err != nil {
				v = segs[i]
			}
			params[s[1:len(s)-1]] = v
		}
	}
	return best, params, nil
}

// match reports whether segs fits the operation's template and, per
// segment, whether it matched a parameter.
func (o *Operation) match(segs []string) ([]bool, bool) {
	if len(segs) != len(o.segments) {
		return nil, false
	}
	score := make([]bool, len(segs))
	for i, t := range o.segments {
		if isParam(t) {
			if segs[i] == "" {
				return nil, false
			}
			score[i] = true
			continue
		}
		if segs[i] != t {
			return nil, false
		}
	}
	return score, true
}

func isParam(seg string) bool { return len(seg) > 2 && seg[0] == '{' && seg[len(seg)-1] == '}' }

// lessSpecific reports whether a matched with a parameter where b has a
// literal, at the first segment where they differ.
func lessSpecific(a, b []bool) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i]
		}
	}
	return false
}

// RequestBody returns the compiled schema of the request body for the
// request's Content-Type, with kin-openapi's media-type matching (parameters
// ignored, wildcards honoured), or a Violation: rule "body" when the body is
// required and empty, "contentType" when the operation does not take this
// type. It returns nil, nil when the operation takes no body (or an empty
// optional one).
func (o *Operation) RequestBody(contentType string, body []byte) (*Schema, *Violation) {
	rb := o.Route.Operation.RequestBody
	if rb == nil || rb.Value == nil {
		return nil, nil
	}
	if len(body) == 0 {
		if rb.Value.Required {
			return nil, &Violation{Rule: "body", Reason: "request body is required"}
		}
		return nil, nil
	}
	if len(rb.Value.Content) == 0 {
		return nil, nil
	}
	mt := rb.Value.Content.Get(contentType)
	if mt == nil {
		return nil, &Violation{Rule: "contentType", Reason: fmt.Sprintf("request Content-Type %q is not declared", bound(contentType, 128))}
	}
	return o.bodies[mt], nil
}

// ValidateRequestBody checks a request body against the operation's schema
// for contentType (see RequestBody).
func (o *Operation) ValidateRequestBody(contentType string, body []byte) *Violation {
	sc, v := o.RequestBody(contentType, body)
	if v != nil || sc == nil {
		return v
	}
	return sc.Validate(body)
}

// ResponseBody returns the compiled schema of the response body for status
// and contentType, nil when the response declares no body, or a Violation
// (rule "contentType") when it declares others.
func (o *Operation) ResponseBody(status int, contentType string) (*Schema, *Violation) {
	responses := o.Route.Operation.Responses
	ref := responses.Status(status)
	if ref == nil {
		ref = responses.Default()
	}
	if ref == nil || ref.Value == nil || len(ref.Value.Content) == 0 {
		return nil, nil
	}
	mt := ref.Value.Content.Get(contentType)
	if mt == nil {
		return nil, &Violation{Rule: "contentType", Reason: fmt.Sprintf("response Content-Type %q is not declared for status %d", bound(contentType, 128), status)}
	}
	return o.bodies[mt], nil
}

// ValidateRequest checks a request's parameters and headers with
// kin-openapi (the body is left to ValidateRequestBody). The request's body
// is not read.
func (c *Compiled) ValidateRequest(ctx context.Context, o *Operation, r *http.Request, params map[string]string) error {
	return openapi3filter.ValidateRequest(ctx, &openapi3filter.RequestValidationInput{
		Request: r, PathParams: params, Route: o.Route, Options: c.reqOpts,
	})
}

// ValidateResponse checks a buffered response: kin-openapi its status
// (an undeclared one is an error) and headers, the compiled schema its body.
// A body violation is returned as a *Violation.
func (c *Compiled) ValidateResponse(ctx context.Context, o *Operation, req *http.Request, status int, h http.Header, body []byte) error {
	in := &openapi3filter.RequestValidationInput{Request: req, Route: o.Route, Options: c.reqOpts}
	rin := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status, Header: h, Options: c.respOpts}
	if err := openapi3filter.ValidateResponse(ctx, rin); err != nil {
		return err
	}
	if req.Method == http.MethodHead {
		return nil
	}
	switch status {
	case http.StatusNotModified, http.StatusPermanentRedirect, http.StatusTemporaryRedirect, http.StatusMovedPermanently:
		return nil // kin-openapi never validates these
	}
	sc, v := o.ResponseBody(status, h.Get("Content-Type"))
	if v != nil {
		return v
	}
	if sc == nil {
		return nil
	}
	if v := sc.Validate(body); v != nil {
		return v
	}
	return nil
}
