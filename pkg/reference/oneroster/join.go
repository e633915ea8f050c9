package oneroster

import (
	"context"
	"database/sql"
)

// The builder reads each kind set-based: one query streams the objects in
// ord order and, beside it, one query per list an object carries (a user's
// orgs, its enrollments; a class's terms, its members) streams the list
// items of every object in the same order, keyed by the object's ord.
// Walking them together is a merge join: each query is one ordered pass
// (the indexes on ord and on the join keys spare every sort), instead of a
// query per object, and only the current object is in memory.

// children is one such list query: rows of (the owner's ord, columns...),
// ordered by the owner's ord.
type children struct {
	rows *sql.Rows
	ord  int64
	ok   bool
	dest []any
	err  error
}

// openChildren runs q, whose first column is the owner's ord, scanning the
// other columns into dest.
func openChildren(ctx context.Context, db *sql.DB, q string, dest ...any) (*children, error) {
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	c := &children{rows: rows, dest: append([]any{nil}, dest...)}
	c.dest[0] = &c.ord
	c.advance()
	return c, c.err
}

func (c *children) advance() {
	if c.ok = c.rows.Next(); c.ok {
		if err := c.rows.Scan(c.dest...); err != nil {
			c.ok, c.err = false, err
		}
		return
	}
	c.err = c.rows.Err()
}

// each calls fn for every row of the owner at ord, after the dest columns
// were scanned; rows of owners before ord (none are expected: every query
// is a join with the owner's table) are passed over.
func (c *children) each(ord int64, fn func() error) error {
	for c.ok && c.ord < ord {
		c.advance()
	}
	for c.ok && c.ord == ord {
		if err := fn(); err != nil {
			return err
		}
		c.advance()
	}
	return c.err
}

func (c *children) close() {
	if c != nil && c.rows != nil {
		c.rows.Close()
	}
}
