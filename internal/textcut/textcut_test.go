package textcut

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCutKeepsCharactersWhole(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		s, mark string
		n       int
		want    string
	}{
		{"short", "…", 10, "short"},
		{"abcdef", "", 4, "abcd"},
		{"aé" + "b", "", 2, "a"}, // the cut falls inside é: it goes whole
		{"abcdefgh", "…", 6, "abc…"},
		{"a\xffbcdef", "", 4, "a\xffbc"}, // an invalid byte before the cut stays
		{"abcdef", "... (truncated)", 3, "... (truncated)"},
	} {
		if got := Cut(tc.s, tc.n, tc.mark); got != tc.want {
			t.Errorf("Cut(%q, %d, %q) = %q, want %q", tc.s, tc.n, tc.mark, got, tc.want)
		}
	}
	long := strings.Repeat("é", 100)
	if got := Cut(long, 51, "…"); len(got) > 51 || !utf8.ValidString(got) {
		t.Errorf("cut of %d bytes, valid %v", len(got), utf8.ValidString(got))
	}
}
