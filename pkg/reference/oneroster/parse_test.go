package oneroster

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/uuid"
)

// readAll reads one file and returns the rows it emitted and its errors.
func readAll(t testing.TB, file, data string) ([]any, []Error) {
	t.Helper()
	errs := newErrorList(DefaultErrorCap)
	var rows []any
	if _, err := readFile(file, strings.NewReader(data), errs, func(v any) error { rows = append(rows, v); return nil }); err != nil {
		t.Fatal(err)
	}
	return rows, errs.v.Errors
}

func TestReadFileErrors(t *testing.T) {
	for _, tc := range []struct {
		name, file, data string
		want             []string // Error() of each error, in order
		rows             int
	}{
		{"missing column", FileUsers, "sourcedId,role,username,givenName,familyName\nu1,student,u,A,B\n",
			[]string{`users.csv:1: orgSourcedIds: required column "orgSourcedIds" is not in the header [missing-column]`}, 0},
		{"column twice", FileCategories, "sourcedId,title,title\nc1,a,b\n",
			[]string{`categories.csv:1:17: title: column named twice in the header [duplicate-column]`}, 0},
		{"empty file", FileOrgs, "", []string{`orgs.csv:1: the file is empty: no header row [missing-column]`}, 0},
		{"bare quote", FileCategories, "sourcedId,title\nc1,Home\"work\nc2,ok\n",
			[]string{`categories.csv:2:8: bare " in non-quoted-field [csv]`}, 1},
		{"unterminated quote", FileCategories, "sourcedId,title\nc1,\"Homework\nc2,ok\n",
			[]string{`categories.csv:3:7: extraneous or missing " in quoted-field [csv]`}, 0},
		{"not utf-8", FileCategories, "sourcedId,title\nc1,Caf\xe9\nc2,ok\n",
			[]string{`categories.csv:2:7: invalid UTF-8 byte sequence [utf-8]`}, 1},
		{"required value", FileCategories, "sourcedId,title\n,Homework\nc2,\n",
			[]string{`categories.csv:2:1: sourcedId: a value is required [required]`, `categories.csv:3:4: title: a value is required [required]`}, 0},
		{"bad date", FileAcademicSessions, "sourcedId,title,type,startDate,endDate\nt1,T,term,2021-02-30,2021/06/01\n",
			[]string{`academicSessions.csv:2:11: startDate: "2021-02-30" is not a day: February 2021 has 28 days [date]`,
				`academicSessions.csv:2:22: endDate: "2021/06/01" is not a date (YYYY-MM-DD) [date]`}, 0},
		{"no such month", FileAcademicSessions, "sourcedId,title,type,startDate,endDate\nt1,T,term,2021-13-01,2024-02-29\n",
			[]string{`academicSessions.csv:2:11: startDate: "2021-13-01" is not a day: there is no month 13 [date]`}, 0},
		{"vocabulary", FileOrgs, "sourcedId,name,type\no1,X,county\n",
			[]string{`orgs.csv:2:6: type: "county" is not one of district, school, department, local, state, national [vocabulary]`}, 0},
		{"year", FileAcademicSessions, "sourcedId,title,type,startDate,endDate,schoolYear\nt1,T,term,2021-01-01,2021-06-01,21\n",
			[]string{`academicSessions.csv:2:33: schoolYear: "21" is not a four-digit year [year]`}, 0},
		{"too many values", FileCategories, "sourcedId,title\nc1,a,extra\n",
			[]string{`categories.csv:2:6: the row has 3 values, the header 2 columns [field-count]`}, 0},
		// The vendor's minimal sample: short rows, empty extra values, an
		// unnamed last column, no final newline.
		{"lenient rows", FileDemographics, "sourcedId,birthDate,sex,\nu1,2010-01-01\nu2,2010-01-01,male,,\nu3", nil, 3},
		{"byte order mark", FileCategories, "\ufeffsourcedId,title\nc1,a\n", nil, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows, errs := readAll(t, tc.file, tc.data)
			var got []string
			for _, e := range errs {
				got = append(got, e.Error())
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("errors:\n got %q\nwant %q", got, tc.want)
			}
			if len(rows) != tc.rows {
				t.Errorf("got %d rows, want %d", len(rows), tc.rows)
			}
		})
	}
}

func TestReadFileRows(t *testing.T) {
	rows, errs := readAll(t, FileUsers, "sourcedId,status,orgSourcedIds,role,username,givenName,familyName,agentSourcedIds\n"+
		"u1,active,\"s1, s2\",Student,u1@x,Zoë,Núñez,\nu2,tobedeleted,s1,teacher,u2,A,B,\"p1,p2\"\n")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	u1, u2 := rows[0].(*userRow), rows[1].(*userRow)
	if u1.SID != "u1" || u1.Line != 2 || u1.Role != "student" || strings.Join(u1.Orgs, "|") != "s1|s2" || u1.Given != "Zoë" || u1.Delete {
		t.Errorf("u1 = %+v", u1)
	}
	if !u2.Delete || u2.Line != 3 || strings.Join(u2.Agents, "|") != "p1|p2" {
		t.Errorf("u2 = %+v", u2)
	}
}

func TestErrorCap(t *testing.T) {
	var b strings.Builder
	b.WriteString("sourcedId,title\n")
	for range 60 {
		b.WriteString(",x\n")
	}
	errs := newErrorList(10)
	if _, err := readFile(FileCategories, strings.NewReader(b.String()), errs, func(any) error { return nil }); err != nil {
		t.Fatal(err)
	}
	v, ok := AsValidation(errs.err())
	if !ok || len(v.Errors) != 10 || v.Omitted["categories.csv"] != 50 {
		t.Fatalf("got %d errors, %v omitted", len(v.Errors), v.Omitted)
	}
	if !strings.Contains(v.Error(), "60 error(s)") || !strings.Contains(v.Error(), "categories.csv: 50 more error(s) not listed") {
		t.Error(v.Error())
	}
}

func TestReadManifest(t *testing.T) {
	m, err := ReadManifest(strings.NewReader("propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\nfile.orgs,bulk\nfile.users,DELTA\nfile.results,bulk\nfile.courses,absent\nsource.systemName,SIS\n"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Mode(FileOrgs) != Bulk || m.Mode(FileUsers) != Delta || m.Mode(FileCourses) != Absent || m.Mode(FileClasses) != Absent {
		t.Errorf("modes %s", m)
	}
	if strings.Join(m.Ignored, ",") != "results" {
		t.Errorf("ignored %v", m.Ignored)
	}
	for data, want := range map[string]string{
		"propertyName,value\noneroster.version,1.0\n":                                  `manifest.csv:2:19: value: oneroster.version is "1.0"; this loader reads OneRoster 1.1 [manifest]`,
		"propertyName,value\noneroster.version,1.1\nfile.orgs,full\n":                  `manifest.csv:3:11: value: file.orgs is "full", not bulk, delta or absent [manifest]`,
		"propertyName,value\nfile.orgs,bulk\n":                                         `manifest.csv: oneroster.version is missing [manifest]`,
		"propertyName,value\noneroster.version,1.1\nfile.orgs,bulk\nfile.orgs,delta\n": `manifest.csv:4:1: propertyName: property "file.orgs" is given twice [manifest]`,
		"name,value\n": `manifest.csv:1: propertyName: required column "propertyName" is not in the header [missing-column]`,
	} {
		_, err := ReadManifest(strings.NewReader(data))
		v, ok := AsValidation(err)
		if !ok || len(v.Errors) != 1 || v.Errors[0].Error() != want {
			t.Errorf("%q: got %v, want %s", data, err, want)
		}
	}
}

// FuzzParse feeds any bytes to the reader of one file of the export (or of
// the manifest): it must never panic, and every row and error it reports
// must be well-formed.
func FuzzParse(f *testing.F) {
	for i, file := range Files {
		for _, dir := range []string{"testdata/minimal", "testdata/recommended"} {
			if b, err := os.ReadFile(dir + "/" + file + ".csv"); err == nil {
				f.Add(b, uint8(i))
			}
		}
	}
	if b, err := os.ReadFile("testdata/recommended/manifest.csv"); err == nil {
		f.Add(b, uint8(len(Files)))
	}
	f.Add([]byte("sourcedId,title\n\"c1\",\"a \"\"b\"\"\"\r\nc2,\xff\n"), uint8(7))
	f.Fuzz(func(t *testing.T, data []byte, which uint8) {
		errs := newErrorList(5)
		if int(which) >= len(Files) {
			m := readManifest(bytes.NewReader(data), errs)
			for f, md := range m.Modes {
				if md != Bulk && md != Delta && md != Absent {
					t.Fatalf("file %s has mode %q", f, md)
				}
			}
		} else {
			file := Files[which]
			lines := bytes.Count(data, []byte("\n")) + 1
			n := 0
			_, err := readFile(file, bytes.NewReader(data), errs, func(v any) error {
				n++
				x, ok := v.(baseRow)
				if !ok {
					t.Fatalf("unexpected row %T", v)
				}
				r := x.base()
				if r.SID == "" || !utf8.ValidString(r.SID) || r.Line < 2 || r.Line > lines {
					t.Fatalf("bad row %+v (%d lines)", r, lines)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if n > lines {
				t.Fatalf("%d rows from %d lines", n, lines)
			}
		}
		for _, e := range errs.v.Errors {
			if e.Rule == "" || e.Msg == "" || e.File == "" || e.Line < 0 || e.Column < 0 || e.Error() == "" {
				t.Fatalf("malformed error %+v", e)
			}
		}
	})
}

// The ids are derived without uuid.NewSHA1's allocations; they must be
// the ids it derives, from the names as they were written.
func TestIDsAsNewSHA1(t *testing.T) {
	oldName := func(tenant uuid.UUID, parts ...string) []byte {
		b := []byte(tenant.String())
		for _, p := range parts {
			b = append(b, '/')
			b = strconv.AppendInt(b, int64(len(p)), 10)
			b = append(b, ':')
			b = append(b, p...)
		}
		return b
	}
	for _, sid := range []string{"", "u1", "a/b", "é東京", strings.Repeat("x", 300)} {
		tenant, user, org := uuid.New(), uuid.New(), uuid.New()
		if got, want := ID(tenant, FileUsers, sid), uuid.NewSHA1(Namespace, oldName(tenant, FileUsers, sid)); got != want {
			t.Errorf("ID(%q) = %s, want %s", sid, got, want)
		}
		if got, want := orgMembershipID(tenant, user, org), uuid.NewSHA1(Namespace, oldName(tenant, "orgMembership", user.String(), org.String())); got != want {
			t.Errorf("orgMembershipID = %s, want %s", got, want)
		}
	}
}
