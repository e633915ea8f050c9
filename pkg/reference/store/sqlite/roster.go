package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/interop-data/interop/pkg/reference/store"
)

// Sync implements store.Store. fn runs on a connection of the sync pool,
// not on the writer, and first without the write lock: in a read
// transaction on a snapshot of the database, the objects are staged and
// diffed, and what the sync is to write (objects, links, removals, tasks)
// is planned in temporary tables of the connection, which lock nothing of
// the database. Only then is the write lock taken, and the plan written in
// a few statements, provided that the tenant's roster version and task
// counter are still those of the snapshot. If they are not (another sync
// of the tenant committed meanwhile), nothing is written and fn runs again,
// this time holding the write lock throughout. A call that needs the
// roster as the sync changed it (Put, PutAll, a second Apply, Remove of a
// staged id, ...) takes the lock at once and writes the plan so far. A plan
// of many new objects and events is written in slices, hidden from readers
// until the sync commits (slices.go).
func (s *Store) Sync(ctx context.Context, tenant uuid.UUID, fn func(tx store.SyncTx) error) error {
	db, err := s.syncPool()
	if err != nil {
		return err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("sqlite: sync: %w", err)
	}
	defer conn.Close()
	err = syncOnce(ctx, s, conn, tenant, fn, true)
	if errors.Is(err, errStale) {
		err = syncOnce(ctx, s, conn, tenant, fn, false)
	}
	return err
}

// errStale says that the tenant changed between a sync's snapshot and its
// write lock: the sync starts again, holding the lock.
var errStale = errors.New("sqlite: the tenant changed during the sync")

func syncOnce(ctx context.Context, s *Store, conn *sql.Conn, tenant uuid.UUID, fn func(tx store.SyncTx) error, optimistic bool) error {
	begin := func(ctx context.Context) (*sql.Tx, error) { return conn.BeginTx(ctx, nil) }
	// The diff reads label and data: what an earlier sync wrote aside and
	// committed goes there first (pending.go).
	if pending, err := hasPending(ctx, conn, tenant); err != nil {
		return fmt.Errorf("sqlite: sync: %w", err)
	} else if pending {
		if err := s.foldPending(ctx, begin, tenant); err != nil {
			return err
		}
	}
	if _, err := conn.ExecContext(ctx, stageTables); err != nil {
		return fmt.Errorf("sqlite: sync: %w", err)
	}
	x := &syncTx{s: s, conn: conn, tenant: tenant}
	defer x.end()
	if optimistic {
		if _, err := conn.ExecContext(ctx, `BEGIN`); err != nil {
			return fmt.Errorf("sqlite: sync: %w", err)
		}
		x.snapshot = true
	}
	// In a read transaction, this first read fixes the snapshot.
	err := x.querier().QueryRowContext(ctx, `SELECT roster_version, last_sequence FROM tenants WHERE id = ?`, tenant.String()).Scan(&x.version, &x.lastSeq)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("tenant %s %w", tenant, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("sqlite: sync: %w", err)
	}
	if !optimistic {
		if err := x.lock(ctx); err != nil {
			return err
		}
	}
	if err := fn(x); err != nil {
		return err
	}
	x.final = true
	if err := x.lock(ctx); err != nil {
		return err
	}
	// sync_put records the seqs Put wrote, for RemoveUnput; it is emptied
	// before the sync commits, so it is empty at the start. The roster
	// version tells a sync that planned beside this one that its plan is
	// stale.
	if _, err := x.tx.ExecContext(ctx, `DELETE FROM sync_put`); err != nil {
		return fmt.Errorf("sqlite: sync: %w", err)
	}
	// Lifting a claim (the sync wrote slices) makes them visible with the
	// rest of the sync.
	if _, err := x.tx.ExecContext(ctx, `UPDATE tenants SET roster_version = roster_version + 1,
			hide_seq = ?, hide_pos = ?, sync_claim = '', sync_beat = 0 WHERE id = ?`, int64(noHide), int64(noHide), tenant.String()); err != nil {
		return fmt.Errorf("sqlite: sync: %w", err)
	}
	if err := x.tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	x.tx, x.claim = nil, ""
	if x.aside {
		// The sync is done and readers see it; what is left undone here
		// is done by the tenant's next sync.
		_ = s.foldPending(ctx, begin, tenant)
	}
	return nil
}

type syncTx struct {
	s      *Store
	conn   *sql.Conn
	tx     *sql.Tx // the write transaction, once taken
	st     *syncStmts
	tenant uuid.UUID
	// removedTo is, per kind and subtype, the last seq RemoveUnput got
	// to: the next call starts after it instead of stepping over every
	// put object before it again.
	removedTo map[string]int64
	// snapshot is set while the read transaction of the sync's snapshot
	// is open (before the write lock is taken); version and lastSeq are
	// the tenant's roster version and task counter as it read them (the
	// counter then advances with the tasks planned).
	snapshot         bool
	version, lastSeq int64
	plannedTasks     int64
	// planned is set once an Apply or a removal was planned on the
	// snapshot: a later Apply needs the roster as changed, so it takes
	// the lock.
	planned bool
	// staged is the ord of the last object staged, applied of the last
	// one Apply wrote or planned.
	staged, applied int64
	// claim is the sync's claim on the tenant once it wrote slices
	// (slices.go), slices how many; abandoned is set when a test hook
	// ended the sync as a dead process would.
	claim     string
	slices    int
	abandoned bool
	// final is set when the sync's last lock is taken (fn returned);
	// aside when that lock wrote changed objects aside (pending.go).
	final, aside bool
	// indexed is set once stage's index of ids is made (indexStage).
	indexed bool
	// diffed is the last ord diffed and planned the links of on the
	// snapshot, by Stages ahead of the first Apply and by that Apply
	// (planThrough); dropAhead takes back what no Apply planned.
	diffed int64
	// known is the tenant's roster once read (known.go), sum how its
	// sums are made; skipped counts the objects Stage found unchanged in
	// it since the last Apply, which stage no row.
	known     *store.Known
	sum       *summer
	knownRead bool
	skipped   int
}

// lock takes the write lock: it ends the snapshot's read transaction,
// begins the sync's IMMEDIATE one, checks that the tenant is as the
// snapshot saw it (errStale otherwise) and writes what was planned.
func (x *syncTx) lock(ctx context.Context) error {
	if x.tx != nil {
		return nil
	}
	if err := x.dropAhead(ctx); err != nil {
		return err
	}
	planned := x.snapshot
	if x.snapshot {
		x.snapshot = false
		if _, err := x.conn.ExecContext(ctx, `COMMIT`); err != nil {
			return fmt.Errorf("sqlite: sync: %w", err)
		}
	}
	for {
		tx, err := x.conn.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("sqlite: begin: %w", err)
		}
		x.tx = tx
		// Another sync writing the tenant in slices holds it: a plan
		// made beside its hidden rows is stale; a sync that has not yet
		// read the roster waits for it.
		busy, err := x.s.settleClaim(ctx, tx, x.tenant)
		if err != nil {
			return err
		}
		if !busy {
			break
		}
		if planned {
			return errStale
		}
		_ = tx.Rollback()
		x.tx = nil
		if err := awaitClaim(ctx); err != nil {
			return fmt.Errorf("sqlite: sync: %w", err)
		}
	}
	if planned {
		var version, last int64
		if err := x.tx.QueryRowContext(ctx, `SELECT roster_version, last_sequence FROM tenants WHERE id = ?`, x.tenant.String()).Scan(&version, &last); err != nil {
			return fmt.Errorf("sqlite: sync: %w", err)
		}
		if version != x.version || last != x.lastSeq {
			return errStale
		}
		pay, err := x.slicesPay(ctx)
		if err != nil {
			return err
		}
		if pay {
			if err := x.writeSlices(ctx); err != nil {
				return err
			}
		}
	}
	st, err := prepareSync(ctx, x.tx)
	if err != nil {
		return err
	}
	x.st = st
	if !planned {
		return nil
	}
	return x.writePlan(ctx)
}

// end releases what the sync holds, committed or not.
func (x *syncTx) end() {
	if x.st != nil {
		x.st.close()
	}
	if x.tx != nil {
		_ = x.tx.Rollback()
	}
	ctx := context.Background()
	if x.snapshot {
		_, _ = x.conn.ExecContext(ctx, `ROLLBACK`)
	}
	// A sync that wrote slices and did not commit deletes them (a dead
	// process's are deleted by the next writer of the tenant or Open).
	if x.claim != "" && !x.abandoned {
		_ = dropClaim(ctx, func(ctx context.Context) (*sql.Tx, error) { return x.conn.BeginTx(ctx, nil) }, x.tenant, x.claim, x.s.sliceRows)
	}
	// The connection goes back to the pool: leave its tables empty.
	_, _ = x.conn.ExecContext(ctx, clearStage)
}

// Put implements store.SyncTx.
func (x *syncTx) Put(ctx context.Context, o store.Object) (*store.Object, error) {
	if err := store.CheckObject(o); err != nil {
		return nil, err
	}
	if err := x.lock(ctx); err != nil {
		return nil, err
	}
	if err := x.touch(ctx, o.ID); err != nil {
		return nil, err
	}
	var seq int64
	prior := &store.Object{ID: o.ID}
	var kind string
	var data []byte
	err := x.st.find.QueryRowContext(ctx, x.tenant.String(), o.ID.String()).Scan(&seq, &kind, &prior.Subtype, &prior.Label, &data)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, x.write(ctx, o, nil, 0)
	case err != nil:
		return nil, fmt.Errorf("sqlite: put %s: %w", o.ID, err)
	}
	prior.Kind, prior.Data = store.Kind(kind), data
	return prior, x.write(ctx, o, prior, seq)
}

// write stores o given what the tenant held under its id: prior (nil for
// none) at seq.
func (x *syncTx) write(ctx context.Context, o store.Object, prior *store.Object, seq int64) error {
	st, tenant := x.st, x.tenant.String()
	if prior == nil {
		// Exec and LastInsertId, not RETURNING: no result set to open,
		// step and close per object (seq is the rowid).
		r, err := st.insert.ExecContext(ctx, tenant, o.ID.String(), string(o.Kind), o.Subtype, o.Label, []byte(o.Data))
		if err == nil {
			seq, err = r.LastInsertId()
		}
		if err != nil {
			return fmt.Errorf("sqlite: put %s: %w", o.ID, err)
		}
	} else {
		if prior.Kind != o.Kind || prior.Subtype != o.Subtype || prior.Label != o.Label || string(prior.Data) != string(o.Data) {
			if _, err := st.update.ExecContext(ctx, string(o.Kind), o.Subtype, o.Label, []byte(o.Data), seq); err != nil {
				return fmt.Errorf("sqlite: put %s: %w", o.ID, err)
			}
		}
		if _, err := st.dropOrgs.ExecContext(ctx, seq); err != nil {
			return fmt.Errorf("sqlite: put %s: %w", o.ID, err)
		}
		if _, err := st.dropSections.ExecContext(ctx, seq); err != nil {
			return fmt.Errorf("sqlite: put %s: %w", o.ID, err)
		}
	}
	for _, org := range o.Orgs {
		if _, err := st.linkOrg.ExecContext(ctx, tenant, org.String(), seq, string(o.Kind), o.Subtype); err != nil {
			return fmt.Errorf("sqlite: put %s: link: %w", o.ID, err)
		}
	}
	for _, sec := range o.Sections {
		if _, err := st.linkSection.ExecContext(ctx, tenant, sec.String(), seq); err != nil {
			return fmt.Errorf("sqlite: put %s: link: %w", o.ID, err)
		}
	}
	if _, err := st.markPut.ExecContext(ctx, seq); err != nil {
		return fmt.Errorf("sqlite: put %s: %w", o.ID, err)
	}
	return nil
}

// findBatch is how many ids PutAll looks up per query (well under
// SQLite's limit on bound parameters).
const findBatch = 256

type found struct {
	seq   int64
	prior *store.Object
}

// PutAll implements store.SyncTx. The ids are distinct, so what the tenant
// held under each is looked up first, findBatch ids per query instead of
// one query per object; then each object is written in order.
func (x *syncTx) PutAll(ctx context.Context, objs []store.Object) ([]*store.Object, error) {
	if err := store.CheckDistinct(objs); err != nil {
		return nil, err
	}
	if err := x.lock(ctx); err != nil {
		return nil, err
	}
	for _, o := range objs {
		if err := store.CheckObject(o); err != nil {
			return nil, err
		}
	}
	for i := range objs {
		if err := x.touch(ctx, objs[i].ID); err != nil {
			return nil, err
		}
	}
	held := make(map[uuid.UUID]found, len(objs))
	for start := 0; start < len(objs); start += findBatch {
		if err := x.findAll(ctx, objs[start:min(start+findBatch, len(objs))], held); err != nil {
			return nil, err
		}
	}
	out := make([]*store.Object, len(objs))
	for i, o := range objs {
		f := held[o.ID]
		if err := x.write(ctx, o, f.prior, f.seq); err != nil {
			return nil, err
		}
		out[i] = f.prior
	}
	return out, nil
}

// findAll adds to held what the tenant holds under the ids of objs.
func (x *syncTx) findAll(ctx context.Context, objs []store.Object, held map[uuid.UUID]found) error {
	args := make([]any, 0, len(objs)+1)
	args = append(args, x.tenant.String())
	for _, o := range objs {
		args = append(args, o.ID.String())
	}
	q := `SELECT id, seq, kind, subtype, label, data FROM objects WHERE tenant_id = ? AND id IN (?` + strings.Repeat(", ?", len(objs)-1) + `)`
	rows, err := x.tx.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("sqlite: put: find: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind string
		p := &store.Object{}
		var seq int64
		var data []byte
		if err := rows.Scan(&p.ID, &seq, &kind, &p.Subtype, &p.Label, &data); err != nil {
			return fmt.Errorf("sqlite: put: find: %w", err)
		}
		p.Kind, p.Data = store.Kind(kind), data
		held[p.ID] = found{seq: seq, prior: p}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlite: put: find: %w", err)
	}
	return nil
}

// Remove implements store.SyncTx; the links go with the object (ON DELETE CASCADE).
func (x *syncTx) Remove(ctx context.Context, kind store.Kind, id uuid.UUID) (*store.Object, error) {
	if x.tx == nil {
		return x.planRemove(ctx, kind, id)
	}
	if err := x.touch(ctx, id); err != nil {
		return nil, err
	}
	o := &store.Object{ID: id}
	var k string
	var data []byte
	err := x.tx.QueryRowContext(ctx, `DELETE FROM objects WHERE tenant_id = ? AND id = ? AND (? = '' OR kind = ?)
		RETURNING kind, subtype, label, data`, x.tenant.String(), id.String(), string(kind), string(kind)).Scan(&k, &o.Subtype, &o.Label, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: remove %s: %w", id, err)
	}
	o.Kind, o.Data = store.Kind(k), data
	return o, nil
}

// RemoveUnput implements store.SyncTx. Once the roster is known, only
// the objects nothing touched since it was read are looked at, in chunks
// of their seqs: those Stage found unchanged are not in the staging
// tables, which the queries' conditions look in.
func (x *syncTx) RemoveUnput(ctx context.Context, kind store.Kind, subtype string, limit int) ([]store.Object, error) {
	if limit <= 0 {
		return nil, nil
	}
	key := string(kind) + "\x00" + subtype
	return store.RemoveUnput(x.known, kind, x.removedTo[key], limit, func(o store.Object) uuid.UUID { return o.ID }, func(seqs []int64, limit int) ([]store.Object, error) {
		cond := ""
		var in []any
		if len(seqs) > 0 {
			cond, in = ` AND seq IN (SELECT value FROM json_each(?))`, []any{seqArray(seqs)}
		}
		if x.tx == nil {
			return x.planRemoveUnput(ctx, kind, subtype, limit, cond, in)
		}
		return x.removeUnput(ctx, kind, subtype, limit, cond, in)
	})
}

// seqArray is seqs as a JSON array, for json_each.
func seqArray(seqs []int64) string {
	b := make([]byte, 0, 8*len(seqs)+2)
	b = append(b, '[')
	for i, seq := range seqs {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, seq, 10)
	}
	return string(append(b, ']'))
}

// removeUnput is RemoveUnput holding the lock: it deletes at most limit
// objects of kind (and subtype) after the last one it deleted that were
// neither put nor staged, and meet cond (with its arguments in).
func (x *syncTx) removeUnput(ctx context.Context, kind store.Kind, subtype string, limit int, cond string, in []any) ([]store.Object, error) {
	key := string(kind) + "\x00" + subtype
	args := append([]any{x.tenant.String(), string(kind), subtype, subtype, x.removedTo[key], x.diffedTo()}, in...)
	rows, err := x.tx.QueryContext(ctx, `DELETE FROM objects WHERE seq IN (
			SELECT seq FROM objects WHERE tenant_id = ? AND kind = ? AND (? = '' OR subtype = ?) AND seq > ?
			AND seq NOT IN (SELECT seq FROM sync_put) AND `+unstaged+cond+` ORDER BY seq LIMIT ?)
		RETURNING seq, id, kind, subtype, label, data`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: remove absent %s: %w", kind, err)
	}
	defer rows.Close()
	var out []store.Object
	for rows.Next() {
		var o store.Object
		var k string
		var data []byte
		if err := rows.Scan(&o.Pos, &o.ID, &k, &o.Subtype, &o.Label, &data); err != nil {
			return nil, fmt.Errorf("sqlite: remove absent %s: %w", kind, err)
		}
		o.Kind, o.Data = store.Kind(k), data
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: remove absent %s: %w", kind, err)
	}
	// RETURNING has no defined order.
	slices.SortFunc(out, func(a, b store.Object) int { return cmp.Compare(a.Pos, b.Pos) })
	if len(out) > 0 {
		if x.removedTo == nil {
			x.removedTo = map[string]int64{}
		}
		x.removedTo[key] = out[len(out)-1].Pos
	}
	for i := range out {
		out[i].Pos = 0
	}
	return out, nil
}

// Enqueue implements store.SyncTx.
func (x *syncTx) Enqueue(ctx context.Context, tasks []store.NewTask, now time.Time) ([]store.Task, error) {
	if x.tx == nil {
		return x.planEnqueue(ctx, tasks, now)
	}
	return enqueue(ctx, x.tx, x.tenant, tasks, now)
}

// ResetTenant implements store.Store. The links are deleted by tenant
// before their objects, so that the cascade has nothing left to look up.
func (s *Store) ResetTenant(ctx context.Context, tenant uuid.UUID) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		var exists int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM tenants WHERE id = ?`, tenant.String()).Scan(&exists); err != nil {
			return fmt.Errorf("sqlite: reset tenant: %w", err)
		}
		if exists == 0 {
			return fmt.Errorf("tenant %s %w", tenant, store.ErrNotFound)
		}
		for _, q := range []string{
			`DELETE FROM object_orgs WHERE tenant_id = ?`,
			`DELETE FROM person_sections WHERE tenant_id = ?`,
			`DELETE FROM objects WHERE tenant_id = ?`,
			`DELETE FROM tasks WHERE tenant_id = ?`,
			`DELETE FROM task_history WHERE tenant_id = ?`,
			// A sync writing the tenant in slices finds its claim gone.
			`UPDATE tenants SET roster_version = roster_version + 1, hide_seq = 9223372036854775807,
				hide_pos = 9223372036854775807, sync_claim = '', sync_beat = 0 WHERE id = ?`,
		} {
			if _, err := tx.ExecContext(ctx, q, tenant.String()); err != nil {
				return fmt.Errorf("sqlite: reset tenant: %w", err)
			}
		}
		return nil
	})
}

type syncStmts struct {
	find, insert, update, dropOrgs, dropSections, linkOrg, linkSection, markPut *sql.Stmt
}

func prepareSync(ctx context.Context, tx *sql.Tx) (*syncStmts, error) {
	st := &syncStmts{}
	for _, p := range []struct {
		dst **sql.Stmt
		sql string
	}{
		{&st.find, `SELECT seq, kind, subtype, label, data FROM objects WHERE tenant_id = ? AND id = ?`},
		{&st.insert, `INSERT INTO objects (tenant_id, id, kind, subtype, label, data) VALUES (?, ?, ?, ?, ?, ?)`},
		{&st.update, `UPDATE objects SET kind = ?, subtype = ?, label = ?, data = ? WHERE seq = ?`},
		{&st.dropOrgs, `DELETE FROM object_orgs WHERE object_seq = ?`},
		{&st.dropSections, `DELETE FROM person_sections WHERE person_seq = ?`},
		{&st.linkOrg, `INSERT OR IGNORE INTO object_orgs (tenant_id, org_id, object_seq, kind, subtype) VALUES (?, ?, ?, ?, ?)`},
		{&st.linkSection, `INSERT OR IGNORE INTO person_sections (tenant_id, section_id, person_seq) VALUES (?, ?, ?)`},
		{&st.markPut, `INSERT OR IGNORE INTO sync_put (seq) VALUES (?)`},
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
	for _, s := range []*sql.Stmt{st.find, st.insert, st.update, st.dropOrgs, st.dropSections, st.linkOrg, st.linkSection, st.markPut} {
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
	vis, vargs := visible("seq", "hide_seq", "objects.tenant_id", tenants)
	err := s.rs.queryRow(ctx, `SELECT subtype, `+readLabel+`, `+readData+` FROM objects WHERE id = ? AND kind = ? AND tenant_id IN `+in+vis,
		append(append([]any{id.String(), string(kind)}, args...), vargs...)...).Scan(&o.Subtype, &o.Label, &data)
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
	if q.Limit <= 0 || len(q.Tenants) == 0 || !store.Storable(string(q.Kind)) || !store.Storable(q.Subtype) {
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
		if q.After != 0 {
			query += ` AND object_seq > ?`
			args = append(args, q.After)
		}
		vis, vargs := visible("object_seq", "hide_seq", "object_orgs.tenant_id", q.Tenants)
		query += vis
		args = append(args, vargs...)
		query = `SELECT seq, id, subtype, ` + readLabel + `, ` + readData + ` FROM objects WHERE seq IN (` + query + ` ORDER BY object_seq LIMIT ? OFFSET ?) ORDER BY seq`
	} else {
		query = `SELECT seq, id, subtype, ` + readLabel + `, ` + readData + ` FROM objects WHERE tenant_id IN ` + in + ` AND kind = ?`
		args = append(targs, string(q.Kind))
		if q.Subtype != "" {
			query += ` AND subtype = ?`
			args = append(args, q.Subtype)
		}
		if q.After != 0 {
			query += ` AND seq > ?`
			args = append(args, q.After)
		}
		vis, vargs := visible("seq", "hide_seq", "objects.tenant_id", q.Tenants)
		query += vis
		args = append(args, vargs...)
		query += ` ORDER BY seq LIMIT ? OFFSET ?`
	}
	args = append(args, q.Limit+1, q.Offset)
	rows, err := s.rs.query(ctx, query, args...)
	if err != nil {
		return nil, false, fmt.Errorf("sqlite: list %s: %w", q.Kind, err)
	}
	defer rows.Close()
	out := make([]store.Object, 0, min(q.Limit+1, 256))
	for rows.Next() {
		o := store.Object{Kind: q.Kind}
		// The driver hands each row's blob over as a slice of its own,
		// never reused (TestDriverBlobsAreNotReused holds it to that), so
		// the page keeps it instead of the copy Scan into a []byte makes:
		// half the bytes a page allocates.
		var data sql.RawBytes
		if err := rows.Scan(&o.Pos, &o.ID, &o.Subtype, &o.Label, &data); err != nil {
			return nil, false, fmt.Errorf("sqlite: list %s: %w", q.Kind, err)
		}
		o.Data = json.RawMessage(data)
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
