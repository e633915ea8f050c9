package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// FuzzStrictJSON feeds the strict JSON reader (one pass for the depth and
// element limits, repeated keys and trailing data) arbitrary bytes, with and
// without the strict checks. Properties: it never panics; on valid JSON it
// refuses exactly the bodies over a limit or (strict) with a repeated key (as
// encoding/json reads keys), and accepts the rest; on anything else it may
// leave the verdict to the validator (nil or errJSONSyntax); every refusal is
// a 400 with a bounded message.
func FuzzStrictJSON(f *testing.F) {
	for _, s := range []string{
		`{"status":"success"}`, `[{"task_id":"0b6b1f5e-2d0c-4c59-9d43-1f4e8a3d9c01","status":"retry"}]`,
		`{"status":"success","status":"error"}`, `{"a":{"b/c~":{"x":1,"x":2}}}`, `{"a":1} junk`, `[[[[[[]]]]]]`,
		`"[[[[\"{{{"`, `{"a":"\\"}`, `{"\u0061":1,"a":2}`, strings.Repeat("[", 65) + strings.Repeat("]", 65), `[1,2,`, ``, `  `,
		`{"\xff":1,"\xfe":2}`, `[{"a":1},{"a":1,"b":[{"a":1,"a":2}]}]`, `1 2`, `{"a":1}}`,
	} {
		f.Add([]byte(s))
	}
	const depth, elements = 8, 40 // small, so the fuzzer reaches them easily
	f.Fuzz(func(t *testing.T, body []byte) {
		derr := checkJSON(body, depth, elements, false)
		err := checkJSON(body, depth, elements, true)
		var e *Error
		for _, err := range []error{derr, err} {
			if errors.As(err, &e) {
				if e.Status != 400 || e.Code != CodeInvalidBody {
					t.Fatalf("refusal %d %s", e.Status, e.Code)
				}
				if len(e.Body().Error.Message) > MaxErrorText || len(e.Body().Error.Details) > MaxErrorText {
					t.Fatalf("unbounded error text")
				}
			} else if err != nil && (err == derr || !errors.Is(err, errJSONSyntax)) {
				t.Fatalf("unexpected error %T %v", err, err)
			}
		}
		e = nil
		errors.As(err, &e)
		if !json.Valid(body) {
			return
		}
		over := maxDepth(body) > depth || countElements(body) > elements
		switch {
		case over:
			if derr == nil || e == nil {
				t.Fatalf("over a limit but passed (limits alone: %v; strict: %v): %q", derr, err, body)
			}
		case derr != nil:
			t.Fatalf("within the limits but refused by them: %v: %q", derr, body)
		case hasDuplicateKey(body):
			if e == nil || !strings.Contains(e.Details, "key appears more than once") {
				t.Fatalf("repeated key not refused (%v): %q", err, body)
			}
		case err != nil:
			t.Fatalf("valid JSON %q refused: %v", body, err)
		}
	})
}

// maxDepth is a slow, obviously right depth of a valid JSON document.
func maxDepth(body []byte) int {
	var v any
	dec := json.NewDecoder(bytes.NewReader(body))
	if dec.Decode(&v) != nil {
		return 0
	}
	var walk func(any) int
	walk = func(v any) int {
		d := 0
		switch x := v.(type) {
		case []any:
			for _, c := range x {
				d = max(d, walk(c))
			}
			return d + 1
		case map[string]any:
			for _, c := range x {
				d = max(d, walk(c))
			}
			return d + 1
		}
		return 0
	}
	return walk(v)
}

// countElements counts the opening tokens of a valid document: every string
// (keys included), number, literal, array and object.
func countElements(body []byte) int {
	dec := json.NewDecoder(bytes.NewReader(body))
	n := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return n
		}
		if d, ok := tok.(json.Delim); ok && (d == ']' || d == '}') {
			continue
		}
		n++
	}
}

// hasDuplicateKey reports whether any object of a valid document names a key
// twice, by comparing the key count of each object with its decoded size.
func hasDuplicateKey(body []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	type frame struct {
		obj  bool
		keys map[string]bool
		key  bool // next string token is a key
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		top := (*frame)(nil)
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				stack = append(stack, &frame{obj: true, keys: map[string]bool{}, key: true})
				continue
			case '[':
				stack = append(stack, &frame{})
				continue
			default:
				stack = stack[:len(stack)-1]
			}
		case string:
			if top != nil && top.obj && top.key {
				if top.keys[v] {
					return true
				}
				top.keys[v] = true
				top.key = false
				continue
			}
		}
		if len(stack) > 0 && stack[len(stack)-1].obj {
			stack[len(stack)-1].key = true
		}
	}
}
