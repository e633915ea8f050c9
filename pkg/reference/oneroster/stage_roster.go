package oneroster

import (
	"context"
	"database/sql"

	"github.com/google/uuid"
)

// The staging database's roster: one ordered query per kind, with one
// ordered query beside it per list (see children).

func (s *stage) orgs(ctx context.Context, fn func(uuid.UUID, *orgInfo) error) error {
	rows, err := s.db.QueryContext(ctx, `SELECT id, sid, name, type, identifier, parent, line, src FROM orgs ORDER BY ord`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, parent []byte
		o := &orgInfo{}
		if err := rows.Scan(&id, &o.sid, &o.name, &o.typ, &o.identifier, &parent, &o.line, &o.src); err != nil {
			return err
		}
		o.parent = uid(parent)
		if err := fn(uid(id), o); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (s *stage) sessions(ctx context.Context, fn func(uuid.UUID, *sessionInfo) error) error {
	rows, err := s.db.QueryContext(ctx, `SELECT id, sid, title, type, start, end, parent, year FROM academicSessions ORDER BY ord`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, parent []byte
		t := &sessionInfo{}
		if err := rows.Scan(&id, &t.sid, &t.title, &t.typ, &t.start, &t.end, &parent, &t.year); err != nil {
			return err
		}
		t.parent = uid(parent)
		if err := fn(uid(id), t); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (s *stage) courseTitles(ctx context.Context, fn func(uuid.UUID, string) error) error {
	rows, err := s.db.QueryContext(ctx, `SELECT id, title FROM courses`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id []byte
		var title string
		if err := rows.Scan(&id, &title); err != nil {
			return err
		}
		if err := fn(uid(id), title); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (s *stage) termSchools(ctx context.Context, term uuid.UUID) ([]uuid.UUID, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT c.school FROM class_terms ct JOIN classes c ON c.id = ct.class_id WHERE ct.term_id = ? ORDER BY c.ord`, term[:])
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []uuid.UUID
	for rows.Next() {
		var id []byte
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, uid(id))
	}
	return out, rows.Err()
}

func (s *stage) courses(ctx context.Context, fn func(*courseRec) error) error {
	var sb []byte
	var stitle string
	secs, err := openChildren(ctx, s.db, `SELECT co.ord, c.id, c.title FROM courses co JOIN classes c ON c.course = co.id ORDER BY co.ord, c.ord`, &sb, &stitle)
	defer secs.close()
	if err != nil {
		return err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, sid, title, code, org, ord FROM courses ORDER BY ord`)
	if err != nil {
		return err
	}
	defer rows.Close()
	var c courseRec
	for rows.Next() {
		var idb, orgb []byte
		var ord int64
		if err := rows.Scan(&idb, &c.sid, &c.title, &c.code, &orgb, &ord); err != nil {
			return err
		}
		c.id, c.org = uid(idb), uid(orgb)
		c.sections = c.sections[:0]
		if err := secs.each(ord, func() error {
			c.sections = append(c.sections, classRef{uid(sb), stitle})
			return nil
		}); err != nil {
			return err
		}
		if err := fn(&c); err != nil {
			return err
		}
	}
	return rows.Err()
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
	rows, err := s.db.QueryContext(ctx, `SELECT id, sid, title, code, course, school, ord FROM classes ORDER BY ord`)
	if err != nil {
		return err
	}
	defer rows.Close()
	var c classRec
	for rows.Next() {
		var idb, courseb, schoolb []byte
		var ord int64
		if err := rows.Scan(&idb, &c.sid, &c.title, &c.code, &courseb, &schoolb, &ord); err != nil {
			return err
		}
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
		if err := fn(&c); err != nil {
			return err
		}
	}
	return rows.Err()
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
	rows, err := s.db.QueryContext(ctx, `SELECT u.id, u.sid, u.role, u.given, u.family, u.middle, u.email, u.phone, u.identifier, d.birth, d.sex, u.ord
		FROM users u LEFT JOIN demographics d ON d.id = u.id ORDER BY u.ord`)
	if err != nil {
		return err
	}
	defer rows.Close()
	var u userRec
	for rows.Next() {
		var idb []byte
		var birth, sex sql.NullString
		var ord int64
		if err := rows.Scan(&idb, &u.sid, &u.role, &u.given, &u.family, &u.middle, &u.email, &u.phone, &u.identifier, &birth, &sex, &ord); err != nil {
			return err
		}
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
		if err := fn(&u); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (s *stage) categories(ctx context.Context, fn func(uuid.UUID, string, string) error) error {
	rows, err := s.db.QueryContext(ctx, `SELECT id, sid, title FROM categories ORDER BY ord`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var idb []byte
		var sid, title string
		if err := rows.Scan(&idb, &sid, &title); err != nil {
			return err
		}
		if err := fn(uid(idb), sid, title); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (s *stage) deletions(ctx context.Context, file string) ([]uuid.UUID, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id FROM deletes WHERE file = ? ORDER BY line`, file)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []uuid.UUID
	for rows.Next() {
		var idb []byte
		if err := rows.Scan(&idb); err != nil {
			return nil, err
		}
		ids = append(ids, uid(idb))
	}
	return ids, rows.Err()
}
