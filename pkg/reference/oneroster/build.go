package oneroster

import (
	"context"
	"database/sql"
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
	s        *stage
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
	rows, err := b.s.db.QueryContext(ctx, `SELECT id, sid, name, type, identifier, parent, line, src FROM orgs ORDER BY ord`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id, parent []byte
		o := &orgInfo{}
		if err := rows.Scan(&id, &o.sid, &o.name, &o.typ, &o.identifier, &parent, &o.line, &o.src); err != nil {
			rows.Close()
			return err
		}
		o.parent = uid(parent)
		b.orgs[uid(id)] = o
		b.orgOrder = append(b.orgOrder, uid(id))
	}
	rows.Close()
	for _, id := range b.orgOrder {
		if p, ok := b.orgs[b.orgs[id].parent]; ok && apiOrgType[b.orgs[id].typ] != "" {
			p.children = append(p.children, id)
		}
	}
	rows, err = b.s.db.QueryContext(ctx, `SELECT id, sid, title, type, start, end, parent, year FROM academicSessions ORDER BY ord`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id, parent []byte
		t := &sessionInfo{}
		if err := rows.Scan(&id, &t.sid, &t.title, &t.typ, &t.start, &t.end, &parent, &t.year); err != nil {
			rows.Close()
			return err
		}
		t.parent = uid(parent)
		b.sessions[uid(id)] = t
		b.sesOrder = append(b.sesOrder, uid(id))
	}
	rows.Close()
	for _, id := range b.sesOrder {
		if p, ok := b.sessions[b.sessions[id].parent]; ok {
			p.children = append(p.children, id)
		}
	}
	rows, err = b.s.db.QueryContext(ctx, `SELECT id, title FROM courses`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id []byte
		var title string
		if err := rows.Scan(&id, &title); err != nil {
			return err
		}
		b.courses[uid(id)] = title
	}
	return rows.Err()
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
	orgsOf, err := b.s.db.PrepareContext(ctx, `SELECT DISTINCT c.school FROM class_terms ct JOIN classes c ON c.id = ct.class_id WHERE ct.term_id = ? ORDER BY c.ord`)
	if err != nil {
		return err
	}
	defer orgsOf.Close()
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
		schools, err := queryIDs(ctx, orgsOf, id[:])
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

func queryIDs(ctx context.Context, st *sql.Stmt, args ...any) ([]uuid.UUID, error) {
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []uuid.UUID
	for rows.Next() {
		var id []byte
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, uid(id))
	}
	return out, rows.Err()
}

func (b *builder) coursesOut(ctx context.Context) error {
	var sb []byte
	var stitle string
	secs, err := openChildren(ctx, b.s.db, `SELECT co.ord, c.id, c.title FROM courses co JOIN classes c ON c.course = co.id ORDER BY co.ord, c.ord`, &sb, &stitle)
	defer secs.close()
	if err != nil {
		return err
	}
	rows, err := b.s.db.QueryContext(ctx, `SELECT id, sid, title, code, org, ord FROM courses ORDER BY ord`)
	if err != nil {
		return err
	}
	defer rows.Close()
	n := int64(0)
	for rows.Next() {
		var idb, orgb []byte
		var sid, title, code string
		var ord int64
		if err := rows.Scan(&idb, &sid, &title, &code, &orgb, &ord); err != nil {
			return err
		}
		id, org := uid(idb), uid(orgb)
		c := models.Course{Sys: models.SysType{ID: id, Type: typ(store.KindCourse), Label: title, SourceID: sourceID(sid)},
			Title: title, LocalID: code}
		if ref, ok := b.orgRef(org); ok {
			c.Orgs = []models.OrgSys{ref}
		}
		var refs []models.SectionSys
		if err := secs.each(ord, func() error {
			refs = append(refs, models.SectionSys{Sys: models.RefType{ID: uid(sb), Type: typ(store.KindSection), Label: stitle}})
			return nil
		}); err != nil {
			return err
		}
		if len(refs) > 0 {
			c.Sections = refs
		}
		if err := b.upsert(ctx, store.KindCourse, id, "", title, c, b.withAncestors(org), nil); err != nil {
			return err
		}
		n++
		b.progress(FileCourses, n)
	}
	return rows.Err()
}

func (b *builder) sectionsOut(ctx context.Context) error {
	var tb []byte
	terms, err := openChildren(ctx, b.s.db, `SELECT c.ord, ct.term_id FROM classes c JOIN class_terms ct ON ct.class_id = c.id ORDER BY c.ord, ct.pos`, &tb)
	defer terms.close()
	if err != nil {
		return err
	}
	var eb, ub []byte
	var erole, urole, given, family string
	members, err := openChildren(ctx, b.s.db, `SELECT c.ord, e.id, e.role, u.id, u.role, u.given, u.family
		FROM classes c JOIN enrollments e ON e.class = c.id JOIN users u ON u.id = e.user ORDER BY c.ord, e.ord`,
		&eb, &erole, &ub, &urole, &given, &family)
	defer members.close()
	if err != nil {
		return err
	}
	rows, err := b.s.db.QueryContext(ctx, `SELECT id, sid, title, code, course, school, ord FROM classes ORDER BY ord`)
	if err != nil {
		return err
	}
	defer rows.Close()
	n := int64(0)
	for rows.Next() {
		var idb, courseb, schoolb []byte
		var sid, title, code string
		var ord int64
		if err := rows.Scan(&idb, &sid, &title, &code, &courseb, &schoolb, &ord); err != nil {
			return err
		}
		id, course, school := uid(idb), uid(courseb), uid(schoolb)
		s := models.Section{Sys: models.SysType{ID: id, Type: typ(store.KindSection), Label: title, SourceID: sourceID(sid)},
			Title: title, LocalID: code,
			Course: models.RefSys{Sys: models.RefType{ID: course, Type: typ(store.KindCourse), Label: b.courses[course]}}}
		if ref, ok := b.orgRef(school); ok {
			s.Org = ref
		}
		var trefs []models.TermSys
		if err := terms.each(ord, func() error {
			if ref, ok := b.termRef(uid(tb)); ok {
				trefs = append(trefs, ref)
			}
			return nil
		}); err != nil {
			return err
		}
		if len(trefs) > 0 {
			s.Terms = trefs
		}
		var students, teachers []models.PersonMembershipSys
		if err := members.each(ord, func() error {
			pt := apiPerson[urole]
			if pt == "" || apiPerson[erole] == "" {
				return nil
			}
			eid, pid := uid(eb), uid(ub)
			ref := models.PersonMembershipSys{Sys: models.PersonMembershipRefType{ID: pid, Type: typ(store.KindPerson), PersonType: pt,
				Label: personLabel(given, family), Membership: models.RefType{ID: eid, Type: typ(store.KindPersonSectionMembership)}}}
			if erole == "student" {
				students = append(students, ref)
			} else {
				teachers = append(teachers, ref)
			}
			return nil
		}); err != nil {
			return err
		}
		if len(students) > 0 {
			s.Students = students
		}
		if len(teachers) > 0 {
			s.Teachers = teachers
		}
		if err := b.encoded(ctx, store.KindSection, id, "", title, b.withAncestors(school), nil, func(buf []byte) ([]byte, error) { return appendSection(buf, &s) }); err != nil {
			return err
		}
		n++
		b.progress(FileClasses, n)
	}
	return rows.Err()
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
	var ob []byte
	orgsOf, err := openChildren(ctx, b.s.db, `SELECT u.ord, uo.org_id FROM users u JOIN user_orgs uo ON uo.user_id = u.id ORDER BY u.ord, uo.pos`, &ob)
	defer orgsOf.close()
	if err != nil {
		return err
	}
	var eb, cb []byte
	var esid, erole, prim, begin, end, ctitle string
	enrolled, err := openChildren(ctx, b.s.db, `SELECT u.ord, e.id, e.sid, e.role, e.prim, e.begin, e.end, c.id, c.title
		FROM users u JOIN enrollments e ON e.user = u.id JOIN classes c ON c.id = e.class ORDER BY u.ord, e.ord`,
		&eb, &esid, &erole, &prim, &begin, &end, &cb, &ctitle)
	defer enrolled.close()
	if err != nil {
		return err
	}
	rows, err := b.s.db.QueryContext(ctx, `SELECT u.id, u.sid, u.role, u.given, u.family, u.middle, u.email, u.phone, u.identifier, d.birth, d.sex, u.ord
		FROM users u LEFT JOIN demographics d ON d.id = u.id ORDER BY u.ord`)
	if err != nil {
		return err
	}
	defer rows.Close()
	n := int64(0)
	var members []store.Object
	var orgs, sections []uuid.UUID
	// The enrollments not loaded (of other roles, or of users not
	// loaded) are counted as they pass: after the checks every
	// enrollment has its user and its class, so the join below sees each
	// once, and a query of its own would read them all again.
	skipped := 0
	for rows.Next() {
		var idb []byte
		var sid, role, given, family, middle, email, phone, identifier string
		var birth, sex sql.NullString
		var ord int64
		if err := rows.Scan(&idb, &sid, &role, &given, &family, &middle, &email, &phone, &identifier, &birth, &sex, &ord); err != nil {
			return err
		}
		n++
		b.progress(FileUsers, n)
		pt := apiPerson[role]
		if pt == "" {
			b.skipped["users with role "+role]++
			if err := enrolled.each(ord, func() error { skipped++; return nil }); err != nil {
				return err
			}
			continue
		}
		id := uid(idb)
		label := personLabel(given, family)
		p := models.Person{Sys: models.PersonSysType{ID: id, Type: typ(store.KindPerson), PersonType: pt, Label: label, SourceID: sourceID(sid)},
			Name:  models.NameType{First: given, Middle: middle, Last: family},
			Email: email, Phone: phone, LocalID: identifier, Dob: date(birth.String), Sex: sex.String}
		personRef := models.PersonSys{Sys: models.PersonRefType{ID: id, Type: typ(store.KindPerson), PersonType: pt, Label: label}}

		members, orgs, sections = members[:0], orgs[:0], sections[:0]
		var schools []models.OrgMembershipSys
		if err := orgsOf.each(ord, func() error {
			org := uid(ob)
			ref, ok := b.orgRef(org)
			if !ok {
				return nil
			}
			mid := orgMembershipID(b.s.tenant, id, org)
			schools = append(schools, models.OrgMembershipSys{Sys: models.OrgMembershipRefType{ID: org, Type: typ(store.KindOrg), OrgType: ref.Sys.OrgType,
				Label: ref.Sys.Label, Membership: models.RefType{ID: mid, Type: typ(store.KindPersonOrgMembership)}}})
			orgs = append(orgs, org)
			m := models.PersonOrgMembership{Sys: models.SysType{ID: mid, Type: typ(store.KindPersonOrgMembership)}, Person: personRef, Org: ref}
			data, err := b.encode(func(buf []byte) ([]byte, error) { return appendPersonOrgMembership(buf, &m) })
			if err != nil {
				return err
			}
			members = append(members, store.Object{ID: mid, Kind: store.KindPersonOrgMembership, Data: data})
			return nil
		}); err != nil {
			return err
		}
		if len(schools) > 0 {
			p.Schools = schools
		}
		var secs []models.MembershipSys
		if err := enrolled.each(ord, func() error {
			if apiPerson[erole] == "" {
				skipped++
				return nil
			}
			eid, cid := uid(eb), uid(cb)
			secs = append(secs, models.MembershipSys{Sys: models.MembershipRefType{ID: cid, Type: typ(store.KindSection), Label: ctitle,
				Membership: models.RefType{ID: eid, Type: typ(store.KindPersonSectionMembership)}}})
			sections = append(sections, cid)
			m := models.PersonSectionMembership{Sys: models.SysType{ID: eid, Type: typ(store.KindPersonSectionMembership), SourceID: sourceID(esid)}, Person: personRef,
				Section:   models.SectionSys{Sys: models.RefType{ID: cid, Type: typ(store.KindSection), Label: ctitle}},
				StartDate: date(begin), EndDate: date(end)}
			if prim != "" {
				v := prim == "true"
				m.Primary = &v
			}
			data, err := b.encode(func(buf []byte) ([]byte, error) { return appendPersonSectionMembership(buf, &m) })
			if err != nil {
				return err
			}
			members = append(members, store.Object{ID: eid, Kind: store.KindPersonSectionMembership, Data: data})
			return nil
		}); err != nil {
			return err
		}
		if len(secs) > 0 {
			p.Sections = secs
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
	}
	if err := rows.Err(); err != nil {
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
	rows, err := b.s.db.QueryContext(ctx, `SELECT id, sid, title FROM categories ORDER BY ord`)
	if err != nil {
		return err
	}
	defer rows.Close()
	n := int64(0)
	for rows.Next() {
		var idb []byte
		var sid, title string
		if err := rows.Scan(&idb, &sid, &title); err != nil {
			return err
		}
		id := uid(idb)
		g := models.GradingCategory{Sys: models.SysType{ID: id, Type: typ(store.KindGradingCategory), Label: title, SourceID: sourceID(sid)}, Name: title}
		if err := b.upsert(ctx, store.KindGradingCategory, id, "", title, g, nil, nil); err != nil {
			return err
		}
		n++
		b.progress(FileCategories, n)
	}
	return rows.Err()
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
			rows, err := b.s.db.QueryContext(ctx, `SELECT id FROM deletes WHERE file = ? ORDER BY line`, k.file)
			if err != nil {
				return err
			}
			var ids []uuid.UUID
			for rows.Next() {
				var idb []byte
				if err := rows.Scan(&idb); err != nil {
					rows.Close()
					return err
				}
				ids = append(ids, uid(idb))
			}
			rows.Close()
			if err := rows.Err(); err != nil {
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
