package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/interop-data/interop/pkg/reference/store"
)

// lockTenant locks the tenant's row for the transaction (syncs and resets
// of one tenant run one after the other); an unknown tenant is ErrNotFound.
func lockTenant(ctx context.Context, tx pgx.Tx, tenant uuid.UUID) error {
	var one int
	err := tx.QueryRow(ctx, `SELECT 1 FROM tenants WHERE id = $1 FOR UPDATE`, tenant).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("tenant %s %w", tenant, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("postgres: lock tenant: %w", err)
	}
	return nil
}

// Sync implements store.Store.
func (s *Store) Sync(ctx context.Context, tenant uuid.UUID, fn func(tx store.SyncTx) error) error {
	return s.write(ctx, func(tx pgx.Tx) error {
		if err := lockTenant(ctx, tx, tenant); err != nil {
			return err
		}
		// put records the seqs Put wrote, for RemoveUnput. A temporary
		// table belongs to this connection; its rows go at commit.
		if _, err := tx.Exec(ctx, `CREATE TEMP TABLE IF NOT EXISTS put (seq bigint PRIMARY KEY) ON COMMIT DELETE ROWS`); err != nil {
			return fmt.Errorf("postgres: sync: %w", err)
		}
		if _, err := tx.Exec(ctx, `TRUNCATE pg_temp.put`); err != nil {
			return fmt.Errorf("postgres: sync: %w", err)
		}
		if _, err := tx.Exec(ctx, stageTables); err != nil {
			return fmt.Errorf("postgres: sync: %w", err)
		}
		// Apply's statements run many times with other ranges of the
		// staging tables, whose sizes the planner learns only as the sync
		// goes: a cached generic plan could scan where a range needs a
		// probe (as PutAll's once did), so each is planned for its values.
		// A sync's statements join whole rosters: the default 4 MB of
		// work_mem spilled its hash joins to temporary files in batches,
		// and their cost estimates turned JIT compilation on, which took
		// longer than some of the statements it compiled (0.6 s of a 1.3 s
		// link delete at 20,000 users). Both for this transaction only.
		if _, err := tx.Exec(ctx, `SET LOCAL plan_cache_mode = force_custom_plan; SET LOCAL jit = off; SET LOCAL work_mem = '64MB'`); err != nil {
			return fmt.Errorf("postgres: sync: %w", err)
		}
		// A tenant with no object yet gets the fresh path (fresh.go).
		x := &syncTx{tx: tx, tenant: tenant, knownAfter: s.knownAfter}
		if err := tx.QueryRow(ctx, `SELECT NOT EXISTS (SELECT 1 FROM objects WHERE tenant_id = $1)`, tenant).Scan(&x.fresh); err != nil {
			return fmt.Errorf("postgres: sync: %w", err)
		}
		// Nothing may use the connection after this function returns
		// (BeginFunc commits or rolls back on it), even on a panic.
		defer x.wait()
		if err := fn(x); err != nil {
			return err
		}
		return x.endSync(ctx)
	})
}

type syncTx struct {
	tx     pgx.Tx
	tenant uuid.UUID
	// removedTo is, per kind and subtype, the last seq RemoveUnput got
	// to: the next call starts after it instead of stepping over every
	// put object (and every dead index entry) before it again.
	removedTo map[string]int64
	// staged is the ord of the last object staged, applied of the last
	// one Apply wrote, diffed of the last one diff holds (stage.go).
	staged, applied, diffed int64
	// fresh is set when the tenant had no object at the start of the
	// sync: every object it has now was put or staged by this sync.
	fresh bool
	// known is the tenant's roster as read once the sync had staged
	// enough (readKnown; knownRead says it was tried), nil before or when
	// too large; early holds the ids staged until then; skipped counts
	// the objects Stage found unchanged since the last Apply.
	known      *store.Known
	knownRead  bool
	knownAfter int64
	early      []uuid.UUID
	skipped    int
	// rows counts the rows staged since the last Apply.
	rows int64
	// pending holds what a fresh sync staged since its last Apply.
	pending []store.Object
	// written filters the ids a fresh sync has written (idfilter.go).
	written idFilter
	// bg reports the end of the writes in flight (async), nil when none;
	// bgErr is the first error of one, which fails the sync.
	bg    chan error
	bgErr error
	// lastSeq is the sequence number of the sync's last task once counted
	// (the counter read and locked); enqueued says the sync enqueued one.
	lastSeq           int64
	counted, enqueued bool
}

// The sync's COPYs of the roster and the queue run in the background
// (async): the connection receives one while the loader builds the next
// objects and events, so that the client's work and PostgreSQL's overlap
// (on two cores, about the smaller of the two is saved) instead of taking
// turns. One write is in flight at a time; every other use of the
// connection waits for it first (wait), and so does the end of the sync.
// A write that fails fails the sync: its error is returned by the next
// call, or by Sync.

// wait waits for the write in flight, and returns the first error of any.
func (x *syncTx) wait() error {
	if x.bg != nil {
		if err := <-x.bg; err != nil && x.bgErr == nil {
			x.bgErr = err
		}
		x.bg = nil
	}
	return x.bgErr
}

// async runs write on the sync's connection in the background, after the
// write in flight. write must not touch x: only what it was given. Its
// context is the call's without the cancellation: a caller may end a call's
// context when the call returns, which must not end the write it started
// (a canceled sync still fails, at its next call or its commit).
func (x *syncTx) async(ctx context.Context, write func(ctx context.Context) error) error {
	if err := x.wait(); err != nil {
		return err
	}
	done := make(chan error, 1)
	x.bg = done
	ctx = context.WithoutCancel(ctx)
	go func() { done <- write(ctx) }()
	return nil
}

// putObject inserts the object or updates it in place (keeping its seq),
// writing nothing when nothing differs, and answers the prior row. The
// row lock of FOR UPDATE holds until commit.
const putObject = `
WITH prior AS (
	SELECT seq, kind, subtype, label, data FROM objects WHERE tenant_id = $1 AND id = $2 FOR UPDATE
), ins AS (
	INSERT INTO objects (tenant_id, id, kind, subtype, label, data, digest)
	SELECT $1, $2, $3, $4, $5, $6, $7 WHERE NOT EXISTS (SELECT 1 FROM prior)
	RETURNING seq
), upd AS (
	UPDATE objects o SET kind = $3, subtype = $4, label = $5, data = $6, digest = $7
	FROM prior WHERE o.seq = prior.seq
		AND (prior.kind, prior.subtype, prior.label, prior.data) IS DISTINCT FROM ($3::text, $4::text, $5::text, $6::bytea)
	RETURNING o.seq
)
SELECT COALESCE((SELECT seq FROM prior), (SELECT seq FROM ins)),
	(SELECT seq FROM prior) IS NOT NULL,
	COALESCE((SELECT kind FROM prior), ''), COALESCE((SELECT subtype FROM prior), ''),
	COALESCE((SELECT label FROM prior), ''), (SELECT data FROM prior),
	(SELECT count(*) FROM upd)`

// Put implements store.SyncTx in two round trips: the object, then its
// links and mark in one pipelined batch.
func (x *syncTx) Put(ctx context.Context, o store.Object) (*store.Object, error) {
	if err := store.CheckObject(o); err != nil {
		return nil, err
	}
	if err := x.dropAhead(ctx, x.applied); err != nil {
		return nil, err
	}
	if err := x.touch(ctx, o.ID); err != nil {
		return nil, err
	}
	var seq, updated int64
	var existed bool
	prior := &store.Object{ID: o.ID}
	var kind string
	var data []byte
	if err := x.tx.QueryRow(ctx, putObject, x.tenant, o.ID, string(o.Kind), o.Subtype, o.Label, []byte(o.Data), digest(nil, &o)).
		Scan(&seq, &existed, &kind, &prior.Subtype, &prior.Label, &data, &updated); err != nil {
		return nil, fmt.Errorf("postgres: put %s: %w", o.ID, err)
	}
	if existed {
		prior.Kind, prior.Data = store.Kind(kind), data
	} else {
		prior = nil
	}
	b := &pgx.Batch{}
	if existed {
		// Links are replaced even when the data is unchanged: they are
		// the caller's statement of the memberships. Their digest is
		// left unknown: the next sync relinks the object.
		b.Queue(`DELETE FROM object_orgs WHERE object_seq = $1`, seq)
		b.Queue(`DELETE FROM person_sections WHERE person_seq = $1`, seq)
		b.Queue(`UPDATE objects SET links_digest = NULL WHERE seq = $1 AND links_digest IS NOT NULL`, seq)
	}
	if len(o.Orgs) > 0 {
		b.Queue(`INSERT INTO object_orgs (tenant_id, org_id, object_seq, kind, subtype)
			SELECT $1, org, $2, $3, $4 FROM unnest($5::uuid[]) AS org ON CONFLICT DO NOTHING`, x.tenant, seq, string(o.Kind), o.Subtype, o.Orgs)
	}
	if len(o.Sections) > 0 {
		b.Queue(`INSERT INTO person_sections (tenant_id, section_id, person_seq)
			SELECT $1, sec, $2 FROM unnest($3::uuid[]) AS sec ON CONFLICT DO NOTHING`, x.tenant, seq, o.Sections)
	}
	b.Queue(`INSERT INTO pg_temp.put (seq) VALUES ($1) ON CONFLICT DO NOTHING`, seq)
	if err := x.tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("postgres: put %s: %w", o.ID, err)
	}
	x.wrote([]store.Object{o})
	return prior, nil
}

// PutAll implements store.SyncTx in three round trips whatever the number
// of objects: read (and lock) the priors, insert the new objects in order
// (their seqs follow the input order), then one pipelined batch updates
// the changed, replaces every link and marks all as put.
func (x *syncTx) PutAll(ctx context.Context, objs []store.Object) ([]*store.Object, error) {
	if err := store.CheckDistinct(objs); err != nil {
		return nil, err
	}
	if len(objs) == 0 {
		return nil, nil
	}
	if err := x.dropAhead(ctx, x.applied); err != nil {
		return nil, err
	}
	ids := make([]uuid.UUID, len(objs))
	for i, o := range objs {
		ids[i] = o.ID
	}
	if err := x.touch(ctx, ids...); err != nil {
		return nil, err
	}
	type stored struct {
		seq int64
		o   store.Object
	}
	// One unique-index probe per id, whatever the planner thinks of the
	// table: the sync's own inserts are not in its statistics, and pgx's
	// cached statement soon runs a generic plan, which for "id = ANY($2)"
	// scanned every object of the tenant per batch (quadratic in a load).
	// OFFSET 0 keeps the lateral subquery from being flattened into a join
	// the planner could turn into that scan again.
	rows, err := x.tx.Query(ctx, `SELECT o.seq, o.id, o.kind, o.subtype, o.label, o.data
		FROM unnest($2::uuid[]) AS u (id), LATERAL (
			SELECT seq, id, kind, subtype, label, data FROM objects WHERE tenant_id = $1 AND id = u.id FOR UPDATE OFFSET 0) AS o`, x.tenant, ids)
	if err != nil {
		return nil, fmt.Errorf("postgres: put: %w", err)
	}
	prior := make(map[uuid.UUID]stored, len(objs))
	var st stored
	var kind string
	var data []byte
	if _, err := pgx.ForEachRow(rows, []any{&st.seq, &st.o.ID, &kind, &st.o.Subtype, &st.o.Label, &data}, func() error {
		st.o.Kind, st.o.Data = store.Kind(kind), data
		prior[st.o.ID] = st
		return nil
	}); err != nil {
		return nil, fmt.Errorf("postgres: put: %w", err)
	}
	// New objects, inserted in input order.
	var nIDs []uuid.UUID
	var nKinds, nSubs, nLabels []string
	var nData, nDigests [][]byte
	for i := range objs {
		o := &objs[i]
		if _, ok := prior[o.ID]; !ok {
			nIDs, nKinds, nSubs, nLabels, nData = append(nIDs, o.ID), append(nKinds, string(o.Kind)), append(nSubs, o.Subtype), append(nLabels, o.Label), append(nData, o.Data)
			nDigests = append(nDigests, digest(nil, o))
		}
	}
	seqOf := make(map[uuid.UUID]int64, len(objs))
	for id, p := range prior {
		seqOf[id] = p.seq
	}
	if len(nIDs) > 0 {
		rows, err := x.tx.Query(ctx, `INSERT INTO objects (tenant_id, id, kind, subtype, label, data, digest)
			SELECT $1, id, kind, subtype, label, data, digest
			FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::bytea[], $7::bytea[]) WITH ORDINALITY AS u (id, kind, subtype, label, data, digest, ord)
			ORDER BY ord
			RETURNING id, seq`, x.tenant, nIDs, nKinds, nSubs, nLabels, nData, nDigests)
		if err != nil {
			return nil, fmt.Errorf("postgres: put: %w", err)
		}
		var id uuid.UUID
		var seq int64
		if _, err := pgx.ForEachRow(rows, []any{&id, &seq}, func() error { seqOf[id] = seq; return nil }); err != nil {
			return nil, fmt.Errorf("postgres: put: %w", err)
		}
	}
	var uSeqs, existing, allSeqs, oSeqs, sSeqs []int64
	var uKinds, uSubs, uLabels, oKinds, oSubs []string
	var uData, uDigests [][]byte
	var oOrgs, sSecs []uuid.UUID
	out := make([]*store.Object, len(objs))
	for i, o := range objs {
		seq := seqOf[o.ID]
		allSeqs = append(allSeqs, seq)
		if p, ok := prior[o.ID]; ok {
			po := p.o
			out[i] = &po
			existing = append(existing, seq)
			if po.Kind != o.Kind || po.Subtype != o.Subtype || po.Label != o.Label || !bytes.Equal(po.Data, o.Data) {
				uSeqs, uKinds, uSubs, uLabels, uData = append(uSeqs, seq), append(uKinds, string(o.Kind)), append(uSubs, o.Subtype), append(uLabels, o.Label), append(uData, o.Data)
				uDigests = append(uDigests, digest(nil, &o))
			}
		}
		for _, org := range o.Orgs {
			oOrgs, oSeqs, oKinds, oSubs = append(oOrgs, org), append(oSeqs, seq), append(oKinds, string(o.Kind)), append(oSubs, o.Subtype)
		}
		for _, sec := range o.Sections {
			sSecs, sSeqs = append(sSecs, sec), append(sSeqs, seq)
		}
	}
	b := &pgx.Batch{}
	if len(uSeqs) > 0 {
		b.Queue(`UPDATE objects o SET kind = u.kind, subtype = u.subtype, label = u.label, data = u.data, digest = u.digest
			FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bytea[], $6::bytea[]) AS u (seq, kind, subtype, label, data, digest)
			WHERE o.seq = u.seq`, uSeqs, uKinds, uSubs, uLabels, uData, uDigests)
	}
	if len(existing) > 0 {
		// Links are replaced even when the data is unchanged: they are
		// the caller's statement of the memberships. Their digest is
		// left unknown: the next sync relinks the objects.
		b.Queue(`DELETE FROM object_orgs WHERE object_seq = ANY($1)`, existing)
		b.Queue(`DELETE FROM person_sections WHERE person_seq = ANY($1)`, existing)
		b.Queue(`UPDATE objects SET links_digest = NULL WHERE seq = ANY($1) AND links_digest IS NOT NULL`, existing)
	}
	if len(oOrgs) > 0 {
		b.Queue(`INSERT INTO object_orgs (tenant_id, org_id, object_seq, kind, subtype)
			SELECT $1, org, seq, kind, subtype FROM unnest($2::uuid[], $3::bigint[], $4::text[], $5::text[]) AS l (org, seq, kind, subtype)
			ON CONFLICT DO NOTHING`, x.tenant, oOrgs, oSeqs, oKinds, oSubs)
	}
	if len(sSecs) > 0 {
		b.Queue(`INSERT INTO person_sections (tenant_id, section_id, person_seq)
			SELECT $1, sec, seq FROM unnest($2::uuid[], $3::bigint[]) AS l (sec, seq) ON CONFLICT DO NOTHING`, x.tenant, sSecs, sSeqs)
	}
	b.Queue(`INSERT INTO pg_temp.put (seq) SELECT unnest($1::bigint[]) ON CONFLICT DO NOTHING`, allSeqs)
	if err := x.tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("postgres: put: %w", err)
	}
	x.wrote(objs)
	return out, nil
}

// dropLinks deletes the links of the objects a data-modifying WITH query
// named gone deletes (it returns their seq): the links have no foreign key
// to cascade from (migration 8).
const dropLinks = `, gone_orgs AS (DELETE FROM object_orgs WHERE object_seq IN (SELECT seq FROM gone)),
	gone_secs AS (DELETE FROM person_sections WHERE person_seq IN (SELECT seq FROM gone))`

// Remove implements store.SyncTx; the links go with the object.
func (x *syncTx) Remove(ctx context.Context, kind store.Kind, id uuid.UUID) (*store.Object, error) {
	if err := x.dropAhead(ctx, x.applied); err != nil {
		return nil, err
	}
	if err := x.touch(ctx, id); err != nil {
		return nil, err
	}
	o := &store.Object{ID: id}
	var k string
	var data []byte
	err := x.tx.QueryRow(ctx, `WITH gone AS (DELETE FROM objects WHERE tenant_id = $1 AND id = $2 AND ($3 = '' OR kind = $3)
		RETURNING seq, kind, subtype, label, data)`+dropLinks+`
		SELECT kind, subtype, label, data FROM gone`, x.tenant, id, string(kind)).Scan(&k, &o.Subtype, &o.Label, &data)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: remove %s: %w", id, err)
	}
	o.Kind, o.Data = store.Kind(k), data
	return o, nil
}

// RemoveUnput implements store.SyncTx.
func (x *syncTx) RemoveUnput(ctx context.Context, kind store.Kind, subtype string, limit int) ([]store.Object, error) {
	// A fresh sync wrote every object the tenant has.
	if limit <= 0 || x.fresh {
		return nil, x.wait()
	}
	if err := x.dropAhead(ctx, x.applied); err != nil {
		return nil, err
	}
	// Apply marks what it wrote as put; only what is staged and not yet
	// applied (a caller that removes before applying) is looked up in the
	// staging table, which has no index on id. Once the roster is known,
	// only the objects nothing touched since are looked at, in chunks.
	key := string(kind) + "\x00" + subtype
	got, err := store.RemoveUnput(x.known, kind, x.removedTo[key], limit, func(so seqObject) uuid.UUID { return so.o.ID }, func(seqs []int64, limit int) ([]seqObject, error) {
		return x.removeUnput(ctx, kind, subtype, limit, x.removedTo[key], seqs)
	})
	if err != nil {
		return nil, err
	}
	if len(got) > 0 {
		if x.removedTo == nil {
			x.removedTo = map[string]int64{}
		}
		x.removedTo[key] = got[len(got)-1].seq
	}
	out := make([]store.Object, len(got))
	for i := range got {
		out[i] = got[i].o
	}
	return out, nil
}

// seqObject is an object removed, with the seq it was stored under.
type seqObject struct {
	seq int64
	o   store.Object
}

// removeUnput deletes at most limit objects of kind (and subtype) after
// the seq after that were neither put nor staged, among cands unless
// there are none, and returns them in seq order.
func (x *syncTx) removeUnput(ctx context.Context, kind store.Kind, subtype string, limit int, after int64, cands []int64) ([]seqObject, error) {
	args := []any{x.tenant, string(kind), subtype, limit, after}
	cond := ""
	if x.staged > x.applied {
		args = append(args, x.applied)
		cond += fmt.Sprintf(`
			AND NOT EXISTS (SELECT 1 FROM pg_temp.stage s WHERE s.ord > $%d AND s.id = o.id)`, len(args))
	}
	if len(cands) > 0 {
		args = append(args, cands)
		cond += fmt.Sprintf(` AND seq = ANY($%d)`, len(args))
	}
	rows, err := x.tx.Query(ctx, `WITH gone AS (DELETE FROM objects WHERE seq IN (
			SELECT seq FROM objects o WHERE tenant_id = $1 AND kind = $2 AND ($3 = '' OR subtype = $3) AND seq > $5
			AND NOT EXISTS (SELECT 1 FROM pg_temp.put p WHERE p.seq = o.seq)`+cond+` ORDER BY seq LIMIT $4)
		RETURNING seq, id, kind, subtype, label, data)`+dropLinks+`
		SELECT seq, id, kind, subtype, label, data FROM gone`, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: remove absent %s: %w", kind, err)
	}
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (seqObject, error) {
		var so seqObject
		var k string
		var data []byte
		err := r.Scan(&so.seq, &so.o.ID, &k, &so.o.Subtype, &so.o.Label, &data)
		so.o.Kind, so.o.Data = store.Kind(k), data
		return so, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: remove absent %s: %w", kind, err)
	}
	// RETURNING has no defined order.
	slices.SortFunc(got, func(a, b seqObject) int { return int(a.seq - b.seq) })
	return got, nil
}

// Enqueue implements store.SyncTx. The first enqueue of the sync locks
// the tenant's counter and reads it; the sync numbers its tasks from it
// and writes the counter once, when fn is done (endSync): one statement
// instead of one per batch. Other enqueues of the tenant wait for the
// counter's row lock until the sync commits, as they would anyway. The
// tasks' ids are time-ordered (UUIDv7, as SQLite's sync gives them), so
// that a sync's inserts into the id index go to its right edge instead of
// all over it.
func (x *syncTx) Enqueue(ctx context.Context, tasks []store.NewTask, now time.Time) ([]store.Task, error) {
	if len(tasks) == 0 {
		return nil, nil
	}
	if err := store.CheckNewTasks(tasks); err != nil {
		return nil, err
	}
	if err := x.wait(); err != nil {
		return nil, err
	}
	if !x.counted {
		err := x.tx.QueryRow(ctx, `SELECT last_sequence FROM tenant_counters WHERE tenant_id = $1 FOR UPDATE`, x.tenant).Scan(&x.lastSeq)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, fmt.Errorf("tenant %s %w", x.tenant, store.ErrNotFound)
		}
		if err != nil {
			return nil, fmt.Errorf("postgres: enqueue: %w", err)
		}
		x.counted = true
	}
	out := newTasks(x.tenant, x.lastSeq, tasks, now, func() uuid.UUID { return uuid.Must(uuid.NewV7()) })
	// The payloads are the caller's: reference's sync writer makes each
	// anew and never writes to it again.
	tx := x.tx
	if err := x.async(ctx, func(ctx context.Context) error { return insertTasks(ctx, tx, out) }); err != nil {
		return nil, err
	}
	x.lastSeq += int64(len(out))
	x.enqueued = true
	return out, nil
}

// endSync writes what the sync left for the end: the tenant's counter.
func (x *syncTx) endSync(ctx context.Context) error {
	if err := x.wait(); err != nil {
		return err
	}
	if !x.enqueued {
		return nil
	}
	if _, err := x.tx.Exec(ctx, `UPDATE tenant_counters SET last_sequence = $2 WHERE tenant_id = $1`, x.tenant, x.lastSeq); err != nil {
		return fmt.Errorf("postgres: enqueue: %w", err)
	}
	return nil
}

// ResetTenant implements store.Store.
func (s *Store) ResetTenant(ctx context.Context, tenant uuid.UUID) error {
	return s.write(ctx, func(tx pgx.Tx) error {
		if err := lockTenant(ctx, tx, tenant); err != nil {
			return err
		}
		b := &pgx.Batch{}
		for _, q := range []string{
			`DELETE FROM object_orgs WHERE tenant_id = $1`,
			`DELETE FROM person_sections WHERE tenant_id = $1`,
			`DELETE FROM objects WHERE tenant_id = $1`,
			`DELETE FROM tasks WHERE tenant_id = $1`,
			`DELETE FROM task_history WHERE tenant_id = $1`,
		} {
			b.Queue(q, tenant)
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("postgres: reset tenant: %w", err)
		}
		return nil
	})
}

// FindObject implements store.Store.
func (s *Store) FindObject(ctx context.Context, tenants []uuid.UUID, kind store.Kind, id uuid.UUID) (store.Object, error) {
	o := store.Object{ID: id, Kind: kind}
	var data []byte
	err := s.pool.QueryRow(ctx, `SELECT subtype, label, data FROM objects WHERE id = $1 AND kind = $2 AND tenant_id = ANY($3)`,
		id, string(kind), tenants).Scan(&o.Subtype, &o.Label, &data)
	if errors.Is(err, pgx.ErrNoRows) {
		return o, fmt.Errorf("%s %s %w", kind, id, store.ErrNotFound)
	}
	if err != nil {
		return o, fmt.Errorf("postgres: find %s: %w", kind, err)
	}
	o.Data = data
	return o, nil
}

// ListObjects implements store.Store: one query per page in seq order; an
// org's lists take the page's seqs from the link index alone.
func (s *Store) ListObjects(ctx context.Context, q store.ObjectQuery) ([]store.Object, bool, error) {
	if q.Limit <= 0 || len(q.Tenants) == 0 || !store.Storable(string(q.Kind)) || !store.Storable(q.Subtype) {
		return nil, false, nil
	}
	// Distinct statements with and without a subtype, rather than one with
	// "$3 = '' OR subtype = $3": a cached generic plan of the latter
	// cannot use the subtype indexes.
	args := []any{q.Tenants, string(q.Kind), q.Limit + 1, q.Offset}
	sub := ""
	if q.Subtype != "" {
		sub = ` AND subtype = $5`
		args = append(args, q.Subtype)
	}
	var query string
	if q.Org != nil {
		args = append(args, *q.Org)
		org := ` AND org_id = $` + fmt.Sprint(len(args))
		after := ""
		if q.After != 0 {
			args = append(args, q.After)
			after = ` AND object_seq > $` + fmt.Sprint(len(args))
		}
		query = `SELECT seq, id, subtype, label, data FROM objects WHERE seq IN (
			SELECT object_seq FROM object_orgs WHERE tenant_id = ANY($1)` + org + ` AND kind = $2` + sub + after + `
			ORDER BY object_seq LIMIT $3 OFFSET $4) ORDER BY seq`
	} else {
		after := ""
		if q.After != 0 {
			args = append(args, q.After)
			after = ` AND seq > $` + fmt.Sprint(len(args))
		}
		query = `SELECT seq, id, subtype, label, data FROM objects WHERE tenant_id = ANY($1) AND kind = $2` + sub + after + `
			ORDER BY seq LIMIT $3 OFFSET $4`
	}
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, false, fmt.Errorf("postgres: list %s: %w", q.Kind, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Object, error) {
		o := store.Object{Kind: q.Kind}
		var data []byte
		err := r.Scan(&o.Pos, &o.ID, &o.Subtype, &o.Label, &data)
		o.Data = data
		return o, err
	})
	if err != nil {
		return nil, false, fmt.Errorf("postgres: list %s: %w", q.Kind, err)
	}
	if len(out) > q.Limit {
		return out[:q.Limit], true, nil
	}
	return out, false, nil
}
