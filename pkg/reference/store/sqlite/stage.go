package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"

	"github.com/google/uuid"

	"github.com/interop-data/interop/pkg/reference/store"
)

// The staging tables of a sync, temporary tables of its connection: stage
// holds the staged objects in staging order (ord), stage_orgs and
// stage_secs their links, diff what Apply found of each (the seq it is
// stored under and its state). Temporary tables live in their own file:
// writing them takes no lock of the database.
const stageTables = `
CREATE TEMP TABLE IF NOT EXISTS stage (
	ord INTEGER PRIMARY KEY, id TEXT NOT NULL, kind TEXT NOT NULL, subtype TEXT NOT NULL, label TEXT NOT NULL, data BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS temp.stage_id ON stage (id);
CREATE TEMP TABLE IF NOT EXISTS stage_orgs (ord INTEGER NOT NULL, org TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS temp.stage_orgs_ord ON stage_orgs (ord);
CREATE TEMP TABLE IF NOT EXISTS stage_secs (ord INTEGER NOT NULL, sec TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS temp.stage_secs_ord ON stage_secs (ord);
CREATE TEMP TABLE IF NOT EXISTS diff (ord INTEGER PRIMARY KEY, seq INTEGER, state INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS temp.diff_seq ON diff (seq);
PRAGMA temp.cache_size = -32768;
` + clearStage

const clearStage = `DELETE FROM temp.stage; DELETE FROM temp.stage_orgs; DELETE FROM temp.stage_secs; DELETE FROM temp.diff;`

// The states of a staged object in diff.
const (
	stateNew     = 1
	stateChanged = 2
	stateSame    = 3
)

// changePage is how many changes Apply reads per query.
const changePage = 1000

// syncPool is the pool of the syncs' connections, opened on first use. It
// is apart from the writer so that a sync staging an export does not hold
// the one writer connection the server's other writes need.
func (s *Store) syncPool() (*sql.DB, error) {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	if s.syncDB != nil {
		return s.syncDB, nil
	}
	db, err := sql.Open("sqlite", s.path+"?"+s.common+"&_pragma=temp_store(FILE)&_pragma=cache_size("+strconv.Itoa(writerCacheKiB)+")&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", s.path, err)
	}
	db.SetMaxIdleConns(1)
	s.syncDB = db
	return db, nil
}

// querier is the write transaction once taken, the connection before.
func (x *syncTx) querier() interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
	QueryRowContext(context.Context, string, ...any) *sql.Row
	PrepareContext(context.Context, string) (*sql.Stmt, error)
} {
	if x.tx != nil {
		return x.tx
	}
	return x.conn
}

// beginStaging opens a deferred transaction for staging (before the write
// lock is taken), so that the staged rows are not committed one by one.
func (x *syncTx) beginStaging(ctx context.Context) error {
	if x.tx != nil || x.staging {
		return nil
	}
	if _, err := x.conn.ExecContext(ctx, `BEGIN`); err != nil {
		return fmt.Errorf("sqlite: stage: %w", err)
	}
	x.staging = true
	return nil
}

func (x *syncTx) endStaging(ctx context.Context) error {
	if !x.staging {
		return nil
	}
	x.staging = false
	if _, err := x.conn.ExecContext(ctx, `COMMIT`); err != nil {
		return fmt.Errorf("sqlite: stage: %w", err)
	}
	return nil
}

// Stage implements store.SyncTx: rows go to the temporary tables through
// prepared statements, in the staging transaction.
func (x *syncTx) Stage(ctx context.Context, objs []store.Object) error {
	for _, o := range objs {
		if err := store.CheckObject(o); err != nil {
			return err
		}
	}
	if len(objs) == 0 {
		return nil
	}
	if err := x.beginStaging(ctx); err != nil {
		return err
	}
	q := x.querier()
	var stmts [3]*sql.Stmt
	for i, text := range []string{
		`INSERT INTO temp.stage (ord, id, kind, subtype, label, data) VALUES (?, ?, ?, ?, ?, ?)`,
		`INSERT INTO temp.stage_orgs (ord, org) VALUES (?, ?)`,
		`INSERT INTO temp.stage_secs (ord, sec) VALUES (?, ?)`,
	} {
		st, err := q.PrepareContext(ctx, text)
		if err != nil {
			return fmt.Errorf("sqlite: stage: %w", err)
		}
		defer st.Close()
		stmts[i] = st
	}
	for _, o := range objs {
		ord := x.staged + 1
		if _, err := stmts[0].ExecContext(ctx, ord, o.ID.String(), string(o.Kind), o.Subtype, o.Label, []byte(o.Data)); err != nil {
			return fmt.Errorf("sqlite: stage: %w", err)
		}
		for _, org := range o.Orgs {
			if _, err := stmts[1].ExecContext(ctx, ord, org.String()); err != nil {
				return fmt.Errorf("sqlite: stage: %w", err)
			}
		}
		for _, sec := range o.Sections {
			if _, err := stmts[2].ExecContext(ctx, ord, sec.String()); err != nil {
				return fmt.Errorf("sqlite: stage: %w", err)
			}
		}
		x.staged = ord
	}
	return nil
}

// rosterVersion reads the tenant's roster version.
func (x *syncTx) rosterVersion(ctx context.Context) (int64, error) {
	var v int64
	if err := x.querier().QueryRowContext(ctx, `SELECT roster_version FROM tenants WHERE id = ?`, x.tenant.String()).Scan(&v); err != nil {
		return 0, fmt.Errorf("sqlite: apply: %w", err)
	}
	return v, nil
}

// Apply implements store.SyncTx. The staged objects are applied in rounds
// of distinct ids (one unless an id was staged twice), each in a fixed
// number of statements. Before the sync holds the write lock, the first
// round's diff is found from a snapshot of the database, in a read
// transaction; under the lock it is kept when the tenant's roster version
// is still the one of that snapshot (nothing wrote the roster since), and
// found again otherwise. The lock is then held only for the writes.
func (x *syncTx) Apply(ctx context.Context, changed func([]store.Change) error) (int, error) {
	lo, hi := x.applied, x.staged
	if lo == hi {
		return 0, nil
	}
	var version int64
	prediffed := false
	if x.tx == nil {
		if err := x.endStaging(ctx); err != nil {
			return 0, err
		}
		if _, err := x.conn.ExecContext(ctx, `BEGIN`); err != nil {
			return 0, fmt.Errorf("sqlite: apply: %w", err)
		}
		x.staging = true
		v, err := x.rosterVersion(ctx)
		if err != nil {
			return 0, err
		}
		bounds, err := x.rounds(ctx, lo, hi)
		if err != nil {
			return 0, err
		}
		if len(bounds) == 1 {
			if err := x.diff(ctx, lo, hi); err != nil {
				return 0, err
			}
			version, prediffed = v, true
		}
	}
	if err := x.lock(ctx); err != nil {
		return 0, err
	}
	if prediffed {
		v, err := x.rosterVersion(ctx)
		if err != nil {
			return 0, err
		}
		if v != version {
			if _, err := x.tx.ExecContext(ctx, `DELETE FROM temp.diff WHERE ord > ? AND ord <= ?`, lo, hi); err != nil {
				return 0, fmt.Errorf("sqlite: apply: %w", err)
			}
			prediffed = false
		}
	}
	bounds, err := x.rounds(ctx, lo, hi)
	if err != nil {
		return 0, err
	}
	unchanged := 0
	for i, from := range bounds {
		to := hi
		if i+1 < len(bounds) {
			to = bounds[i+1]
		}
		if !(i == 0 && prediffed) {
			if err := x.diff(ctx, from, to); err != nil {
				return 0, err
			}
		}
		n, err := x.applyRound(ctx, from, to, changed)
		if err != nil {
			return 0, err
		}
		unchanged += n
	}
	x.applied = hi
	return unchanged, nil
}

// rounds splits the staged ords (lo, hi] into runs of distinct ids: it
// returns the ord each run starts after. An id staged again starts a new
// run at it, so that its second version sees the first as stored.
func (x *syncTx) rounds(ctx context.Context, lo, hi int64) ([]int64, error) {
	rows, err := x.querier().QueryContext(ctx, `SELECT ord, id FROM temp.stage WHERE ord > ?1 AND ord <= ?2 AND id IN (
			SELECT id FROM temp.stage WHERE ord > ?1 AND ord <= ?2 GROUP BY id HAVING count(*) > 1)
		ORDER BY ord`, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("sqlite: apply: %w", err)
	}
	defer rows.Close()
	bounds := []int64{lo}
	seen := map[string]bool{}
	for rows.Next() {
		var ord int64
		var id string
		if err := rows.Scan(&ord, &id); err != nil {
			return nil, fmt.Errorf("sqlite: apply: %w", err)
		}
		if seen[id] {
			bounds = append(bounds, ord-1)
			clear(seen)
		}
		seen[id] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: apply: %w", err)
	}
	return bounds, nil
}

// diff finds the state of the staged ords (lo, hi]: new, changed or the
// same as stored (one probe of the objects' unique index each).
func (x *syncTx) diff(ctx context.Context, lo, hi int64) error {
	if _, err := x.querier().ExecContext(ctx, `INSERT INTO temp.diff (ord, seq, state)
		SELECT s.ord, o.seq, CASE WHEN o.seq IS NULL THEN 1
			WHEN o.kind = s.kind AND o.subtype = s.subtype AND o.label = s.label AND o.data = s.data THEN 3 ELSE 2 END
		FROM temp.stage s LEFT JOIN main.objects o ON o.tenant_id = ? AND o.id = s.id
		WHERE s.ord > ? AND s.ord <= ?`, x.tenant.String(), lo, hi); err != nil {
		return fmt.Errorf("sqlite: apply: %w", err)
	}
	return nil
}

// applyRound writes the staged ords (lo, hi], whose ids are distinct and
// whose diff is found.
func (x *syncTx) applyRound(ctx context.Context, lo, hi int64, changed func([]store.Change) error) (int, error) {
	tx, tenant := x.tx, x.tenant.String()
	var same int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM temp.diff WHERE ord > ? AND ord <= ? AND state = 3`, lo, hi).Scan(&same); err != nil {
		return 0, fmt.Errorf("sqlite: apply: %w", err)
	}
	for after := lo; ; {
		page, last, err := x.changes(ctx, after, hi)
		if err != nil {
			return 0, err
		}
		if len(page) > 0 {
			if err := changed(page); err != nil {
				return 0, err
			}
		}
		if len(page) < changePage {
			break
		}
		after = last
	}
	for _, q := range []string{
		`UPDATE main.objects SET kind = s.kind, subtype = s.subtype, label = s.label, data = s.data
			FROM temp.diff d JOIN temp.stage s ON s.ord = d.ord
			WHERE d.ord > ?2 AND d.ord <= ?3 AND d.state = 2 AND objects.seq = d.seq`,
		// New objects in staging order (their seqs follow it).
		`INSERT INTO main.objects (tenant_id, id, kind, subtype, label, data)
			SELECT ?1, s.id, s.kind, s.subtype, s.label, s.data FROM temp.diff d JOIN temp.stage s ON s.ord = d.ord
			WHERE d.ord > ?2 AND d.ord <= ?3 AND d.state = 1 ORDER BY d.ord`,
		`UPDATE temp.diff SET seq = (SELECT o.seq FROM temp.stage s JOIN main.objects o ON o.tenant_id = ?1 AND o.id = s.id WHERE s.ord = diff.ord)
			WHERE ord > ?2 AND ord <= ?3 AND state = 1`,
		// Links: a changed object's go (its kind or subtype, which they
		// carry, may be new), an unchanged object's go where no longer
		// staged; then every staged link is made where missing.
		`DELETE FROM main.object_orgs WHERE object_seq IN (SELECT seq FROM temp.diff WHERE ord > ?2 AND ord <= ?3 AND state = 2)`,
		`DELETE FROM main.person_sections WHERE person_seq IN (SELECT seq FROM temp.diff WHERE ord > ?2 AND ord <= ?3 AND state = 2)`,
		`DELETE FROM main.object_orgs WHERE object_seq IN (SELECT seq FROM temp.diff WHERE ord > ?2 AND ord <= ?3 AND state = 3)
			AND NOT EXISTS (SELECT 1 FROM temp.diff d JOIN temp.stage_orgs x ON x.ord = d.ord WHERE d.seq = object_orgs.object_seq AND x.org = object_orgs.org_id)`,
		`DELETE FROM main.person_sections WHERE person_seq IN (SELECT seq FROM temp.diff WHERE ord > ?2 AND ord <= ?3 AND state = 3)
			AND NOT EXISTS (SELECT 1 FROM temp.diff d JOIN temp.stage_secs x ON x.ord = d.ord WHERE d.seq = person_sections.person_seq AND x.sec = person_sections.section_id)`,
		`INSERT OR IGNORE INTO main.object_orgs (tenant_id, org_id, object_seq, kind, subtype)
			SELECT ?1, x.org, d.seq, s.kind, s.subtype FROM temp.stage_orgs x JOIN temp.diff d ON d.ord = x.ord JOIN temp.stage s ON s.ord = x.ord
			WHERE x.ord > ?2 AND x.ord <= ?3`,
		`INSERT OR IGNORE INTO main.person_sections (tenant_id, section_id, person_seq)
			SELECT ?1, x.sec, d.seq FROM temp.stage_secs x JOIN temp.diff d ON d.ord = x.ord
			WHERE x.ord > ?2 AND x.ord <= ?3`,
	} {
		if _, err := tx.ExecContext(ctx, q, tenant, lo, hi); err != nil {
			return 0, fmt.Errorf("sqlite: apply: %w", err)
		}
	}
	return same, nil
}

// changes reads a page of the new and changed objects after ord after,
// with what each replaces.
func (x *syncTx) changes(ctx context.Context, after, hi int64) ([]store.Change, int64, error) {
	rows, err := x.tx.QueryContext(ctx, `SELECT d.ord, s.id, s.kind, s.subtype, s.label, s.data, d.state,
			COALESCE(o.kind, ''), COALESCE(o.subtype, ''), COALESCE(o.label, ''), o.data
		FROM temp.diff d JOIN temp.stage s ON s.ord = d.ord LEFT JOIN main.objects o ON d.state = 2 AND o.seq = d.seq
		WHERE d.ord > ? AND d.ord <= ? AND d.state IN (1, 2) ORDER BY d.ord LIMIT ?`, after, hi, changePage)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlite: apply: %w", err)
	}
	defer rows.Close()
	var page []store.Change
	var last int64
	for rows.Next() {
		var id, kind, pkind, psub, plabel string
		var state int
		var data, pdata []byte
		var o store.Object
		if err := rows.Scan(&last, &id, &kind, &o.Subtype, &o.Label, &data, &state, &pkind, &psub, &plabel, &pdata); err != nil {
			return nil, 0, fmt.Errorf("sqlite: apply: %w", err)
		}
		o.ID, o.Kind, o.Data = uuid.MustParse(id), store.Kind(kind), data
		ch := store.Change{Object: o}
		if state == stateChanged {
			ch.Prior = &store.Object{ID: o.ID, Kind: store.Kind(pkind), Subtype: psub, Label: plabel, Data: pdata}
		}
		page = append(page, ch)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("sqlite: apply: %w", err)
	}
	return page, last, nil
}
