package server_test

import (
	"strings"
	"testing"

	"github.com/google/uuid"
)

// Issue 9 item 2: 10,000 nested arrays in an ack body took ~9 s of CPU and
// ~2 GB because the validation error pretty-printed the value at every
// level. The compiled validator and kin-openapi (for parameters and fall
// backs) now word errors without the value: the answer is a 400 naming the
// field and rule, bounded in size. (What the validator allocates on such a
// body is bounded by contract's TestDeepNestingIsCheap; the kit's depth
// limit refuses it before validation anyway.)
func TestDeeplyNestedAckIsRefusedCheaply(t *testing.T) {
	e := newEnv(t, &fake{})
	nested := strings.Repeat("[", 10000) + strings.Repeat("]", 10000)
	for _, c := range []struct{ name, path, body string }{
		{"group ack", base + "/tasks/ack", nested},
		{"error field of one ack", base + "/tasks/" + uuid.NewString() + "/ack", `{"status":"error","error":` + nested + `}`},
		{"group ack item", base + "/tasks/ack", `[` + nested + `]`},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := e.do("PUT", c.path, c.body)
			got := wantError(t, rec, 400, "invalid_body")
			if n := rec.Body.Len(); n > 1024 {
				t.Errorf("a %d-byte error body", n)
			}
			if strings.Contains(details(got), "[[") {
				t.Errorf("the error prints the value: %q", details(got))
			}
		})
	}
}
