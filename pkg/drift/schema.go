package drift

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/interop-data/interop/pkg/contract"
)

// vocabulary is what the spec names: every property and parameter name
// and every literal segment of its paths. A pointer or a path in the report
// holds only these (and * and {key}, {id}), so no value of the traffic
// enters it.
type vocabulary struct {
	names    map[string]bool
	segments map[string]bool
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
// unknown values of open vocabularies.
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
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var doc any
	if d.Decode(&doc) != nil {
		return nil
	}
	var w toleranceWalk
	w.walk(doc, mt.Schema.Value, 0)
	var out []string
	if w.unknownField {
		out = append(out, VariantUnknownField)
	}
	if w.unknownValue {
		out = append(out, VariantUnknownValue)
	}
	return out
}

type toleranceWalk struct {
	unknownField, unknownValue bool
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

func (w *toleranceWalk) walk(doc any, s *openapi3.Schema, depth int) {
	if depth > 128 || (w.unknownField && w.unknownValue) {
		return
	}
	bs := branches(s, nil, 0)
	switch x := doc.(type) {
	case map[string]any:
		declares := false
		for _, b := range bs {
			if len(b.Properties) > 0 {
				declares = true
			}
		}
		for k, val := range x {
			found := false
			for _, b := range bs {
				if p := b.Properties[k]; p != nil && p.Value != nil {
					found = true
					w.walk(val, p.Value, depth+1)
				}
			}
			if found {
				continue
			}
			for _, b := range bs {
				if ap := b.AdditionalProperties.Schema; ap != nil && ap.Value != nil {
					found = true
					w.walk(val, ap.Value, depth+1)
				}
			}
			if !found && declares {
				w.unknownField = true
			}
		}
	case []any:
		for _, b := range bs {
			if b.Items != nil && b.Items.Value != nil {
				for _, e := range x {
					w.walk(e, b.Items.Value, depth+1)
				}
			}
		}
	case string:
		for _, b := range bs {
			known, ok := b.Extensions["x-known-values"].([]any)
			if !ok {
				continue
			}
			fold := strings.Contains(b.Description, "case-insensitive")
			hit := false
			for _, k := range known {
				if ks, ok := k.(string); ok && (ks == x || fold && strings.EqualFold(ks, x)) {
					hit = true
					break
				}
			}
			if !hit {
				w.unknownValue = true
			}
		}
	}
}
