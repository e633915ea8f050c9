package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/interop-data/interop/pkg/reference/store"
)

// ApplySync implements store.Store: the objects, their links and the sync's
// tasks are written in one transaction.
func (s *Store) ApplySync(ctx context.Context, tenant uuid.UUID, sy store.Sync, now time.Time) (store.SyncResult, error) {
	for _, o := range sy.Upserts {
		if err := store.CheckObject(o); err != nil {
			return store.SyncResult{}, err
		}
	}
	res := store.SyncResult{GroupID: sy.GroupID}
	if res.GroupID == uuid.Nil {
		res.GroupID = uuid.New()
	}
	origin := sy.Origin
	if origin == "" {
		origin = "initial"
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		var exists int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM tenants WHERE id = ?`, tenant.String()).Scan(&exists); err != nil {
			return fmt.Errorf("sqlite: sync: %w", err)
		}
		if exists == 0 {
			return fmt.Errorf("tenant %s %w", tenant, store.ErrNotFound)
		}
		var tasks []store.NewTask
		if !sy.Silent {
			tasks = append(tasks, store.SyncTask(store.ActionSyncStart, res.GroupID, origin, sy.Driver))
		}
		st, err := prepareSync(ctx, tx)
		if err != nil {
			return err
		}
		defer st.close()
		for _, o := range sy.Upserts {
			var seq int64
			var prior []byte
			err := st.find.QueryRowContext(ctx, tenant.String(), o.ID.String()).Scan(&seq, &prior)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				if err := st.insert.QueryRowContext(ctx, tenant.String(), o.ID.String(), string(o.Kind), o.Subtype, o.Label, []byte(o.Data)).Scan(&seq); err != nil {
					return fmt.Errorf("sqlite: sync: insert %s: %w", o.ID, err)
				}
				res.Added++
				if !sy.Silent {
					tasks = append(tasks, store.DataTask(store.ActionAdd, o, o.Data, nil, res.GroupID, sy.Driver))
				}
			case err != nil:
				return fmt.Errorf("sqlite: sync: %w", err)
			default:
				changes, err := store.Changes(prior, o.Data)
				if err != nil {
					return err
				}
				if len(changes) == 0 {
					res.Unchanged++
				} else {
					if _, err := st.update.ExecContext(ctx, string(o.Kind), o.Subtype, o.Label, []byte(o.Data), seq); err != nil {
						return fmt.Errorf("sqlite: sync: update %s: %w", o.ID, err)
					}
					res.Changed++
					if !sy.Silent {
						tasks = append(tasks, store.DataTask(store.ActionChange, o, o.Data, changes, res.GroupID, sy.Driver))
					}
				}
				// Links are replaced even when the data is unchanged: they
				// are the caller's statement of the memberships.
				if _, err := st.dropOrgs.ExecContext(ctx, seq); err != nil {
					return fmt.Errorf("sqlite: sync: %w", err)
				}
				if _, err := st.dropSections.ExecContext(ctx, seq); err != nil {
					return fmt.Errorf("sqlite: sync: %w", err)
				}
			}
			for _, org := range o.Orgs {
				if _, err := st.linkOrg.ExecContext(ctx, tenant.String(), org.String(), seq, string(o.Kind), o.Subtype); err != nil {
					return fmt.Errorf("sqlite: sync: link %s: %w", o.ID, err)
				}
			}
			for _, sec := range o.Sections {
				if _, err := st.linkSection.ExecContext(ctx, tenant.String(), sec.String(), seq); err != nil {
					return fmt.Errorf("sqlite: sync: link %s: %w", o.ID, err)
				}
			}
		}
		for _, id := range sy.Deletes {
			var o store.Object
			var kind string
			var data []byte
			err := tx.QueryRowContext(ctx, `DELETE FROM objects WHERE tenant_id = ? AND id = ? RETURNING kind, subtype, label, data`,
				tenant.String(), id.String()).Scan(&kind, &o.Subtype, &o.Label, &data)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return fmt.Errorf("sqlite: sync: delete %s: %w", id, err)
			}
			o.ID, o.Kind = id, store.Kind(kind)
			res.Deleted++
			if !sy.Silent {
				tasks = append(tasks, store.DataTask(store.ActionDelete, o, data, nil, res.GroupID, sy.Driver))
			}
		}
		if sy.Silent {
			return nil
		}
		tasks = append(tasks, store.SyncTask(store.ActionSyncEnd, res.GroupID, origin, sy.Driver))
		res.Tasks, err = enqueue(ctx, tx, tenant, tasks, now)
		return err
	})
	if err != nil {
		return store.SyncResult{}, err
	}
	return res, nil
}

type syncStmts struct {
	find, insert, update, dropOrgs, dropSections, linkOrg, linkSection *sql.Stmt
}

func prepareSync(ctx context.Context, tx *sql.Tx) (*syncStmts, error) {
	st := &syncStmts{}
	for _, p := range []struct {
		dst **sql.Stmt
		sql string
	}{
		{&st.find, `SELECT seq, data FROM objects WHERE tenant_id = ? AND id = ?`},
		{&st.insert, `INSERT INTO objects (tenant_id, id, kind, subtype, label, data) VALUES (?, ?, ?, ?, ?, ?) RETURNING seq`},
		{&st.update, `UPDATE objects SET kind = ?, subtype = ?, label = ?, data = ? WHERE seq = ?`},
		{&st.dropOrgs, `DELETE FROM object_orgs WHERE object_seq = ?`},
		{&st.dropSections, `DELETE FROM person_sections WHERE person_seq = ?`},
		{&st.linkOrg, `INSERT OR IGNORE INTO object_orgs (tenant_id, org_id, object_seq, kind, subtype) VALUES (?, ?, ?, ?, ?)`},
		{&st.linkSection, `INSERT OR IGNORE INTO person_sections (tenant_id, section_id, person_seq) VALUES (?, ?, ?)`},
	} {
		stmt, err := tx.PrepareContext(ctx, p.sql)
		if err != nil {
			st.close()
			return nil, fmt.Errorf("sqlite: sync: %w", err)
		}
		*p.dst = stmt
	}
	return st, nil
}

func (st *syncStmts) close() {
	for _, s := range []*sql.Stmt{st.find, st.insert, st.update, st.dropOrgs, st.dropSections, st.linkOrg, st.linkSection} {
		if s != nil {
			s.Close()
		}
	}
}

// FindObject implements store.Store.
func (s *Store) FindObject(ctx context.Context, tenants []uuid.UUID, kind store.Kind, id uuid.UUID) (store.Object, error) {
	in, args := inClause(tenants)
	o := store.Object{ID: id, Kind: kind}
	var data []byte
	err := s.r.QueryRowContext(ctx, `SELECT subtype, label, data FROM objects WHERE id = ? AND kind = ? AND tenant_id IN `+in,
		append([]any{id.String(), string(kind)}, args...)...).Scan(&o.Subtype, &o.Label, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return o, fmt.Errorf("%s %s %w", kind, id, store.ErrNotFound)
	}
	if err != nil {
		return o, fmt.Errorf("sqlite: find %s: %w", kind, err)
	}
	o.Data = json.RawMessage(data)
	return o, nil
}

// ListObjects implements store.Store: one query per page, LIMIT/OFFSET over
// an index in seq order. OFFSET steps over every skipped row, so the skipped
// rows must be index entries only: objects_by_kind and objects_by_subtype
// cover the plain lists (the table row is read for returned rows alone), and
// the org links carry their object's kind and subtype (migration 2) so that
// an org's lists skip in object_orgs_by_subtype without reading one objects
// row per skipped link. The extra row fetched tells whether another page
// follows.
func (s *Store) ListObjects(ctx context.Context, q store.ObjectQuery) ([]store.Object, bool, error) {
	if q.Limit <= 0 || len(q.Tenants) == 0 {
		return nil, false, nil
	}
	in, targs := inClause(q.Tenants)
	var query string
	var args []any
	if q.Org != nil {
		// The page's seqs come from the link index alone; the outer
		// select reads only their rows.
		query = `SELECT object_seq FROM object_orgs WHERE tenant_id IN ` + in + ` AND org_id = ? AND kind = ?`
		args = append(targs, q.Org.String(), string(q.Kind))
		if q.Subtype != "" {
			query += ` AND subtype = ?`
			args = append(args, q.Subtype)
		}
		query = `SELECT id, subtype, label, data FROM objects WHERE seq IN (` + query + ` ORDER BY object_seq LIMIT ? OFFSET ?) ORDER BY seq`
	} else {
		query = `SELECT id, subtype, label, data FROM objects WHERE tenant_id IN ` + in + ` AND kind = ?`
		args = append(targs, string(q.Kind))
		if q.Subtype != "" {
			query += ` AND subtype = ?`
			args = append(args, q.Subtype)
		}
		query += ` ORDER BY seq LIMIT ? OFFSET ?`
	}
	args = append(args, q.Limit+1, q.Offset)
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, false, fmt.Errorf("sqlite: list %s: %w", q.Kind, err)
	}
	defer rows.Close()
	out := make([]store.Object, 0, min(q.Limit+1, 256))
	for rows.Next() {
		o := store.Object{Kind: q.Kind}
		var id string
		var data []byte
		if err := rows.Scan(&id, &o.Subtype, &o.Label, &data); err != nil {
			return nil, false, fmt.Errorf("sqlite: list %s: %w", q.Kind, err)
		}
		o.ID, o.Data = uuid.MustParse(id), data
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("sqlite: list %s: %w", q.Kind, err)
	}
	if len(out) > q.Limit {
		return out[:q.Limit], true, nil
	}
	return out, false, nil
}
