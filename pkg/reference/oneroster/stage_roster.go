package oneroster

import (
	"context"
	"database/sql"

	"github.com/google/uuid"
)

// The staging database's roster: one ordered query per kind, with one
// ordered query beside it per list (see children).

// eachRow runs q and calls fn after scanning each row into dest.
func eachRow(ctx context.Context, db *sql.DB, q string, args []any, dest []any, fn func() error) error {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		if err := fn(); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (s *stage) orgs(ctx context.Context, fn func(uuid.UUID, *orgInfo) error) error {
	var id, parent []byte
	var o orgInfo
	return eachRow(ctx, s.db, `SELECT id, sid, name, type, identifier, parent, line, src FROM orgs ORDER BY ord`, nil,
		[]any{&id, &o.sid, &o.name, &o.typ, &o.identifier, &parent, &o.line, &o.src}, func() error {
			kept := o // the builder keeps each
			kept.parent = uid(parent)
			return fn(uid(id), &kept)
		})
}

func (s *stage) sessions(ctx context.Context, fn func(uuid.UUID, *sessionInfo) error) error {
	var id, parent []byte
	var t sessionInfo
	return eachRow(ctx, s.db, `SELECT id, sid, title, type, start, end, parent, year FROM academicSessions ORDER BY ord`, nil,
		[]any{&id, &t.sid, &t.title, &t.typ, &t.start, &t.end, &parent, &t.year}, func() error {
			kept := t
			kept.parent = uid(parent)
			return fn(uid(id), &kept)
		})
}

func (s *stage) courseTitles(ctx context.Context, fn func(uuid.UUID, string) error) error {
	var id []byte
	var title string
	return eachRow(ctx, s.db, `SELECT id, title FROM courses`, nil, []any{&id, &title}, func() error { return fn(uid(id), title) })
}

func (s *stage) termSchools(ctx context.Context, term uuid.UUID) ([]uuid.UUID, error) {
	var out []uuid.UUID
	var id []byte
	err := eachRow(ctx, s.db, `SELECT DISTINCT c.school FROM class_terms ct JOIN classes c ON c.id = ct.class_id WHERE ct.term_id = ? ORDER BY c.ord`,
		[]any{term[:]}, []any{&id}, func() error {
			out = append(out, uid(id))
			return nil
		})
	return out, err
}

func (s *stage) courses(ctx context.Context, fn func(*courseRec) error) error {
	var sb []byte
	var stitle string
	secs, err := openChildren(ctx, s.db, `SELECT co.ord, c.id, c.title FROM courses co JOIN classes c ON c.course = co.id ORDER BY co.ord, c.ord`, &sb, &stitle)
	defer secs.close()
	if err != nil {
		return err
	}
	var c courseRec
	var idb, orgb []byte
	var ord int64
	return eachRow(ctx, s.db, `SELECT id, sid, title, code, org, ord FROM courses ORDER BY ord`, nil,
		[]any{&idb, &c.sid, &c.title, &c.code, &orgb, &ord}, func() error {
			c.id, c.org = uid(idb), uid(orgb)
			c.sections = c.sections[:0]
			if err := secs.each(ord, func() error {
				c.sections = append(c.sections, classRef{uid(sb), stitle})
				return nil
			}); err != nil {
				return err
			}
			return fn(&c)
		})
}

func (s *stage) classes(ctx context.Context, fn func(*classRec) error) error {
	var tb []byte
	terms, err := openChildren(ctx, s.db, `SELECT c.ord, ct.term_id FROM classes c JOIN class_terms ct ON ct.class_id = c.id ORDER BY c.ord, ct.pos`, &tb)
	defer terms.close()
	if err != nil {
		return err
	}
	var eb, ub []byte
	var m memberRec
	members, err := openChildren(ctx, s.db, `SELECT c.ord, e.id, e.role, u.id, u.role, u.given, u.family
		FROM classes c JOIN enrollments e ON e.class = c.id JOIN users u ON u.id = e.user ORDER BY c.ord, e.ord`,
		&eb, &m.role, &ub, &m.userRole, &m.given, &m.last)
	defer members.close()
	if err != nil {
		return err
	}
	var c classRec
	var idb, courseb, schoolb []byte
	var ord int64
	return eachRow(ctx, s.db, `SELECT id, sid, title, code, course, school, ord FROM classes ORDER BY ord`, nil,
		[]any{&idb, &c.sid, &c.title, &c.code, &courseb, &schoolb, &ord}, func() error {
			c.id, c.course, c.school = uid(idb), uid(courseb), uid(schoolb)
			c.terms, c.members = c.terms[:0], c.members[:0]
			if err := terms.each(ord, func() error {
				c.terms = append(c.terms, uid(tb))
				return nil
			}); err != nil {
				return err
			}
			if err := members.each(ord, func() error {
				m.enrollment, m.user = uid(eb), uid(ub)
				c.members = append(c.members, m)
				return nil
			}); err != nil {
				return err
			}
			return fn(&c)
		})
}

func (s *stage) users(ctx context.Context, fn func(*userRec) error) error {
	var ob []byte
	orgsOf, err := openChildren(ctx, s.db, `SELECT u.ord, uo.org_id FROM users u JOIN user_orgs uo ON uo.user_id = u.id ORDER BY u.ord, uo.pos`, &ob)
	defer orgsOf.close()
	if err != nil {
		return err
	}
	var eb, cb []byte
	var e enrollmentRec
	enrolled, err := openChildren(ctx, s.db, `SELECT u.ord, e.id, e.sid, e.role, e.prim, e.begin, e.end, c.id, c.title
		FROM users u JOIN enrollments e ON e.user = u.id JOIN classes c ON c.id = e.class ORDER BY u.ord, e.ord`,
		&eb, &e.sid, &e.role, &e.primary, &e.begin, &e.end, &cb, &e.title)
	defer enrolled.close()
	if err != nil {
		return err
	}
	var u userRec
	var idb []byte
	var birth, sex sql.NullString
	var ord int64
	return eachRow(ctx, s.db, `SELECT u.id, u.sid, u.role, u.given, u.family, u.middle, u.email, u.phone, u.identifier, d.birth, d.sex, u.ord
		FROM users u LEFT JOIN demographics d ON d.id = u.id ORDER BY u.ord`, nil,
		[]any{&idb, &u.sid, &u.role, &u.given, &u.family, &u.middle, &u.email, &u.phone, &u.identifier, &birth, &sex, &ord}, func() error {
			u.id, u.birth, u.sex = uid(idb), birth.String, sex.String
			u.orgs, u.enrollments = u.orgs[:0], u.enrollments[:0]
			if err := orgsOf.each(ord, func() error {
				u.orgs = append(u.orgs, uid(ob))
				return nil
			}); err != nil {
				return err
			}
			if err := enrolled.each(ord, func() error {
				e.id, e.class = uid(eb), uid(cb)
				u.enrollments = append(u.enrollments, e)
				return nil
			}); err != nil {
				return err
			}
			return fn(&u)
		})
}

func (s *stage) categories(ctx context.Context, fn func(uuid.UUID, string, string) error) error {
	var id []byte
	var sid, title string
	return eachRow(ctx, s.db, `SELECT id, sid, title FROM categories ORDER BY ord`, nil, []any{&id, &sid, &title},
		func() error { return fn(uid(id), sid, title) })
}

func (s *stage) deletions(ctx context.Context, file string) ([]uuid.UUID, error) {
	var ids []uuid.UUID
	var id []byte
	err := eachRow(ctx, s.db, `SELECT id FROM deletes WHERE file = ? ORDER BY line`, []any{file}, []any{&id}, func() error {
		ids = append(ids, uid(id))
		return nil
	})
	return ids, err
}
