package oneroster

import (
	"context"
	"fmt"
	"slices"

	"github.com/google/uuid"
)

// merge makes the stage the roster the tenant is to hold: a row of the
// export replaces the tenant's row of the same id, a delta deletion removes
// it. Run after seal.
func (s *stage) merge(ctx context.Context) error {
	for _, t := range []struct{ table, file, child, childKey string }{
		{FileOrgs, FileOrgs, "", ""},
		{FileUsers, FileUsers, "user_orgs", "user_id"},
		{FileCourses, FileCourses, "", ""},
		{FileClasses, FileClasses, "class_terms", "class_id"},
		{FileAcademicSessions, FileAcademicSessions, "", ""},
		{FileEnrollments, FileEnrollments, "", ""},
		{FileDemographics, FileDemographics, "", ""},
		{FileCategories, FileCategories, "", ""},
	} {
		if !s.seeded[t.table] {
			continue // the export's rows alone: nothing to merge
		}
		// An export row that replaces one of the tenant's takes its place.
		if _, err := s.db.ExecContext(ctx, fmt.Sprintf(`UPDATE %[1]s SET ord = (SELECT t.ord FROM %[1]s t WHERE t.src = 0 AND t.id = %[1]s.id)
			WHERE src = 1 AND id IN (SELECT id FROM %[1]s WHERE src = 0)`, t.table)); err != nil {
			return fmt.Errorf("oneroster: staging: %w", err)
		}
		gone := fmt.Sprintf(`(SELECT id FROM %[1]s WHERE src = 1 UNION SELECT id FROM deletes WHERE file = '%[2]s')`, t.table, t.file)
		if t.child != "" {
			if _, err := s.db.ExecContext(ctx, fmt.Sprintf(`DELETE FROM %s WHERE src = 0 AND %s IN %s`, t.child, t.childKey, gone)); err != nil {
				return fmt.Errorf("oneroster: staging: %w", err)
			}
		}
		if _, err := s.db.ExecContext(ctx, fmt.Sprintf(`DELETE FROM %s WHERE src = 0 AND id IN %s`, t.table, gone)); err != nil {
			return fmt.Errorf("oneroster: staging: %w", err)
		}
	}
	// Memberships the tenant keeps go with a user, class or org the export
	// removes, as do the demographics of a removed user.
	for table, q := range map[string]string{
		FileEnrollments:  `DELETE FROM enrollments WHERE src = 0 AND (user NOT IN (SELECT id FROM users) OR class NOT IN (SELECT id FROM classes))`,
		FileUsers:        `DELETE FROM user_orgs WHERE src = 0 AND org_id NOT IN (SELECT id FROM orgs)`,
		FileDemographics: `DELETE FROM demographics WHERE src = 0 AND id NOT IN (SELECT id FROM users)`,
	} {
		if !s.seeded[table] {
			continue
		}
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("oneroster: staging: %w", err)
		}
	}
	return nil
}

// duplicates reports every row of a file whose sourcedId an earlier row of
// the same file already has (deletions included).
func (s *stage) duplicates(ctx context.Context, errs *errorList) error {
	for _, file := range Files {
		// The common case, a file with neither the tenant's rows nor
		// deletions beside it, is answered from the id index alone.
		q := fmt.Sprintf(`SELECT sid, GROUP_CONCAT(line) FROM %[1]s WHERE id IN (SELECT id FROM %[1]s GROUP BY id HAVING COUNT(*) > 1) GROUP BY id`, file)
		if s.seeded[file] || s.deleted[file] {
			q = fmt.Sprintf(`SELECT sid, GROUP_CONCAT(line) FROM (
				SELECT id, sid, line FROM %s WHERE src = 1 UNION ALL SELECT id, sid, line FROM deletes WHERE file = '%s'
				ORDER BY line) GROUP BY id HAVING COUNT(*) > 1`, file, file)
		}
		rows, err := s.db.QueryContext(ctx, q)
		if err != nil {
			return fmt.Errorf("oneroster: checking duplicates: %w", err)
		}
		for rows.Next() {
			var sid, lines string
			if err := rows.Scan(&sid, &lines); err != nil {
				rows.Close()
				return fmt.Errorf("oneroster: checking duplicates: %w", err)
			}
			var ls []int
			for _, p := range splitComma(lines) {
				var n int
				fmt.Sscan(p, &n)
				ls = append(ls, n)
			}
			duplicateErrors(errs, file, sid, ls)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("oneroster: checking duplicates: %w", err)
		}
	}
	return nil
}

// duplicateErrors reports the rows of file on lines (two or more) that
// repeat sourcedId sid.
func duplicateErrors(errs *errorList, file, sid string, lines []int) {
	slices.Sort(lines)
	for _, l := range lines[1:] {
		errs.add(Error{File: file + ".csv", Line: l, Field: "sourcedId", Rule: RuleDuplicateID,
			Msg: fmt.Sprintf("sourcedId %q is already on line %d", sid, lines[0])})
	}
}

func splitComma(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}

// reference is a column that names a row of another file.
type refCheck struct {
	file, field string // the referring file and column
	query       string // line, src, the referring row's sourcedId, the referenced sourcedId (or id)
	target      string // the file referred to
}

var references = []refCheck{
	{FileOrgs, "parentSourcedId", `SELECT x.line, x.src, x.sid, x.parent_sid, x.parent FROM orgs x WHERE x.parent IS NOT NULL AND NOT EXISTS (SELECT 1 FROM orgs t WHERE t.id = x.parent)`, FileOrgs},
	{FileUsers, "orgSourcedIds", `SELECT x.line, x.src, x.user_sid, x.org_sid, x.org_id FROM user_orgs x WHERE NOT EXISTS (SELECT 1 FROM orgs t WHERE t.id = x.org_id)`, FileOrgs},
	{FileUsers, "agentSourcedIds", `SELECT x.line, 1, '', x.agent_sid, x.agent_id FROM user_agents x WHERE NOT EXISTS (SELECT 1 FROM users t WHERE t.id = x.agent_id)`, FileUsers},
	{FileCourses, "orgSourcedId", `SELECT x.line, x.src, x.sid, x.org_sid, x.org FROM courses x WHERE NOT EXISTS (SELECT 1 FROM orgs t WHERE t.id = x.org)`, FileOrgs},
	{FileClasses, "courseSourcedId", `SELECT x.line, x.src, x.sid, x.course_sid, x.course FROM classes x WHERE NOT EXISTS (SELECT 1 FROM courses t WHERE t.id = x.course)`, FileCourses},
	{FileClasses, "schoolSourcedId", `SELECT x.line, x.src, x.sid, x.school_sid, x.school FROM classes x WHERE NOT EXISTS (SELECT 1 FROM orgs t WHERE t.id = x.school)`, FileOrgs},
	{FileClasses, "termSourcedIds", `SELECT x.line, x.src, '', x.term_sid, x.term_id FROM class_terms x WHERE NOT EXISTS (SELECT 1 FROM academicSessions t WHERE t.id = x.term_id)`, FileAcademicSessions},
	{FileAcademicSessions, "parentSourcedId", `SELECT x.line, x.src, x.sid, x.parent_sid, x.parent FROM academicSessions x WHERE x.parent IS NOT NULL AND NOT EXISTS (SELECT 1 FROM academicSessions t WHERE t.id = x.parent)`, FileAcademicSessions},
	{FileEnrollments, "classSourcedId", `SELECT x.line, x.src, x.sid, x.class_sid, x.class FROM enrollments x WHERE NOT EXISTS (SELECT 1 FROM classes t WHERE t.id = x.class)`, FileClasses},
	{FileEnrollments, "schoolSourcedId", `SELECT x.line, x.src, x.sid, x.school_sid, x.school FROM enrollments x WHERE x.src = 1 AND NOT EXISTS (SELECT 1 FROM orgs t WHERE t.id = x.school)`, FileOrgs},
	{FileEnrollments, "userSourcedId", `SELECT x.line, x.src, x.sid, x.user_sid, x.user FROM enrollments x WHERE NOT EXISTS (SELECT 1 FROM users t WHERE t.id = x.user)`, FileUsers},
	{FileDemographics, "sourcedId", `SELECT x.line, x.src, x.sid, x.sid, x.id FROM demographics x WHERE NOT EXISTS (SELECT 1 FROM users t WHERE t.id = x.id)`, FileUsers},
}

// references reports every reference to a sourcedId the roster does not
// have: one the export names that is nowhere, or one the tenant's kept rows
// hold to an object the export removes.
func (s *stage) references(ctx context.Context, errs *errorList, modes Manifest) error {
	broken := errs.broken()
	for _, r := range references {
		if broken[r.target+".csv"] {
			continue
		}
		rows, err := s.db.QueryContext(ctx, r.query+` ORDER BY x.line LIMIT ?`, errs.cap+1)
		if err != nil {
			return fmt.Errorf("oneroster: checking references: %w", err)
		}
		for rows.Next() {
			var line, src int
			var sid, ref string
			var refID []byte
			if err := rows.Scan(&line, &src, &sid, &ref, &refID); err != nil {
				rows.Close()
				return fmt.Errorf("oneroster: checking references: %w", err)
			}
			id, _ := uuid.FromBytes(refID)
			errs.add(r.error(modes, line, src, sid, ref, id))
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("oneroster: checking references: %w", err)
		}
	}
	return nil
}

// error is the error of a reference that names nothing: of a row of the
// export (src 1) to sourcedId ref, or of a row the tenant keeps (src 0,
// sourcedId sid) to the object refID that the export removes.
func (r refCheck) error(modes Manifest, line, src int, sid, ref string, refID uuid.UUID) Error {
	e := Error{File: r.file + ".csv", Line: line, Field: r.field, Rule: RuleUnknownRef}
	if src == 1 {
		switch modes.Mode(r.target) {
		case Bulk:
			e.Msg = fmt.Sprintf("%q is not a sourcedId of %s.csv", ref, r.target)
		case Delta:
			e.Msg = fmt.Sprintf("%q is not a sourcedId of %s.csv nor of the tenant's %s", ref, r.target, r.target)
		default:
			e.Msg = fmt.Sprintf("%q is not a sourcedId of the tenant's %s (the manifest has %s.csv absent)", ref, r.target, r.target)
		}
	} else {
		e.Msg = fmt.Sprintf("the tenant's %s row %q refers to %s object %s, which this export removes from %s.csv",
			r.file, sid, r.target, refID, r.target)
	}
	return e
}

// sortErrors orders the errors by file (manifest first, then the files in
// reading order), line and column.
func sortErrors(v *ValidationError) {
	rank := func(f string) int {
		if f == "manifest.csv" {
			return -1
		}
		for i, x := range Files {
			if x+".csv" == f {
				return i
			}
		}
		return len(Files)
	}
	slices.SortStableFunc(v.Errors, func(a, b Error) int {
		if d := rank(a.File) - rank(b.File); d != 0 {
			return d
		}
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return a.Column - b.Column
	})
}
