package oneroster

import (
	"encoding/json"

	"github.com/google/uuid"
	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/interop-data/interop/gen/models"
	"github.com/interop-data/interop/internal/jsonenc"
)

// The JSON of the objects a load makes by the million (persons, sections
// and the two memberships) is written by hand: encoding/json walks each
// struct by reflection, which was most of the builder's CPU once its
// queries were set-based. Each encoder writes exactly what json.Marshal
// writes for the fields the builder sets, in the same order (the fields'
// order in the struct, its json names, omitempty/omitzero), and hands any
// value with another field set, which the builder never makes, to
// json.Marshal. TestEncodersMatchMarshal holds the two equal.

// enc appends JSON to b; comma says whether a value was just written, so
// that the next key or array element needs a comma first.
type enc struct {
	b     []byte
	comma bool
}

func (e *enc) open() {
	if e.comma {
		e.b = append(e.b, ',')
	}
	e.b = append(e.b, '{')
	e.comma = false
}

func (e *enc) close() { e.b = append(e.b, '}'); e.comma = true }

func (e *enc) openArray(k string) { e.key(k); e.b = append(e.b, '['); e.comma = false }

func (e *enc) closeArray() { e.b = append(e.b, ']'); e.comma = true }

func (e *enc) key(k string) {
	if e.comma {
		e.b = append(e.b, ',')
	}
	e.b = append(e.b, '"')
	e.b = append(e.b, k...)
	e.b = append(e.b, '"', ':')
	e.comma = false
}

// str writes the member k: s.
func (e *enc) str(k, s string) {
	e.key(k)
	e.b = jsonenc.String(e.b, s)
	e.comma = true
}

// strOmit writes k: s unless s is empty (omitempty).
func (e *enc) strOmit(k, s string) {
	if s != "" {
		e.str(k, s)
	}
}

func (e *enc) id(k string, id uuid.UUID) {
	if id == uuid.Nil { // omitzero
		return
	}
	e.key(k)
	e.b = append(e.b, '"')
	e.b = jsonenc.UUID(e.b, id)
	e.b = append(e.b, '"')
	e.comma = true
}

func (e *enc) date(k string, d openapi_types.Date) {
	if d.IsZero() { // omitzero
		return
	}
	e.key(k)
	e.b = append(e.b, '"')
	e.b = d.AppendFormat(e.b, openapi_types.DateFormat)
	e.b = append(e.b, '"')
	e.comma = true
}

// sourceID writes source_id when it is a map of one key, the only one the
// builder makes; ok false for anything else.
func (e *enc) sourceID(m map[string]string) bool {
	switch len(m) {
	case 0:
		return true
	case 1:
		for k, v := range m {
			e.key("source_id")
			e.open()
			e.str(k, v)
			e.close()
		}
		return true
	}
	return false
}

// refType writes a RefType's members ($membership and the like).
func (e *enc) refType(r models.RefType) {
	e.open()
	e.id("id", r.ID)
	e.strOmit("label", r.Label)
	e.strOmit("type", r.Type)
	e.close()
}

// sys writes a SysType of the fields the builder sets; ok false if another
// is set.
func (e *enc) sys(s models.SysType) bool {
	if len(s.AppID) != 0 || !s.CreatedAt.IsZero() || s.SchoolYear != 0 || !s.UpdatedAt.IsZero() {
		return false
	}
	if s.ID == uuid.Nil && s.Label == "" && len(s.SourceID) == 0 && s.Type == "" {
		return true // omitzero: left out (the caller checks AppID and the rest above)
	}
	e.key("$sys")
	e.open()
	e.id("id", s.ID)
	e.strOmit("label", s.Label)
	if !e.sourceID(s.SourceID) {
		return false
	}
	e.strOmit("type", s.Type)
	e.close()
	return true
}

func (e *enc) personRef(k string, p models.PersonRefType) {
	e.key(k)
	e.open()
	e.key("$sys")
	e.open()
	e.id("id", p.ID)
	e.strOmit("label", p.Label)
	e.str("person_type", p.PersonType)
	e.strOmit("type", p.Type)
	e.close()
	e.close()
}

func (e *enc) orgRef(k string, o models.OrgRefType) {
	e.key(k)
	e.open()
	e.key("$sys")
	e.open()
	e.id("id", o.ID)
	e.strOmit("label", o.Label)
	e.str("org_type", o.OrgType)
	e.strOmit("type", o.Type)
	e.close()
	e.close()
}

func (e *enc) ref(k string, r models.RefType) {
	e.key(k)
	e.open()
	e.key("$sys")
	e.refType(r)
	e.close()
}

func (e *enc) primary(p *bool) {
	if p == nil {
		return
	}
	e.key("primary")
	if *p {
		e.b = append(e.b, "true"...)
	} else {
		e.b = append(e.b, "false"...)
	}
	e.comma = true
}

// marshalFallback is json.Marshal appended to b.
func marshalFallback(b []byte, v any) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return b, err
	}
	return append(b, data...), nil
}

// membershipRest writes what both memberships hold after their references,
// in the fields' order, and closes the object; ok false when their $sys
// holds a field the builder never sets.
func (e *enc) membershipRest(s models.SysType, end openapi_types.Date, primary *bool, start openapi_types.Date) bool {
	if !e.sys(s) {
		return false
	}
	e.date("end_date", end)
	e.primary(primary)
	e.date("start_date", start)
	e.close()
	return true
}

// appendPersonSectionMembership appends m's JSON to b.
func appendPersonSectionMembership(b []byte, m *models.PersonSectionMembership) ([]byte, error) {
	if len(m.Ext) != 0 || m.Grade != "" || m.Status != "" {
		return marshalFallback(b, m)
	}
	e := enc{b: b}
	e.open()
	if m.Person != (models.PersonSys{}) { // omitzero
		e.personRef("$person", m.Person.Sys)
	}
	if m.Section != (models.SectionSys{}) {
		e.ref("$section", m.Section.Sys)
	}
	if !e.membershipRest(m.Sys, m.EndDate, m.Primary, m.StartDate) {
		return marshalFallback(b, m)
	}
	return e.b, nil
}

// appendPersonOrgMembership appends m's JSON to b.
func appendPersonOrgMembership(b []byte, m *models.PersonOrgMembership) ([]byte, error) {
	if len(m.Ext) != 0 || m.Grade != "" || m.Status != "" {
		return marshalFallback(b, m)
	}
	e := enc{b: b}
	e.open()
	if m.Org != (models.OrgSys{}) { // omitzero
		e.orgRef("$org", m.Org.Sys)
	}
	if m.Person != (models.PersonSys{}) {
		e.personRef("$person", m.Person.Sys)
	}
	if !e.membershipRest(m.Sys, m.EndDate, m.Primary, m.StartDate) {
		return marshalFallback(b, m)
	}
	return e.b, nil
}

// appendPerson appends p's JSON to b.
func appendPerson(b []byte, p *models.Person) ([]byte, error) {
	s := p.Sys
	if len(p.Ext) != 0 || p.Address != (models.AddressType{}) || p.Aup != nil || p.GradYear != "" || p.StateID != "" ||
		len(s.AppID) != 0 || !s.CreatedAt.IsZero() || s.SchoolYear != 0 || !s.UpdatedAt.IsZero() || len(s.SourceID) > 1 {
		return marshalFallback(b, p)
	}
	e := enc{b: b}
	e.open()
	if len(p.Schools) > 0 {
		e.openArray("$schools")
		for _, o := range p.Schools {
			e.open()
			e.key("$sys")
			e.open()
			e.key("$membership")
			e.refType(o.Sys.Membership)
			e.id("id", o.Sys.ID)
			e.strOmit("label", o.Sys.Label)
			e.str("org_type", o.Sys.OrgType)
			e.strOmit("type", o.Sys.Type)
			e.close()
			e.close()
		}
		e.closeArray()
	}
	if len(p.Sections) > 0 {
		e.openArray("$sections")
		for _, m := range p.Sections {
			e.open()
			e.key("$sys")
			e.open()
			e.key("$membership")
			e.refType(m.Sys.Membership)
			e.id("id", m.Sys.ID)
			e.strOmit("label", m.Sys.Label)
			e.strOmit("type", m.Sys.Type)
			e.close()
			e.close()
		}
		e.closeArray()
	}
	e.key("$sys") // not omitzero
	e.open()
	e.id("id", s.ID)
	e.strOmit("label", s.Label)
	e.str("person_type", s.PersonType)
	e.sourceID(s.SourceID)
	e.strOmit("type", s.Type)
	e.close()
	e.date("dob", p.Dob)
	e.strOmit("email", p.Email)
	e.strOmit("local_id", p.LocalID)
	if p.Name != (models.NameType{}) {
		e.key("name")
		e.open()
		e.strOmit("first", p.Name.First)
		e.strOmit("last", p.Name.Last)
		e.strOmit("middle", p.Name.Middle)
		e.close()
	}
	e.strOmit("phone", p.Phone)
	e.strOmit("sex", p.Sex)
	e.close()
	return e.b, nil
}

func (e *enc) personMembers(k string, ms []models.PersonMembershipSys) {
	if len(ms) == 0 {
		return
	}
	e.openArray(k)
	for _, m := range ms {
		e.open()
		e.key("$sys")
		e.open()
		e.key("$membership")
		e.refType(m.Sys.Membership)
		e.id("id", m.Sys.ID)
		e.strOmit("label", m.Sys.Label)
		e.str("person_type", m.Sys.PersonType)
		e.strOmit("type", m.Sys.Type)
		e.close()
		e.close()
	}
	e.closeArray()
}

// appendSection appends s's JSON to b.
func appendSection(b []byte, s *models.Section) ([]byte, error) {
	if len(s.Ext) != 0 || s.Description != "" {
		return marshalFallback(b, s)
	}
	e := enc{b: b}
	e.open()
	if s.Course != (models.RefSys{}) { // omitzero
		e.ref("$course", s.Course.Sys)
	}
	if s.Org != (models.OrgSys{}) {
		e.orgRef("$org", s.Org.Sys)
	}
	e.personMembers("$students", s.Students)
	if !e.sys(s.Sys) {
		return marshalFallback(b, s)
	}
	e.personMembers("$teachers", s.Teachers)
	if len(s.Terms) > 0 {
		e.openArray("$terms")
		for _, t := range s.Terms {
			e.open()
			e.key("$sys")
			e.open()
			e.id("id", t.Sys.ID)
			e.strOmit("label", t.Sys.Label)
			e.str("term_type", t.Sys.TermType)
			e.strOmit("type", t.Sys.Type)
			e.close()
			e.close()
		}
		e.closeArray()
	}
	e.strOmit("local_id", s.LocalID)
	e.strOmit("title", s.Title)
	e.close()
	return e.b, nil
}
