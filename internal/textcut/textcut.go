package textcut

import "unicode/utf8"

// Cut returns s when it fits in n bytes, else its longest prefix that ends
// on a character boundary and leaves room for mark, followed by mark. Only
// the cut is looked at: an invalid byte earlier in s does not shorten it.
func Cut(s string, n int, mark string) string {
	if len(s) <= n {
		return s
	}
	cut := max(n-len(mark), 0)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}
