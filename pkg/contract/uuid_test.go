package contract

import (
	"regexp"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

var rfc9562 = regexp.MustCompile(openapi3.FormatOfStringForUUIDOfRFC9562)

// checkUUID must agree with kin-openapi's RFC 9562 pattern on every input.
func TestCheckUUIDAgreesWithThePattern(t *testing.T) {
	for _, s := range []string{
		"2a4a2e06-7755-43bb-9766-4f398079ef8c", "2A4A2E06-7755-43BB-9766-4F398079EF8C",
		"00000000-0000-0000-0000-000000000000", "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF",
		"ffffffff-ffff-ffff-ffff-ffffffffffff", "2a4a2e06-7755-03bb-9766-4f398079ef8c",
		"2a4a2e06-7755-93bb-9766-4f398079ef8c", "2a4a2e06-7755-43bb-c766-4f398079ef8c",
		"2a4a2e06-7755-83bb-a766-4f398079ef8c", "2a4a2e0-67755-43bb-9766-4f398079ef8c",
		"2a4a2e06-7755-43bb-9766-4f398079ef8", "2a4a2e06-7755-43bb-9766-4f398079ef8cc",
		"2a4a2e06x7755-43bb-9766-4f398079ef8c", "2a4a2e06-7755-43bb-9766-4f398079ef8g",
		"", "not-a-uuid", "123e4567-e89b-12d3-a456-426614174000",
	} {
		if got, want := checkUUID(s) == nil, rfc9562.MatchString(s); got != want {
			t.Errorf("%q: checkUUID accepts=%v, pattern accepts=%v", s, got, want)
		}
	}
}

func FuzzCheckUUID(f *testing.F) {
	f.Add("2a4a2e06-7755-43bb-9766-4f398079ef8c")
	f.Add("ffffffff-ffff-ffff-ffff-ffffffffffff")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := checkUUID(s) == nil, rfc9562.MatchString(s); got != want {
			t.Errorf("%q: checkUUID accepts=%v, pattern accepts=%v", s, got, want)
		}
	})
}
