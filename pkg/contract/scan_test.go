package contract

import (
	"bytes"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"
)

// reference is what the one pass (scan) must answer for body, spelled out
// on encoding/json's tokens with the depth, the count and the keys tracked
// by hand: "" (nothing to refuse) or the first fault, one of "utf8",
// "elements", "depth", "duplicate", "trailing" and "syntax". It is the
// behaviour the kit had when a separate scanner ran before the validator
// (one fault at a time, in the order of the bytes, UTF-8 before all), made
// exact where that scanner was lax on bodies that are not JSON. Without
// strict it judges the limits only, and a body that is not JSON is left
// alone from its first fault on.
//
// Where a parser counts an element is part of the answer when a limit and a
// syntax error meet, so it is pinned as the decoder reads: a value once it
// is read (a number once a delimiter ends it), an array or object once it
// is opened, a key once its colon and the first byte of its value are.
func reference(body []byte, lim Limits, strict bool) string {
	if lim.UTF8 && !utf8.Valid(body) {
		return "utf8"
	}
	notJSON := ""
	if strict {
		notJSON = "syntax"
	}
	depthLimit := lim.MaxDepth
	if depthLimit <= 0 || depthLimit > maxDepth {
		depthLimit = maxDepth
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if !strict {
		dec.UseNumber() // 1e999 is JSON; only the validator's float64 refuses it
	}
	type level struct {
		obj     bool
		wantKey bool
		keys    map[string]bool
	}
	var stack []*level
	elements := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return notJSON
		}
		off := int(dec.InputOffset())
		var top *level
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch v := tok.(type) {
		case json.Delim:
			if v == '[' || v == '{' {
				if elements++; lim.MaxElements > 0 && elements > lim.MaxElements {
					return "elements"
				}
				if len(stack)+1 > depthLimit {
					return "depth"
				}
				stack = append(stack, &level{obj: v == '{', wantKey: v == '{', keys: map[string]bool{}})
				continue
			}
			stack = stack[:len(stack)-1]
		case string:
			if top != nil && top.obj && top.wantKey {
				rest := bytes.TrimLeft(body[off:], " \t\r\n")
				if len(rest) == 0 || rest[0] != ':' || len(bytes.TrimLeft(rest[1:], " \t\r\n")) == 0 {
					return notJSON
				}
				if elements++; lim.MaxElements > 0 && elements > lim.MaxElements {
					return "elements"
				}
				if strict && top.keys[v] {
					return "duplicate"
				}
				top.keys[v] = true
				top.wantKey = false
				continue
			}
			elements++
		case float64, json.Number:
			if off < len(body) && !strings.ContainsRune(" \t\r\n,]}", rune(body[off])) {
				return notJSON // 1x, 01: the number runs into what is not a delimiter
			}
			elements++
		default: // true, false, null
			elements++
		}
		if lim.MaxElements > 0 && elements > lim.MaxElements {
			return "elements"
		}
		if len(stack) == 0 { // the first value is complete
			if strict && len(bytes.TrimLeft(body[off:], " \t\r\n")) > 0 {
				return "trailing"
			}
			return ""
		}
		if top := stack[len(stack)-1]; top.obj {
			top.wantKey = true
		}
	}
}

// faultOf is a violation as reference names it; a schema's rule is no fault
// of the structure ("").
func faultOf(v *Violation) string {
	if v == nil {
		return ""
	}
	switch v.Rule {
	case "json":
		if v.Reason == trailing {
			return "trailing"
		}
		return "syntax"
	case "depth", "elements", "duplicate", "utf8":
		return v.Rule
	}
	return ""
}

// scanSchemas are the schemas the comparison runs the pass with besides
// none: request bodies the kit validates (declared keys in bitsets,
// free-form params and error objects, arrays of them) and a response with
// nested declared objects.
var scanSchemas = []string{
	"acknowledgeTask request application/json",
	"acknowledgeTasks request application/json",
	"listPersons response 200 application/json",
}

func schemasByName(t testing.TB) []*Schema {
	c, err := Shared()
	if err != nil {
		t.Fatal(err)
	}
	var out []*Schema
	for _, sc := range c.Schemas() {
		for _, name := range scanSchemas {
			if sc.Name() == name {
				out = append(out, sc)
			}
		}
	}
	if len(out) != len(scanSchemas) {
		t.Fatalf("found %d of the schemas %q", len(out), scanSchemas)
	}
	return out
}

// compareScan runs the pass on body every way the kit and the client run
// it and fails where it names another fault than reference.
func compareScan(t *testing.T, schemas []*Schema, body []byte, lim Limits) {
	t.Helper()
	for _, u := range []bool{true, false} {
		lim.UTF8 = u
		if got, want := faultOf(CheckLimits(body, lim)), reference(body, lim, false); got != want {
			t.Fatalf("CheckLimits(%q, %+v): %q, reference %q", body, lim, got, want)
		}
		want := reference(body, lim, true)
		if got := faultOf(scan(nil, anything, body, lim, true)); got != want {
			t.Fatalf("strict pass without a schema (%q, %+v): %q, reference %q", body, lim, got, want)
		}
		for _, sc := range schemas {
			v := sc.ValidateWithin(body, lim)
			if got := faultOf(v); got != want {
				t.Fatalf("%s.ValidateWithin(%q, %+v): %v (%q), reference %q", sc.Name(), body, lim, v, got, want)
			}
		}
	}
}

// scanSeeds are the cases the comparison starts from: each limit at and one
// over, keys equal only once escapes are resolved or bytes replaced,
// trailing data and trailing whitespace, brackets inside strings, NUL.
var scanSeeds = []string{
	`{"status":"success"}`,
	`[{"task_id":"0b6b1f5e-2d0c-4c59-9d43-1f4e8a3d9c01","status":"retry"}]`,
	`{"status":"success","status":"error"}`,
	`{"status":"error","params":{"a/b":{"x":1,"x":2}}}`,
	`{"a":{"b/c~":{"x":1,"x":2}}}`,
	`{"\u0061":1,"a":2}`,
	`{"status":"error","st\u0061tus":"success"}`,
	`{"\ud800":1,"\udc00":2}`,
	"{\"\xff\":1,\"\xfe\":2}",
	"{\"status\":\"error\",\"message\":\"a\xffb\"}",
	`{"status":"success"} junk`,
	`{"status":"success"}{"status":"error"}`,
	"{\"status\":\"success\"} \t\r\n",
	`"a"x`, `1x`, `1 x`, `truex`, `[1x]`, `[01]`, `1e999`, `[1e999]`, `-`,
	`"[[[[\"{{{"`, `{"status":"error","message":"]]]}}}{{{[[["}`,
	`{"status":"error","message":"a\u0000b"}`, "[\"a\x00b\"]",
	strings.Repeat("[", 8) + strings.Repeat("]", 8),
	strings.Repeat("[", 9) + strings.Repeat("]", 9),
	`{"status":"error","params":{"a":[[[[[[1]]]]]]}}`,
	`{"status":"error","params":{"a":[[[[[[[1]]]]]]]}}`,
	`[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39]`,
	`[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40]`,
	`{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"j":10,"k":11,"l":12,"m":13,"n":14,"o":15,"p":16,"q":17,"a":18}`,
	`[1,2,`, `{"a"`, `{"a":`, `{"a" 1}`, `{"a": }`, ``, `  `, `{"a":1}}`, `[1 2, {"a":1,"a":2}]`,
	`[{"a":1},{"a":1,"b":[{"a":1,"a":2}]}]`,
}

// FuzzScanAgreesWithReference feeds any bytes to the one pass over a body
// (the limits alone, and the limits with the JSON's strict rules without
// and with a schema) and to reference: they must name the same fault, or
// none. The limits are small, so the fuzzer reaches them.
func FuzzScanAgreesWithReference(f *testing.F) {
	for _, s := range scanSeeds {
		f.Add([]byte(s))
	}
	schemas := schemasByName(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		compareScan(t, schemas, body, Limits{MaxDepth: 8, MaxElements: 40})
		if v := scan(nil, anything, body, Limits{MaxDepth: 8, MaxElements: 40}, true); v != nil && (len(v.Pointer) > maxPointer || len(v.Reason) > maxReason) {
			t.Fatalf("unbounded violation: %d-byte pointer, %d-byte reason", len(v.Pointer), len(v.Reason))
		}
	})
}

func TestScanAgreesWithReferenceOnSeeds(t *testing.T) {
	schemas := schemasByName(t)
	for _, s := range scanSeeds {
		compareScan(t, schemas, []byte(s), Limits{MaxDepth: 8, MaxElements: 40})
		compareScan(t, schemas, []byte(s), Limits{})
	}
}

// The faults the kit answers with its own words, as the pass names them:
// the pointer of a repeated key names the key, escapes resolved.
func TestScanFaults(t *testing.T) {
	lim := Limits{MaxDepth: 4, MaxElements: 20, UTF8: true}
	for _, c := range []struct{ body, rule, pointer, reason string }{
		{`{"status":"success","status":"error"}`, "duplicate", "/status", "key appears more than once"},
		{`{"status":"error","params":{"a/b":{"x":1,"\u0078":2}}}`, "duplicate", "/params/a~1b/x", "key appears more than once"},
		{`[{"a":1},{"b":[{"a":1,"a":2}]}]`, "duplicate", "/1/b/0/a", "key appears more than once"},
		{`{"status":"success"} junk`, "json", "", "data after the JSON value"},
		{`[[[[[]]]]]`, "depth", "/0/0/0/0", "nesting deeper than 4 levels"},
		{`[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20]`, "elements", "", "more than 20 elements (values and keys)"},
		{"{\"status\":\"error\",\"message\":\"\xc3\"}", "utf8", "", "body is not UTF-8"},
		{"[[[[[[[[ \xff", "utf8", "", "body is not UTF-8"}, // UTF-8 before the depth, wherever it is
		{"{\"a\":1,\"a\":2} \"\xff\"", "utf8", "", "body is not UTF-8"},
	} {
		for _, v := range []*Violation{scan(nil, anything, []byte(c.body), lim, true)} {
			if v == nil || v.Rule != c.rule || v.Pointer != c.pointer || v.Reason != c.reason {
				t.Errorf("%s: %+v, want %s at %q: %s", c.body, v, c.rule, c.pointer, c.reason)
			}
		}
	}
	// The limits alone leave repeated keys, trailing data and syntax to others.
	for _, body := range []string{`{"a":1,"a":2}`, `{} junk`, `[1 2`, `[1e999]`} {
		if v := CheckLimits([]byte(body), lim); v != nil {
			t.Errorf("CheckLimits(%s): %v", body, v)
		}
	}
}

// The pass costs what reading the body costs: a million '[' is refused at
// the limit, a wide object's keys are a set (not compared pairwise), and a
// valid body of many small free-form objects allocates nothing.
func TestScanCostIsBounded(t *testing.T) {
	schemas := schemasByName(t)
	ack, acks := schemas[0], schemas[1]
	deep := []byte(strings.Repeat("[", 1_000_000))
	lim := Limits{MaxDepth: 64, MaxElements: 50_000, UTF8: true}
	for name, f := range map[string]func(){
		"CheckLimits": func() { CheckLimits(deep, lim) },
		"validate":    func() { acks.ValidateWithin(deep, lim) },
	} {
		if a := testing.AllocsPerRun(5, f); a > 20 {
			t.Errorf("%s on a million '[': %.0f allocations", name, a)
		}
	}
	wide := func(n int) []byte {
		var b bytes.Buffer
		b.WriteString(`{"status":"error","params":{`)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"k%d":"v"`, i)
		}
		b.WriteString(`}}`)
		return b.Bytes()
	}
	// A wide object's keys go into a set (a map past 16 keys, so twice the
	// keys cost twice the bytes), not a list searched for each new key.
	small, large := wide(20_000), wide(40_000)
	bs, bl := allocBytes(func() { ack.ValidateWithin(small, Limits{}) }), allocBytes(func() { ack.ValidateWithin(large, Limits{}) })
	if bs < 20_000 || bl > 3*bs {
		t.Errorf("wide objects: %d bytes allocated for %d keys, %d for %d", bs, 20_000, bl, 40_000)
	}
	var group bytes.Buffer
	group.WriteByte('[')
	for i := range 500 {
		if i > 0 {
			group.WriteByte(',')
		}
		fmt.Fprintf(&group, `{"task_id":"0b6b1f5e-2d0c-4c59-9d43-%012d","status":"error","message":"m","params":{"a":"1","b":"2"}}`, i)
	}
	group.WriteByte(']')
	if v := acks.ValidateWithin(group.Bytes(), lim); v != nil {
		t.Fatal(v)
	}
	for name, f := range map[string]func(){
		"validate":    func() { acks.ValidateWithin(group.Bytes(), lim) },
		"strict":      func() { scan(nil, anything, group.Bytes(), lim, true) },
		"CheckLimits": func() { CheckLimits(group.Bytes(), lim) },
	} {
		// A few: the pooled run, which the race detector's sync.Pool drops
		// at random; never one per item (500).
		if a := testing.AllocsPerRun(5, f); a > 10 {
			t.Errorf("%s, a valid group acknowledgement: %.0f allocations", name, a)
		}
	}
}

func allocBytes(f func()) uint64 {
	f() // the pool's run warmed up
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}
