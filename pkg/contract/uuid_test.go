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
		"fFfFfFfF-FfFf-fFfF-ffff-FFFFFFFFFFFF", "00000000-0000-0000-0000-00000000000f",
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

// The hand-written format checks must accept exactly what the validators
// kin-openapi would use accept (the project's uuid and email, kin-openapi's
// own date and date-time).
func FuzzFastFormats(f *testing.F) {
	for _, s := range []string{
		"2a4a2e06-7755-43bb-9766-4f398079ef8c", "a@b", "a@b@c", "@b", "a@", "a@b c", "a\n@b", "\xff@\xfe",
		"2024-02-29", "2025-02-29", "2000-02-29", "1900-02-29", "2025-04-31", "0000-01-01", "2025-1-01",
		"2025-11-16T12:17:04.959Z", "2025-11-16T12:17:04Z", "2025-11-16T23:59:60+23:59", "2025-11-16T24:00:00Z",
		"2025-11-16T12:17:04.Z", "2025-11-16T12:17:04z", "2025-11-16t12:17:04Z", "2025-11-16T12:17:04+0100",
	} {
		f.Add(s)
	}
	formats := stringFormats()
	f.Fuzz(func(t *testing.T, s string) {
		for name, fast := range fastFormats {
			if got, want := fast([]byte(s)), formats[name].Validate(s) == nil; got != want {
				t.Errorf("%s %q: hand check accepts=%v, kin-openapi's validator accepts=%v", name, s, got, want)
			}
		}
	})
}
