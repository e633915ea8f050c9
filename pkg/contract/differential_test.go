package contract_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/interop-data/interop/pkg/contract"
	"github.com/interop-data/interop/pkg/reference/referencetest"
)

// sample is one document and the schema it is validated against.
type sample struct {
	name   string
	schema *contract.Schema
	body   []byte
}

func compiled(t testing.TB) *contract.Compiled {
	t.Helper()
	c, err := contract.Shared()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// specExamples returns every example the spec gives for a request or
// response body, with the schema it illustrates.
func specExamples(t testing.TB, c *contract.Compiled) []sample {
	var out []sample
	add := func(name string, sc *contract.Schema, v any) {
		if sc == nil || v == nil {
			return
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out = append(out, sample{name: name, schema: sc, body: b})
	}
	for _, o := range c.Operations() {
		op := o.Route.Operation
		if rb := op.RequestBody; rb != nil && rb.Value != nil {
			for mt, m := range rb.Value.Content {
				sc, _ := o.RequestBody(mt, []byte("{}"))
				add(o.ID+" request example", sc, m.Example)
				for name, ex := range m.Examples {
					if ex != nil && ex.Value != nil {
						add(o.ID+" request example "+name, sc, ex.Value.Value)
					}
				}
			}
		}
		for status, ref := range op.Responses.Map() {
			code, err := strconv.Atoi(status)
			if err != nil || ref.Value == nil {
				continue
			}
			for mt, m := range ref.Value.Content {
				sc, _ := o.ResponseBody(code, mt)
				add(o.ID+" "+status+" example", sc, m.Example)
				for name, ex := range m.Examples {
					if ex != nil && ex.Value != nil {
						add(o.ID+" "+status+" example "+name, sc, ex.Value.Value)
					}
				}
			}
		}
	}
	return out
}

var (
	answersOnce sync.Once
	answers     []sample
)

// referenceAnswers calls every operation of a reference server (a small
// district) and keeps each answer with the schema of its status, plus the
// request bodies sent; error answers (a bad parameter, an unknown id) too.
func referenceAnswers(t testing.TB, c *contract.Compiled) []sample {
	answersOnce.Do(func() { answers = captureAnswers(t, c) })
	if len(answers) == 0 {
		t.Fatal("no reference answers captured")
	}
	return answers
}

func captureAnswers(t testing.TB, c *contract.Compiled) []sample {
	env := referencetest.Start(t, referencetest.WithTenants(1))
	token := env.Token(t, 0)
	var out []sample
	call := func(o *contract.Operation, path, query string, body []byte) []byte {
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequest(o.Method, env.URL+path+query, rd)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
			sc, _ := o.RequestBody("application/json", body)
			out = append(out, sample{name: o.ID + " request", schema: sc, body: body})
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		sc, v := o.ResponseBody(resp.StatusCode, resp.Header.Get("Content-Type"))
		if v != nil || sc == nil {
			t.Fatalf("%s %s answered %d %q: %v", o.Method, path, resp.StatusCode, resp.Header.Get("Content-Type"), v)
		}
		out = append(out, sample{name: fmt.Sprintf("%s %d", o.ID, resp.StatusCode), schema: sc, body: b})
		return b
	}
	firstID := func(op string) string {
		o := c.Operation(op)
		var page struct {
			Data []map[string]any `json:"data"`
		}
		if err := json.Unmarshal(call(o, o.Path, "?page_size=3", nil), &page); err != nil || len(page.Data) == 0 {
			t.Fatalf("%s: no data (%v)", op, err)
		}
		for _, v := range page.Data[0] {
			if m, ok := v.(map[string]any); ok {
				if id, ok := m["id"].(string); ok {
					return id
				}
			}
		}
		t.Fatalf("%s: no id", op)
		return ""
	}
	ids := map[string]string{
		"leas": firstID("listLEAs"), "orgs": firstID("listSchools"), "persons": firstID("listPersons"),
		"courses": firstID("listCourses"), "sections": firstID("listSections"), "terms": firstID("listTerms"),
	}
	taskID := firstID("listAdminTasks")
	for _, o := range c.Operations() {
		path := o.Path
		if strings.Contains(path, "{id}") {
			id := taskID
			for k, v := range ids {
				if strings.HasPrefix(path, "/rostering/"+k+"/") {
					id = v
				}
			}
			path = strings.Replace(path, "{id}", id, 1)
		}
		var body []byte
		switch o.ID {
		case "acknowledgeTasks", "acknowledgeAdminTasks":
			body = []byte(`[{"task_id":"` + taskID + `","status":"retry","message":"Zoë ✓"}]`)
		case "acknowledgeTask", "acknowledgeAdminTask":
			body = []byte(`{"status":"retry","$sys.app_id":"8858","params":{"a":"b"}}`)
		}
		if o.ID == "deleteAdminTask" {
			continue // last: it removes the task the others use
		}
		query := ""
		if o.Method == http.MethodGet && !strings.Contains(o.Path, "{id}") || strings.HasSuffix(o.Path, "}/students") {
			query = "?page_size=3"
		}
		call(o, path, query, body)
		if o.Method == http.MethodGet {
			call(o, path, "?page_size=0", nil) // 400
		}
		if strings.Contains(o.Path, "{id}") {
			call(o, strings.Replace(o.Path, "{id}", "2a4a2e06-7755-43bb-9766-4f398079ef8c", 1), "", body) // 404
		}
	}
	// The task payloads of every kind, in both renderings.
	for _, q := range []string{"?page_size=50", "?page_size=50&schema=3.0.0"} {
		o := c.Operation("listAdminTasks")
		call(o, o.Path, q, nil)
	}
	o := c.Operation("deleteAdminTask")
	call(o, strings.Replace(o.Path, "{id}", taskID, 1), "", nil)
	return out
}

// encode writes v as JSON with object keys in a shuffled order, so that the
// streaming validator meets keys in another order than kin-openapi's sorted
// walk.
func encode(buf *bytes.Buffer, v any, rng *rand.Rand) {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		rng.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
		buf.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				buf.WriteByte(',')
			}
			kb, _ := json.Marshal(k)
			buf.Write(kb)
			buf.WriteByte(':')
			encode(buf, x[k], rng)
		}
		buf.WriteByte('}')
	case []any:
		buf.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				buf.WriteByte(',')
			}
			encode(buf, e, rng)
		}
		buf.WriteByte(']')
	case rawJSON:
		buf.WriteString(string(x))
	default:
		b, _ := json.Marshal(x)
		buf.Write(b)
	}
}

// rawJSON is written as is (for values json.Marshal cannot produce).
type rawJSON string

// replacements are what a value is swapped for: type swaps, nulls, wrong
// formats and enum values, numbers at the edges, non-ASCII text, deep arrays.
var replacements = []any{
	nil, true, false, 0.0, 1.0, -1.0, 1.5, 2001.0, 4294967296.0, 1e300,
	"", "x", "not-a-uuid", "2a4a2e06-7755-43bb-9766-4f398079ef8c", "2025-13-45", "2025-02-29", "2024-02-29",
	"2025-11-16T12:17:04.959Z", "2025-11-16 12:17:04", "success", "bogus", "no-at-sign", "a@b",
	"Zoë Núñez 日本語 🎉", strings.Repeat("é", 4097),
	map[string]any{}, []any{}, []any{map[string]any{}}, map[string]any{"status": "success"},
	rawJSON(strings.Repeat("[", 60) + strings.Repeat("]", 60)),
	rawJSON(`"\ud800 lone surrogate"`), rawJSON("\"\xff\xfe invalid utf-8\""),
	rawJSON(`1E400`), rawJSON(`-0`), rawJSON(`1.0`), rawJSON(`12345678901234567890`),
}

// mutations returns copies of doc with one change each at its positions:
// the value replaced (see replacements), removed (a missing required
// property), or an extra property added to an object. A large document gets
// about max mutations at positions drawn at random.
func mutations(doc any, rng *rand.Rand, perNode, max int) []any {
	keep := 1.0
	if n := countNodes(doc) * (perNode + 2); n > max {
		keep = float64(max) / float64(n)
	}
	var out []any
	emit := func() {
		if keep >= 1 || rng.Float64() < keep {
			out = append(out, deepCopy(doc))
		}
	}
	var walk func(v any, set func(any)) // set replaces v in its parent
	walk = func(v any, set func(any)) {
		for i := 0; i < perNode; i++ {
			r := replacements[rng.IntN(len(replacements))]
			set(r)
			emit()
		}
		set(v)
		switch x := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				child := x[k]
				delete(x, k)
				emit()
				x[k] = child
				walk(child, func(n any) { x[k] = n })
			}
			x["zz_extra"] = replacements[rng.IntN(len(replacements))]
			emit()
			delete(x, "zz_extra")
		case []any:
			for i := range x {
				walk(x[i], func(n any) { x[i] = n })
			}
		}
	}
	walk(doc, func(any) {})
	return out
}

func countNodes(v any) int {
	n := 1
	switch x := v.(type) {
	case map[string]any:
		for _, e := range x {
			n += countNodes(e)
		}
	case []any:
		for _, e := range x {
			n += countNodes(e)
		}
	}
	return n
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = deepCopy(e)
		}
		return s
	}
	return v
}

// agree checks that the compiled validator and kin-openapi give the same
// verdict on body and, when it is invalid, name the same pointer and rule.
func agree(t testing.TB, name string, sc *contract.Schema, body []byte) bool {
	t.Helper()
	got, want := sc.Validate(body), sc.ValidateWithKin(body)
	switch {
	case got == nil && want == nil:
		return true
	case got == nil || want == nil:
		t.Errorf("%s (%s): compiled %v, kin-openapi %v\nbody: %s", name, sc.Name(), got, want, clip(body))
		return false
	case want.Rule == "json":
		if got.Rule != "json" && got.Rule != "depth" {
			t.Errorf("%s: kin-openapi refuses the JSON, compiled says %v\nbody: %s", name, got, clip(body))
			return false
		}
		return true
	case got.Pointer != want.Pointer || got.Rule != want.Rule:
		t.Errorf("%s (%s): first error differs:\n compiled    %q %s: %s\n kin-openapi %q %s: %s\nbody: %s",
			name, sc.Name(), got.Pointer, got.Rule, got.Reason, want.Pointer, want.Rule, want.Reason, clip(body))
		return false
	}
	return true
}

func clip(b []byte) string {
	if len(b) > 600 {
		return string(b[:600]) + "..."
	}
	return string(b)
}

// TestCompiledAgreesWithKinOpenAPI is the differential proof: on every
// example of the spec, every answer of the reference server to its
// operations, and systematic mutations of each, the compiled validator and
// kin-openapi agree on valid or invalid, and on the pointer and rule of the
// first error.
func TestCompiledAgreesWithKinOpenAPI(t *testing.T) {
	c := compiled(t)
	base := append(specExamples(t, c), referenceAnswers(t, c)...)
	ops := map[string]bool{}
	for _, s := range base {
		ops[strings.Fields(s.name)[0]] = true
		if v := s.schema.Validate(s.body); v != nil && !strings.Contains(s.name, " 4") {
			// Examples and 2xx answers must be valid to begin with.
			if ok := agree(t, s.name, s.schema, s.body); ok {
				t.Errorf("%s is invalid (both agree): %v", s.name, v)
			}
		}
	}
	if len(ops) < len(c.Operations()) {
		t.Errorf("the corpus covers %d operations of %d", len(ops), len(c.Operations()))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	perNode, max := 3, 400
	if testing.Short() {
		perNode, max = 2, 150
	}
	total, invalid, failures := 0, 0, 0
	var buf bytes.Buffer
	for _, s := range base {
		var doc any
		if err := json.Unmarshal(s.body, &doc); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		docs := append([]any{doc}, mutations(doc, rng, perNode, max)...)
		for i, d := range docs {
			buf.Reset()
			encode(&buf, d, rng)
			total++
			if s.schema.Validate(buf.Bytes()) != nil {
				invalid++
			}
			if !agree(t, fmt.Sprintf("%s mutation %d", s.name, i), s.schema, buf.Bytes()) {
				if failures++; failures > 20 {
					t.Fatal("too many disagreements")
				}
			}
		}
	}
	t.Logf("%d documents (%d base, %d invalid), %d disagreements", total, len(base), invalid, failures)
	if total < 10000 {
		t.Errorf("only %d documents", total)
	}
	if os.Getenv("INTEROP_WRITE_FUZZ_SEEDS") != "" {
		writeSeeds(t, base)
	}
}

// writeSeeds refreshes the checked-in seed corpus of FuzzCompiledAgreesWithKinOpenAPI.
func writeSeeds(t *testing.T, base []sample) {
	dir := filepath.Join("testdata", "fuzz", "FuzzCompiledAgreesWithKinOpenAPI")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	per := map[string]int{}
	for i, s := range base {
		if len(s.body) > 3000 || per[s.schema.Name()] >= 2 {
			continue
		}
		per[s.schema.Name()]++
		content := fmt.Sprintf("go test fuzz v1\nstring(%q)\n[]byte(%q)\n", s.schema.Name(), s.body)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%03d", i)), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
