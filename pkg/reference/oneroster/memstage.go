package oneroster

import (
	"bytes"
	"context"
	"fmt"
	"iter"
	"slices"
	"strings"

	"github.com/google/uuid"
)

// memStage holds an export in memory instead of the staging database: the
// rows as read, each with its derived ids, and, once merged, the indexes
// the checks and the builder need. It gives the same roster, errors and
// objects as stage (TestStagingsAgree, and TestBuilderOutputUnchanged run
// both ways), for the exports it takes (see inMemory): those without a
// delta file, whose rows are the export's alone or, for an absent file
// other than users, classes and enrollments, the tenant's alone, so that no
// row replaces another. Its memory grows with the export, so Load uses it
// only below a size (WithMemoryLimit).
type memStage struct {
	ids idMaker

	orgRows      []memOrg
	sessionRows  []memSession
	courseRows   []memCourse
	classRows    []memClass
	userRows     blocks[memUser]
	enrollments  blocks[memEnrollment]
	demographics []memDemographic
	categoryRows []memCategory
	deletes      []memDelete
	seeded       map[string]bool
	// hits are the failed references found as the rows came in (see put).
	hits map[string][]refHit
	// strings shares the values that repeat across many rows (dates).
	strings map[string]string

	// Kept up to date by put: an enrollment's references are resolved as
	// it comes in (its file is read after those it names, see Files).
	orgSet            map[uuid.UUID]struct{}
	classIdx, userIdx map[uuid.UUID]int32
	// Built by merge.
	sessionSet, courseSet map[uuid.UUID]struct{}
	demoIdx               map[uuid.UUID]int32
	// byClass and byUser list the enrollments of each class and user, in
	// file order: the indexes into enrollments of class (or user) i are
	// byClass.items[byClass.start[i]:byClass.start[i+1]].
	byClass, byUser groups
}

type memOrg struct {
	id, parent uuid.UUID
	src        int
	r          orgRow
}

type memSession struct {
	id, parent uuid.UUID
	src        int
	r          sessionRow
}

type memCourse struct {
	id, org uuid.UUID
	src     int
	r       courseRow
}

type memClass struct {
	id, course, school uuid.UUID
	src                int
	terms              []uuid.UUID
	r                  classRow
}

type memUser struct {
	id           uuid.UUID
	src          int
	orgs, agents []uuid.UUID
	r            userRow
}

// memEnrollment and memDemographic, the rows of which there are the most,
// keep only what the builder reads, each string on its own (not a slice of
// the CSV record, which would keep the whole record).
type memEnrollment struct {
	id                             uuid.UUID
	class, user                    int32 // indexes of classRows and userRows; -1 for an unknown one
	line                           int32
	sid, role, primary, begin, end string
}

type memDemographic struct {
	id              uuid.UUID
	line            int32
	src             int8
	sid, birth, sex string
}

// refHit is a reference to a row that is not there.
type refHit struct {
	line, src int
	sid, ref  string
	refID     uuid.UUID
}

type memCategory struct {
	id  uuid.UUID
	src int
	r   categoryRow
}

type memDelete struct {
	file string
	id   uuid.UUID
	sid  string
	line int
}

// blocks is an append-only list kept in blocks of blockLen items: growing
// it never copies it, nor leaves more than one block unused, as a slice's
// doubling would (a large district's enrollments are most of a load's
// memory).
type blocks[T any] struct {
	b [][]T
	n int
}

const blockLen = 4096

func (l *blocks[T]) add(v T) {
	if l.n%blockLen == 0 {
		l.b = append(l.b, make([]T, 0, blockLen))
	}
	last := &l.b[len(l.b)-1]
	*last = append(*last, v)
	l.n++
}

func (l *blocks[T]) len() int { return l.n }

func (l *blocks[T]) at(i int32) *T { return &l.b[i/blockLen][i%blockLen] }

// all is each item with its index, in order.
func (l *blocks[T]) all() iter.Seq2[int, *T] {
	return func(yield func(int, *T) bool) {
		for i := range l.n {
			if !yield(i, &l.b[i/blockLen][i%blockLen]) {
				return
			}
		}
	}
}

// groups is a list of lists of indexes, in one slice.
type groups struct {
	start []int32
	items []int32
}

// group builds groups of n owners from each item's owner (-1 for none),
// keeping the items' order within each owner.
func group(n int, owners []int32) groups {
	g := groups{start: make([]int32, n+1), items: make([]int32, 0, len(owners))}
	for _, o := range owners {
		if o >= 0 {
			g.start[o+1]++
		}
	}
	for i := 1; i <= n; i++ {
		g.start[i] += g.start[i-1]
	}
	g.items = g.items[:g.start[n]]
	next := slices.Clone(g.start[:n])
	for i, o := range owners {
		if o >= 0 {
			g.items[next[o]] = int32(i)
			next[o]++
		}
	}
	return g
}

func (g groups) of(i int32) []int32 { return g.items[g.start[i]:g.start[i+1]] }

func newMemStage(tenant uuid.UUID) *memStage {
	return &memStage{ids: idMaker{tenant: tenant}, seeded: map[string]bool{}, hits: map[string][]refHit{}, strings: map[string]string{},
		orgSet: map[uuid.UUID]struct{}{}, classIdx: map[uuid.UUID]int32{}, userIdx: map[uuid.UUID]int32{}}
}

func (s *memStage) close() {}

func (s *memStage) add(ctx context.Context, file string, v any) error {
	var r row
	if x, ok := v.(baseRow); ok {
		r = x.base()
	}
	if r.Delete {
		idFile := file
		if file == FileDemographics {
			idFile = FileUsers
		}
		s.deletes = append(s.deletes, memDelete{file: file, id: s.ids.id(idFile, r.SID), sid: r.SID, line: r.Line})
		return nil
	}
	return s.put(ctx, v, 1)
}

// shared is v, or the equal string kept before.
func (s *memStage) shared(v string) string {
	if w, ok := s.strings[v]; ok {
		return w
	}
	v = strings.Clone(v)
	s.strings[v] = v
	return v
}

// hit records a failed reference of the check file.field.
func (s *memStage) hit(check string, line, src int, sid, ref string, refID uuid.UUID) {
	s.hits[check] = append(s.hits[check], refHit{line, src, strings.Clone(sid), strings.Clone(ref), refID})
}

// put keeps a row. Rows come in ord order (the tenant's, then the
// export's, each in file order), and without a delta file no row takes
// another's place, so each slice is in ord order as it is. Load gives
// memStage no export whose users, classes or enrollments are the tenant's
// (see inMemory): those grow with the district.
func (s *memStage) put(_ context.Context, v any, src int) error {
	if src == 0 {
		s.seeded[tableOf(v)] = true
		switch v.(type) {
		case *userRow, *classRow, *enrollmentRow:
			return fmt.Errorf("oneroster: staging: the tenant's %s are not staged in memory", tableOf(v))
		}
	}
	id := s.ids.id
	switch x := v.(type) {
	case *orgRow:
		s.orgSet[id(FileOrgs, x.SID)] = struct{}{}
		s.orgRows = append(s.orgRows, memOrg{id: id(FileOrgs, x.SID), parent: id(FileOrgs, x.Parent), src: src, r: *x})
	case *userRow:
		u := memUser{id: id(FileUsers, x.SID), src: src, r: *x}
		u.orgs = make([]uuid.UUID, len(x.Orgs))
		for i, o := range x.Orgs {
			u.orgs[i] = id(FileOrgs, o)
		}
		if len(x.Agents) > 0 {
			u.agents = make([]uuid.UUID, len(x.Agents))
			for i, a := range x.Agents {
				u.agents[i] = id(FileUsers, a)
			}
		}
		if _, ok := s.userIdx[u.id]; !ok {
			s.userIdx[u.id] = int32(s.userRows.len())
		}
		s.userRows.add(u)
	case *courseRow:
		s.courseRows = append(s.courseRows, memCourse{id: id(FileCourses, x.SID), org: id(FileOrgs, x.Org), src: src, r: *x})
	case *classRow:
		c := memClass{id: id(FileClasses, x.SID), course: id(FileCourses, x.Course), school: id(FileOrgs, x.School), src: src, r: *x}
		c.terms = make([]uuid.UUID, len(x.Terms))
		for i, t := range x.Terms {
			c.terms[i] = id(FileAcademicSessions, t)
		}
		if _, ok := s.classIdx[c.id]; !ok {
			s.classIdx[c.id] = int32(len(s.classRows))
		}
		s.classRows = append(s.classRows, c)
	case *sessionRow:
		s.sessionRows = append(s.sessionRows, memSession{id: id(FileAcademicSessions, x.SID), parent: id(FileAcademicSessions, x.Parent), src: src, r: *x})
	case *enrollmentRow:
		e := memEnrollment{id: id(FileEnrollments, x.SID), line: int32(x.Line), sid: strings.Clone(x.SID), role: x.Role, primary: x.Primary,
			begin: s.shared(x.Begin), end: s.shared(x.End)}
		classID, schoolID, userID := id(FileClasses, x.Class), id(FileOrgs, x.School), id(FileUsers, x.User)
		class, ok := s.classIdx[classID]
		if !ok {
			class = -1
			s.hit(FileEnrollments+".classSourcedId", x.Line, 1, x.SID, x.Class, classID)
		}
		if !has(s.orgSet, schoolID) {
			s.hit(FileEnrollments+".schoolSourcedId", x.Line, 1, x.SID, x.School, schoolID)
		}
		user, ok := s.userIdx[userID]
		if !ok {
			user = -1
			s.hit(FileEnrollments+".userSourcedId", x.Line, 1, x.SID, x.User, userID)
		}
		e.class, e.user = class, user
		s.enrollments.add(e)
	case *demographicRow:
		s.demographics = append(s.demographics, memDemographic{id: id(FileUsers, x.SID), line: int32(x.Line), src: int8(src),
			sid: strings.Clone(x.SID), birth: s.shared(x.Birth), sex: x.Sex})
	case *categoryRow:
		s.categoryRows = append(s.categoryRows, memCategory{id: id(FileCategories, x.SID), src: src, r: *x})
	default:
		return fmt.Errorf("oneroster: staging: unexpected row %T", v)
	}
	return nil
}

func (s *memStage) seal(context.Context) error { return nil }

func setOf[T any](rows []T, id func(*T) uuid.UUID) map[uuid.UUID]struct{} {
	m := make(map[uuid.UUID]struct{}, len(rows))
	for i := range rows {
		m[id(&rows[i])] = struct{}{}
	}
	return m
}

func indexOf[T any](rows []T, id func(*T) uuid.UUID) map[uuid.UUID]int32 {
	m := make(map[uuid.UUID]int32, len(rows))
	for i := range rows {
		if _, ok := m[id(&rows[i])]; !ok { // the first, as a join on the id would meet it
			m[id(&rows[i])] = int32(i)
		}
	}
	return m
}

func has[V any](m map[uuid.UUID]V, id uuid.UUID) bool {
	_, ok := m[id]
	return ok
}

// merge drops the tenant's rows that go with what the export removes (see
// stage.merge; no row of the export replaces one of the tenant's here),
// then indexes the roster.
func (s *memStage) merge(context.Context) error {
	userSet := func(id uuid.UUID) bool { return has(s.userIdx, id) }
	if s.seeded[FileDemographics] {
		s.demographics = slices.DeleteFunc(s.demographics, func(d memDemographic) bool { return d.src == 0 && !userSet(d.id) })
	}
	s.sessionSet = setOf(s.sessionRows, func(t *memSession) uuid.UUID { return t.id })
	s.courseSet = setOf(s.courseRows, func(c *memCourse) uuid.UUID { return c.id })
	s.demoIdx = indexOf(s.demographics, func(d *memDemographic) uuid.UUID { return d.id })
	byClass, byUser := make([]int32, s.enrollments.len()), make([]int32, s.enrollments.len())
	for i, e := range s.enrollments.all() {
		byClass[i], byUser[i] = e.class, e.user
	}
	s.byClass, s.byUser = group(len(s.classRows), byClass), group(s.userRows.len(), byUser)
	return nil
}

// duplicates is stage.duplicates: per file, the export's rows and
// deletions sharing an id, reported in the order of their ids.
func (s *memStage) duplicates(_ context.Context, errs *errorList) error {
	type occurrence struct {
		id   uuid.UUID
		sid  string
		line int
	}
	for _, file := range Files {
		var occ []occurrence
		see := func(src int, id uuid.UUID, sid string, line int) {
			if src == 1 {
				occ = append(occ, occurrence{id, sid, line})
			}
		}
		switch file {
		case FileOrgs:
			for _, r := range s.orgRows {
				see(r.src, r.id, r.r.SID, r.r.Line)
			}
		case FileAcademicSessions:
			for _, r := range s.sessionRows {
				see(r.src, r.id, r.r.SID, r.r.Line)
			}
		case FileCourses:
			for _, r := range s.courseRows {
				see(r.src, r.id, r.r.SID, r.r.Line)
			}
		case FileClasses:
			for _, r := range s.classRows {
				see(r.src, r.id, r.r.SID, r.r.Line)
			}
		case FileUsers:
			for _, r := range s.userRows.all() {
				see(r.src, r.id, r.r.SID, r.r.Line)
			}
		case FileEnrollments:
			for _, r := range s.enrollments.all() {
				see(1, r.id, r.sid, int(r.line))
			}
		case FileDemographics:
			for _, r := range s.demographics {
				see(int(r.src), r.id, r.sid, int(r.line))
			}
		case FileCategories:
			for _, r := range s.categoryRows {
				see(r.src, r.id, r.r.SID, r.r.Line)
			}
		}
		for _, d := range s.deletes {
			if d.file == file {
				see(1, d.id, d.sid, d.line)
			}
		}
		// Ids, then lines (no two occurrences share both): a total order,
		// so the unstable sort is deterministic, and much quicker than the
		// stable one on a district's enrollments.
		slices.SortFunc(occ, func(a, b occurrence) int {
			if c := bytes.Compare(a.id[:], b.id[:]); c != 0 {
				return c
			}
			return a.line - b.line
		})
		for i := 0; i < len(occ); {
			j := i + 1
			for j < len(occ) && occ[j].id == occ[i].id {
				j++
			}
			if j-i > 1 {
				lines := make([]int, 0, j-i)
				for _, o := range occ[i:j] {
					lines = append(lines, o.line)
				}
				duplicateErrors(errs, file, occ[i].sid, lines)
			}
			i = j
		}
	}
	return nil
}

// references is stage.references over the slices: each check's rows in
// line order, up to one more than the cap.
func (s *memStage) references(_ context.Context, errs *errorList, modes Manifest) error {
	broken := errs.broken()
	userSet := func(id uuid.UUID) bool { return has(s.userIdx, id) }
	orgSet := func(id uuid.UUID) bool { return has(s.orgSet, id) }
	for _, r := range references {
		if broken[r.target+".csv"] {
			continue
		}
		hits := s.hits[r.file+"."+r.field] // the enrollments', found by put
		miss := func(line, src int, sid, ref string, id uuid.UUID, exists func(uuid.UUID) bool) {
			if !exists(id) {
				hits = append(hits, refHit{line, src, sid, ref, id})
			}
		}
		switch r.file + "." + r.field {
		case FileOrgs + ".parentSourcedId":
			for _, o := range s.orgRows {
				if o.parent != uuid.Nil {
					miss(o.r.Line, o.src, o.r.SID, o.r.Parent, o.parent, orgSet)
				}
			}
		case FileUsers + ".orgSourcedIds":
			for _, u := range s.userRows.all() {
				for i, o := range u.orgs {
					miss(u.r.Line, u.src, u.r.SID, u.orgSID(i), o, orgSet)
				}
			}
		case FileUsers + ".agentSourcedIds":
			for _, u := range s.userRows.all() {
				for i, a := range u.agents {
					miss(u.r.Line, 1, "", u.r.Agents[i], a, userSet)
				}
			}
		case FileCourses + ".orgSourcedId":
			for _, c := range s.courseRows {
				miss(c.r.Line, c.src, c.r.SID, c.r.Org, c.org, orgSet)
			}
		case FileClasses + ".courseSourcedId":
			for _, c := range s.classRows {
				miss(c.r.Line, c.src, c.r.SID, c.r.Course, c.course, func(id uuid.UUID) bool { return has(s.courseSet, id) })
			}
		case FileClasses + ".schoolSourcedId":
			for _, c := range s.classRows {
				miss(c.r.Line, c.src, c.r.SID, c.r.School, c.school, orgSet)
			}
		case FileClasses + ".termSourcedIds":
			for _, c := range s.classRows {
				for i, t := range c.terms {
					miss(c.r.Line, c.src, "", c.r.Terms[i], t, func(id uuid.UUID) bool { return has(s.sessionSet, id) })
				}
			}
		case FileAcademicSessions + ".parentSourcedId":
			for _, t := range s.sessionRows {
				if t.parent != uuid.Nil {
					miss(t.r.Line, t.src, t.r.SID, t.r.Parent, t.parent, func(id uuid.UUID) bool { return has(s.sessionSet, id) })
				}
			}
		case FileEnrollments + ".classSourcedId", FileEnrollments + ".schoolSourcedId", FileEnrollments + ".userSourcedId":
		case FileDemographics + ".sourcedId":
			for _, d := range s.demographics {
				miss(int(d.line), int(d.src), d.sid, d.sid, d.id, userSet)
			}
		default:
			return fmt.Errorf("oneroster: no in-memory check of %s.%s", r.file, r.field)
		}
		slices.SortStableFunc(hits, func(a, b refHit) int { return a.line - b.line })
		for i, h := range hits {
			if i > errs.cap {
				break
			}
			errs.add(r.error(modes, h.line, h.src, h.sid, h.ref, h.refID))
		}
	}
	return nil
}

// orgSID is the sourcedId the user's i-th org was named by.
func (u *memUser) orgSID(i int) string {
	if i < len(u.r.Orgs) {
		return u.r.Orgs[i]
	}
	return ""
}

func (s *memStage) order(context.Context) error { return nil }

// The roster, from the slices and the indexes merge built.

func (s *memStage) orgs(_ context.Context, fn func(uuid.UUID, *orgInfo) error) error {
	for _, o := range s.orgRows {
		if err := fn(o.id, &orgInfo{sid: o.r.SID, name: o.r.Name, typ: o.r.Type, parent: o.parent, line: o.r.Line, src: o.src, identifier: o.r.Identifier}); err != nil {
			return err
		}
	}
	return nil
}

func (s *memStage) sessions(_ context.Context, fn func(uuid.UUID, *sessionInfo) error) error {
	for _, t := range s.sessionRows {
		if err := fn(t.id, &sessionInfo{sid: t.r.SID, title: t.r.Title, typ: t.r.Type, start: t.r.Start, end: t.r.End, parent: t.parent, year: t.r.Year}); err != nil {
			return err
		}
	}
	return nil
}

func (s *memStage) courseTitles(_ context.Context, fn func(uuid.UUID, string) error) error {
	for _, c := range s.courseRows {
		if err := fn(c.id, c.r.Title); err != nil {
			return err
		}
	}
	return nil
}

func (s *memStage) termSchools(_ context.Context, term uuid.UUID) ([]uuid.UUID, error) {
	var out []uuid.UUID
	for _, c := range s.classRows {
		if slices.Contains(c.terms, term) && !slices.Contains(out, c.school) {
			out = append(out, c.school)
		}
	}
	return out, nil
}

func (s *memStage) courses(_ context.Context, fn func(*courseRec) error) error {
	byCourse := map[uuid.UUID][]classRef{}
	for _, c := range s.classRows {
		byCourse[c.course] = append(byCourse[c.course], classRef{c.id, c.r.Title})
	}
	var r courseRec
	for _, c := range s.courseRows {
		r = courseRec{id: c.id, org: c.org, sid: c.r.SID, title: c.r.Title, code: c.r.Code, sections: byCourse[c.id]}
		if err := fn(&r); err != nil {
			return err
		}
	}
	return nil
}

func (s *memStage) classes(_ context.Context, fn func(*classRec) error) error {
	var r classRec
	for i, c := range s.classRows {
		r = classRec{id: c.id, course: c.course, school: c.school, sid: c.r.SID, title: c.r.Title, code: c.r.Code, terms: c.terms, members: r.members[:0]}
		for _, e := range s.byClass.of(int32(i)) {
			e := s.enrollments.at(e)
			if e.user < 0 {
				continue // a join's reading; the checks refuse such an export
			}
			u := s.userRows.at(e.user)
			r.members = append(r.members, memberRec{enrollment: e.id, user: u.id, role: e.role, userRole: u.r.Role, given: u.r.Given, last: u.r.Family})
		}
		if err := fn(&r); err != nil {
			return err
		}
	}
	return nil
}

func (s *memStage) users(_ context.Context, fn func(*userRec) error) error {
	var r userRec
	for i, u := range s.userRows.all() {
		r = userRec{id: u.id, sid: u.r.SID, role: u.r.Role, given: u.r.Given, family: u.r.Family, middle: u.r.Middle,
			email: u.r.Email, phone: u.r.Phone, identifier: u.r.Identifier, orgs: u.orgs, enrollments: r.enrollments[:0]}
		if d, ok := s.demoIdx[u.id]; ok {
			r.birth, r.sex = s.demographics[d].birth, s.demographics[d].sex
		}
		for _, e := range s.byUser.of(int32(i)) {
			e := s.enrollments.at(e)
			if e.class < 0 {
				continue
			}
			c := &s.classRows[e.class]
			r.enrollments = append(r.enrollments, enrollmentRec{id: e.id, class: c.id, sid: e.sid, role: e.role,
				primary: e.primary, begin: e.begin, end: e.end, title: c.r.Title})
		}
		if err := fn(&r); err != nil {
			return err
		}
	}
	return nil
}

func (s *memStage) categories(_ context.Context, fn func(uuid.UUID, string, string) error) error {
	for _, c := range s.categoryRows {
		if err := fn(c.id, c.r.SID, c.r.Title); err != nil {
			return err
		}
	}
	return nil
}

func (s *memStage) deletions(_ context.Context, file string) ([]uuid.UUID, error) {
	var ids []uuid.UUID
	for _, d := range s.deletes {
		if d.file == file {
			ids = append(ids, d.id)
		}
	}
	return ids, nil
}
