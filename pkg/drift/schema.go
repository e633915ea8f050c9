package drift

import (
	"bytes"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/go-faster/jx"

	"github.com/interop-data/interop/pkg/contract"
)

// vocabulary is what the spec names: every property and parameter name
// and every literal segment of its paths. A pointer or a path in the report
// holds only these (and * and {key}, {id}), so no value of the traffic
// enters it.
type vocabulary struct {
	names    map[string]bool
	segments map[string]bool
	nodes    sync.Map // *openapi3.Schema -> *node
}

func newVocabulary(c *contract.Compiled) *vocabulary {
	v := &vocabulary{names: map[string]bool{}, segments: map[string]bool{}}
	seen := map[*openapi3.Schema]bool{}
	var walk func(s *openapi3.SchemaRef)
	walk = func(s *openapi3.SchemaRef) {
		if s == nil || s.Value == nil || seen[s.Value] {
			return
		}
		seen[s.Value] = true
		for name, p := range s.Value.Properties {
			v.names[name] = true
			walk(p)
		}
		for _, sub := range s.Value.AllOf {
			walk(sub)
		}
		walk(s.Value.Items)
		walk(s.Value.AdditionalProperties.Schema)
	}
	doc := c.Doc()
	if doc.Components != nil {
		for _, s := range doc.Components.Schemas {
			walk(s)
		}
	}
	for _, op := range c.Operations() {
		for _, seg := range strings.Split(op.Path, "/") {
			if seg != "" && !strings.HasPrefix(seg, "{") {
				v.segments[seg] = true
			}
		}
		o := op.Route.Operation
		for _, p := range append(append(openapi3.Parameters{}, op.Route.PathItem.Parameters...), o.Parameters...) {
			if p != nil && p.Value != nil {
				v.names[p.Value.Name] = true
			}
		}
		if o.RequestBody != nil && o.RequestBody.Value != nil {
			for _, mt := range o.RequestBody.Value.Content {
				walk(mt.Schema)
			}
		}
		if o.Responses != nil {
			for _, ref := range o.Responses.Map() {
				if ref != nil && ref.Value != nil {
					for _, mt := range ref.Value.Content {
						walk(mt.Schema)
					}
				}
			}
		}
	}
	return v
}

// name returns n when the spec declares it, else {key}.
func (v *vocabulary) name(n string) string {
	if v.names[n] {
		return n
	}
	return "{key}"
}

// pointer normalises an RFC 6901 pointer: array indices become *, names
// the spec does not declare {key}.
func (v *vocabulary) pointer(p string) string {
	if p == "" {
		return ""
	}
	toks := strings.Split(strings.TrimPrefix(p, "/"), "/")
	for i, t := range toks {
		toks[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
	}
	return v.tokens(toks)
}

// tokens joins unescaped pointer tokens as a normalised pointer.
func (v *vocabulary) tokens(toks []string) string {
	if len(toks) == 0 {
		return ""
	}
	var b strings.Builder
	for i, t := range toks {
		if i == 64 {
			b.WriteString("/…")
			break
		}
		b.WriteByte('/')
		switch {
		case isIndex(t):
			b.WriteByte('*')
		case v.names[t]:
			b.WriteString(strings.ReplaceAll(strings.ReplaceAll(t, "~", "~0"), "/", "~1"))
		default:
			b.WriteString("{key}")
		}
	}
	return b.String()
}

func isIndex(t string) bool {
	if t == "" || len(t) > 10 {
		return false
	}
	for _, c := range t {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// path normalises a request path relative to the base path: segments that
// are not literal segments of the spec's paths become {id}.
func (v *vocabulary) path(rel string) string {
	segs := strings.Split(strings.TrimPrefix(rel, "/"), "/")
	var b strings.Builder
	for i, s := range segs {
		if i == 16 {
			b.WriteString("/…")
			break
		}
		b.WriteByte('/')
		switch {
		case s == "":
		case v.segments[s]:
			b.WriteString(s)
		default:
			b.WriteString("{id}")
		}
	}
	return b.String()
}

// tolerated walks a valid success answer with its schema and names the
// tolerated variants it holds beyond the client's: unknown fields and
// unknown values of open vocabularies. It streams over the bytes (jx), so
// its memory does not grow with the body.
func (v *vocabulary) tolerated(op *contract.Operation, status int, contentType string, body []byte) []string {
	responses := op.Route.Operation.Responses
	ref := responses.Status(status)
	if ref == nil {
		ref = responses.Default()
	}
	if ref == nil || ref.Value == nil {
		return nil
	}
	mt := ref.Value.Content.Get(contentType)
	if mt == nil || mt.Schema == nil || mt.Schema.Value == nil || len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	w := toleranceWalk{v: v}
	if w.walk(jx.DecodeBytes(body), v.node(mt.Schema.Value), 0) != nil {
		return nil // a valid body is JSON; this one is not: judged elsewhere
	}
	var out []string
	if w.unknownField {
		out = append(out, VariantUnknownField)
	}
	if w.unknownValue {
		out = append(out, VariantUnknownValue)
	}
	return out
}

// node is a schema with its allOf branches merged, as the walk needs it.
type node struct {
	props      map[string][]*openapi3.Schema
	additional []*openapi3.Schema
	items      []*openapi3.Schema
	declares   bool // some branch names properties: other members are unknown
	known      map[string]bool
	fold       bool // the vocabulary compares case-insensitively
}

// node returns the merged form of s, built once.
func (v *vocabulary) node(s *openapi3.Schema) *node {
	if n, ok := v.nodes.Load(s); ok {
		return n.(*node)
	}
	n := &node{props: map[string][]*openapi3.Schema{}}
	for _, b := range branches(s, nil, 0) {
		for name, p := range b.Properties {
			if p != nil && p.Value != nil {
				n.props[name] = append(n.props[name], p.Value)
				n.declares = true
			}
		}
		if ap := b.AdditionalProperties.Schema; ap != nil && ap.Value != nil {
			n.additional = append(n.additional, ap.Value)
		}
		if b.Items != nil && b.Items.Value != nil {
			n.items = append(n.items, b.Items.Value)
		}
		if known, ok := b.Extensions["x-known-values"].([]any); ok {
			if n.known == nil {
				n.known = map[string]bool{}
			}
			n.fold = n.fold || strings.Contains(b.Description, "case-insensitive")
			for _, k := range known {
				if ks, ok := k.(string); ok {
					n.known[ks] = true
					if n.fold {
						n.known[strings.ToLower(ks)] = true
					}
				}
			}
		}
	}
	v.nodes.Store(s, n)
	return n
}

// branches is s with its allOf branches, flattened.
func branches(s *openapi3.Schema, into []*openapi3.Schema, depth int) []*openapi3.Schema {
	if s == nil || depth > 32 {
		return into
	}
	into = append(into, s)
	for _, sub := range s.AllOf {
		if sub != nil {
			into = branches(sub.Value, into, depth+1)
		}
	}
	return into
}

type toleranceWalk struct {
	v                          *vocabulary
	unknownField, unknownValue bool
}

// walkAll walks one value with each of several schemas (allOf branches
// that each declare it): it is read once, then walked from its bytes.
func (w *toleranceWalk) walkAll(d *jx.Decoder, schemas []*openapi3.Schema, depth int) error {
	if len(schemas) == 1 {
		return w.walk(d, w.v.node(schemas[0]), depth)
	}
	raw, err := d.Raw()
	if err != nil {
		return err
	}
	for _, s := range schemas {
		if err := w.walk(jx.DecodeBytes(raw), w.v.node(s), depth); err != nil {
			return err
		}
	}
	return nil
}

func (w *toleranceWalk) walk(d *jx.Decoder, n *node, depth int) error {
	if depth > 128 {
		return d.Skip()
	}
	switch d.Next() {
	case jx.Object:
		return d.ObjBytes(func(d *jx.Decoder, key []byte) error {
			if subs := n.props[string(key)]; len(subs) > 0 {
				return w.walkAll(d, subs, depth+1)
			}
			if len(n.additional) > 0 {
				return w.walkAll(d, n.additional, depth+1)
			}
			if n.declares {
				w.unknownField = true
			}
			return d.Skip()
		})
	case jx.Array:
		if len(n.items) == 0 {
			return d.Skip()
		}
		return d.Arr(func(d *jx.Decoder) error { return w.walkAll(d, n.items, depth+1) })
	case jx.String:
		if n.known == nil {
			return d.Skip()
		}
		b, err := d.StrBytes()
		if err != nil {
			return err
		}
		if !n.known[string(b)] && !(n.fold && n.known[strings.ToLower(string(b))]) {
			w.unknownValue = true
		}
		return nil
	}
	return d.Skip()
}
