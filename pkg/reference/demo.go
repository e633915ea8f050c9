package reference

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/google/uuid"
	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/interop-data/interop/gen/models"
)

// DemoSize shapes the generated district.
type DemoSize struct {
	Schools            int // under one LEA
	StudentsPerSchool  int
	TeachersPerSchool  int
	CoursesPerSchool   int
	SectionsPerCourse  int
	StudentsPerSection int
	// Seed varies the ids and names: two districts generated with different
	// seeds share no id. The default district uses 0.
	Seed uint64
}

// DefaultDemo is the district `interop serve --demo` loads: 4 schools, 480
// students, 40 teachers, 24 courses, 48 sections, 3 terms and 144 grading
// categories.
var DefaultDemo = DemoSize{Schools: 4, StudentsPerSchool: 120, TeachersPerSchool: 10, CoursesPerSchool: 6, SectionsPerCourse: 2, StudentsPerSection: 25}

// demoNamespace seeds the demo's name-based (v5) UUIDs: the same district
// gets the same ids on every machine and every run.
var demoNamespace = uuid.MustParse("5e0c8c53-8c6d-4e43-9a8f-6a1b6f1d2c11")

func demoID(parts ...any) uuid.UUID {
	return uuid.NewSHA1(demoNamespace, []byte(fmt.Sprint(parts...)))
}

var (
	firstNames = []string{"Zoë", "José", "Łukasz", "Ada", "Chloé", "Søren", "Amara", "Björn", "Mei", "Ngozi",
		"François", "Priya", "Mateo", "Aoife", "Dmitri", "Leilani", "Hana", "Omar", "Inés", "Kofi",
		"Emma", "Liam", "Olivia", "Noah", "Ava", "Elijah", "Sofía", "Lucas", "Maëlle", "Jürgen"}
	lastNames = []string{"Núñez", "García", "Wiśniewski", "Okafor", "Dubois", "Øvergaard", "Nakamura", "Smith",
		"Johnson", "Müller", "Kowalczyk", "Hernández", "O'Brien", "Nguyễn", "Papadopoulos", "Fernández",
		"Kim", "Patel", "Brown", "Jones", "Lindqvist", "Yılmaz", "Ivanova", "Costa"}
	schoolNames = []string{"Lincoln Elementary", "Zoë Baldwin Middle School", "Roosevelt High School", "Escuela Peña Blanca",
		"Jefferson Academy", "Maple Grove School", "Riverside Preparatory", "Hillcrest School"}
	courseNames = []string{"Algebra I", "English Language Arts", "Biology", "World History", "Música", "Art & Design",
		"Geometry", "Chemistry", "Physical Education", "Français I"}
	categoryNames = []string{"Homework", "Quizzes", "Exams"}
)

// fold maps the demo's accented letters to ASCII for e-mail addresses, which
// the spec's email format keeps ASCII.
var fold = strings.NewReplacer("ë", "e", "é", "e", "è", "e", "ê", "e", "ó", "o", "ö", "o", "ø", "o", "Ø", "O", "ñ", "n",
	"ú", "u", "ü", "u", "í", "i", "ı", "i", "á", "a", "à", "a", "ç", "c", "Ł", "L", "ł", "l", "ś", "s", "ễ", "e",
	"'", "", " ", "", "Ö", "O", "Ü", "U", "É", "E")

func date(y int, m time.Month, d int) openapi_types.Date {
	return openapi_types.Date{Time: time.Date(y, m, d, 0, 0, 0, 0, time.UTC)}
}

// Demo generates a deterministic district: one LEA, its schools, a school
// year with two semesters, teachers, students, courses, sections with
// their memberships, and grading categories. Names include non-ASCII ones
// (Zoë Núñez, Łukasz Wiśniewski, José García).
func Demo(size DemoSize) Roster {
	rng := rand.New(rand.NewPCG(2025, 2026+size.Seed))
	demoID := func(parts ...any) uuid.UUID {
		if size.Seed == 0 {
			return demoID(parts...)
		}
		return demoID(append([]any{"seed", size.Seed, "/"}, parts...)...)
	}
	const year = 2026
	var r Roster
	orgRef := func(o models.Org) models.OrgSys {
		return models.OrgSys{Sys: models.OrgRefType{ID: o.Sys.ID, Type: "Org", OrgType: o.Sys.OrgType, Label: o.Name}}
	}
	leaID := demoID("lea")
	lea := models.Org{Sys: models.OrgSysType{ID: leaID, OrgType: "LEA", Label: "Kimono Unified School District", SchoolYear: int32(year)},
		ID: leaID, LocalID: "1", Name: "Kimono Unified School District"}

	// Terms: the school year and its two semesters.
	yearID, fallID, springID := demoID("term", "year"), demoID("term", "fall"), demoID("term", "spring")
	termRef := func(id uuid.UUID, typ, label string) models.TermSys {
		return models.TermSys{Sys: models.TermRefType{ID: id, Type: "Term", TermType: typ, Label: label}}
	}
	yearRef, fallRef, springRef := termRef(yearID, "SchoolYear", "2025-2026"), termRef(fallID, "Semester", "Fall 2025"), termRef(springID, "Semester", "Spring 2026")
	r.Terms = []models.Term{
		{Sys: models.TermSysType{ID: yearID, TermType: "SchoolYear", Label: "2025-2026", SchoolYear: int32(year)},
			Name: "2025-2026", StartDate: date(2025, 8, 15), EndDate: date(2026, 6, 10), Status: "Active",
			Children: []models.TermSys{fallRef, springRef}},
		{Sys: models.TermSysType{ID: fallID, TermType: "Semester", Label: "Fall 2025", SchoolYear: int32(year)},
			Name: "Fall 2025", StartDate: date(2025, 8, 15), EndDate: date(2025, 12, 19), Status: "Active", Parent: yearRef},
		{Sys: models.TermSysType{ID: springID, TermType: "Semester", Label: "Spring 2026", SchoolYear: int32(year)},
			Name: "Spring 2026", StartDate: date(2026, 1, 6), EndDate: date(2026, 6, 10), Status: "Future", Parent: yearRef},
	}
	r.TermOrgs = map[uuid.UUID][]uuid.UUID{yearID: {leaID}, fallID: {leaID}, springID: {leaID}}

	var children []models.OrgSys
	personN := 0
	name := func() (string, string) {
		personN++
		// The first persons carry the names the docs quote.
		if personN <= 3 {
			return [][2]string{{"Zoë", "Núñez"}, {"Łukasz", "Wiśniewski"}, {"José", "García"}}[personN-1][0],
				[][2]string{{"Zoë", "Núñez"}, {"Łukasz", "Wiśniewski"}, {"José", "García"}}[personN-1][1]
		}
		return firstNames[rng.IntN(len(firstNames))], lastNames[rng.IntN(len(lastNames))]
	}
	type member struct{ p *models.Person }
	for s := 0; s < size.Schools; s++ {
		schoolID := demoID("school", s)
		school := models.Org{Sys: models.OrgSysType{ID: schoolID, OrgType: "School", Label: schoolNames[s%len(schoolNames)], SchoolYear: int32(year)},
			ID: schoolID, LocalID: fmt.Sprint(101 + s), Name: schoolNames[s%len(schoolNames)]}
		parent := orgRef(lea)
		school.Parent = parent
		children = append(children, orgRef(school))
		r.Orgs = append(r.Orgs, school)
		sref := orgRef(school)

		newPerson := func(kind string, i int) models.Person {
			first, last := name()
			id := demoID("person", kind, s, i)
			label := first + " " + last
			p := models.Person{Sys: models.PersonSysType{ID: id, PersonType: kind, Label: label, SchoolYear: int32(year)},
				Name:  models.NameType{First: first, Last: last},
				Email: strings.ToLower(fold.Replace(first)+"."+fold.Replace(last)) + fmt.Sprintf(".%d@example.org", personN)}
			p.Schools = []models.OrgMembershipSys{{Sys: models.OrgMembershipRefType{ID: sref.Sys.ID, Type: "Org", OrgType: "School", Label: sref.Sys.Label,
				Membership: models.RefType{ID: demoID("org-membership", id), Type: "PersonOrgMembership"}}}}
			if kind == "Student" {
				p.LocalID = fmt.Sprintf("S%d%04d", s+1, i)
				p.StateID = fmt.Sprintf("99%08d", personN)
				grad := 2026 + rng.IntN(12)
				p.GradYear = fmt.Sprint(grad)
				p.Dob = date(grad-18, time.Month(1+rng.IntN(12)), 1+rng.IntN(28))
			} else {
				p.LocalID = fmt.Sprintf("T%d%03d", s+1, i)
			}
			return p
		}
		var teachers, students []member
		for i := 0; i < size.StudentsPerSchool; i++ {
			p := newPerson("Student", i)
			students = append(students, member{p: &p})
		}
		for i := 0; i < size.TeachersPerSchool; i++ {
			p := newPerson("Teacher", i)
			teachers = append(teachers, member{p: &p})
		}
		for c := 0; c < size.CoursesPerSchool; c++ {
			courseID := demoID("course", s, c)
			title := courseNames[(s+c)%len(courseNames)]
			course := models.Course{Sys: models.SysType{ID: courseID, Label: title, SchoolYear: int32(year)},
				LocalID: fmt.Sprintf("C%d-%02d", s+1, c), Title: title, Orgs: []models.OrgSys{sref}}
			var sections []models.SectionSys
			for k := 0; k < size.SectionsPerCourse; k++ {
				secID := demoID("section", s, c, k)
				label := fmt.Sprintf("%s - Period %d", title, k+1)
				term := fallRef
				if k%2 == 1 {
					term = springRef
				}
				sec := models.Section{Sys: models.SysType{ID: secID, Label: label, SchoolYear: int32(year)},
					LocalID: fmt.Sprintf("C%d-%02d-%d", s+1, c, k+1), Title: label,
					Course: models.RefSys{Sys: models.RefType{ID: courseID, Type: "Course", Label: title}},
					Org:    sref, Terms: []models.TermSys{term}}
				secRef := models.MembershipRefType{ID: secID, Type: "Section", Label: label}
				enrol := func(m member, kind string) models.PersonMembershipSys {
					mid := demoID("section-membership", m.p.Sys.ID, secID)
					secRef.Membership = models.RefType{ID: mid, Type: "PersonSectionMembership"}
					if m.p.Sections == nil {
						m.p.Sections = []models.MembershipSys{}
					}
					m.p.Sections = append(m.p.Sections, models.MembershipSys{Sys: secRef})
					return models.PersonMembershipSys{Sys: models.PersonMembershipRefType{ID: m.p.Sys.ID, Type: "Person", PersonType: kind,
						Label: m.p.Sys.Label, Membership: models.RefType{ID: mid, Type: "PersonSectionMembership"}}}
				}
				if len(teachers) > 0 {
					t := teachers[(c*size.SectionsPerCourse+k)%len(teachers)]
					sec.Teachers = []models.PersonMembershipSys{enrol(t, "Teacher")}
				}
				var roster []models.PersonMembershipSys
				if n := len(students); n > 0 {
					start := rng.IntN(n)
					for j := 0; j < min(size.StudentsPerSection, n); j++ {
						roster = append(roster, enrol(students[(start+j)%n], "Student"))
					}
				}
				sec.Students = roster
				r.Sections = append(r.Sections, sec)
				sections = append(sections, models.SectionSys{Sys: models.RefType{ID: secID, Type: "Section", Label: label}})
				for gi, gname := range categoryNames {
					gid := demoID("grading", s, c, k, gi)
					sc := sref
					r.GradingCategories = append(r.GradingCategories, models.GradingCategory{
						Sys: models.SysType{ID: gid, Label: gname, SchoolYear: int32(year)}, Name: gname,
						Section: models.SectionSys{Sys: models.RefType{ID: secID, Type: "Section", Label: label}},
						Term:    term, School: sc})
				}
			}
			course.Sections = sections
			r.Courses = append(r.Courses, course)
		}
		for _, m := range append(students, teachers...) {
			r.Persons = append(r.Persons, *m.p)
		}
	}
	lea.Children = children
	r.Orgs = append([]models.Org{lea}, r.Orgs...)
	return r
}
