package oneroster

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/uuid"
	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/interop-data/interop/gen/models"
)

// The hand-written encoders write what json.Marshal writes, byte for byte,
// for every combination of the fields the builder sets (empty or not,
// strings that need escaping, absent dates and primary flags), and for
// values with a field the builder never sets (handed to json.Marshal).
func TestEncodersMatchMarshal(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	strs := []string{"", "", "a", "Student One", `<b> & "q" \ `, "<tag>", "a<b", "a>b", "AT&T", "line\nbreak\ttab\x01\x7f", "é ü 東京", "\u2028\u2029", "bad \xff utf8", "'"}
	str := func() string { return strs[r.IntN(len(strs))] }
	id := func() uuid.UUID {
		if r.IntN(8) == 0 {
			return uuid.Nil
		}
		var u uuid.UUID
		for i := range u {
			u[i] = byte(r.IntN(256))
		}
		return u
	}
	date := func() openapi_types.Date {
		if r.IntN(3) == 0 {
			return openapi_types.Date{}
		}
		return openapi_types.Date{Time: time.Date(1990+r.IntN(40), time.Month(1+r.IntN(12)), 1+r.IntN(28), 0, 0, 0, 0, time.UTC)}
	}
	primary := func() *bool {
		switch r.IntN(3) {
		case 0:
			return nil
		case 1:
			v := true
			return &v
		}
		v := false
		return &v
	}
	source := func() map[string]string {
		switch r.IntN(4) {
		case 0:
			return nil
		case 1:
			return map[string]string{SourceIDSpace: str(), "other": str()}
		}
		return map[string]string{SourceIDSpace: str()}
	}
	ref := func() models.RefType { return models.RefType{ID: id(), Label: str(), Type: str()} }
	sys := func() models.SysType {
		s := models.SysType{ID: id(), Label: str(), Type: str(), SourceID: source()}
		switch r.IntN(10) {
		case 0:
			s.SchoolYear = 2026
		case 1:
			s.CreatedAt = time.Unix(1, 0).UTC()
		case 2:
			s = models.SysType{}
		}
		return s
	}
	personRef := func() models.PersonSys {
		if r.IntN(10) == 0 {
			return models.PersonSys{}
		}
		return models.PersonSys{Sys: models.PersonRefType{ID: id(), Label: str(), PersonType: str(), Type: str()}}
	}
	orgRef := func() models.OrgSys {
		if r.IntN(10) == 0 {
			return models.OrgSys{}
		}
		return models.OrgSys{Sys: models.OrgRefType{ID: id(), Label: str(), OrgType: str(), Type: str()}}
	}
	n := func() int { return []int{0, 0, 1, 3}[r.IntN(4)] }
	check := func(what string, v any, enc func([]byte) ([]byte, error)) {
		t.Helper()
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		prefix := []byte("prefix")
		got, err := enc(bytes.Clone(prefix))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(got, prefix) || !bytes.Equal(got[len(prefix):], want) {
			t.Fatalf("%s:\n got %s\nwant prefix%s", what, got, want)
		}
	}
	for range 3000 {
		psm := models.PersonSectionMembership{Sys: sys(), Person: personRef(), Section: models.SectionSys{Sys: ref()},
			StartDate: date(), EndDate: date(), Primary: primary()}
		if r.IntN(20) == 0 {
			psm.Grade = "09"
		}
		check("PersonSectionMembership", psm, func(b []byte) ([]byte, error) { return appendPersonSectionMembership(b, &psm) })

		pom := models.PersonOrgMembership{Sys: sys(), Person: personRef(), Org: orgRef(), StartDate: date(), Primary: primary()}
		if r.IntN(20) == 0 {
			pom.Ext = models.Ext{"x": 1}
		}
		check("PersonOrgMembership", pom, func(b []byte) ([]byte, error) { return appendPersonOrgMembership(b, &pom) })

		p := models.Person{Sys: models.PersonSysType{ID: id(), Type: str(), PersonType: str(), Label: str(), SourceID: source()},
			Name: models.NameType{First: str(), Middle: str(), Last: str()}, Email: str(), Phone: str(), LocalID: str(), Dob: date(), Sex: str()}
		for range n() {
			p.Schools = append(p.Schools, models.OrgMembershipSys{Sys: models.OrgMembershipRefType{ID: id(), Type: str(), OrgType: str(), Label: str(), Membership: ref()}})
		}
		for range n() {
			p.Sections = append(p.Sections, models.MembershipSys{Sys: models.MembershipRefType{ID: id(), Type: str(), Label: str(), Membership: ref()}})
		}
		switch r.IntN(20) {
		case 0:
			p.GradYear = "2030"
		case 1:
			p.Sys.UpdatedAt = time.Unix(1, 0).UTC()
		case 2:
			p.Schools = []models.OrgMembershipSys{} // empty, not nil: omitted all the same
		}
		check("Person", p, func(b []byte) ([]byte, error) { return appendPerson(b, &p) })

		s := models.Section{Sys: sys(), Title: str(), LocalID: str(), Org: orgRef()}
		if r.IntN(10) != 0 {
			s.Course = models.RefSys{Sys: ref()}
		}
		for range n() {
			s.Terms = append(s.Terms, models.TermSys{Sys: models.TermRefType{ID: id(), Type: str(), TermType: str(), Label: str()}})
		}
		for _, list := range []*[]models.PersonMembershipSys{&s.Students, &s.Teachers} {
			for range n() {
				*list = append(*list, models.PersonMembershipSys{Sys: models.PersonMembershipRefType{ID: id(), Type: str(), PersonType: str(), Label: str(), Membership: ref()}})
			}
		}
		if r.IntN(20) == 0 {
			s.Description = "d"
		}
		check("Section", s, func(b []byte) ([]byte, error) { return appendSection(b, &s) })
	}
}
