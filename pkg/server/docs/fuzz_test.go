package docs

import (
	"encoding/json"
	"testing"

	"go.yaml.in/yaml/v3"
)

// FuzzNodeJSON: whatever YAML parses, its JSON form is valid JSON or an
// error, never a panic or a broken document.
func FuzzNodeJSON(f *testing.F) {
	for _, s := range []string{
		"a: 1\nb: [x, 2.5, true, null]\n",
		"a: &x {k: v}\nb: *x\n",
		"s: \"</script>\\u2028\"\nt: 2024-01-02T03:04:05Z\n",
		"? [k]\n: v\n",
		"n: .nan\n",
		"- - - deep\n",
		"x: !!binary aGVsbG8=\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var n yaml.Node
		if yaml.Unmarshal(in, &n) != nil || n.Kind == 0 {
			return
		}
		out, err := nodeJSON(&n)
		if err != nil {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("%q became invalid JSON %q", in, out)
		}
	})
}
