package docs

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/interop-data/interop/api"
)

func get(t *testing.T, h http.Handler, method, path string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec
}

func newHandler(t *testing.T) *Handler {
	t.Helper()
	h, err := New(api.Spec)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// The bundle in the binary is the release the docs name, unchanged.
func TestAssetIsThePinnedRedoc(t *testing.T) {
	sum := sha256.Sum256(redocJS)
	if got := hex.EncodeToString(sum[:]); got != redocSHA256 {
		t.Fatalf("assets/redoc.standalone.js has sha256 %s, want %s (Redoc %s)", got, redocSHA256, RedocVersion)
	}
	if !bytes.Contains(redocNotices, []byte(`Version: "`+RedocVersion+`"`)) {
		t.Errorf("the bundled notices do not name Redoc %s", RedocVersion)
	}
	if !bytes.Contains(redocLicense, []byte("MIT License")) {
		t.Error("assets/LICENSE is not Redoc's MIT license")
	}
}

func TestSpecServedExactly(t *testing.T) {
	h := newHandler(t)
	rec := get(t, h, http.MethodGet, YAMLPath)
	if rec.Code != 200 || !bytes.Equal(rec.Body.Bytes(), api.Spec) {
		t.Fatalf("GET %s: %d, body equal to api.Spec: %v", YAMLPath, rec.Code, bytes.Equal(rec.Body.Bytes(), api.Spec))
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/yaml" {
		t.Errorf("Content-Type %q", ct)
	}

	rec = get(t, h, http.MethodGet, JSONPath)
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("GET %s: %d %q", JSONPath, rec.Code, rec.Header().Get("Content-Type"))
	}
	// Same content: both decoded and re-encoded the same way compare equal.
	var fromYAML, fromJSON any
	if err := yaml.Unmarshal(api.Spec, &fromYAML); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &fromJSON); err != nil {
		t.Fatalf("openapi.json is not JSON: %v", err)
	}
	a, _ := json.Marshal(fromYAML)
	b, _ := json.Marshal(fromJSON)
	if !bytes.Equal(a, b) {
		t.Fatal("openapi.json does not hold the same document as openapi.yaml")
	}
	if bytes.Contains(rec.Body.Bytes(), []byte(`\u003c`)) {
		t.Error("openapi.json escapes < for HTML; it is served as JSON, not embedded in a page")
	}
	// Same order: the paths come in the order the YAML lists them.
	var node yaml.Node
	_ = yaml.Unmarshal(api.Spec, &node)
	paths := mapValue(node.Content[0], "paths")
	last := -1
	for i := 0; i < len(paths.Content); i += 2 {
		at := bytes.Index(rec.Body.Bytes(), []byte(`"`+paths.Content[i].Value+`": {`))
		if at < last {
			t.Fatalf("path %s is out of the spec's order in openapi.json", paths.Content[i].Value)
		}
		last = at
	}
}

func TestPage(t *testing.T) {
	h := newHandler(t)
	rec := get(t, h, http.MethodGet, PagePath)
	page := rec.Body.String()
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("GET %s: %d %q", PagePath, rec.Code, rec.Header().Get("Content-Type"))
	}
	for _, want := range []string{
		`<script src="docs/redoc-` + RedocVersion + `.standalone.js">`, // relative, pinned
		`# Decisions`,
		`## find-envelope`,
		"Every Find operation wraps its object",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "://") && strings.Contains(page, "<script src=\"http") {
		t.Error("page loads a script from another host")
	}

	rec = get(t, h, http.MethodGet, ScriptPath)
	if rec.Code != 200 || !bytes.Equal(rec.Body.Bytes(), redocJS) || !strings.Contains(rec.Header().Get("Cache-Control"), "immutable") {
		t.Fatalf("GET %s: %d, %d bytes, Cache-Control %q", ScriptPath, rec.Code, rec.Body.Len(), rec.Header().Get("Cache-Control"))
	}
	if rec := get(t, h, http.MethodGet, LicensePath); rec.Code != 200 || !strings.Contains(rec.Body.String(), "Redocly") {
		t.Errorf("GET %s: %d", LicensePath, rec.Code)
	}
	rec = get(t, h, http.MethodHead, PagePath)
	if rec.Code != 200 || rec.Body.Len() != 0 || rec.Header().Get("Content-Length") != strconv.Itoa(len(h.page)) {
		t.Errorf("HEAD %s: %d, %d bytes, Content-Length %q", PagePath, rec.Code, rec.Body.Len(), rec.Header().Get("Content-Length"))
	}
	if rec := get(t, h, http.MethodGet, PagePath+"/"); rec.Code != http.StatusMovedPermanently || rec.Header().Get("Location") != "../docs" {
		t.Errorf("GET /docs/: %d to %q", rec.Code, rec.Header().Get("Location"))
	}
	for _, p := range []string{PagePath + "/redoc.standalone.js", "/docs/x"} {
		if rec := get(t, h, http.MethodGet, p); rec.Code != 404 {
			t.Errorf("GET %s: %d, want 404", p, rec.Code)
		}
	}
	if rec := get(t, h, http.MethodPost, PagePath); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST %s: %d, want 405", PagePath, rec.Code)
	}
}

// A description cannot end the page's script element early, and the page
// still carries the text.
func TestPageEscapesSpec(t *testing.T) {
	spec := []byte("openapi: 3.0.3\ninfo:\n  title: T & co\n  version: '1'\n  description: </script><script>alert(1)</script>\n" +
		"  x-decisions:\n    - id: d1\n      text: one\npaths: {}\n")
	h, err := New(spec)
	if err != nil {
		t.Fatal(err)
	}
	page := get(t, h, http.MethodGet, PagePath).Body.String()
	if strings.Contains(page, "</script><script>alert") {
		t.Fatal("the description closed the script element")
	}
	if !strings.Contains(page, `\u003c/script\u003e`) || !strings.Contains(page, "<title>T &amp; co reference</title>") || !strings.Contains(page, "## d1") {
		t.Fatalf("page:\n%s", page)
	}
	// The JSON form keeps the text as it is.
	if body := get(t, h, http.MethodGet, JSONPath).Body.String(); !strings.Contains(body, `</script><script>alert(1)</script>`) {
		t.Fatalf("openapi.json: %s", body)
	}
}

func TestNodeJSONScalars(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"a: 1\nb: 1.5\nc: true\nd: null\ne: '1'\nf: 2024-01-02\ng: ~\nh: [x, 2]\n", `{"a":1,"b":1.5,"c":true,"d":null,"e":"1","f":"2024-01-02","g":null,"h":["x",2]}`},
		{"z: 1\na: 2\n", `{"z":1,"a":2}`},
		{"a: &x {k: v}\nb: *x\n", `{"a":{"k":"v"},"b":{"k":"v"}}`},
		{"a: 0x10\n", `{"a":16}`},
	} {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(tc.in), &n); err != nil {
			t.Fatal(err)
		}
		got, err := nodeJSON(&n)
		if err != nil || string(got) != tc.want {
			t.Errorf("%q: %s, %v; want %s", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"a: .inf\n", "? [k]\n: v\n", "a: {<<: {b: 1}}\n"} {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(bad), &n); err != nil {
			continue
		}
		if got, err := nodeJSON(&n); err == nil {
			t.Errorf("%q: %s, want an error", bad, got)
		}
	}
	if _, err := New([]byte("- a list\n")); err == nil {
		t.Error("New accepted a spec that is not a mapping")
	}
	if _, err := New([]byte("a: [\n")); err == nil {
		t.Error("New accepted invalid YAML")
	}
}
