package store

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// The rule for strings, the same in every store (docs/SECURITY.md, "NUL
// and invalid UTF-8"): PostgreSQL's text cannot hold U+0000 nor bytes that
// are not UTF-8, and SQLite can; a store must not answer differently from
// another, nor fail with a database error, because of what a string holds.
//
//   - Free text (an acknowledgement's message and app id) is kept exactly,
//     U+0000 included, since JSON allows it: the PostgreSQL store keeps it
//     as bytes.
//   - Names and keys (client ids, tenant names, drivers, kinds, subtypes,
//     labels, statuses, secret names) with U+0000 are refused on write
//     (ErrInvalid), and a lookup by one finds nothing.
//   - Bytes that are not UTF-8 are refused everywhere (ErrInvalid on write,
//     nothing found on lookup): every string of the API is Unicode text.

// CheckText refuses (ErrInvalid) a string that is not UTF-8; field names
// it in the error.
func CheckText(field, s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalid, field)
	}
	return nil
}

// CheckName refuses (ErrInvalid) a name or key a store cannot index alike
// everywhere: one that is not UTF-8 or holds U+0000.
func CheckName(field, s string) error {
	if err := CheckText(field, s); err != nil {
		return err
	}
	if strings.IndexByte(s, 0) >= 0 {
		return fmt.Errorf("%w: %s contains U+0000", ErrInvalid, field)
	}
	return nil
}

// Storable reports whether a store can hold s as a name or key (CheckName):
// a lookup by a string that is not finds nothing, without asking the
// database.
func Storable(s string) bool { return CheckName("", s) == nil }
