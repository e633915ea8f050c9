package reference

import (
	"bytes"
	"strings"
	"testing"
)

// decodeCursor reads what clients send: whatever it is given, it never
// panics, and it accepts exactly what encodeCursor made for the same list.
func FuzzCursor(f *testing.F) {
	key := bytes.Repeat([]byte{7}, 32)
	f.Add(encodeCursor(key, "objects\x00Person", 3, 12345))
	f.Add(encodeCursor(key, "tasks\x00", 1, 1))
	f.Add("")
	f.Add("AQAAAAEAAAAAAAAAAQ")
	f.Add("not a cursor!")
	f.Fuzz(func(t *testing.T, s string) {
		page, after, err := decodeCursor(key, "objects\x00Person", s)
		if err != nil {
			return
		}
		if page < 1 || after < 1 {
			t.Fatalf("accepted page %d after %d", page, after)
		}
		if again := encodeCursor(key, "objects\x00Person", page, after); again != s {
			t.Fatalf("accepted %q, which encodes as %q", s, again)
		}
		if _, _, err := decodeCursor(key, "objects\x00Org", s); err == nil {
			t.Fatalf("%q accepted on another list", s)
		}
	})
}

func TestCursorRoundTrip(t *testing.T) {
	key := bytes.Repeat([]byte{1}, 32)
	c := encodeCursor(key, "L", 7, 1<<40)
	if page, after, err := decodeCursor(key, "L", c); err != nil || page != 7 || after != 1<<40 {
		t.Fatalf("decode = %d, %d, %v", page, after, err)
	}
	if _, _, err := decodeCursor(bytes.Repeat([]byte{2}, 32), "L", c); err == nil {
		t.Fatal("accepted under another key")
	}
	// The last character carries two unused bits: setting them is an
	// alteration too, not another spelling of the same cursor.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, c[len(c)-1])
	for bits := 1; bits < 4; bits++ {
		alt := c[:len(c)-1] + string(alphabet[last^bits])
		if _, _, err := decodeCursor(key, "L", alt); err == nil {
			t.Fatalf("accepted %q, %q with its unused bits set", alt, c)
		}
	}
}
