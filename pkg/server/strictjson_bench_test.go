package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
)

// baselineWalk is the strict-JSON walk before issue 9, kept as the
// benchmark's baseline: it built the JSON pointer of every value as it went,
// a string per level, so its cost grew with the square of the depth.
func baselineWalk(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var walk func(path string) error
	walk = func(path string) error {
		tok, err := dec.Token()
		if err != nil {
			return errJSONSyntax
		}
		d, ok := tok.(json.Delim)
		if !ok {
			return nil
		}
		switch d {
		case '{':
			seen := map[string]bool{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return errJSONSyntax
				}
				k, _ := kt.(string)
				child := path + "/" + strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1")
				if seen[k] {
					return fmt.Errorf("field %q: key appears more than once", child)
				}
				seen[k] = true
				if err := walk(child); err != nil {
					return err
				}
			}
		case '[':
			for i := 0; dec.More(); i++ {
				if err := walk(fmt.Sprintf("%s/%d", path, i)); err != nil {
					return err
				}
			}
		}
		if _, err := dec.Token(); err != nil {
			return errJSONSyntax
		}
		return nil
	}
	if err := walk(""); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("data after the JSON value")
	}
	return nil
}

func groupAckBody(items int) []byte {
	var b bytes.Buffer
	b.WriteByte('[')
	for i := range items {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"task_id":"0b6b1f5e-2d0c-4c59-9d43-%012d","status":"error","message":"%s","params":{"a":"1","b":"2"}}`, i, strings.Repeat("m", 100))
	}
	b.WriteByte(']')
	return b.Bytes()
}

// BenchmarkStrictJSON compares the checks a body passes before validation,
// after issue 9 (one pass for the limits, repeated keys and trailing data,
// which stops at the first level too deep) with the baseline walk, on a 2000-item group acknowledgement and
// on 5,000 nested arrays (the baseline cannot be run at the attack's 50,000).
func BenchmarkStrictJSON(b *testing.B) {
	for _, c := range []struct {
		name string
		body []byte
	}{
		{"group-ack-2000", groupAckBody(2000)},
		{"nested-5000", []byte(strings.Repeat("[", 5000) + strings.Repeat("]", 5000))},
	} {
		b.Run(c.name+"/baseline", func(b *testing.B) {
			b.SetBytes(int64(len(c.body)))
			b.ReportAllocs()
			for b.Loop() {
				_ = baselineWalk(c.body)
			}
		})
		b.Run(c.name+"/now", func(b *testing.B) {
			b.SetBytes(int64(len(c.body)))
			b.ReportAllocs()
			for b.Loop() {
				_ = checkJSON(c.body, DefaultMaxJSONDepth, DefaultMaxJSONElements, true)
			}
		})
	}
}
