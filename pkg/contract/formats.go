package contract

import (
	"bytes"
	"errors"

	"github.com/getkin/kin-openapi/openapi3"
)

// projectFormats are the string formats the spec names that kin-openapi does
// not check by default, registered per validation (SchemaOptions) rather than
// in kin-openapi's global state.
var projectFormats = map[string]openapi3.StringFormatValidator{
	"uuid":  openapi3.NewCallbackValidator(checkUUID[string]),
	"email": openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForEmail),
}

// fastFormats check a string's bytes without converting them to a string.
// Each accepts exactly what the validator kin-openapi would use accepts
// (fuzzed against it in formats_test.go); the validator itself is only
// called to word the error.
var fastFormats = map[string]func([]byte) bool{
	"uuid":      func(b []byte) bool { return checkUUID(b) == nil },
	"email":     isEmail,
	"date":      isDate,
	"date-time": isDateTime,
}

var errNotUUID = errors.New("not a UUID (RFC 9562: 8-4-4-4-12 hex digits, version 1-8, variant 10xx, or the nil or max UUID)")

// checkUUID accepts exactly what kin-openapi's FormatOfStringForUUIDOfRFC9562
// pattern accepts. Every id of every object goes through it on each validated
// response, and a hand check is several times cheaper than the regexp.
func checkUUID[T string | []byte](s T) error {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return errNotUUID
	}
	for _, r := range [...][2]int{{0, 8}, {9, 13}, {14, 18}, {19, 23}, {24, 36}} {
		for i := r[0]; i < r[1]; i++ {
			if !hexDigit[s[i]] {
				return errNotUUID
			}
		}
	}
	if v := s[14]; '1' <= v && v <= '8' {
		switch s[19] {
		case '8', '9', 'a', 'b', 'A', 'B':
			return nil
		}
	}
	// The nil and the max UUID have neither version nor variant.
	zero, max := true, true
	for i := 0; i < 36; i++ {
		if c := s[i]; c != '-' {
			zero = zero && c == '0'
			max = max && (c == 'f' || c == 'F')
		}
	}
	if zero || max {
		return nil
	}
	return errNotUUID
}

var hexDigit = func() (t [256]bool) {
	for _, c := range []byte("0123456789abcdefABCDEF") {
		t[c] = true
	}
	return t
}()

// isEmail is openapi3.FormatOfStringForEmail, ^[^@]+@[^@<>",\s]+$, by hand:
// one "@" with something before it, and after it something free of
// @ < > " , and the RE2 \s (tab, newline, form feed, carriage return,
// space). Every character the expression names is ASCII, so bytes do.
func isEmail(b []byte) bool {
	at := bytes.IndexByte(b, '@')
	if at <= 0 || at == len(b)-1 {
		return false
	}
	for _, c := range b[at+1:] {
		switch c {
		case '@', '<', '>', '"', ',', '\t', '\n', '\f', '\r', ' ':
			return false
		}
	}
	return true
}

func digits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func num2(b []byte) int { return int(b[0]-'0')*10 + int(b[1]-'0') }

// isDate is kin-openapi's "date": FormatOfStringDate, then a day that exists
// in its month (time.Parse of the date).
func isDate(b []byte) bool {
	return len(b) == 10 && datePrefix(b)
}

// datePrefix checks b[:10] as YYYY-MM-DD with a day that exists.
func datePrefix(b []byte) bool {
	if len(b) < 10 || !digits(b[0:4]) || b[4] != '-' || b[7] != '-' || !digits(b[5:7]) || !digits(b[8:10]) {
		return false
	}
	y := int(b[0]-'0')*1000 + int(b[1]-'0')*100 + num2(b[2:4])
	m, d := num2(b[5:7]), num2(b[8:10])
	if m < 1 || m > 12 || d < 1 || d > 31 {
		return false
	}
	days := [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[m]
	if m == 2 && y%4 == 0 && (y%100 != 0 || y%400 == 0) {
		days = 29
	}
	return d <= days
}

// isDateTime is kin-openapi's "date-time": FormatOfStringDateTime, then a
// day that exists in its month.
func isDateTime(b []byte) bool {
	if len(b) < 20 || !datePrefix(b) || b[10] != 'T' {
		return false
	}
	t := b[11:]
	if !digits(t[0:2]) || t[2] != ':' || !digits(t[3:5]) || t[5] != ':' || !digits(t[6:8]) {
		return false
	}
	if num2(t[0:2]) > 23 || num2(t[3:5]) > 59 || num2(t[6:8]) > 60 {
		return false
	}
	t = t[8:]
	if t[0] == '.' {
		i := 1
		for i < len(t) && '0' <= t[i] && t[i] <= '9' {
			i++
		}
		if i == 1 {
			return false
		}
		t = t[i:]
	}
	if len(t) == 1 {
		return t[0] == 'Z'
	}
	if len(t) != 6 || t[0] != '+' && t[0] != '-' || !digits(t[1:3]) || t[3] != ':' || !digits(t[4:6]) {
		return false
	}
	return num2(t[1:3]) <= 23 && num2(t[4:6]) <= 59
}
