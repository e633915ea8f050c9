package docs

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strings"

	"go.yaml.in/yaml/v3"
)

// RedocVersion is the version of the embedded Redoc bundle (npm package
// redoc). It is part of the bundle's URL, so browsers may cache it forever.
const RedocVersion = "2.5.4"

// redocSHA256 is the digest of assets/redoc.standalone.js as published in
// the npm package; a test holds the embedded file to it.
const redocSHA256 = "dcaf76612bc4a3fbcc923a8966dee2f6146a5f32e5ce1b6f02dd60cbbf89500b"

var (
	//go:embed assets/redoc.standalone.js
	redocJS []byte
	//go:embed assets/LICENSE
	redocLicense []byte
	//go:embed assets/redoc.standalone.js.LICENSE.txt
	redocNotices []byte
)

// Paths the handler answers, from the server's root.
const (
	PagePath = "/docs"         // the rendered reference
	YAMLPath = "/openapi.yaml" // the embedded spec, byte for byte
	JSONPath = "/openapi.json" // the same spec as JSON, keys in the spec's order

	// ScriptPath is the Redoc bundle, versioned so that it may be cached forever.
	ScriptPath = PagePath + "/redoc-" + RedocVersion + ".standalone.js"
	// LicensePath holds Redoc's license and the notices of what it bundles
	// (the bundle's first line sends readers there).
	LicensePath = ScriptPath + ".LICENSE.txt"
)

// Handler serves the reference page, its script and the spec. It answers GET
// and HEAD on Routes() and 404 on anything else.
type Handler struct {
	mux  *http.ServeMux
	yaml []byte
	json []byte
	page []byte
}

// New builds the handler for spec, the text of an OpenAPI document in YAML
// (for this module, api.Spec). Everything is rendered once, here; requests
// only copy bytes.
func New(spec []byte) (*Handler, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(spec, &doc); err != nil {
		return nil, fmt.Errorf("docs: parse spec: %w", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("docs: spec is not a YAML mapping")
	}
	asJSON, err := nodeJSON(&doc)
	if err != nil {
		return nil, fmt.Errorf("docs: spec as JSON: %w", err)
	}
	var indented bytes.Buffer
	if err := json.Indent(&indented, asJSON, "", "  "); err != nil {
		return nil, fmt.Errorf("docs: spec as JSON: %w", err)
	}
	indented.WriteByte('\n')

	title := "API reference"
	if info := mapValue(doc.Content[0], "info"); info != nil {
		if t := mapValue(info, "title"); t != nil && t.Kind == yaml.ScalarNode && t.Value != "" {
			title = t.Value + " reference"
		}
		// The page's copy of the spec only: doc is not used for the JSON above.
		appendDecisions(info)
	}
	dropGeneratorExtensions(doc.Content[0])
	view, err := nodeJSON(&doc)
	if err != nil {
		return nil, fmt.Errorf("docs: spec for the page: %w", err)
	}
	var page bytes.Buffer
	err = pageTemplate.Execute(&page, map[string]any{
		"Title":   title,
		"Version": RedocVersion,
		"Script":  strings.TrimPrefix(ScriptPath, "/"), // relative: the page works under a path prefix
		"YAML":    strings.TrimPrefix(YAMLPath, "/"),
		// The script element holds JSON, not JavaScript, escaped so that a
		// "</script>" in a description stays text.
		"Spec": template.JS(escapeForScript(view)),
	})
	if err != nil {
		return nil, fmt.Errorf("docs: render page: %w", err)
	}

	h := &Handler{mux: http.NewServeMux(), yaml: spec, json: indented.Bytes(), page: page.Bytes()}
	h.mux.HandleFunc("GET "+PagePath, h.bytes(h.page, "text/html; charset=utf-8", "no-cache"))
	h.mux.HandleFunc("GET "+PagePath+"/{$}", func(w http.ResponseWriter, r *http.Request) {
		// The page's relative links need it at /docs, without the slash. The
		// target stays relative (http.Redirect would make it absolute), so it
		// is right under a proxy's path prefix too.
		w.Header().Set("Location", "../docs")
		w.WriteHeader(http.StatusMovedPermanently)
	})
	h.mux.HandleFunc("GET "+ScriptPath, h.bytes(redocJS, "text/javascript; charset=utf-8", "public, max-age=31536000, immutable"))
	notices := append(append(append([]byte{}, redocLicense...), "\n\n"...), redocNotices...)
	h.mux.HandleFunc("GET "+LicensePath, h.bytes(notices, "text/plain; charset=utf-8", "public, max-age=86400"))
	h.mux.HandleFunc("GET "+YAMLPath, h.bytes(h.yaml, "application/yaml", "no-cache"))
	h.mux.HandleFunc("GET "+JSONPath, h.bytes(h.json, "application/json", "no-cache"))
	return h, nil
}

// Routes are the paths ServeHTTP answers, for routers that register each one.
func (h *Handler) Routes() []string {
	return []string{PagePath, PagePath + "/", ScriptPath, LicensePath, YAMLPath, JSONPath}
}

// ServeHTTP serves the page, the script, its license and the spec.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func (h *Handler) bytes(b []byte, ctype, cache string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("Cache-Control", cache)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Content-Length", fmt.Sprint(len(b)))
		if r.Method == http.MethodHead {
			return
		}
		_, _ = w.Write(b)
	}
}

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<link rel="icon" href="data:,">
<style>body { margin: 0; padding: 0; }</style>
</head>
<body>
<noscript>This page needs JavaScript. The spec itself is at <a href="{{.YAML}}">{{.YAML}}</a>.</noscript>
<div id="redoc"></div>
<script>
// Redoc {{.Version}} shows an attribution logo from cdn.redoc.ly in its side
// menu, the one request of this page that does not go to this server (and
// fails offline). Its image is given an empty source instead, which Redoc
// hides as broken; the "API docs by Redocly" link stays.
(function () {
	var outside = function (v) { return String(v).indexOf("https://cdn.redoc.ly/") === 0; };
	var src = Object.getOwnPropertyDescriptor(HTMLImageElement.prototype, "src");
	Object.defineProperty(HTMLImageElement.prototype, "src", {
		get: src.get,
		set: function (v) { src.set.call(this, outside(v) ? "data:," : v); },
		configurable: true, enumerable: src.enumerable
	});
	var setAttribute = Element.prototype.setAttribute;
	Element.prototype.setAttribute = function (name, value) {
		if (this instanceof HTMLImageElement && name === "src" && outside(value)) {
			value = "data:,";
		}
		return setAttribute.call(this, name, value);
	};
})();
</script>
<script src="{{.Script}}"></script>
<script id="spec" type="application/json">{{.Spec}}</script>
<script>
Redoc.init(JSON.parse(document.getElementById("spec").textContent), {
	showExtensions: true,
	expandResponses: "200",
	pathInMiddlePanel: true,
	downloadDefinitionUrl: "{{.YAML}}",
	downloadFileName: "openapi.yaml"
}, document.getElementById("redoc"));
</script>
</body>
</html>
`))

// escapeForScript makes JSON safe inside a script element: with <, > and &
// escaped, no description can close the element.
func escapeForScript(b []byte) string {
	var out bytes.Buffer
	json.HTMLEscape(&out, b)
	return out.String()
}

// appendDecisions adds the info object's x-decisions list to its
// description, as a "Decisions" section with one heading per decision.
func appendDecisions(info *yaml.Node) {
	list := mapValue(info, "x-decisions")
	if list == nil || list.Kind != yaml.SequenceNode || len(list.Content) == 0 {
		return
	}
	var b strings.Builder
	b.WriteString("\n\n# Decisions\n\nEvery point the vendor's sources leave open is decided in this description; " +
		"the spec's `x-decisions` list collects them. Notes on single operations and fields " +
		"(`x-decision`, `x-unconfirmed`) are shown where they apply.\n")
	for _, d := range list.Content {
		id, text := mapValue(d, "id"), mapValue(d, "text")
		if id == nil || text == nil {
			continue
		}
		fmt.Fprintf(&b, "\n## %s\n\n%s\n", id.Value, text.Value)
	}
	desc := mapValue(info, "description")
	if desc == nil {
		info.Content = append(info.Content,
			&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "description"},
			&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str"})
		desc = info.Content[len(info.Content)-1]
	}
	desc.Value = strings.TrimRight(desc.Value, "\n") + b.String()
}

// mapValue returns the value of key in mapping m, or nil.
func mapValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// nodeJSON writes a YAML document as compact JSON, keeping the order of
// mapping keys (a map[string]any would sort them, and the order of paths is
// the order the reference is read in). Scalars keep their YAML types;
// timestamps stay the strings they were written as.
func nodeJSON(n *yaml.Node) ([]byte, error) {
	var b bytes.Buffer
	if err := writeNode(&b, n, 0); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func writeNode(b *bytes.Buffer, n *yaml.Node, depth int) error {
	if depth > 1000 {
		return errors.New("nested too deeply")
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) != 1 {
			return errors.New("empty document")
		}
		return writeNode(b, n.Content[0], depth+1)
	case yaml.AliasNode:
		return writeNode(b, n.Alias, depth+1)
	case yaml.SequenceNode:
		b.WriteByte('[')
		for i, c := range n.Content {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeNode(b, c, depth+1); err != nil {
				return err
			}
		}
		b.WriteByte(']')
		return nil
	case yaml.MappingNode:
		b.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!merge" {
				return fmt.Errorf("line %d: only plain scalar keys are supported", k.Line)
			}
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, k.Value)
			b.WriteByte(':')
			if err := writeNode(b, n.Content[i+1], depth+1); err != nil {
				return err
			}
		}
		b.WriteByte('}')
		return nil
	case yaml.ScalarNode:
		return writeScalar(b, n)
	}
	return fmt.Errorf("line %d: unexpected YAML node kind %v", n.Line, n.Kind)
}

func writeScalar(b *bytes.Buffer, n *yaml.Node) error {
	var v any
	switch n.ShortTag() {
	case "!!null":
		b.WriteString("null")
		return nil
	case "!!bool":
		var x bool
		if err := n.Decode(&x); err != nil {
			return err
		}
		v = x
	case "!!int":
		var x int64
		if err := n.Decode(&x); err != nil {
			return fmt.Errorf("line %d: %w", n.Line, err)
		}
		v = x
	case "!!float":
		var x float64
		if err := n.Decode(&x); err != nil {
			return fmt.Errorf("line %d: %w", n.Line, err)
		}
		v = x
	default: // !!str, !!timestamp, !!binary: the text as written
		writeString(b, n.Value)
		return nil
	}
	out, err := json.Marshal(v)
	if err != nil { // NaN and infinities have no JSON form
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	b.Write(out)
	return nil
}

// writeString writes s as a JSON string, leaving <, > and & as they are
// (the page escapes its copy with escapeForScript).
func writeString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)       // a string always encodes
	b.Truncate(b.Len() - 1) // Encode ends with a newline
}

// generatorExtensions are the prefixes of extensions that instruct a code
// generator (oapi-codegen's x-go-type, x-go-name, ...): they mean nothing to
// a reader, so the page's copy of the spec goes without them. The other
// extensions (decisions, unconfirmed notes, known values, limits) stay,
// shown by Redoc's showExtensions.
var generatorExtensions = []string{"x-go-", "x-oapi-codegen-"}

// dropGeneratorExtensions removes the generator's extensions from every
// mapping under n.
func dropGeneratorExtensions(n *yaml.Node) {
	if n.Kind == yaml.MappingNode {
		kept := n.Content[:0]
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i]; k.Kind == yaml.ScalarNode && hasAnyPrefix(k.Value, generatorExtensions) {
				continue
			}
			kept = append(kept, n.Content[i], n.Content[i+1])
		}
		n.Content = kept
	}
	for _, c := range n.Content {
		dropGeneratorExtensions(c)
	}
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
