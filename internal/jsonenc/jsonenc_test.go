package jsonenc

import (
	"encoding/json"
	"math/rand/v2"
	"testing"

	"github.com/google/uuid"
)

// String must write what json.Marshal writes for every string: the
// escapes it makes (quotes, backslashes, control characters, HTML
// characters, U+2028 and U+2029) and invalid UTF-8, alone and mixed.
func TestStringMatchesMarshal(t *testing.T) {
	pieces := []string{"", "a", "Student One", `"`, `\`, "<", ">", "&", "\x00", "\x01", "\x1f", "\x7f", "\b", "\f", "\n", "\r", "\t",
		"é", "東京", "\u2028", "\u2029", "\xff", "\xe2\x80", "\xe2\x80\xa8", "\xed\xa0\x80", "😀", "\U0010ffff"}
	r := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 20000; n++ {
		s := ""
		for k := r.IntN(6); k >= 0; k-- {
			s += pieces[r.IntN(len(pieces))]
		}
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := String([]byte("x"), s); string(got) != "x"+string(want) {
			t.Fatalf("String(%q) = %s, want %s", s, got[1:], want)
		}
	}
}

func TestUUIDMatchesString(t *testing.T) {
	for _, id := range []uuid.UUID{uuid.Nil, uuid.Max, uuid.New(), uuid.New()} {
		if got := UUID([]byte("x"), id); string(got) != "x"+id.String() {
			t.Fatalf("UUID(%s) = %s", id, got[1:])
		}
	}
}
