package oneroster_test

import (
	"archive/zip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/interop-data/interop/pkg/client"
	"github.com/interop-data/interop/pkg/reference"
	"github.com/interop-data/interop/pkg/reference/oneroster"
	"github.com/interop-data/interop/pkg/reference/referencetest"
	"github.com/interop-data/interop/pkg/reference/store"
)

// district is an empty tenant of a running reference server, and a client
// that checks every answer against the spec.
type district struct {
	env    *referencetest.Env
	tenant uuid.UUID
	c      *client.Client
}

func newDistrict(t *testing.T) *district {
	t.Helper()
	env := referencetest.Start(t, referencetest.WithTenants(1))
	ctx := context.Background()
	id := uuid.MustParse("2d0e6f0a-6a43-4f4e-9d35-0b7c1f6f2a01")
	if _, err := reference.InstallTenant(ctx, env.Store, "District", env.Clock.Now(), reference.TenantCredentials{TenantID: id, ClientID: "district", ClientSecret: "district-secret"}); err != nil {
		t.Fatal(err)
	}
	c, err := client.New(env.URL, client.WithClientCredentials("district", "district-secret", env.TokenURL),
		client.WithValidation(client.ValidationEnforce), client.WithRetryPolicy(client.NoRetries()))
	if err != nil {
		t.Fatal(err)
	}
	return &district{env: env, tenant: id, c: c}
}

func (d *district) load(t *testing.T, dir string) (oneroster.Result, error) {
	t.Helper()
	src, err := oneroster.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	return oneroster.Load(context.Background(), d.env.Store, d.tenant, src, oneroster.WithClock(d.env.Clock.Now), oneroster.WithTempDir(t.TempDir()))
}

func (d *district) mustLoad(t *testing.T, dir string) oneroster.Result {
	t.Helper()
	res, err := d.load(t, dir)
	if err != nil {
		t.Fatalf("load %s: %v", dir, err)
	}
	return res
}

func (d *district) id(file, sid string) uuid.UUID { return oneroster.ID(d.tenant, file, sid) }

// jsonOf is v as generic JSON, so that checks read the API's field names.
func jsonOf(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// at reads a path of keys and indexes ("$sys.id", "$terms.0.$sys.label").
func at(v any, path string) any {
	for _, k := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[k]
		case []any:
			var i int
			if _, err := fmt.Sscan(k, &i); err != nil || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

// expect checks fields of an object: path -> value (strings, numbers,
// bools; nil for absent).
func expect(t *testing.T, what string, obj map[string]any, want map[string]any) {
	t.Helper()
	for path, w := range want {
		if got := at(obj, path); fmt.Sprint(got) != fmt.Sprint(w) {
			t.Errorf("%s: %s = %v, want %v", what, path, got, w)
		}
	}
}

func count[T any](t *testing.T, seq func(func(T, error) bool)) int {
	t.Helper()
	n := 0
	for _, err := range seq {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	return n
}

// refs lists the ids of the references in a list field.
func refs(obj map[string]any, field string) []string {
	var out []string
	list, _ := obj[field].([]any)
	for _, r := range list {
		out = append(out, fmt.Sprint(at(r, "$sys.id")))
	}
	return out
}

func ids(us ...uuid.UUID) []string {
	var out []string
	for _, u := range us {
		out = append(out, u.String())
	}
	return out
}

// Both of the vendor's samples load, and every list and the objects read
// through the API are what the files say.
func TestLoadSamples(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		dir                                                              string
		orgs, leas, schools, persons, students, teachers, courses, sects int
		terms, categories, added                                         int
		course1Title, course2Code                                        string
	}{
		// 3 orgs, 3 terms, 2 courses, 3 sections, 6 persons, 6 org and 8
		// section memberships (the proctor's enrollment is not loaded).
		{"testdata/minimal", 3, 1, 2, 6, 4, 2, 2, 3, 3, 0, 31, "c1", "<nil>"},
		{"testdata/recommended", 2, 0, 2, 6, 4, 2, 2, 3, 3, 2, 32, "Intro to Google Classroom", "c2"},
	} {
		t.Run(filepath.Base(tc.dir), func(t *testing.T) {
			d := newDistrict(t)
			res := d.mustLoad(t, tc.dir)
			if res.Sync.Added != tc.added || res.Sync.Changed+res.Sync.Deleted+res.Sync.Unchanged != 0 {
				t.Errorf("sync %+v, want %d added", res.Sync, tc.added)
			}
			if res.Skipped["users with role parent"] != 1 || res.Skipped["users with role proctor"] != 1 || res.Skipped["enrollments of other roles or of users not loaded"] != 1 {
				t.Errorf("skipped %v", res.Skipped)
			}
			c := d.c
			for name, got := range map[string][2]int{
				"orgs":       {count(t, c.Orgs(ctx, nil)), tc.orgs},
				"leas":       {count(t, c.LEAs(ctx, nil)), tc.leas},
				"schools":    {count(t, c.Schools(ctx, nil)), tc.schools},
				"persons":    {count(t, c.Persons(ctx, nil)), tc.persons},
				"students":   {count(t, c.Students(ctx, nil)), tc.students},
				"teachers":   {count(t, c.Teachers(ctx, nil)), tc.teachers},
				"courses":    {count(t, c.Courses(ctx, nil)), tc.courses},
				"sections":   {count(t, c.Sections(ctx, nil)), tc.sects},
				"terms":      {count(t, c.Terms(ctx, nil)), tc.terms},
				"categories": {count(t, c.GradingCategories(ctx, nil)), tc.categories},
				// memberships behind the org lists
				"students of sch1": {count(t, c.StudentsForOrg(ctx, d.id("orgs", "sch1"), nil)), 4},
				"teachers of sch1": {count(t, c.TeachersForOrg(ctx, d.id("orgs", "sch1"), nil)), 2},
				"students of sch2": {count(t, c.StudentsForOrg(ctx, d.id("orgs", "sch2"), nil)), 0},
				"sections of sch1": {count(t, c.SectionsForOrg(ctx, d.id("orgs", "sch1"), nil)), 3},
				"courses of sch1":  {count(t, c.CoursesForOrg(ctx, d.id("orgs", "sch1"), nil)), 2},
				"terms of sch1":    {count(t, c.TermsForOrg(ctx, d.id("orgs", "sch1"), nil)), 3},
			} {
				if got[0] != got[1] {
					t.Errorf("%s: %d, want %d", name, got[0], got[1])
				}
			}

			stu1 := d.id("users", "stu1")
			p, err := c.FindPerson(ctx, stu1)
			if err != nil {
				t.Fatal(err)
			}
			pm := jsonOf(t, p)
			expect(t, "stu1", pm, map[string]any{
				"$sys.id": stu1, "$sys.person_type": "Student", "$sys.label": "Student One", "$sys.source_id.oneroster": "stu1",
				"name.first": "Student", "name.last": "One", "name.middle": nil, "dob": "2010-01-01", "sex": "Male",
				"$schools.0.$sys.id": d.id("orgs", "sch1"), "$schools.0.$sys.org_type": "School", "$schools.0.$sys.label": "The School",
				"$schools.0.$sys.$membership.id":   oneroster.OrgMembershipID(d.tenant, "stu1", "sch1"),
				"$schools.0.$sys.$membership.type": "PersonOrgMembership",
				"$sections.0.$sys.label":           "Section A/B", "$sections.0.$sys.$membership.id": d.id("enrollments", "enr1"),
				"$sections.1.$sys.label": "Study & Learning - Period 1", "$sections.1.$sys.$membership.id": d.id("enrollments", "enr2"),
			})
			if len(pm["$sections"].([]any)) != 2 {
				t.Errorf("stu1 sections %v", pm["$sections"])
			}

			s, err := c.FindSection(ctx, d.id("classes", "cla1"))
			if err != nil {
				t.Fatal(err)
			}
			sm := jsonOf(t, s)
			expect(t, "cla1", sm, map[string]any{
				"title": "Section A/B", "local_id": "c1", "$sys.source_id.oneroster": "cla1",
				"$course.$sys.id": d.id("courses", "cou1"), "$course.$sys.label": tc.course1Title,
				"$org.$sys.id": d.id("orgs", "sch1"), "$org.$sys.org_type": "School",
				"$terms.0.$sys.label": "Term 1", "$terms.1.$sys.label": "Term 2", "$terms.0.$sys.term_type": "Term",
				"$teachers.0.$sys.label": "Teacher One", "$teachers.0.$sys.$membership.id": d.id("enrollments", "enr4"),
			})
			if got, want := refs(sm, "$students"), ids(stu1, d.id("users", "stu2")); !slices.Equal(got, want) {
				t.Errorf("cla1 students %v, want %v", got, want)
			}
			if got := refs(sm, "$teachers"); len(got) != 1 { // the proctor is not a teacher
				t.Errorf("cla1 teachers %v", got)
			}

			co, err := c.FindCourse(ctx, d.id("courses", "cou2"))
			if err != nil {
				t.Fatal(err)
			}
			cm := jsonOf(t, co)
			expect(t, "cou2", cm, map[string]any{"local_id": tc.course2Code, "$orgs.0.$sys.id": d.id("orgs", "sch1")})
			if got, want := refs(cm, "$sections"), ids(d.id("classes", "cla2"), d.id("classes", "cla3")); !slices.Equal(got, want) {
				t.Errorf("cou2 sections %v, want %v", got, want)
			}

			term, err := c.FindTerm(ctx, d.id("academicSessions", "ter2"))
			if err != nil {
				t.Fatal(err)
			}
			expect(t, "ter2", jsonOf(t, term), map[string]any{"name": "Term 2", "start_date": "2021-10-05", "end_date": "2021-12-04",
				"$sys.term_type": "Term"})

			org, err := c.FindOrg(ctx, d.id("orgs", "sch2"))
			if err != nil {
				t.Fatal(err)
			}
			om := jsonOf(t, org)
			expect(t, "sch2", om, map[string]any{"name": "The Other School", "local_id": "sch2X2", "$sys.org_type": "School"})
			if tc.leas == 1 {
				expect(t, "sch2", om, map[string]any{"$parent.$sys.id": d.id("orgs", "lea1"), "$parent.$sys.org_type": "LEA"})
				lea, err := c.FindLEA(ctx, d.id("orgs", "lea1"))
				if err != nil {
					t.Fatal(err)
				}
				if got, want := refs(jsonOf(t, lea), "$children"), ids(d.id("orgs", "sch1"), d.id("orgs", "sch2")); !slices.Equal(got, want) {
					t.Errorf("lea1 children %v, want %v", got, want)
				}
				// A link to a school is a link to its district too.
				if n := count(t, c.StudentsForOrg(ctx, d.id("orgs", "lea1"), nil)); n != 4 {
					t.Errorf("students of lea1: %d", n)
				}
			}

			// The sync: SYNC_START, one ADD per object, SYNC_END.
			evs := d.events(t, 0)
			if len(evs) != tc.added+2 || evs[0] != "SYNC_START" || evs[len(evs)-1] != "SYNC_END" {
				t.Errorf("events: %d, %v ... %v", len(evs), evs[0], evs[len(evs)-1])
			}
			// Loading it again changes nothing.
			seq := d.lastSequence(t)
			res = d.mustLoad(t, tc.dir)
			if res.Sync.Added+res.Sync.Changed+res.Sync.Deleted != 0 || res.Sync.Unchanged != tc.added {
				t.Errorf("reload: %+v", res.Sync)
			}
			if evs := d.events(t, seq); !slices.Equal(evs, []string{"SYNC_START", "SYNC_END"}) {
				t.Errorf("reload events: %v", evs)
			}
		})
	}
}

// events lists the tasks after sequence seq, through the admin task list
// (which does not lease): "SYNC_START", "ADD RDM:Student Student One", ...
func (d *district) events(t *testing.T, after int64) []string {
	t.Helper()
	var out []string
	for _, task := range d.tasks(t, after) {
		out = append(out, describe(task))
	}
	return out
}

func (d *district) tasks(t *testing.T, after int64) []*client.Task {
	t.Helper()
	var out []*client.Task
	for task, err := range d.c.AdminTasks(context.Background(), nil) {
		if err != nil {
			t.Fatal(err)
		}
		if task.Sequence > after && task.Kind != client.KindLifecycle {
			out = append(out, task)
		}
	}
	return out
}

func describe(task *client.Task) string {
	switch task.Kind {
	case client.KindSync:
		return task.SyncEvent.Action
	case client.KindData:
		s := task.DataEvent.Action + " " + task.DataEvent.ObjectType
		if l := task.DataEvent.Label; l != "" {
			s += " " + l
		}
		return s
	}
	return task.Kind
}

func (d *district) lastSequence(t *testing.T) int64 {
	t.Helper()
	var last int64
	for task, err := range d.c.AdminTasks(context.Background(), nil) {
		if err != nil {
			t.Fatal(err)
		}
		last = max(last, task.Sequence)
	}
	return last
}

// A week later the same district exports again with changes: exactly the
// objects that changed get events, with their prior values.
func TestLoadChanges(t *testing.T) {
	ctx := context.Background()
	d := newDistrict(t)
	d.mustLoad(t, "testdata/recommended")
	seq := d.lastSequence(t)
	res := d.mustLoad(t, "testdata/changed")
	tasks := d.tasks(t, seq)
	var got []string
	for _, task := range tasks {
		got = append(got, describe(task))
	}
	want := []string{
		"SYNC_START",
		"CHANGE RDM:Section Section A/B",                 // stu1's label in $students
		"CHANGE RDM:Section Study & Learning - Period 1", // likewise
		"CHANGE RDM:Section Study & Learning - Period 2", // moved to ter1, stu5 enrolled
		"CHANGE RDM:Student Stuart One",
		"CHANGE RDM:PersonOrgMembership",     // its $person label
		"CHANGE RDM:PersonSectionMembership", // enr1
		"CHANGE RDM:PersonSectionMembership", // enr2
		"ADD RDM:Student Student Five",
		"ADD RDM:PersonOrgMembership",
		"ADD RDM:PersonSectionMembership", // enr10
		"DELETE RDM:PersonOrgMembership",  // stu4's
		"DELETE RDM:Student Student Four",
		"SYNC_END",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("events:\n got %q\nwant %q", got, want)
	}
	if res.Sync.Added != 3 || res.Sync.Changed != 7 || res.Sync.Deleted != 2 {
		t.Errorf("sync %+v", res.Sync)
	}
	group := tasks[0].SyncEvent.GroupID
	for _, task := range tasks[1 : len(tasks)-1] {
		if task.DataEvent.GroupID != group {
			t.Errorf("%s: group %s, want %s", describe(task), task.DataEvent.GroupID, group)
		}
	}
	// CHANGE carries the prior values of what changed.
	changes := func(i int) map[string]any {
		return jsonOf(t, map[string]any{"c": task(tasks, i).DataEvent.Changes})["c"].(map[string]any)
	}
	expect(t, "stu1 change", changes(4), map[string]any{"name.first": "Student", "$sys.label": "Student One"})
	if _, ok := changes(4)["email"]; ok {
		t.Errorf("stu1 change lists an unchanged attribute: %v", changes(4))
	}
	expect(t, "cla3 change", changes(3), map[string]any{"$terms.0.$sys.label": "Term 2", "$terms.1.$sys.label": "Term 3"})
	if tasks[12].DataEvent.ObjectID != d.id("users", "stu4").String() {
		t.Errorf("deleted %v", tasks[12].DataEvent.ObjectID)
	}

	// The API answers the new state.
	s, err := d.c.FindSection(ctx, d.id("classes", "cla3"))
	if err != nil {
		t.Fatal(err)
	}
	sm := jsonOf(t, s)
	if got, want := refs(sm, "$terms"), ids(d.id("academicSessions", "ter1")); !slices.Equal(got, want) {
		t.Errorf("cla3 terms %v", got)
	}
	if got, want := refs(sm, "$students"), ids(d.id("users", "stu2"), d.id("users", "stu5")); !slices.Equal(got, want) {
		t.Errorf("cla3 students %v, want %v", got, want)
	}
	if _, err := d.c.FindPerson(ctx, d.id("users", "stu4")); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("stu4: %v", err)
	}
	if n := count(t, d.c.StudentsForOrg(ctx, d.id("orgs", "sch1"), nil)); n != 4 {
		t.Errorf("students of sch1: %d", n)
	}
}

func task(ts []*client.Task, i int) *client.Task { return ts[i] }

// snapshot is everything a tenant holds: its objects and its queue.
func (d *district) snapshot(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	for _, k := range []store.Kind{store.KindOrg, store.KindPerson, store.KindCourse, store.KindSection, store.KindTerm,
		store.KindGradingCategory, store.KindPersonOrgMembership, store.KindPersonSectionMembership} {
		objs, _, err := d.env.Store.ListObjects(ctx, store.ObjectQuery{Tenants: []uuid.UUID{d.tenant}, Kind: k, Limit: 10000})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			fmt.Fprintf(&b, "%s %s %s\n", k, o.ID, o.Data)
		}
	}
	tasks, _, err := d.env.Store.ListTasks(ctx, store.TaskQuery{Tenants: []uuid.UUID{d.tenant}, Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks {
		fmt.Fprintf(&b, "task %d %s %s\n", task.Sequence, task.ID, task.Payload)
	}
	return b.String()
}

// copyExport copies an export into a new directory and applies edits: file
// name -> function of its content.
func copyExport(t *testing.T, from string, edits map[string]func(string) string) string {
	t.Helper()
	dir := t.TempDir()
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		if f, ok := edits[e.Name()]; ok {
			s = f(s)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func replace(old, new string) func(string) string {
	return func(s string) string {
		if !strings.Contains(s, old) {
			panic("the export lacks " + old)
		}
		return strings.Replace(s, old, new, 1)
	}
}

func appendLines(lines ...string) func(string) string {
	return func(s string) string { return strings.TrimRight(s, "\n") + "\n" + strings.Join(lines, "\n") + "\n" }
}

// Every kind of bad input is reported with its file, line, column and rule,
// and leaves the tenant's roster and queue exactly as they were.
func TestLoadRefusesBadInput(t *testing.T) {
	d := newDistrict(t)
	d.mustLoad(t, "testdata/recommended")
	before := d.snapshot(t)
	for _, tc := range []struct {
		name  string
		edits map[string]func(string) string
		want  []string
	}{
		{"missing required column", map[string]func(string) string{"users.csv": replace(",role,", ",function,")},
			[]string{`users.csv:1: role: required column "role" is not in the header [missing-column]`}},
		{"duplicate sourcedId", map[string]func(string) string{"classes.csv": appendLines(`cla1,active,,Again,,cou1,c9,,,sch1,ter1,,,`)},
			[]string{`classes.csv:5: sourcedId: sourcedId "cla1" is already on line 2 [duplicate-id]`}},
		{"unknown references, all listed", map[string]func(string) string{"enrollments.csv": appendLines(
			`enr10,active,,cla9,sch1,stu1,student,,2021-09-20,2021-12-19`,
			`enr11,active,,cla1,sch1,stu9,student,,2021-09-20,2021-12-19`)},
			[]string{
				`enrollments.csv:11:15: classSourcedId: "cla9" is not a sourcedId of classes.csv [unknown-ref]`,
				`enrollments.csv:12:25: userSourcedId: "stu9" is not a sourcedId of users.csv [unknown-ref]`,
			}},
		{"a bulk file drops what others use", map[string]func(string) string{"courses.csv": replace("cou2,,,,Learning the Google Way,c2,,sch1,,\n", "")},
			[]string{
				`classes.csv:3:43: courseSourcedId: "cou2" is not a sourcedId of courses.csv [unknown-ref]`,
				`classes.csv:4:43: courseSourcedId: "cou2" is not a sourcedId of courses.csv [unknown-ref]`,
			}},
		{"unparsable date", map[string]func(string) string{"academicSessions.csv": replace("2021-09-20,2021-10-20", "2021-09-31,2021-10-20")},
			[]string{`academicSessions.csv:2:26: startDate: "2021-09-31" is not a day: September 2021 has 30 days [date]`}},
		{"non-UTF-8 byte", map[string]func(string) string{"users.csv": replace("Texas,Aymuagdd", "T\xe9xas,Aymuagdd")},
			[]string{`users.csv:2:59: invalid UTF-8 byte sequence [utf-8]`}},
		{"CSV quoting", map[string]func(string) string{"courses.csv": replace("Intro to Google Classroom", `Intro to "Google" Classroom`)},
			[]string{`courses.csv:2:18: bare " in non-quoted-field [csv]`}},
		{"errors in several files", map[string]func(string) string{
			"orgs.csv":       replace(",school,sch2X2", ",county,sch2X2"),
			"categories.csv": appendLines(`cat3,active,,`),
		}, []string{
			`orgs.csv:3:31: type: "county" is not one of district, school, department, local, state, national [vocabulary]`,
			`categories.csv:4:14: title: a value is required [required]`,
		}},
		{"manifest", map[string]func(string) string{"manifest.csv": replace("oneroster.version,1.1", "oneroster.version,1.2")},
			[]string{`manifest.csv:3:19: value: oneroster.version is "1.2"; this loader reads OneRoster 1.1 [manifest]`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := d.load(t, copyExport(t, "testdata/recommended", tc.edits))
			v, ok := oneroster.AsValidation(err)
			if !ok {
				t.Fatalf("got %v, want a *ValidationError", err)
			}
			var got []string
			for _, e := range v.Errors {
				got = append(got, e.Error())
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("errors:\n got %q\nwant %q", got, tc.want)
			}
			if after := d.snapshot(t); after != before {
				t.Errorf("the tenant changed:\n%s", after)
			}
		})
	}
}

// deltaExport writes an export whose manifest names only the given files
// (every other file absent) with the given contents.
func deltaExport(t *testing.T, modes map[string]string, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	m := "propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\n"
	for _, f := range oneroster.Files {
		mode := "absent"
		if md, ok := modes[f]; ok {
			mode = md
		}
		m += "file." + f + "," + mode + "\n"
	}
	files["manifest.csv"] = m
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const usersHeader = "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password\n"

// A delta users file changes, adds and deletes only its rows; the files the
// manifest calls absent are left alone, and what the tenant keeps (stu1's
// demographics, its enrollments) is rebuilt into the objects unchanged.
func TestLoadDelta(t *testing.T) {
	ctx := context.Background()
	d := newDistrict(t)
	d.mustLoad(t, "testdata/recommended")
	seq := d.lastSequence(t)
	dir := deltaExport(t, map[string]string{"users": "delta"}, map[string]string{"users.csv": usersHeader +
		"stu1,active,,true,sch1,student,student1@gedu.demo.kimonocloud.com,,Stuart,One,,stu1X1,student1@gedu.demo.kimonocloud.com,,3571592862,,,\n" +
		"stu4,tobedeleted,,true,sch1,student,x,,x,x,,,,,,,,\n" +
		"stu5,active,,true,sch2,student,student5@x,,Student,Five,,stu5X1,,,,,,\n"})
	res := d.mustLoad(t, dir)
	want := []string{
		"SYNC_START",
		"CHANGE RDM:Section Section A/B",
		"CHANGE RDM:Section Study & Learning - Period 1",
		"CHANGE RDM:Student Stuart One",
		"CHANGE RDM:PersonOrgMembership",
		"CHANGE RDM:PersonSectionMembership",
		"CHANGE RDM:PersonSectionMembership",
		"ADD RDM:Student Student Five",
		"ADD RDM:PersonOrgMembership",
		"DELETE RDM:PersonOrgMembership",
		"DELETE RDM:Student Student Four",
		"SYNC_END",
	}
	if got := d.events(t, seq); !slices.Equal(got, want) {
		t.Fatalf("events:\n got %q\nwant %q", got, want)
	}
	if res.Sync.Unchanged == 0 {
		t.Errorf("sync %+v", res.Sync)
	}
	p, err := d.c.FindPerson(ctx, d.id("users", "stu1"))
	if err != nil {
		t.Fatal(err)
	}
	expect(t, "stu1", jsonOf(t, p), map[string]any{"name.first": "Stuart", "dob": "2010-01-01", "sex": "Male", "$sections.1.$sys.label": "Study & Learning - Period 1"})
	if n := count(t, d.c.GradingCategories(ctx, nil)); n != 2 {
		t.Errorf("categories: %d", n)
	}
	if n := count(t, d.c.StudentsForOrg(ctx, d.id("orgs", "sch2"), nil)); n != 1 {
		t.Errorf("students of sch2: %d", n)
	}

	// The same delta again changes nothing.
	seq = d.lastSequence(t)
	d.mustLoad(t, dir)
	if got := d.events(t, seq); !slices.Equal(got, []string{"SYNC_START", "SYNC_END"}) {
		t.Errorf("second delta: %v", got)
	}

	// A delta enrollments file alone: one new enrollment, one removed.
	seq = d.lastSequence(t)
	dir = deltaExport(t, map[string]string{"enrollments": "delta"}, map[string]string{"enrollments.csv": "sourcedId,status,classSourcedId,schoolSourcedId,userSourcedId,role\n" +
		"enr10,active,cla3,sch1,stu3,student\nenr8,tobedeleted,cla3,sch1,stu2,student\n"})
	d.mustLoad(t, dir)
	want = []string{
		"SYNC_START",
		"CHANGE RDM:Section Study & Learning - Period 2",
		"CHANGE RDM:Student Student Two",
		"CHANGE RDM:Student Student Three",
		"ADD RDM:PersonSectionMembership",
		"DELETE RDM:PersonSectionMembership",
		"SYNC_END",
	}
	if got := d.events(t, seq); !slices.Equal(got, want) {
		t.Fatalf("enrollment delta events:\n got %q\nwant %q", got, want)
	}

	// A delta demographics file: one row removed, one changed.
	seq = d.lastSequence(t)
	d.mustLoad(t, deltaExport(t, map[string]string{"demographics": "delta"}, map[string]string{"demographics.csv": "sourcedId,status,birthDate,sex\n" +
		"stu1,tobedeleted,,\nstu2,active,2011-02-01,female\n"}))
	if got, want := d.events(t, seq), []string{"SYNC_START", "CHANGE RDM:Student Stuart One", "CHANGE RDM:Student Student Two", "SYNC_END"}; !slices.Equal(got, want) {
		t.Fatalf("demographics delta events:\n got %q\nwant %q", got, want)
	}
	p, err = d.c.FindPerson(ctx, d.id("users", "stu1"))
	if err != nil {
		t.Fatal(err)
	}
	expect(t, "stu1", jsonOf(t, p), map[string]any{"dob": nil, "sex": nil, "name.first": "Stuart"})
	p, err = d.c.FindPerson(ctx, d.id("users", "stu2"))
	if err != nil {
		t.Fatal(err)
	}
	expect(t, "stu2", jsonOf(t, p), map[string]any{"dob": "2011-02-01", "sex": "Female"})

	// A delta row naming a sourcedId neither the file nor the tenant has.
	_, err = d.load(t, deltaExport(t, map[string]string{"enrollments": "delta"}, map[string]string{"enrollments.csv": "sourcedId,classSourcedId,schoolSourcedId,userSourcedId,role\n" +
		"enr11,cla3,sch1,stu4,student\n"}))
	if v, ok := oneroster.AsValidation(err); !ok || len(v.Errors) != 1 ||
		v.Errors[0].Error() != `enrollments.csv:2:17: userSourcedId: "stu4" is not a sourcedId of the tenant's users (the manifest has users.csv absent) [unknown-ref]` {
		t.Errorf("got %v", err)
	}
}

// A .zip export loads like its directory, with the files at its root or
// inside one folder.
func TestLoadZip(t *testing.T) {
	for _, prefix := range []string{"", "export/"} {
		zipPath := filepath.Join(t.TempDir(), "export.zip")
		f, err := os.Create(zipPath)
		if err != nil {
			t.Fatal(err)
		}
		zw := zip.NewWriter(f)
		entries, _ := os.ReadDir("testdata/recommended")
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join("testdata/recommended", e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			w, err := zw.Create(prefix + e.Name())
			if err != nil {
				t.Fatal(err)
			}
			w.Write(b)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		f.Close()
		d := newDistrict(t)
		res := d.mustLoad(t, zipPath)
		if res.Sync.Added != 32 {
			t.Errorf("zip %q: %+v", prefix, res.Sync)
		}
	}
	if _, err := oneroster.Open("testdata/recommended/users.csv"); err == nil {
		t.Error("a CSV file opened as an export")
	}
}

// The enrollments not loaded are counted whichever side rules them out: a
// user who is not loaded (a proctor, a parent), or a role other than
// student and teacher on a loaded user.
func TestLoadCountsSkippedEnrollments(t *testing.T) {
	const reason = "enrollments of other roles or of users not loaded"
	before := newDistrict(t).mustLoad(t, "testdata/minimal").Skipped[reason]
	dir := copyExport(t, "testdata/minimal", map[string]func(string) string{
		"enrollments.csv": appendLines(
			"enrx1,cla1,sch1,proc1,student,,,",
			"enrx2,cla2,sch1,stu2,aide,,,",
			"enrx3,cla1,sch1,gua1,parent,,,",
		),
	})
	res := newDistrict(t).mustLoad(t, dir)
	if got := res.Skipped[reason]; got != before+3 {
		t.Errorf("skipped enrollments = %d, want %d (%d before the three added)", got, before+3, before)
	}
}
