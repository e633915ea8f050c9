package oneroster

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/uuid"
	_ "modernc.org/sqlite" // the staging database
)

// stage is the temporary SQLite database an export is read into before
// anything is applied. Every table has the row's line (0 for a row taken
// from what the tenant already holds) and src (1 from the export, 0 from the
// tenant); ids are the derived object ids as 16-byte blobs, references
// carry both the referenced id and, for messages, its sourcedId.
type stage struct {
	dir    string
	db     *sql.DB
	tx     *sql.Tx
	ins    map[string]*batch
	tenant uuid.UUID
	seq    int64 // the ord of the last row put
	// seeded and deleted name the tables holding rows of the tenant (src
	// 0) and the files with deletions: the steps they need are skipped
	// for the others, which on a large bulk export saves building
	// temporary indexes of millions of ids.
	seeded, deleted map[string]bool
	ids             idMaker
}

const stageSchema = `
CREATE TABLE orgs (id BLOB, sid TEXT, line INT, src INT, name TEXT, type TEXT, identifier TEXT, parent BLOB, parent_sid TEXT, ord INT);
CREATE TABLE users (id BLOB, sid TEXT, line INT, src INT, role TEXT, username TEXT, given TEXT, family TEXT, middle TEXT, email TEXT, phone TEXT, identifier TEXT, ord INT NOT NULL);
CREATE TABLE user_orgs (user_id BLOB, user_sid TEXT, org_id BLOB, org_sid TEXT, pos INT, line INT, src INT);
CREATE TABLE user_agents (user_id BLOB, agent_id BLOB, agent_sid TEXT, line INT);
CREATE TABLE courses (id BLOB, sid TEXT, line INT, src INT, title TEXT, code TEXT, org BLOB, org_sid TEXT, ord INT NOT NULL);
CREATE TABLE classes (id BLOB, sid TEXT, line INT, src INT, title TEXT, code TEXT, course BLOB, course_sid TEXT, school BLOB, school_sid TEXT, ord INT NOT NULL);
CREATE TABLE class_terms (class_id BLOB, term_id BLOB, term_sid TEXT, pos INT, line INT, src INT);
CREATE TABLE academicSessions (id BLOB, sid TEXT, line INT, src INT, title TEXT, type TEXT, start TEXT, end TEXT, parent BLOB, parent_sid TEXT, year TEXT, ord INT);
CREATE TABLE enrollments (id BLOB, sid TEXT, line INT, src INT, class BLOB, class_sid TEXT, school BLOB, school_sid TEXT, user BLOB, user_sid TEXT, role TEXT, prim TEXT, begin TEXT, end TEXT, ord INT);
CREATE TABLE demographics (id BLOB, sid TEXT, line INT, src INT, birth TEXT, sex TEXT, ord INT);
CREATE TABLE categories (id BLOB, sid TEXT, line INT, src INT, title TEXT, ord INT);
CREATE TABLE deletes (file TEXT, id BLOB, sid TEXT, line INT);
`

// stageIndexes are built once the rows are in: faster than keeping them up
// to date row by row.
const stageIndexes = `
CREATE INDEX orgs_id ON orgs (id);
CREATE INDEX orgs_parent ON orgs (parent);
CREATE INDEX users_id ON users (id);
CREATE INDEX user_orgs_user ON user_orgs (user_id, pos);
CREATE INDEX courses_id ON courses (id);
CREATE INDEX classes_id ON classes (id);
CREATE INDEX classes_course ON classes (course, ord);
CREATE INDEX class_terms_class ON class_terms (class_id, pos);
CREATE INDEX class_terms_term ON class_terms (term_id);
CREATE INDEX sessions_id ON academicSessions (id);
CREATE INDEX sessions_parent ON academicSessions (parent);
CREATE INDEX enrollments_id ON enrollments (id);
CREATE INDEX enrollments_user ON enrollments (user, ord);
CREATE INDEX enrollments_class ON enrollments (class, ord);
CREATE INDEX demographics_id ON demographics (id);
CREATE INDEX categories_id ON categories (id);
CREATE INDEX deletes_id ON deletes (file, id);
`

var stageInserts = map[string]string{
	FileOrgs:             `INSERT INTO orgs VALUES (?,?,?,?,?,?,?,?,?,?)`,
	FileUsers:            `INSERT INTO users VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)`,
	"user_orgs":          `INSERT INTO user_orgs VALUES (?,?,?,?,?,?,?)`,
	"user_agents":        `INSERT INTO user_agents VALUES (?,?,?,?)`,
	FileCourses:          `INSERT INTO courses VALUES (?,?,?,?,?,?,?,?,?)`,
	FileClasses:          `INSERT INTO classes VALUES (?,?,?,?,?,?,?,?,?,?,?)`,
	"class_terms":        `INSERT INTO class_terms VALUES (?,?,?,?,?,?)`,
	FileAcademicSessions: `INSERT INTO academicSessions VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`,
	FileEnrollments:      `INSERT INTO enrollments VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
	FileDemographics:     `INSERT INTO demographics VALUES (?,?,?,?,?,?,?)`,
	FileCategories:       `INSERT INTO categories VALUES (?,?,?,?,?,?)`,
	"deletes":            `INSERT INTO deletes VALUES (?,?,?,?)`,
}

// newStage creates the staging database in a new directory under tmp ("" =
// the system's).
func newStage(ctx context.Context, tmp string, tenant uuid.UUID) (*stage, error) {
	dir, err := os.MkdirTemp(tmp, "interop-load-")
	if err != nil {
		return nil, fmt.Errorf("oneroster: staging: %w", err)
	}
	s := &stage{dir: dir, tenant: tenant, ids: idMaker{tenant: tenant}, ins: map[string]*batch{}, seeded: map[string]bool{}, deleted: map[string]bool{}}
	// No journal and no syncing: the file lives only as long as the load.
	// The page cache (8 MiB a connection, up to four connections once the
	// builder runs) bounds the memory the stage uses, whatever the
	// district's size. SQLite's allocator here rounds each page up to twice
	// its size, so a cache costs twice what it says; with 64 KiB pages and
	// 32 MiB caches a 1M-user load's resident memory also grew with the
	// rows read, to 660 MiB by the end of the read pass, where 4 KiB pages
	// stay at about 100 MiB. At 50k users the smaller pages and cache cost
	// no CPU that the runs could tell, and save 70 MiB of peak RSS
	// (docs/PERFORMANCE.md).
	dsn := filepath.Join(dir, "stage.db") + "?_pragma=page_size(4096)&_pragma=journal_mode(OFF)&_pragma=synchronous(OFF)&_pragma=cache_size(-8192)&_pragma=temp_store(FILE)"
	s.db, err = sql.Open("sqlite", dsn)
	if err != nil {
		s.close()
		return nil, fmt.Errorf("oneroster: staging: %w", err)
	}
	s.db.SetMaxOpenConns(1)
	if _, err := s.db.ExecContext(ctx, stageSchema); err != nil {
		s.close()
		return nil, fmt.Errorf("oneroster: staging: %w", err)
	}
	if s.tx, err = s.db.BeginTx(ctx, nil); err != nil {
		s.close()
		return nil, fmt.Errorf("oneroster: staging: %w", err)
	}
	for k, q := range stageInserts {
		if s.ins[k], err = newBatch(ctx, s.tx, q); err != nil {
			s.close()
			return nil, fmt.Errorf("oneroster: staging: %w", err)
		}
	}
	return s, nil
}

// close removes the staging database.
func (s *stage) close() {
	if s.tx != nil {
		_ = s.tx.Rollback()
	}
	if s.db != nil {
		s.db.Close()
	}
	os.RemoveAll(s.dir)
}

// seal commits the rows, builds the indexes and opens the database to
// concurrent readers (the joins of the apply pass nest queries).
func (s *stage) seal(ctx context.Context) error {
	for table, b := range s.ins {
		if err := b.flush(ctx); err != nil {
			return fmt.Errorf("oneroster: staging %s: %w", table, err)
		}
		b.close()
	}
	if err := s.tx.Commit(); err != nil {
		return fmt.Errorf("oneroster: staging: %w", err)
	}
	s.tx = nil
	// The statistics need only tell the indexes apart: a sample of each
	// (analysis_limit) instead of a pass over every row of every index.
	if _, err := s.db.ExecContext(ctx, stageIndexes+"PRAGMA analysis_limit = 1000; ANALYZE;"); err != nil {
		return fmt.Errorf("oneroster: staging: %w", err)
	}
	// The builder holds three queries open at once (see children), each on
	// a connection of its own: keep them all idle between steps, as
	// database/sql would close all but two, and a closed connection's page
	// cache is freed page by page (a tenth of the loader's CPU when it was).
	s.db.SetMaxOpenConns(4)
	s.db.SetMaxIdleConns(4)
	return nil
}

// orderIndexes are the builder's: it reads users, classes and courses in
// ord order, each with its lists (see children). ord is unique in each table
// once merge has run and the duplicates check passed, and saying so lets
// SQLite take a list's order from the join index (user, ord) alone instead
// of sorting each object's items.
const orderIndexes = `
CREATE UNIQUE INDEX users_ord ON users (ord);
CREATE UNIQUE INDEX classes_ord ON classes (ord);
CREATE UNIQUE INDEX courses_ord ON courses (ord);
ANALYZE users_ord; ANALYZE classes_ord; ANALYZE courses_ord;
`

// order builds orderIndexes: after the checks, before the builder runs.
func (s *stage) order(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, orderIndexes); err != nil {
		return fmt.Errorf("oneroster: staging: %w", err)
	}
	return nil
}

// id is the id of file's row sid, as staged: nil for none.
func (s *stage) id(file, sid string) []byte {
	id := s.ids.id(file, sid)
	if id == uuid.Nil {
		return nil
	}
	return id[:]
}

func (s *stage) exec(ctx context.Context, table string, args ...any) error {
	if err := s.ins[table].add(ctx, args); err != nil {
		return fmt.Errorf("oneroster: staging %s: %w", table, err)
	}
	return nil
}

// stageBatch is how many rows one INSERT stages: the cost of a statement
// (database/sql's and the driver's, per call) is shared by that many rows.
const stageBatch = 64

// batch is the INSERT of one table, taking stageBatch rows at a time; the
// rows wait in args until there are that many (or seal flushes them).
type batch struct {
	one, many *sql.Stmt
	cols      int
	args      []any
}

func newBatch(ctx context.Context, tx *sql.Tx, insert string) (*batch, error) {
	values := insert[strings.Index(insert, "("):]
	b := &batch{cols: strings.Count(values, "?")}
	many := insert + strings.Repeat(","+values, stageBatch-1)
	var err error
	if b.one, err = tx.PrepareContext(ctx, insert); err != nil {
		return nil, err
	}
	if b.many, err = tx.PrepareContext(ctx, many); err != nil {
		b.one.Close()
		return nil, err
	}
	b.args = make([]any, 0, b.cols*stageBatch)
	return b, nil
}

func (b *batch) add(ctx context.Context, row []any) error {
	if len(row) != b.cols {
		return fmt.Errorf("%d values for %d columns", len(row), b.cols)
	}
	b.args = append(b.args, row...)
	if len(b.args) < b.cols*stageBatch {
		return nil
	}
	_, err := b.many.ExecContext(ctx, b.args...)
	clear(b.args)
	b.args = b.args[:0]
	return err
}

// flush inserts the rows still waiting, one by one.
func (b *batch) flush(ctx context.Context) error {
	for len(b.args) > 0 {
		if _, err := b.one.ExecContext(ctx, b.args[:b.cols]...); err != nil {
			return err
		}
		b.args = b.args[b.cols:]
	}
	return nil
}

func (b *batch) close() {
	b.one.Close()
	b.many.Close()
}

// add stages one row read from file (src 1). A row to be deleted is staged
// in deletes only: in a bulk file it is simply not there, in a delta file it
// deletes the object.
func (s *stage) add(ctx context.Context, file string, v any) error {
	var r row
	if x, ok := v.(baseRow); ok {
		r = x.base()
	}
	idFile := file
	if file == FileDemographics {
		idFile = FileUsers
	}
	if r.Delete {
		s.deleted[file] = true
		return s.exec(ctx, "deletes", file, s.id(idFile, r.SID), r.SID, r.Line)
	}
	return s.put(ctx, v, 1)
}

// put stages a row of the export (src 1) or one rebuilt from the tenant's
// objects (src 0). Rows are built into objects in ord order: the tenant's
// rows in the order it holds them, then the export's in file order (merge
// gives a row that replaces one of the tenant's that row's place), so that
// a load which changes nothing orders every list and rollup as before.
func (s *stage) put(ctx context.Context, v any, src int) error {
	s.seq++
	ord := s.seq
	if src == 1 {
		ord += 1 << 40
	}
	if src == 0 {
		s.seeded[tableOf(v)] = true
	}
	switch x := v.(type) {
	case *orgRow:
		return s.exec(ctx, FileOrgs, s.id(FileOrgs, x.SID), x.SID, x.Line, src, x.Name, x.Type, x.Identifier, s.id(FileOrgs, x.Parent), x.Parent, ord)
	case *userRow:
		userID := s.id(FileUsers, x.SID) // derived once for the row and its lists
		if err := s.exec(ctx, FileUsers, userID, x.SID, x.Line, src, x.Role, x.Username, x.Given, x.Family, x.Middle, x.Email, x.Phone, x.Identifier, ord); err != nil {
			return err
		}
		for i, o := range x.Orgs {
			if err := s.exec(ctx, "user_orgs", userID, x.SID, s.id(FileOrgs, o), o, i, x.Line, src); err != nil {
				return err
			}
		}
		for _, a := range x.Agents {
			if err := s.exec(ctx, "user_agents", userID, s.id(FileUsers, a), a, x.Line); err != nil {
				return err
			}
		}
		return nil
	case *courseRow:
		return s.exec(ctx, FileCourses, s.id(FileCourses, x.SID), x.SID, x.Line, src, x.Title, x.Code, s.id(FileOrgs, x.Org), x.Org, ord)
	case *classRow:
		cid := s.id(FileClasses, x.SID)
		if err := s.exec(ctx, FileClasses, cid, x.SID, x.Line, src, x.Title, x.Code,
			s.id(FileCourses, x.Course), x.Course, s.id(FileOrgs, x.School), x.School, ord); err != nil {
			return err
		}
		for i, t := range x.Terms {
			if err := s.exec(ctx, "class_terms", cid, s.id(FileAcademicSessions, t), t, i, x.Line, src); err != nil {
				return err
			}
		}
		return nil
	case *sessionRow:
		return s.exec(ctx, FileAcademicSessions, s.id(FileAcademicSessions, x.SID), x.SID, x.Line, src, x.Title, x.Type, x.Start, x.End,
			s.id(FileAcademicSessions, x.Parent), x.Parent, x.Year, ord)
	case *enrollmentRow:
		return s.exec(ctx, FileEnrollments, s.id(FileEnrollments, x.SID), x.SID, x.Line, src, s.id(FileClasses, x.Class), x.Class,
			s.id(FileOrgs, x.School), x.School, s.id(FileUsers, x.User), x.User, x.Role, x.Primary, x.Begin, x.End, ord)
	case *demographicRow:
		return s.exec(ctx, FileDemographics, s.id(FileUsers, x.SID), x.SID, x.Line, src, x.Birth, x.Sex, ord)
	case *categoryRow:
		return s.exec(ctx, FileCategories, s.id(FileCategories, x.SID), x.SID, x.Line, src, x.Title, ord)
	}
	return fmt.Errorf("oneroster: staging: unexpected row %T", v)
}

// tableOf is the table a row goes to.
func tableOf(v any) string {
	switch v.(type) {
	case *orgRow:
		return FileOrgs
	case *userRow:
		return FileUsers
	case *courseRow:
		return FileCourses
	case *classRow:
		return FileClasses
	case *sessionRow:
		return FileAcademicSessions
	case *enrollmentRow:
		return FileEnrollments
	case *demographicRow:
		return FileDemographics
	case *categoryRow:
		return FileCategories
	}
	return ""
}
