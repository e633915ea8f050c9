package oneroster

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/interop-data/interop/gen/models"
	"github.com/interop-data/interop/pkg/reference/store"
)

// A file that is delta or absent leaves the tenant's rows of its kind in
// place, and the objects the export does change must still be built from
// them (a section's $students come from the enrollments, whatever their
// file's mode). seed stages those rows (src 0) from the objects the tenant
// holds, rebuilt from their JSON. Only objects a load made are read back
// (their $sys.source_id holds the sourcedId and their id is the one ID
// derives); anything else the tenant holds is left alone.
//
// A reference of a rebuilt row holds the referenced object's id, not its
// sourcedId: it is staged as "\xff" and the id, which no CSV value can be
// (0xff is never UTF-8), and stage.id reads it back as that id.
const idMark = "\xff"

func mark(id uuid.UUID) string {
	if id == uuid.Nil {
		return ""
	}
	return idMark + id.String()
}

// seeder stages rows rebuilt from the tenant's objects, with put (src 0).
type seeder struct {
	tenant uuid.UUID
	put    func(ctx context.Context, v any, src int) error
}

// seed stages the tenant's rows of every file that is not bulk.
func (s seeder) seed(ctx context.Context, st store.Store, m Manifest) error {
	need := func(files ...string) bool {
		for _, f := range files {
			if m.Mode(f) != Bulk {
				return true
			}
		}
		return false
	}
	type step struct {
		kind  store.Kind
		files []string
		put   func(o store.Object) error
	}
	steps := []step{
		{store.KindOrg, []string{FileOrgs}, s.seedOrg},
		{store.KindTerm, []string{FileAcademicSessions}, s.seedTerm},
		{store.KindCourse, []string{FileCourses}, s.seedCourse},
		{store.KindSection, []string{FileClasses}, s.seedSection},
		{store.KindPerson, []string{FileUsers, FileDemographics}, func(o store.Object) error { return s.seedPerson(o, m) }},
		{store.KindPersonSectionMembership, []string{FileEnrollments}, s.seedEnrollment},
		{store.KindGradingCategory, []string{FileCategories}, s.seedCategory},
	}
	for _, sp := range steps {
		if !need(sp.files...) {
			continue
		}
		const page = 1000
		for off := 0; ; off += page {
			objs, more, err := st.ListObjects(ctx, store.ObjectQuery{Tenants: []uuid.UUID{s.tenant}, Kind: sp.kind, Offset: off, Limit: page})
			if err != nil {
				return fmt.Errorf("oneroster: reading the tenant's %s objects: %w", sp.kind, err)
			}
			for _, o := range objs {
				if err := sp.put(o); err != nil {
					return err
				}
			}
			if !more {
				break
			}
		}
	}
	return nil
}

// sidOf is the sourcedId of an object a load made for file, "" otherwise.
func (s seeder) sidOf(o store.Object, file string, src map[string]string) string {
	sid := src[SourceIDSpace]
	if sid == "" || ID(s.tenant, file, sid) != o.ID {
		return ""
	}
	return sid
}

func reverse(m map[string]string, v string) string {
	for k, x := range m {
		if x == v {
			return k
		}
	}
	return ""
}

func (s seeder) seedOrg(o store.Object) error {
	var v models.Org
	if json.Unmarshal(o.Data, &v) != nil {
		return nil
	}
	sid := s.sidOf(o, FileOrgs, v.Sys.SourceID)
	if sid == "" {
		return nil
	}
	r := &orgRow{row: row{SID: sid}, Name: v.Name, Type: reverse(apiOrgType, v.Sys.OrgType), Identifier: v.LocalID}
	r.Parent = mark(v.Parent.Sys.ID)
	return s.put(context.Background(), r, 0)
}

func (s seeder) seedTerm(o store.Object) error {
	var v models.Term
	if json.Unmarshal(o.Data, &v) != nil {
		return nil
	}
	sid := s.sidOf(o, FileAcademicSessions, v.Sys.SourceID)
	if sid == "" {
		return nil
	}
	r := &sessionRow{row: row{SID: sid}, Title: v.Name, Type: reverse(apiTermType, v.Sys.TermType)}
	r.Start, r.End = dateString(v.StartDate), dateString(v.EndDate)
	r.Parent = mark(v.Parent.Sys.ID)
	if v.Sys.SchoolYear != 0 {
		r.Year = fmt.Sprint(v.Sys.SchoolYear)
	}
	return s.put(context.Background(), r, 0)
}

func (s seeder) seedCourse(o store.Object) error {
	var v models.Course
	if json.Unmarshal(o.Data, &v) != nil {
		return nil
	}
	sid := s.sidOf(o, FileCourses, v.Sys.SourceID)
	if sid == "" {
		return nil
	}
	r := &courseRow{row: row{SID: sid}, Title: v.Title, Code: v.LocalID}
	if len(v.Orgs) > 0 {
		r.Org = mark(v.Orgs[0].Sys.ID)
	}
	return s.put(context.Background(), r, 0)
}

func (s seeder) seedSection(o store.Object) error {
	var v models.Section
	if json.Unmarshal(o.Data, &v) != nil {
		return nil
	}
	sid := s.sidOf(o, FileClasses, v.Sys.SourceID)
	if sid == "" {
		return nil
	}
	r := &classRow{row: row{SID: sid}, Title: v.Title, Code: v.LocalID}
	r.Course, r.School = mark(v.Course.Sys.ID), mark(v.Org.Sys.ID)
	for _, t := range v.Terms {
		r.Terms = append(r.Terms, mark(t.Sys.ID))
	}
	return s.put(context.Background(), r, 0)
}

func (s seeder) seedPerson(o store.Object, m Manifest) error {
	var v models.Person
	if json.Unmarshal(o.Data, &v) != nil {
		return nil
	}
	sid := s.sidOf(o, FileUsers, v.Sys.SourceID)
	if sid == "" {
		return nil
	}
	if m.Mode(FileUsers) != Bulk {
		r := &userRow{row: row{SID: sid}, Role: strings.ToLower(reverse(apiPerson, v.Sys.PersonType)),
			Email: v.Email, Phone: v.Phone, Identifier: v.LocalID}
		r.Given, r.Family, r.Middle = v.Name.First, v.Name.Last, v.Name.Middle
		for _, sc := range v.Schools {
			r.Orgs = append(r.Orgs, mark(sc.Sys.ID))
		}
		if err := s.put(context.Background(), r, 0); err != nil {
			return err
		}
	}
	if m.Mode(FileDemographics) != Bulk && (!v.Dob.IsZero() || v.Sex != "") {
		return s.put(context.Background(), &demographicRow{row: row{SID: sid}, Birth: dateString(v.Dob), Sex: v.Sex}, 0)
	}
	return nil
}

func (s seeder) seedEnrollment(o store.Object) error {
	var v models.PersonSectionMembership
	if json.Unmarshal(o.Data, &v) != nil {
		return nil
	}
	sid := s.sidOf(o, FileEnrollments, v.Sys.SourceID)
	if sid == "" {
		return nil
	}
	r := &enrollmentRow{row: row{SID: sid}, Class: mark(v.Section.Sys.ID), User: mark(v.Person.Sys.ID),
		Role: strings.ToLower(reverse(apiPerson, v.Person.Sys.PersonType))}
	if v.Primary != nil {
		r.Primary = fmt.Sprint(*v.Primary)
	}
	r.Begin, r.End = dateString(v.StartDate), dateString(v.EndDate)
	return s.put(context.Background(), r, 0)
}

func (s seeder) seedCategory(o store.Object) error {
	var v models.GradingCategory
	if json.Unmarshal(o.Data, &v) != nil {
		return nil
	}
	sid := s.sidOf(o, FileCategories, v.Sys.SourceID)
	if sid == "" {
		return nil
	}
	return s.put(context.Background(), &categoryRow{row: row{SID: sid}, Title: v.Name}, 0)
}

// dateString is a date as YYYY-MM-DD, "" for the zero date.
func dateString(d openapi_types.Date) string {
	if d.IsZero() {
		return ""
	}
	return d.Format(time.DateOnly)
}
