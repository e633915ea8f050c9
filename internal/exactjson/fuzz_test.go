package exactjson_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/interop-data/interop/internal/exactjson"
)

// mismatch is the reference for Check on node, written over the generic
// decoding: some key, where node has fields, differs from one only by case.
func mismatch(v any) bool {
	obj, ok := v.(map[string]any)
	if !ok {
		return false
	}
	names := []string{"status", "message", "inner", "list", "dict", "any", "id", "raw", "$sys.app_id"}
	for k, val := range obj {
		exact := false
		for _, n := range names {
			if k == n {
				exact = true
			}
		}
		if !exact {
			for _, n := range names {
				if bytes.EqualFold([]byte(k), []byte(n)) {
					return true
				}
			}
			continue
		}
		switch k {
		case "inner":
			if mismatch(val) {
				return true
			}
		case "list":
			if a, ok := val.([]any); ok {
				for _, e := range a {
					if mismatch(e) {
						return true
					}
				}
			}
		case "dict":
			if m, ok := val.(map[string]any); ok {
				for _, e := range m {
					if mismatch(e) {
						return true
					}
				}
			}
		}
	}
	return false
}

// FuzzCheck holds Check to the reference on every valid document, and to
// never failing on any input but with a KeyError.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{
		`{"status":"retry","STATUS":"success"}`,
		`{"status":"error","message":"ok","MESSAGE":"xxx"}`,
		`{"ſtatus":"x"}`, `{"\u0053tatus":"x"}`, `{"inner":{"list":[{"dict":{"k":{"Any":1}}}]}}`,
		`{"any":{"STATUS":1},"raw":[{"Status":2}]}`, `[{"status":1}]`, `"x"`, `{"a":"\"}","Status":1}`,
		`{"$SYS.app_id":1}`, `{"dict":{"STATUS":{"message":{}}}}`, `{"id":"x","ID":"y"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		err := exactjson.Check(doc, &node{})
		var ke *exactjson.KeyError
		if err != nil && !errors.As(err, &ke) {
			t.Fatalf("error that is not a KeyError: %v", err)
		}
		if !json.Valid(doc) {
			return
		}
		var generic any
		if json.Unmarshal(doc, &generic) != nil {
			return
		}
		// Duplicate keys leave only one in the generic decoding; the reference
		// then sees less than Check. The kit refuses duplicates before Check.
		if want := mismatch(generic); want != (err != nil) && !(err != nil && hasDuplicates(doc)) {
			t.Fatalf("Check = %v, the reference says mismatch = %v", err, want)
		}
	})
}

// hasDuplicates reports an object naming a key twice anywhere in doc.
func hasDuplicates(doc []byte) bool {
	d := json.NewDecoder(bytes.NewReader(doc))
	var walk func() bool
	walk = func() bool {
		tok, err := d.Token()
		if err != nil {
			return false
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for d.More() {
				k, _ := d.Token()
				ks, _ := k.(string)
				if seen[ks] {
					return true
				}
				seen[ks] = true
				if walk() {
					return true
				}
			}
			_, _ = d.Token()
		case json.Delim('['):
			for d.More() {
				if walk() {
					return true
				}
			}
			_, _ = d.Token()
		}
		return false
	}
	return walk()
}
