package oneroster

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"
	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/interop-data/interop/gen/models"
	"github.com/interop-data/interop/pkg/reference"
	"github.com/interop-data/interop/pkg/reference/store"
)

// SourceIDSpace is the key of $sys.source_id under which every loaded
// object carries its row's sourcedId.
const SourceIDSpace = "oneroster"

// orgTypes and termTypes of the API for the OneRoster types that become
// objects; org types not listed (department, local, state, national) are
// not loaded.
var (
	apiOrgType  = map[string]string{"district": store.SubtypeLEA, "school": store.SubtypeSchool}
	apiTermType = map[string]string{"schoolYear": "SchoolYear", "semester": "Semester", "term": "Term", "gradingPeriod": "GradingPeriod"}
	apiPerson   = map[string]string{"student": store.SubtypeStudent, "teacher": store.SubtypeTeacher}
)

type orgInfo struct {
	sid, name, typ string
	parent         uuid.UUID
	children       []uuid.UUID
	line, src      int
	identifier     string
}

type sessionInfo struct {
	sid, title, typ, start, end, year string
	parent                            uuid.UUID
	children                          []uuid.UUID
}

// builder turns the sealed stage into objects. The orgs, terms and courses
// (a district has thousands at most) are kept in memory for the references
// every other object makes to them; classes, users and enrollments are read
// by joins.
type builder struct {
	r        roster
	tenant   uuid.UUID
	w        reference.SyncWriter
	orgs     map[uuid.UUID]*orgInfo
	orgOrder []uuid.UUID
	sessions map[uuid.UUID]*sessionInfo
	sesOrder []uuid.UUID
	courses  map[uuid.UUID]string // title
	progress func(file string, rows int64)
	skipped  map[string]int
	scratch  []byte // the JSON being written
	slab     []byte // the JSON handed on, carved from shared blocks
}

func typ(k store.Kind) string { return string(k) }

// date is a staged YYYY-MM-DD date (checked when read), the zero date
// (omitted from the JSON) when empty.
func date(s string) openapi_types.Date {
	t, _ := time.Parse(time.DateOnly, s)
	return openapi_types.Date{Time: t}
}

func sourceID(sid string) map[string]string { return map[string]string{SourceIDSpace: sid} }

func uid(b []byte) uuid.UUID {
	id, _ := uuid.FromBytes(b)
	return id
}

func (b *builder) upsert(ctx context.Context, kind store.Kind, id uuid.UUID, subtype, label string, v any, orgs, sections []uuid.UUID) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("oneroster: %s %s: %w", kind, id, err)
	}
	return b.w.Upsert(ctx, store.Object{ID: id, Kind: kind, Subtype: subtype, Label: label, Data: data, Orgs: orgs, Sections: sections})
}

// encoded upserts an object whose JSON enc appends to the builder's scratch
// buffer.
func (b *builder) encoded(ctx context.Context, kind store.Kind, id uuid.UUID, subtype, label string, orgs, sections []uuid.UUID,
	enc func([]byte) ([]byte, error)) error {
	data, err := b.encode(enc)
	if err != nil {
		return fmt.Errorf("oneroster: %s %s: %w", kind, id, err)
	}
	return b.w.Upsert(ctx, store.Object{ID: id, Kind: kind, Subtype: subtype, Label: label, Data: data, Orgs: orgs, Sections: sections})
}

// encode runs enc on the scratch buffer and returns a copy of what it wrote
// that the caller may hand on: the writer keeps an object's data until it
// stages it, so the copies are carved from 64 KiB blocks (one allocation
// per block rather than per object), a block freed once every object in it
// is staged.
func (b *builder) encode(enc func([]byte) ([]byte, error)) ([]byte, error) {
	var err error
	b.scratch, err = enc(b.scratch[:0])
	if err != nil {
		return nil, err
	}
	n := len(b.scratch)
	if cap(b.slab)-len(b.slab) < n {
		b.slab = make([]byte, 0, max(64<<10, n))
	}
	start := len(b.slab)
	b.slab = append(b.slab, b.scratch...)
	return b.slab[start : start+n : start+n], nil
}

// withAncestors is the loaded orgs among ids and their loaded ancestors,
// each once: a link to a school is also a link to its district.
func (b *builder) withAncestors(ids ...uuid.UUID) []uuid.UUID {
	// out holds a few ids (an object's schools and their districts): a
	// linear search of it is cheaper than a map per object.
	var out []uuid.UUID
	for _, id := range ids {
		for depth := 0; depth < 16 && id != uuid.Nil && !slices.Contains(out, id); depth++ { // depth guards against a cycle
			o, ok := b.orgs[id]
			if !ok || apiOrgType[o.typ] == "" {
				break
			}
			out = append(out, id)
			id = o.parent
		}
	}
	return out
}

func (b *builder) orgRef(id uuid.UUID) (models.OrgSys, bool) {
	o, ok := b.orgs[id]
	if !ok || apiOrgType[o.typ] == "" {
		return models.OrgSys{}, false
	}
	return models.OrgSys{Sys: models.OrgRefType{ID: id, Type: typ(store.KindOrg), OrgType: apiOrgType[o.typ], Label: o.name}}, true
}

func (b *builder) termRef(id uuid.UUID) (models.TermSys, bool) {
	t, ok := b.sessions[id]
	if !ok {
		return models.TermSys{}, false
	}
	return models.TermSys{Sys: models.TermRefType{ID: id, Type: typ(store.KindTerm), TermType: apiTermType[t.typ], Label: t.title}}, true
}

// refs renders the references of ids (an org's or a term's children), nil
// when there are none.
func refs[T any](ids []uuid.UUID, ref func(uuid.UUID) (T, bool)) []T {
	var out []T
	for _, id := range ids {
		r, _ := ref(id)
		out = append(out, r)
	}
	return out
}

// loadSmall reads the orgs, terms and courses into memory.
func (b *builder) loadSmall(ctx context.Context) error {
	b.orgs, b.sessions, b.courses = map[uuid.UUID]*orgInfo{}, map[uuid.UUID]*sessionInfo{}, map[uuid.UUID]string{}
	if err := b.r.orgs(ctx, func(id uuid.UUID, o *orgInfo) error {
		b.orgs[id] = o
		b.orgOrder = append(b.orgOrder, id)
		return nil
	}); err != nil {
		return err
	}
	for _, id := range b.orgOrder {
		if p, ok := b.orgs[b.orgs[id].parent]; ok && apiOrgType[b.orgs[id].typ] != "" {
			p.children = append(p.children, id)
		}
	}
	if err := b.r.sessions(ctx, func(id uuid.UUID, t *sessionInfo) error {
		b.sessions[id] = t
		b.sesOrder = append(b.sesOrder, id)
		return nil
	}); err != nil {
		return err
	}
	for _, id := range b.sesOrder {
		if p, ok := b.sessions[b.sessions[id].parent]; ok {
			p.children = append(p.children, id)
		}
	}
	return b.r.courseTitles(ctx, func(id uuid.UUID, title string) error {
		b.courses[id] = title
		return nil
	})
}

func (b *builder) orgsOut(ctx context.Context) error {
	n := int64(0)
	for _, id := range b.orgOrder {
		o := b.orgs[id]
		ot := apiOrgType[o.typ]
		if ot == "" {
			b.skipped["orgs of type "+o.typ]++
			continue
		}
		org := models.Org{Sys: models.OrgSysType{ID: id, Type: typ(store.KindOrg), OrgType: ot, Label: o.name, SourceID: sourceID(o.sid)},
			ID: id, LocalID: o.identifier, Name: o.name}
		if ref, ok := b.orgRef(o.parent); ok {
			org.Parent = ref
		}
		org.Children = refs(o.children, b.orgRef)
		if err := b.upsert(ctx, store.KindOrg, id, ot, o.name, org, nil, nil); err != nil {
			return err
		}
		n++
		b.progress(FileOrgs, n)
	}
	return nil
}

func (b *builder) termsOut(ctx context.Context) error {
	n := int64(0)
	for _, id := range b.sesOrder {
		t := b.sessions[id]
		term := models.Term{Sys: models.TermSysType{ID: id, Type: typ(store.KindTerm), TermType: apiTermType[t.typ], Label: t.title, SourceID: sourceID(t.sid)},
			Name: t.title, StartDate: date(t.start), EndDate: date(t.end)}
		if t.year != "" {
			y, _ := strconv.Atoi(t.year)
			y32 := int32(y)
			term.Sys.SchoolYear = y32
		}
		if ref, ok := b.termRef(t.parent); ok {
			term.Parent = ref
		}
		term.Children = refs(t.children, b.termRef)
		schools, err := b.r.termSchools(ctx, id)
		if err != nil {
			return err
		}
		if err := b.upsert(ctx, store.KindTerm, id, apiTermType[t.typ], t.title, term, b.withAncestors(schools...), nil); err != nil {
			return err
		}
		n++
		b.progress(FileAcademicSessions, n)
	}
	return nil
}

func (b *builder) coursesOut(ctx context.Context) error {
	n := int64(0)
	return b.r.courses(ctx, func(r *courseRec) error {
		c := models.Course{Sys: models.SysType{ID: r.id, Type: typ(store.KindCourse), Label: r.title, SourceID: sourceID(r.sid)},
			Title: r.title, LocalID: r.code}
		if ref, ok := b.orgRef(r.org); ok {
			c.Orgs = []models.OrgSys{ref}
		}
		for _, sec := range r.sections {
			c.Sections = append(c.Sections, models.SectionSys{Sys: models.RefType{ID: sec.id, Type: typ(store.KindSection), Label: sec.title}})
		}
		if err := b.upsert(ctx, store.KindCourse, r.id, "", r.title, c, b.withAncestors(r.org), nil); err != nil {
			return err
		}
		n++
		b.progress(FileCourses, n)
		return nil
	})
}

func (b *builder) sectionsOut(ctx context.Context) error {
	n := int64(0)
	return b.r.classes(ctx, func(r *classRec) error {
		s := models.Section{Sys: models.SysType{ID: r.id, Type: typ(store.KindSection), Label: r.title, SourceID: sourceID(r.sid)},
			Title: r.title, LocalID: r.code,
			Course: models.RefSys{Sys: models.RefType{ID: r.course, Type: typ(store.KindCourse), Label: b.courses[r.course]}}}
		if ref, ok := b.orgRef(r.school); ok {
			s.Org = ref
		}
		for _, t := range r.terms {
			if ref, ok := b.termRef(t); ok {
				s.Terms = append(s.Terms, ref)
			}
		}
		for _, m := range r.members {
			pt := apiPerson[m.userRole]
			if pt == "" || apiPerson[m.role] == "" {
				continue
			}
			ref := models.PersonMembershipSys{Sys: models.PersonMembershipRefType{ID: m.user, Type: typ(store.KindPerson), PersonType: pt,
				Label: personLabel(m.given, m.last), Membership: models.RefType{ID: m.enrollment, Type: typ(store.KindPersonSectionMembership)}}}
			if m.role == "student" {
				s.Students = append(s.Students, ref)
			} else {
				s.Teachers = append(s.Teachers, ref)
			}
		}
		if err := b.encoded(ctx, store.KindSection, r.id, "", r.title, b.withAncestors(r.school), nil, func(buf []byte) ([]byte, error) { return appendSection(buf, &s) }); err != nil {
			return err
		}
		n++
		b.progress(FileClasses, n)
		return nil
	})
}

func personLabel(given, family string) string {
	switch {
	case given == "":
		return family
	case family == "":
		return given
	}
	return given + " " + family
}

// personsOut writes each student and teacher, then its org and section
// memberships.
func (b *builder) personsOut(ctx context.Context) error {
	n := int64(0)
	var members []store.Object
	var orgs, sections []uuid.UUID
	// The enrollments not loaded (of other roles, or of users not
	// loaded) are counted as they pass: after the checks every
	// enrollment has its user and its class, so the users see each once.
	skipped := 0
	err := b.r.users(ctx, func(u *userRec) error {
		n++
		b.progress(FileUsers, n)
		pt := apiPerson[u.role]
		if pt == "" {
			b.skipped["users with role "+u.role]++
			skipped += len(u.enrollments)
			return nil
		}
		id := u.id
		label := personLabel(u.given, u.family)
		p := models.Person{Sys: models.PersonSysType{ID: id, Type: typ(store.KindPerson), PersonType: pt, Label: label, SourceID: sourceID(u.sid)},
			Name:  models.NameType{First: u.given, Middle: u.middle, Last: u.family},
			Email: u.email, Phone: u.phone, LocalID: u.identifier, Dob: date(u.birth), Sex: u.sex}
		personRef := models.PersonSys{Sys: models.PersonRefType{ID: id, Type: typ(store.KindPerson), PersonType: pt, Label: label}}

		members, orgs, sections = members[:0], orgs[:0], sections[:0]
		for _, org := range u.orgs {
			ref, ok := b.orgRef(org)
			if !ok {
				continue
			}
			mid := orgMembershipID(b.tenant, id, org)
			p.Schools = append(p.Schools, models.OrgMembershipSys{Sys: models.OrgMembershipRefType{ID: org, Type: typ(store.KindOrg), OrgType: ref.Sys.OrgType,
				Label: ref.Sys.Label, Membership: models.RefType{ID: mid, Type: typ(store.KindPersonOrgMembership)}}})
			orgs = append(orgs, org)
			m := models.PersonOrgMembership{Sys: models.SysType{ID: mid, Type: typ(store.KindPersonOrgMembership)}, Person: personRef, Org: ref}
			data, err := b.encode(func(buf []byte) ([]byte, error) { return appendPersonOrgMembership(buf, &m) })
			if err != nil {
				return err
			}
			members = append(members, store.Object{ID: mid, Kind: store.KindPersonOrgMembership, Data: data})
		}
		for i := range u.enrollments {
			e := &u.enrollments[i]
			if apiPerson[e.role] == "" {
				skipped++
				continue
			}
			p.Sections = append(p.Sections, models.MembershipSys{Sys: models.MembershipRefType{ID: e.class, Type: typ(store.KindSection), Label: e.title,
				Membership: models.RefType{ID: e.id, Type: typ(store.KindPersonSectionMembership)}}})
			sections = append(sections, e.class)
			m := models.PersonSectionMembership{Sys: models.SysType{ID: e.id, Type: typ(store.KindPersonSectionMembership), SourceID: sourceID(e.sid)}, Person: personRef,
				Section:   models.SectionSys{Sys: models.RefType{ID: e.class, Type: typ(store.KindSection), Label: e.title}},
				StartDate: date(e.begin), EndDate: date(e.end)}
			if e.primary != "" {
				v := e.primary == "true"
				m.Primary = &v
			}
			data, err := b.encode(func(buf []byte) ([]byte, error) { return appendPersonSectionMembership(buf, &m) })
			if err != nil {
				return err
			}
			members = append(members, store.Object{ID: e.id, Kind: store.KindPersonSectionMembership, Data: data})
		}
		var links []uuid.UUID // the reused buffer is not handed on
		if len(sections) > 0 {
			links = slices.Clone(sections)
		}
		if err := b.encoded(ctx, store.KindPerson, id, pt, label, b.withAncestors(orgs...), links, func(buf []byte) ([]byte, error) { return appendPerson(buf, &p) }); err != nil {
			return err
		}
		for _, m := range members {
			if err := b.w.Upsert(ctx, m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if skipped > 0 {
		b.skipped[skippedEnrollments] = skipped
	}
	return nil
}

// skippedEnrollments is the Result.Skipped reason of the enrollments not
// loaded.
const skippedEnrollments = "enrollments of other roles or of users not loaded"

func (b *builder) categoriesOut(ctx context.Context) error {
	n := int64(0)
	return b.r.categories(ctx, func(id uuid.UUID, sid, title string) error {
		g := models.GradingCategory{Sys: models.SysType{ID: id, Type: typ(store.KindGradingCategory), Label: title, SourceID: sourceID(sid)}, Name: title}
		if err := b.upsert(ctx, store.KindGradingCategory, id, "", title, g, nil, nil); err != nil {
			return err
		}
		n++
		b.progress(FileCategories, n)
		return nil
	})
}

// deletes removes what the export removes: for a bulk file every object of
// its kind the sync did not write, for a delta file the rows marked
// tobedeleted. Memberships are rebuilt whole from the users and enrollments
// the tenant is to hold, so any other membership goes, unless both files are
// absent.
func (b *builder) deletes(ctx context.Context, m Manifest) error {
	if m.Mode(FileEnrollments) != Absent || m.Mode(FileUsers) != Absent {
		if err := b.w.DeleteAbsent(ctx, store.KindPersonSectionMembership, ""); err != nil {
			return err
		}
	}
	if m.Mode(FileUsers) != Absent {
		if err := b.w.DeleteAbsent(ctx, store.KindPersonOrgMembership, ""); err != nil {
			return err
		}
	}
	for _, k := range []struct {
		file string
		kind store.Kind
	}{
		{FileUsers, store.KindPerson},
		{FileClasses, store.KindSection},
		{FileCourses, store.KindCourse},
		{FileAcademicSessions, store.KindTerm},
		{FileOrgs, store.KindOrg},
		{FileCategories, store.KindGradingCategory},
	} {
		switch m.Mode(k.file) {
		case Bulk:
			if err := b.w.DeleteAbsent(ctx, k.kind, ""); err != nil {
				return err
			}
		case Delta:
			ids, err := b.r.deletions(ctx, k.file)
			if err != nil {
				return err
			}
			for _, id := range ids {
				if err := b.w.Delete(ctx, k.kind, id); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
