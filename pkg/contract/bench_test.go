package contract_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/go-faster/jx"
	"github.com/google/uuid"

	"github.com/interop-data/interop/gen/models"
	"github.com/interop-data/interop/internal/cputime"
)

// personsPageBody is a page of n persons shaped like the reference server's
// (the same fields as BenchmarkPagingWalk100k's, plus the $sys timestamps).
func personsPageBody(tb testing.TB, n int) []byte {
	data := make([]any, n)
	school := uuid.NewSHA1(uuid.NameSpaceOID, []byte("bench-school"))
	for i := range data {
		id := uuid.NewSHA1(uuid.NameSpaceOID, fmt.Appendf(nil, "bench-person-%d", i))
		first, last := "Zoë", fmt.Sprintf("Núñez-%d", i)
		data[i] = map[string]any{
			"$sys": map[string]any{"id": id, "type": "Person", "person_type": "Student", "label": first + " " + last, "school_year": 2026,
				"created_at": "2025-07-25T03:36:18Z", "updated_at": "2025-07-25T03:36:18.123Z"},
			"local_id":  fmt.Sprintf("S%06d", i),
			"name":      map[string]string{"first": first, "last": last},
			"email":     fmt.Sprintf("student%d@example.org", i),
			"dob":       "2014-03-09",
			"grad_year": "2032",
			"$schools": []any{map[string]any{"$sys": map[string]any{"id": school, "type": "Org", "org_type": "School", "label": "Lincoln Elementary",
				"$membership": map[string]any{"id": uuid.NewSHA1(id, []byte("m")), "type": "PersonOrgMembership"}}}},
		}
	}
	b, err := json.Marshal(map[string]any{"data": data, "paging": map[string]any{"next": "https://api.example.org/v2/interop/data/rostering/persons?page=1"}})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// BenchmarkPersonsPageValidation compares, on the same page of persons (100
// and 2000), kin-openapi's decode into any and schema walk (what the kit and
// the client did), the compiled one-pass validator, decoding into the
// generated type (what a client does with the page anyway), and json.Valid,
// the floor of any one pass over the bytes.
func BenchmarkPersonsPageValidation(b *testing.B) {
	c := compiled(b)
	sc, v := c.Operation("listPersons").ResponseBody(200, "application/json")
	if v != nil {
		b.Fatal(v)
	}
	for _, n := range []int{100, 2000} {
		body := personsPageBody(b, n)
		if v := sc.Validate(body); v != nil {
			b.Fatal(v)
		}
		for _, bc := range []struct {
			name string
			run  func() bool
		}{
			{"kin-openapi", func() bool { return sc.ValidateWithKin(body) == nil }},
			{"compiled", func() bool { return sc.Validate(body) == nil }},
			{"typed-decode", func() bool {
				var page models.PersonsResponse
				return json.Unmarshal(body, &page) == nil
			}},
			{"json.Valid", func() bool { return json.Valid(body) }},
			{"jx.Validate", func() bool { return jx.DecodeBytes(body).Validate() == nil }},
		} {
			b.Run(fmt.Sprintf("persons=%d/%s", n, bc.name), func(b *testing.B) {
				b.SetBytes(int64(len(body)))
				b.ReportAllocs()
				defer cputime.Measure(b)()
				for b.Loop() {
					if !bc.run() {
						b.Fatal("invalid")
					}
				}
			})
		}
	}
}
