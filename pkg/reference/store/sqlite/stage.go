package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

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
CREATE TEMP TABLE IF NOT EXISTS stage_orgs (ord INTEGER NOT NULL, org TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS temp.stage_orgs_ord ON stage_orgs (ord);
CREATE TEMP TABLE IF NOT EXISTS stage_secs (ord INTEGER NOT NULL, sec TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS temp.stage_secs_ord ON stage_secs (ord);
CREATE TEMP TABLE IF NOT EXISTS diff (ord INTEGER PRIMARY KEY, seq INTEGER, state INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS temp.diff_seq ON diff (seq);
CREATE INDEX IF NOT EXISTS temp.diff_state ON diff (state, ord);
CREATE TEMP TABLE IF NOT EXISTS plan_drop_orgs (org TEXT NOT NULL, seq INTEGER NOT NULL);
CREATE TEMP TABLE IF NOT EXISTS plan_add_orgs (ord INTEGER NOT NULL, org TEXT NOT NULL, seq INTEGER NOT NULL);
CREATE TEMP TABLE IF NOT EXISTS plan_drop_secs (sec TEXT NOT NULL, seq INTEGER NOT NULL);
CREATE TEMP TABLE IF NOT EXISTS plan_add_secs (sec TEXT NOT NULL, seq INTEGER NOT NULL);
CREATE TEMP TABLE IF NOT EXISTS plan_removed (seq INTEGER PRIMARY KEY);
CREATE TEMP TABLE IF NOT EXISTS plan_tasks (sequence INTEGER PRIMARY KEY, id TEXT NOT NULL, kind TEXT NOT NULL, driver TEXT NOT NULL, created_at INTEGER NOT NULL, payload BLOB NOT NULL);
PRAGMA temp.cache_size = -8192;
` + clearStage

// clearStage empties the staging and plan tables, and drops stage's index
// of ids (indexStage makes it). (Their names are kept apart from the
// database's tables: an unqualified name would find the temporary table
// first.)
const clearStage = `DROP INDEX IF EXISTS temp.stage_id; DELETE FROM temp.stage; DELETE FROM temp.stage_orgs; DELETE FROM temp.stage_secs; DELETE FROM temp.diff;
DELETE FROM temp.plan_drop_orgs; DELETE FROM temp.plan_add_orgs; DELETE FROM temp.plan_drop_secs; DELETE FROM temp.plan_add_secs;
DELETE FROM temp.plan_removed; DELETE FROM temp.plan_tasks;`

// The states of a staged object in diff.
const (
	stateNew     = 1
	stateChanged = 2
	stateSame    = 3
	// stateRelabeled is a changed object whose kind and subtype are
	// unchanged (a renamed person, say): its links, which carry only those,
	// are diffed as an unchanged object's are, and only the links that
	// differ are written, where a changed one's are all dropped and made
	// again (see linkDiff).
	stateRelabeled = 5
)

// syncConns bounds the syncs that run at once on one Store.
const syncConns = 4

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
	// A sync holds its connection for its whole run; a few may stage at
	// once (they take the write lock one at a time).
	db.SetMaxOpenConns(syncConns)
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

// Stage implements store.SyncTx: rows go to the temporary tables through
// prepared statements, in the snapshot's transaction (or the write one).
func (x *syncTx) Stage(ctx context.Context, objs []store.Object) error {
	for _, o := range objs {
		if err := store.CheckObject(o); err != nil {
			return err
		}
	}
	if len(objs) == 0 {
		return nil
	}
	if !x.knownRead && x.s.knownAfter >= 0 && x.staged+int64(len(objs)) >= x.s.knownAfter {
		if err := x.readKnown(ctx); err != nil {
			return err
		}
	}
	var objRows, orgRows, secRows []any
	for i := range objs {
		o := &objs[i]
		x.staged++
		// Once the roster is known, only what differs from it is staged;
		// an object found unchanged keeps its ord, in case a write makes
		// it staged after all (touch).
		if x.known != nil && x.known.Unchanged(o.ID, o.Kind, x.sum.object(o), x.staged) {
			x.skipped++
			continue
		}
		objRows = append(objRows, x.staged, o.ID.String(), string(o.Kind), o.Subtype, o.Label, []byte(o.Data))
		for _, org := range o.Orgs {
			orgRows = append(orgRows, x.staged, org.String())
		}
		for _, sec := range o.Sections {
			secRows = append(secRows, x.staged, sec.String())
		}
	}
	q := x.querier()
	for _, t := range []struct {
		into string
		cols int
		args []any
	}{
		{`temp.stage (ord, id, kind, subtype, label, data)`, 6, objRows},
		{`temp.stage_orgs (ord, org)`, 2, orgRows},
		{`temp.stage_secs (ord, sec)`, 2, secRows},
	} {
		if err := insertRows(ctx, q, t.into, t.cols, t.args); err != nil {
			return fmt.Errorf("sqlite: stage: %w", err)
		}
	}
	// Ahead of the first Apply, on the snapshot, each batch is diffed and
	// its links planned as it is staged: while the caller builds the next
	// batch (reference's sync writer stages on a goroutine of its own),
	// not all at the end. The first Apply plans only what is left; if it
	// cannot plan on the snapshot, lock drops what was done ahead.
	if x.snapshot && !x.planned {
		return x.planThrough(ctx, x.staged)
	}
	return nil
}

// planThrough diffs the staged ords after x.diffed up to hi and plans
// their links, on the snapshot.
func (x *syncTx) planThrough(ctx context.Context, hi int64) error {
	if x.diffed >= hi {
		return nil
	}
	if err := x.diff(ctx, x.diffed, hi); err != nil {
		return err
	}
	if err := x.linkDiff(ctx, x.diffed, hi); err != nil {
		return err
	}
	x.diffed = hi
	return nil
}

// dropAhead drops the diffs and link plans Stage made ahead of an Apply
// that did not plan on the snapshot: its diffs see the roster as changed.
// (An Apply that plans takes up all that Stage did ahead, so when some is
// left no Apply planned links, and the link plans are all Stage's.)
func (x *syncTx) dropAhead(ctx context.Context) error {
	if x.diffed <= x.applied {
		return nil
	}
	if _, err := x.conn.ExecContext(ctx, `DELETE FROM temp.diff WHERE ord > ?`, x.applied); err != nil {
		return fmt.Errorf("sqlite: apply: %w", err)
	}
	if _, err := x.conn.ExecContext(ctx, `DELETE FROM temp.plan_drop_orgs; DELETE FROM temp.plan_add_orgs;
		DELETE FROM temp.plan_drop_secs; DELETE FROM temp.plan_add_secs`); err != nil {
		return fmt.Errorf("sqlite: apply: %w", err)
	}
	x.diffed = x.applied
	return nil
}

// unstaged is the condition RemoveUnput keeps an object by, given the last
// ord that was diffed (diffedTo): that no staged object is it. A diffed
// one's seq is in diff (a new one's once it is written), which the
// objects' kind and subtype indexes answer without reading the row; the
// ids of those staged after are looked up.
const unstaged = `seq NOT IN (SELECT seq FROM temp.diff WHERE seq IS NOT NULL) AND id NOT IN (SELECT id FROM temp.stage WHERE ord > ?)`

// diffedTo is the last ord with a row in diff: every one up to it has.
func (x *syncTx) diffedTo() int64 { return max(x.applied, x.diffed) }

// indexStage indexes the staged objects' ids, once per sync, before the
// first statement that looks them up (Apply, Remove): made in
// one sort of the ids staged by then, the index costs a fraction of what
// inserting each random id into it as it was staged did (a fifth of a
// 20,000-user reload's Stage). Later Stages insert into it as they go.
func (x *syncTx) indexStage(ctx context.Context) error {
	if x.indexed {
		return nil
	}
	if _, err := x.querier().ExecContext(ctx, `CREATE INDEX IF NOT EXISTS temp.stage_id ON stage (id)`); err != nil {
		return fmt.Errorf("sqlite: stage: %w", err)
	}
	x.indexed = true
	return nil
}

// rowsPerInsert is how many rows one multi-row INSERT carries: a statement
// per few hundred rows instead of one per row (each costs a call through
// the driver), well under SQLite's limit on bound parameters.
const rowsPerInsert = 256

// insertRows inserts rows of cols values each (args holds them one row
// after the other) with multi-row INSERTs.
func insertRows(ctx context.Context, q interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, into string, cols int, args []any) error {
	row := "(?" + strings.Repeat(", ?", cols-1) + ")"
	full := ""
	for len(args) > 0 {
		n := min(len(args)/cols, rowsPerInsert)
		var stmt string
		if n == rowsPerInsert && full != "" {
			stmt = full
		} else {
			stmt = "INSERT OR FAIL INTO " + into + " VALUES " + row + strings.Repeat(", "+row, n-1)
			if n == rowsPerInsert {
				full = stmt
			}
		}
		if _, err := q.ExecContext(ctx, stmt, args[:n*cols]...); err != nil {
			return err
		}
		args = args[n*cols:]
	}
	return nil
}

// Apply implements store.SyncTx. The staged objects are applied in rounds
// of distinct ids (one unless an id was staged twice), each in a fixed
// number of statements. The first Apply of a sync, when it is one round,
// is planned on the snapshot without the write lock (see Store.Sync): the
// states and the links to drop and add are found, the changes passed to
// changed, and the writes left to the lock.
func (x *syncTx) Apply(ctx context.Context, changed func([]store.Change) error) (int, error) {
	lo, hi := x.applied, x.staged
	if lo == hi {
		return 0, nil
	}
	// The objects Stage found unchanged in the known roster are applied
	// as they are: they count as unchanged, and staged no row.
	skipped := x.skipped
	x.skipped = 0
	n, err := x.apply(ctx, lo, hi, changed)
	return n + skipped, err
}

func (x *syncTx) apply(ctx context.Context, lo, hi int64, changed func([]store.Change) error) (int, error) {
	if err := x.indexStage(ctx); err != nil {
		return 0, err
	}
	bounds, err := x.rounds(ctx, lo, hi)
	if err != nil {
		return 0, err
	}
	if x.tx == nil && !x.planned && len(bounds) == 1 {
		x.planned = true
		// The first Apply: lo is 0, and Stage planned up to x.diffed.
		if err := x.planThrough(ctx, hi); err != nil {
			return 0, err
		}
		same, err := x.passChanges(ctx, lo, hi, changed)
		if err != nil {
			return 0, err
		}
		x.applied = hi
		return same, nil
	}
	if err := x.lock(ctx); err != nil {
		return 0, err
	}
	unchanged := 0
	for i, from := range bounds {
		to := hi
		if i+1 < len(bounds) {
			to = bounds[i+1]
		}
		if err := x.diff(ctx, from, to); err != nil {
			return 0, err
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
	if _, err := x.querier().ExecContext(ctx, `INSERT OR FAIL INTO temp.diff (ord, seq, state)
		SELECT s.ord, o.seq, CASE WHEN o.seq IS NULL THEN 1
			WHEN o.kind = s.kind AND o.subtype = s.subtype AND o.label = s.label AND o.data = s.data THEN 3 ELSE 2 END
		FROM temp.stage s LEFT JOIN main.objects o ON o.tenant_id = ? AND o.id = s.id
		WHERE s.ord > ? AND s.ord <= ?`, x.tenant.String(), lo, hi); err != nil {
		return fmt.Errorf("sqlite: apply: %w", err)
	}
	return nil
}

// passChanges passes the new and changed objects of the staged ords
// (lo, hi] to changed, in pages, and returns how many are unchanged.
func (x *syncTx) passChanges(ctx context.Context, lo, hi int64, changed func([]store.Change) error) (int, error) {
	var same int
	if err := x.querier().QueryRowContext(ctx, `SELECT count(*) FROM temp.diff WHERE state = 3 AND ord > ? AND ord <= ?`, lo, hi).Scan(&same); err != nil {
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
			return same, nil
		}
		after = last
	}
}

// applyRound writes the staged ords (lo, hi], whose ids are distinct and
// whose diff is found, holding the write lock.
func (x *syncTx) applyRound(ctx context.Context, lo, hi int64, changed func([]store.Change) error) (int, error) {
	tx, tenant := x.tx, x.tenant.String()
	same, err := x.passChanges(ctx, lo, hi, changed)
	if err != nil {
		return 0, err
	}
	for _, q := range []string{
		`UPDATE main.objects SET kind = s.kind, subtype = s.subtype, label = s.label, data = s.data
			FROM temp.diff d JOIN temp.stage s ON s.ord = d.ord
			WHERE d.ord > ?2 AND d.ord <= ?3 AND d.state = 2 AND objects.seq = d.seq`,
		// New objects in staging order (their seqs follow it).
		`INSERT INTO main.objects (tenant_id, id, kind, subtype, label, data)
			SELECT ?1, s.id, s.kind, s.subtype, s.label, s.data FROM temp.diff d JOIN temp.stage s ON s.ord = d.ord
			WHERE d.ord > ?2 AND d.ord <= ?3 AND d.state = 1 ORDER BY d.ord`,
		`UPDATE OR FAIL temp.diff SET seq = (SELECT o.seq FROM temp.stage s JOIN main.objects o ON o.tenant_id = ?1 AND o.id = s.id WHERE s.ord = diff.ord)
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
// with what each replaces. The page is a range of diff's primary key: the
// unary + keeps the planner off diff_state, which would find every new or
// changed object after the page and sort them, for each page (a first
// load of 100,000 users spent three quarters of its CPU there).
func (x *syncTx) changes(ctx context.Context, after, hi int64) ([]store.Change, int64, error) {
	rows, err := x.querier().QueryContext(ctx, `SELECT d.ord, s.id, s.kind, s.subtype, s.label, s.data, d.state,
			COALESCE(o.kind, ''), COALESCE(o.subtype, ''), COALESCE(o.label, ''), o.data
		FROM temp.diff d JOIN temp.stage s ON s.ord = d.ord LEFT JOIN main.objects o ON d.state IN (2, 5) AND o.seq = d.seq
		WHERE d.ord > ? AND d.ord <= ? AND +d.state IN (1, 2, 5) ORDER BY d.ord LIMIT ?`, after, hi, changePage)
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
		if state == stateChanged || state == stateRelabeled {
			ch.Prior = &store.Object{ID: o.ID, Kind: store.Kind(pkind), Subtype: psub, Label: plabel, Data: pdata}
		}
		page = append(page, ch)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("sqlite: apply: %w", err)
	}
	return page, last, nil
}

// linkDiff plans, for the unchanged objects of the staged ords (lo, hi]
// and the changed ones whose kind and subtype are unchanged (marked
// stateRelabeled first), the links to drop (stored, no longer staged) and
// to add (staged, not stored). A new object's links, and those of one
// whose kind or subtype changed (which its org links carry), are all
// written with it. A renamed person keeps its links untouched: dropping
// and making them again rewrote leaves all over the random-keyed
// person_sections index in the sync's last transaction.
func (x *syncTx) linkDiff(ctx context.Context, lo, hi int64) error {
	q := x.querier()
	for _, stmt := range []string{
		// Still on the snapshot: the stored kind and subtype are the
		// prior ones.
		`UPDATE OR FAIL temp.diff SET state = 5 WHERE state = 2 AND ord > ?2 AND ord <= ?3 AND EXISTS (
			SELECT 1 FROM temp.stage s JOIN main.objects o ON o.seq = diff.seq
			WHERE s.ord = diff.ord AND o.kind = s.kind AND o.subtype = s.subtype)`,
		`INSERT OR FAIL INTO temp.plan_drop_orgs (org, seq) SELECT l.org_id, l.object_seq
			FROM temp.diff d JOIN main.object_orgs l ON l.object_seq = d.seq
			WHERE d.state IN (3, 5) AND d.ord > ?2 AND d.ord <= ?3
			AND NOT EXISTS (SELECT 1 FROM temp.stage_orgs x WHERE x.ord = d.ord AND x.org = l.org_id)`,
		`INSERT OR FAIL INTO temp.plan_add_orgs (ord, org, seq) SELECT x.ord, x.org, d.seq
			FROM temp.diff d JOIN temp.stage_orgs x ON x.ord = d.ord
			WHERE d.state IN (3, 5) AND d.ord > ?2 AND d.ord <= ?3
			AND NOT EXISTS (SELECT 1 FROM main.object_orgs l WHERE l.tenant_id = ?1 AND l.org_id = x.org AND l.object_seq = d.seq)`,
		`INSERT OR FAIL INTO temp.plan_drop_secs (sec, seq) SELECT l.section_id, l.person_seq
			FROM temp.diff d JOIN main.person_sections l ON l.person_seq = d.seq
			WHERE d.state IN (3, 5) AND d.ord > ?2 AND d.ord <= ?3
			AND NOT EXISTS (SELECT 1 FROM temp.stage_secs x WHERE x.ord = d.ord AND x.sec = l.section_id)`,
		`INSERT OR FAIL INTO temp.plan_add_secs (sec, seq) SELECT x.sec, d.seq
			FROM temp.diff d JOIN temp.stage_secs x ON x.ord = d.ord
			WHERE d.state IN (3, 5) AND d.ord > ?2 AND d.ord <= ?3
			AND NOT EXISTS (SELECT 1 FROM main.person_sections l WHERE l.tenant_id = ?1 AND l.section_id = x.sec AND l.person_seq = d.seq)`,
	} {
		if _, err := q.ExecContext(ctx, stmt, x.tenant.String(), lo, hi); err != nil {
			return fmt.Errorf("sqlite: apply: %w", err)
		}
	}
	return nil
}

// writePlan writes what was planned on the snapshot, holding the write
// lock: removals, the staged objects' updates and inserts and links, the
// tasks. Each is one statement over the plan's tables.
func (x *syncTx) writePlan(ctx context.Context) error {
	for _, q := range []string{
		`DELETE FROM main.objects WHERE seq IN (SELECT seq FROM temp.plan_removed)`,
		`UPDATE main.objects SET kind = s.kind, subtype = s.subtype, label = s.label, data = s.data
			FROM temp.diff d JOIN temp.stage s ON s.ord = d.ord
			WHERE d.state = 2 AND d.ord <= ?2 AND objects.seq = d.seq`,
		// Kind and subtype as they are: the indexes holding them are
		// left alone.
		`UPDATE main.objects SET label = s.label, data = s.data
			FROM temp.diff d JOIN temp.stage s ON s.ord = d.ord
			WHERE d.state = 5 AND d.ord <= ?2 AND objects.seq = d.seq`,
		`INSERT INTO main.objects (tenant_id, id, kind, subtype, label, data)
			SELECT ?1, s.id, s.kind, s.subtype, s.label, s.data FROM temp.diff d JOIN temp.stage s ON s.ord = d.ord
			WHERE d.state = 1 AND d.ord <= ?2 ORDER BY d.ord`,
		`UPDATE OR FAIL temp.diff SET seq = (SELECT o.seq FROM temp.stage s JOIN main.objects o ON o.tenant_id = ?1 AND o.id = s.id WHERE s.ord = diff.ord)
			WHERE state = 1 AND ord <= ?2`,
		`DELETE FROM main.object_orgs WHERE object_seq IN (SELECT seq FROM temp.diff WHERE state = 2 AND ord <= ?2)`,
		`DELETE FROM main.person_sections WHERE person_seq IN (SELECT seq FROM temp.diff WHERE state = 2 AND ord <= ?2)`,
		`DELETE FROM main.object_orgs WHERE tenant_id = ?1 AND (org_id, object_seq) IN (SELECT org, seq FROM temp.plan_drop_orgs)`,
		`DELETE FROM main.person_sections WHERE tenant_id = ?1 AND (section_id, person_seq) IN (SELECT sec, seq FROM temp.plan_drop_secs)`,
		`INSERT OR IGNORE INTO main.object_orgs (tenant_id, org_id, object_seq, kind, subtype)
			SELECT ?1, x.org, d.seq, s.kind, s.subtype FROM temp.diff d JOIN temp.stage_orgs x ON x.ord = d.ord JOIN temp.stage s ON s.ord = d.ord
			WHERE d.state IN (1, 2) AND d.ord <= ?2`,
		`INSERT OR IGNORE INTO main.person_sections (tenant_id, section_id, person_seq)
			SELECT ?1, x.sec, d.seq FROM temp.diff d JOIN temp.stage_secs x ON x.ord = d.ord
			WHERE d.state IN (1, 2) AND d.ord <= ?2`,
		`INSERT OR IGNORE INTO main.object_orgs (tenant_id, org_id, object_seq, kind, subtype)
			SELECT ?1, a.org, a.seq, s.kind, s.subtype FROM temp.plan_add_orgs a JOIN temp.stage s ON s.ord = a.ord`,
		`INSERT OR IGNORE INTO main.person_sections (tenant_id, section_id, person_seq)
			SELECT ?1, a.sec, a.seq FROM temp.plan_add_secs a`,
		`INSERT INTO main.tasks (id, tenant_id, sequence, kind, driver, created_at, payload)
			SELECT id, ?1, sequence, kind, driver, created_at, payload FROM temp.plan_tasks ORDER BY sequence`,
		`UPDATE main.tenants SET last_sequence = (SELECT max(sequence) FROM temp.plan_tasks)
			WHERE id = ?1 AND EXISTS (SELECT 1 FROM temp.plan_tasks)`,
	} {
		if _, err := x.tx.ExecContext(ctx, q, x.tenant.String(), x.applied); err != nil {
			return fmt.Errorf("sqlite: sync: %w", err)
		}
	}
	return nil
}

// planRemove is Remove on the snapshot: the object is read there and its
// removal planned. An object this sync staged is removed with the lock
// held, since the snapshot does not hold it as staged.
func (x *syncTx) planRemove(ctx context.Context, kind store.Kind, id uuid.UUID) (*store.Object, error) {
	if err := x.indexStage(ctx); err != nil {
		return nil, err
	}
	var staged int
	if err := x.conn.QueryRowContext(ctx, `SELECT count(*) FROM temp.stage WHERE id = ?`, id.String()).Scan(&staged); err != nil {
		return nil, fmt.Errorf("sqlite: remove %s: %w", id, err)
	}
	// Found unchanged since the last Apply, the object counts as staged:
	// it is staged in its place once the lock is held (touch).
	if x.known != nil && x.known.Staged(id, x.applied) {
		staged++
	}
	if staged > 0 {
		if err := x.lock(ctx); err != nil {
			return nil, err
		}
		return x.Remove(ctx, kind, id)
	}
	if x.known != nil {
		x.known.Touch(id)
	}
	x.planned = true
	o := &store.Object{ID: id}
	var seq int64
	var k string
	var data []byte
	err := x.conn.QueryRowContext(ctx, `SELECT seq, kind, subtype, label, data FROM main.objects WHERE tenant_id = ? AND id = ? AND (? = '' OR kind = ?)
		AND seq NOT IN (SELECT seq FROM temp.plan_removed)`, x.tenant.String(), id.String(), string(kind), string(kind)).Scan(&seq, &k, &o.Subtype, &o.Label, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err == nil {
		_, err = x.conn.ExecContext(ctx, `INSERT INTO temp.plan_removed (seq) VALUES (?)`, seq)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: remove %s: %w", id, err)
	}
	o.Kind, o.Data = store.Kind(k), data
	return o, nil
}

// planRemoveUnput is RemoveUnput on the snapshot.
func (x *syncTx) planRemoveUnput(ctx context.Context, kind store.Kind, subtype string, limit int, cond string, in []any) ([]store.Object, error) {
	x.planned = true
	key := string(kind) + "\x00" + subtype
	args := append([]any{x.tenant.String(), string(kind), subtype, subtype, x.removedTo[key], x.diffedTo()}, in...)
	rows, err := x.conn.QueryContext(ctx, `SELECT seq, id, subtype, label, data FROM main.objects
		WHERE tenant_id = ? AND kind = ? AND (? = '' OR subtype = ?) AND seq > ?
		AND seq NOT IN (SELECT seq FROM temp.plan_removed) AND `+unstaged+cond+`
		ORDER BY seq LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: remove absent %s: %w", kind, err)
	}
	var out []store.Object
	var seqs []int64
	for rows.Next() {
		o := store.Object{Kind: kind}
		var id string
		var data []byte
		var seq int64
		if err := rows.Scan(&seq, &id, &o.Subtype, &o.Label, &data); err != nil {
			rows.Close()
			return nil, fmt.Errorf("sqlite: remove absent %s: %w", kind, err)
		}
		o.ID, o.Data = uuid.MustParse(id), data
		out, seqs = append(out, o), append(seqs, seq)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: remove absent %s: %w", kind, err)
	}
	if len(seqs) == 0 {
		return nil, nil
	}
	ins, err := x.conn.PrepareContext(ctx, `INSERT INTO temp.plan_removed (seq) VALUES (?)`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: remove absent %s: %w", kind, err)
	}
	defer ins.Close()
	for _, seq := range seqs {
		if _, err := ins.ExecContext(ctx, seq); err != nil {
			return nil, fmt.Errorf("sqlite: remove absent %s: %w", kind, err)
		}
	}
	if x.removedTo == nil {
		x.removedTo = map[string]int64{}
	}
	x.removedTo[key] = seqs[len(seqs)-1]
	return out, nil
}

// planEnqueue is Enqueue on the snapshot: the tasks are numbered after the
// snapshot's counter and the tasks planned before them, and inserted with
// the lock (which checks that the counter did not move).
func (x *syncTx) planEnqueue(ctx context.Context, tasks []store.NewTask, now time.Time) ([]store.Task, error) {
	if len(tasks) == 0 {
		return nil, nil
	}
	if err := store.CheckNewTasks(tasks); err != nil {
		return nil, err
	}
	out := make([]store.Task, len(tasks))
	args := make([]any, 0, 6*len(tasks))
	for i, nt := range tasks {
		payload := nt.Payload
		if len(payload) == 0 {
			payload = []byte("{}")
		}
		x.plannedTasks++
		// Time-ordered ids (version 7): a large sync's events go to the
		// end of the tasks' unique id index instead of all over it, so
		// its slices (slices.go) rewrite a few of the index's pages, not
		// most of them (about 8% of a 10k-user first load's CPU).
		t := store.Task{ID: uuid.Must(uuid.NewV7()), TenantID: x.tenant, Sequence: x.lastSeq + x.plannedTasks, Kind: nt.Kind,
			Driver: nt.Driver, CreatedAt: time.Unix(0, now.UnixNano()).UTC(), Payload: payload}
		args = append(args, t.Sequence, t.ID.String(), string(t.Kind), t.Driver, store.UnixNanos(now), []byte(payload))
		out[i] = t
	}
	if err := insertRows(ctx, x.conn, `temp.plan_tasks (sequence, id, kind, driver, created_at, payload)`, 6, args); err != nil {
		return nil, fmt.Errorf("sqlite: enqueue: %w", err)
	}
	return out, nil
}
