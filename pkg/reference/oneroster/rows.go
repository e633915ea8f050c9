package oneroster

import (
	"io"
)

// The files of a OneRoster 1.1 CSV export the loader reads, by manifest
// name (file.<name>) and file name (<name>.csv).
const (
	FileOrgs             = "orgs"
	FileUsers            = "users"
	FileCourses          = "courses"
	FileClasses          = "classes"
	FileAcademicSessions = "academicSessions"
	FileEnrollments      = "enrollments"
	FileDemographics     = "demographics"
	FileCategories       = "categories"
)

// Files are the rostering files in the order they are read: a file comes
// after the files its rows may reference, except where two files reference
// each other (checked once all are read).
var Files = []string{FileOrgs, FileAcademicSessions, FileCourses, FileClasses, FileUsers, FileDemographics, FileEnrollments, FileCategories}

// Vocabularies of OneRoster 1.1.
var (
	statuses     = []string{"active", "tobedeleted", "inactive"}
	orgTypes     = []string{"district", "school", "department", "local", "state", "national"}
	userRoles    = []string{"student", "teacher", "administrator", "aide", "parent", "guardian", "relative", "proctor"}
	sessionTypes = []string{"schoolYear", "semester", "term", "gradingPeriod"}
	sexes        = []string{"Male", "Female", "Other", "Unspecified"}
)

// required columns of each file: OneRoster 1.1's required fields less the
// ones the vendor's own samples leave out (status and dateLastModified,
// users.enabledUser, classes.classType, academicSessions.schoolYear),
// none of which the mapping reads.
var required = map[string][]string{
	FileOrgs:             {"sourcedId", "name", "type"},
	FileUsers:            {"sourcedId", "orgSourcedIds", "role", "username", "givenName", "familyName"},
	FileCourses:          {"sourcedId", "title", "orgSourcedId"},
	FileClasses:          {"sourcedId", "title", "courseSourcedId", "schoolSourcedId", "termSourcedIds"},
	FileAcademicSessions: {"sourcedId", "title", "type", "startDate", "endDate"},
	FileEnrollments:      {"sourcedId", "classSourcedId", "schoolSourcedId", "userSourcedId", "role"},
	FileDemographics:     {"sourcedId"},
	FileCategories:       {"sourcedId", "title"},
}

// row is the columns every file shares.
type row struct {
	Line   int
	SID    string
	Delete bool // status tobedeleted
}

// base is the columns every file shares; every *xxxRow has it through the
// embedded row, so a row read from any file is a baseRow.
func (r *row) base() row { return *r }

type baseRow interface{ base() row }

type orgRow struct {
	row
	Name, Type, Identifier, Parent string
}

type userRow struct {
	row
	Role, Username, Given, Family, Middle, Email, Phone, Identifier string
	Orgs, Agents                                                    []string
}

type courseRow struct {
	row
	Title, Code, Org string
}

type classRow struct {
	row
	Title, Code, Course, School string
	Terms                       []string
}

type sessionRow struct {
	row
	Title, Type, Start, End, Parent, Year string
}

type enrollmentRow struct {
	row
	Class, School, User, Role, Primary, Begin, End string
}

type demographicRow struct {
	row
	Birth, Sex string
}

type categoryRow struct {
	row
	Title string
}

// readFile streams file (its manifest name) from rd, checking every row, and
// hands each good row to emit (an *orgRow, *userRow, ...). Errors go to
// errs; emit's error ends the read and is returned.
func readFile(file string, rd io.Reader, errs *errorList, emit func(any) error) (rows int, err error) {
	f := openCSV(file+".csv", rd, required[file], errs)
	if f == nil {
		return 0, nil
	}
	for f.next() {
		r := row{Line: f.line, SID: f.req("sourcedId")}
		r.Delete = f.enum("status", false, statuses...) == "tobedeleted"
		f.get("dateLastModified") // read, never mapped
		var out any
		switch file {
		case FileOrgs:
			out = &orgRow{row: r, Name: f.req("name"), Type: f.enum("type", true, orgTypes...),
				Identifier: f.get("identifier"), Parent: f.get("parentSourcedId")}
		case FileUsers:
			out = &userRow{row: r, Role: f.enum("role", true, userRoles...), Username: f.req("username"),
				Given: f.req("givenName"), Family: f.req("familyName"), Middle: f.get("middleName"),
				Email: f.get("email"), Phone: f.get("phone"), Identifier: f.get("identifier"),
				Orgs: f.list("orgSourcedIds", true), Agents: f.list("agentSourcedIds", false)}
			f.boolean("enabledUser")
		case FileCourses:
			out = &courseRow{row: r, Title: f.req("title"), Code: f.get("courseCode"), Org: f.req("orgSourcedId")}
		case FileClasses:
			out = &classRow{row: r, Title: f.req("title"), Code: f.get("classCode"), Course: f.req("courseSourcedId"),
				School: f.req("schoolSourcedId"), Terms: f.list("termSourcedIds", true)}
		case FileAcademicSessions:
			out = &sessionRow{row: r, Title: f.req("title"), Type: f.enum("type", true, sessionTypes...),
				Start: f.date("startDate", true), End: f.date("endDate", true), Parent: f.get("parentSourcedId"), Year: f.year("schoolYear")}
		case FileEnrollments:
			out = &enrollmentRow{row: r, Class: f.req("classSourcedId"), School: f.req("schoolSourcedId"), User: f.req("userSourcedId"),
				Role: f.enum("role", true, userRoles...), Primary: f.boolean("primary"),
				Begin: f.date("beginDate", false), End: f.date("endDate", false)}
		case FileDemographics:
			out = &demographicRow{row: r, Birth: f.date("birthDate", false), Sex: f.enum("sex", false, sexes...)}
		case FileCategories:
			out = &categoryRow{row: r, Title: f.req("title")}
		}
		if !f.ok {
			continue
		}
		if err := emit(out); err != nil {
			return f.rows, err
		}
	}
	return f.rows, nil
}
