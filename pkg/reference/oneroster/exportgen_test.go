package oneroster

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// writeExport writes a synthetic, valid OneRoster 1.1 export of about
// users users into dir, all files bulk: one district, a school per 2,000
// users, 5% teachers each teaching 4 classes, students enrolled in 5
// classes of their school, a demographics row per student, 3 categories.
// It returns the number of rows written over all files.
func writeExport(t testing.TB, dir string, users int) int {
	t.Helper()
	return writeExportChanged(t, dir, users, 0)
}

// writeExportChanged is writeExport with every changeEvery-th student's
// given name changed (none when 0): the same export a day later.
func writeExportChanged(t testing.TB, dir string, users, changeEvery int) int {
	t.Helper()
	rows := 0
	file := func(name, header string, body func(w *bufio.Writer)) {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		w := bufio.NewWriterSize(f, 1<<16)
		w.WriteString(header + "\n")
		body(w)
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	line := func(w *bufio.Writer, format string, args ...any) {
		fmt.Fprintf(w, format+"\n", args...)
		rows++
	}
	schools := max(1, users/2000)
	perSchool := users / schools
	teachers := max(1, perSchool/20)
	students := perSchool - teachers
	classes := teachers * 4
	const courses = 10

	file("manifest.csv", "propertyName,value", func(w *bufio.Writer) {
		w.WriteString("manifest.version,1.0\noneroster.version,1.1\n")
		for _, f := range Files {
			fmt.Fprintf(w, "file.%s,bulk\n", f)
		}
	})
	file("orgs.csv", "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId", func(w *bufio.Writer) {
		line(w, "d1,active,,Synthetic Unified,district,D1,")
		for s := range schools {
			line(w, "s%d,active,,School %d,school,S%d,d1", s, s, s)
		}
	})
	file("academicSessions.csv", "sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear", func(w *bufio.Writer) {
		line(w, "y,active,,2025-2026,schoolYear,2025-08-15,2026-06-10,,2026")
		line(w, "fall,active,,Fall 2025,semester,2025-08-15,2025-12-19,y,2026")
		line(w, "spring,active,,Spring 2026,semester,2026-01-06,2026-06-10,y,2026")
	})
	file("courses.csv", "sourcedId,status,dateLastModified,schoolYearSourcedId,title,courseCode,grades,orgSourcedId,subjects,subjectCodes", func(w *bufio.Writer) {
		for s := range schools {
			for c := range courses {
				line(w, "c%d-%d,active,,y,Course %d of school %d,C%d,,s%d,,", s, c, c, s, c, s)
			}
		}
	})
	file("classes.csv", "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods", func(w *bufio.Writer) {
		for s := range schools {
			for k := range classes {
				term := "fall"
				if k%2 == 1 {
					term = "spring"
				}
				line(w, "k%d-%d,active,,Class %d - Period %d,,c%d-%d,K%d,scheduled,,s%d,\"y,%s\",,,", s, k, k, k%8+1, s, k%courses, k, s, term)
			}
		}
	})
	file("users.csv", "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password", func(w *bufio.Writer) {
		for s := range schools {
			for i := range teachers {
				line(w, "t%d-%d,active,,true,s%d,teacher,t%d-%d,,Teacher%d,Núñez%d,,T%d-%d,t%d.%d@example.org,,,,,", s, i, s, s, i, i, s, s, i, s, i)
			}
			for i := range students {
				given := fmt.Sprint("Zoë", i)
				if changeEvery > 0 && i%changeEvery == 0 {
					given += "-renamed"
				}
				line(w, "u%d-%d,active,,true,s%d,student,u%d-%d,,%s,García%d,M,S%d-%d,u%d.%d@example.org,,,,09,", s, i, s, s, i, given, s, s, i, s, i)
			}
		}
	})
	file("demographics.csv", "sourcedId,status,dateLastModified,birthDate,sex", func(w *bufio.Writer) {
		for s := range schools {
			for i := range students {
				line(w, "u%d-%d,active,,2012-%02d-%02d,%s", s, i, i%12+1, i%28+1, []string{"male", "female"}[i%2])
			}
		}
	})
	file("enrollments.csv", "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate", func(w *bufio.Writer) {
		for s := range schools {
			for k := range classes {
				line(w, "et%d-%d,active,,k%d-%d,s%d,t%d-%d,teacher,true,2025-08-15,2026-06-10", s, k, s, k, s, s, k%teachers)
			}
			for i := range students {
				for j := range 5 {
					line(w, "e%d-%d-%d,active,,k%d-%d,s%d,u%d-%d,student,false,2025-08-15,2026-06-10", s, i, j, s, (i*7+j*13)%classes, s, s, i)
				}
			}
		}
	})
	file("categories.csv", "sourcedId,status,dateLastModified,title", func(w *bufio.Writer) {
		for i, n := range []string{"Homework", "Quizzes", "Exams"} {
			line(w, "g%d,active,,%s", i, n)
		}
	})
	return rows
}
