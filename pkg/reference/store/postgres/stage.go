package postgres

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/bits"
	"slices"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/interop-data/interop/pkg/reference/store"
)

// The staging tables of a sync, temporary (the connection's own, never
// logged) and emptied at commit. stage holds the staged objects in staging
// order (ord) but for their data, which is in stage_data: what diff and
// the link statements read of every staged object is a tenth of its size.
// stage_orgs and stage_secs hold their links, diff what Apply found of
// each: the seq it is stored under and its state. Only the ord keys are
// indexed: they grow in order, where an index on the random ids cost the
// COPY a page rewrite per row once past temp_buffers.
const stageTables = `
CREATE TEMP TABLE IF NOT EXISTS stage (
	ord bigint PRIMARY KEY, id uuid NOT NULL, kind text NOT NULL, subtype text NOT NULL, label text NOT NULL, digest bytea NOT NULL, links bytea NOT NULL
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS stage_data (ord bigint PRIMARY KEY, data bytea NOT NULL) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS stage_orgs (ord bigint NOT NULL, org uuid NOT NULL) ON COMMIT DELETE ROWS;
CREATE INDEX IF NOT EXISTS stage_orgs_ord ON pg_temp.stage_orgs (ord);
CREATE TEMP TABLE IF NOT EXISTS stage_secs (ord bigint NOT NULL, sec uuid NOT NULL) ON COMMIT DELETE ROWS;
CREATE INDEX IF NOT EXISTS stage_secs_ord ON pg_temp.stage_secs (ord);
CREATE TEMP TABLE IF NOT EXISTS diff (ord bigint PRIMARY KEY, seq bigint, state smallint NOT NULL, relink boolean NOT NULL) ON COMMIT DELETE ROWS;
TRUNCATE pg_temp.stage, pg_temp.stage_data, pg_temp.stage_orgs, pg_temp.stage_secs, pg_temp.diff`

// The states of a staged object in diff. An object stored without a digest
// (written before migration 8) is compared whole (stateUnknown) and found
// changed or the same; when the same, Apply gives it its digest.
const (
	stateUnknown  = 0
	stateNew      = 1
	stateChanged  = 2
	stateSame     = 3
	stateNoDigest = 4 // the same, stored without a digest
)

// digestLen is how many bytes of SHA-256 an object's digest keeps: 128
// bits, so that two different objects share one with a probability of
// 2^-64 even among 2^32 objects.
const digestLen = 16

// digest returns the digest of o's stored content (kind, subtype, label
// and data: the columns a sync compares), appended to buf. text cannot
// hold U+0000, so the separators make the encoding unambiguous.
func digest(buf []byte, o *store.Object) []byte {
	h := sha256.New()
	h.Write([]byte(o.Kind))
	h.Write([]byte{0})
	h.Write([]byte(o.Subtype))
	h.Write([]byte{0})
	h.Write([]byte(o.Label))
	h.Write([]byte{0})
	h.Write(o.Data)
	var sum [sha256.Size]byte
	return append(buf, h.Sum(sum[:0])[:digestLen]...)
}

// linksDigest returns the digest of o's links (its kind and subtype, which
// object_orgs carries, then the distinct orgs and the distinct sections,
// each sorted: what the link tables hold of o once linked), appended to
// buf. A digest stored before the kind and subtype were part of it differs
// from every digest made now: such an object is relinked once.
func linksDigest(buf []byte, o *store.Object) []byte {
	h := sha256.New()
	h.Write([]byte(o.Kind))
	h.Write([]byte{0})
	h.Write([]byte(o.Subtype))
	h.Write([]byte{0})
	for _, set := range [][]uuid.UUID{o.Orgs, o.Sections} {
		ids := slices.Clone(set)
		slices.SortFunc(ids, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
		ids = slices.Compact(ids)
		// A count before each set: ids have one length, so the encoding
		// is unambiguous.
		h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(ids))))
		for _, id := range ids {
			h.Write(id[:])
		}
	}
	var sum [sha256.Size]byte
	return append(buf, h.Sum(sum[:0])[:digestLen]...)
}

// changePage is how many changes Apply reads per query.
const changePage = 1000

// Stage implements store.SyncTx: one COPY per table for all of objs, or,
// on a fresh tenant, nothing until Apply (the objects wait in memory).
func (x *syncTx) Stage(ctx context.Context, objs []store.Object) error {
	for _, o := range objs {
		if err := store.CheckObject(o); err != nil {
			return err
		}
	}
	if len(objs) == 0 {
		return nil
	}
	if x.fresh {
		// A copy: the caller may reuse its slice once Stage returns.
		x.pending = append(x.pending, objs...)
		return nil
	}
	if !x.knownRead && x.knownAfter >= 0 && x.staged+int64(len(objs)) >= x.knownAfter {
		if err := x.readKnown(ctx); err != nil {
			return err
		}
	}
	if x.known == nil {
		if !x.knownRead && x.knownAfter >= 0 {
			for i := range objs {
				x.early = append(x.early, objs[i].ID)
			}
		}
		return x.copyStage(ctx, slices.Clone(objs))
	}
	// Only what differs from the roster as read is staged (a copy: the
	// caller may reuse its slice once Stage returns). Every object has its
	// ord: one found unchanged may have to be staged in its place later
	// (restage).
	var fwd []store.Object
	var ords []int64
	var dg, lg []byte
	for i := range objs {
		o, ord := &objs[i], x.staged+1+int64(i)
		dg, lg = digest(dg[:0], o), linksDigest(lg[:0], o)
		if x.known.Unchanged(o.ID, o.Kind, knownSum(dg, lg), ord) {
			x.skipped++
		} else {
			fwd, ords = append(fwd, *o), append(ords, ord)
		}
	}
	return x.copyStageOrds(ctx, fwd, ords, x.staged+int64(len(objs)))
}

// A sync that stages at least knownAfter objects reads the tenant's
// roster's ids, seqs, kinds and digests once (readKnown), unless it holds
// more than maxKnown objects, and from then on stages only the objects
// that differ from it: a nightly export of a district is almost all
// unchanged, and each unchanged object then costs a lookup in memory
// instead of a staged row, its links and a probe of the roster's index.
// Below knownAfter (a sync of a few objects) reading the roster would cost
// more than it saves; above maxKnown it would cost too much memory
// (store.KnownEntrySize bytes each: about 80 MB at the bound, a district
// of some 140,000 users), and the diff stays in the database.
const (
	knownAfter = 8192
	maxKnown   = 1_000_000
)

// readKnown reads the tenant's roster into x.known, after the write in
// flight: it then holds every write of the sync so far. The objects staged
// but not yet applied are touched: what is read is not what they will be.
func (x *syncTx) readKnown(ctx context.Context) error {
	x.knownRead = true
	if err := x.wait(); err != nil {
		return err
	}
	rows, err := x.tx.Query(ctx, `SELECT id, seq, kind, digest, links_digest FROM objects WHERE tenant_id = $1 LIMIT $2`, x.tenant, maxKnown+1)
	if err != nil {
		return fmt.Errorf("postgres: stage: %w", err)
	}
	k := &store.Known{}
	var id uuid.UUID
	var seq int64
	var kind string
	var dg, lg []byte
	if _, err := pgx.ForEachRow(rows, []any{&id, &seq, &kind, &dg, &lg}, func() error {
		k.Add(id, seq, store.Kind(kind), knownSum(dg, lg), len(dg) == digestLen && len(lg) == digestLen)
		return nil
	}); err != nil {
		return fmt.Errorf("postgres: stage: %w", err)
	}
	early := x.early
	x.early = nil
	if k.Len() > maxKnown {
		return nil
	}
	for _, id := range early {
		k.Touch(id)
	}
	x.known = k
	return nil
}

// knownSum folds an object's digest and links' digest into the sum Known
// compares: 64 bits, enough where an object is compared only with what is
// stored under its own id (a change goes unseen with a chance of 2^-64).
func knownSum(dg, lg []byte) uint64 {
	if len(dg) < 8 || len(lg) < 8 {
		return 0
	}
	return binary.LittleEndian.Uint64(dg) ^ bits.RotateLeft64(binary.LittleEndian.Uint64(lg), 1)
}

// copyStage copies objs into the staging tables, after every object staged
// before, in the background: objs must stay as they are until the next wait.
// Unless the sync wrote objects another way since its last Apply, it then
// diffs them ahead (diffAhead), still in the background.
func (x *syncTx) copyStage(ctx context.Context, objs []store.Object) error {
	ords := make([]int64, len(objs))
	for i := range ords {
		ords[i] = x.staged + 1 + int64(i)
	}
	return x.copyStageOrds(ctx, objs, ords, x.staged+int64(len(objs)))
}

// copyStageOrds is copyStage of objs under ords, in order, which stage the
// ords up to hi: those left out were found unchanged (Known).
func (x *syncTx) copyStageOrds(ctx context.Context, objs []store.Object, ords []int64, hi int64) error {
	lo := x.staged
	x.staged = hi
	ahead := x.diffed == lo
	if ahead {
		x.diffed = hi
	}
	if len(objs) == 0 {
		return nil
	}
	x.rows += int64(len(objs))
	tx, tenant := x.tx, x.tenant
	return x.async(ctx, func(ctx context.Context) error { return copyStage(ctx, tx, tenant, lo, hi, objs, ords, ahead) })
}

// restage stages what is stored under each of seqs, under the ord of the
// same place, for the objects Stage found unchanged and a write is about
// to change (Known.Touch): Apply then puts each back as it was staged.
// The caller has dropped what was diffed ahead (dropAhead).
func (x *syncTx) restage(ctx context.Context, seqs, ords []int64) error {
	if len(seqs) == 0 {
		return nil
	}
	x.skipped -= len(seqs)
	x.rows += int64(len(seqs))
	const from = ` FROM unnest($1::bigint[], $2::bigint[]) AS r(seq, ord) JOIN `
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO pg_temp.stage (ord, id, kind, subtype, label, digest, links)
		SELECT r.ord, o.id, o.kind, o.subtype, o.label, o.digest, o.links_digest`+from+`objects o ON o.seq = r.seq`, seqs, ords)
	b.Queue(`INSERT INTO pg_temp.stage_data (ord, data) SELECT r.ord, o.data`+from+`objects o ON o.seq = r.seq`, seqs, ords)
	b.Queue(`INSERT INTO pg_temp.stage_orgs (ord, org) SELECT r.ord, l.org_id`+from+`object_orgs l ON l.object_seq = r.seq`, seqs, ords)
	b.Queue(`INSERT INTO pg_temp.stage_secs (ord, sec) SELECT r.ord, l.section_id`+from+`person_sections l ON l.person_seq = r.seq`, seqs, ords)
	if err := x.tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("postgres: stage: %w", err)
	}
	return nil
}

// touch records that the objects under ids are about to be written other
// than by Apply, once the roster is known, and restages those Stage found
// unchanged since the last Apply. The caller has dropped what was diffed
// ahead.
func (x *syncTx) touch(ctx context.Context, ids ...uuid.UUID) error {
	if x.known == nil {
		return nil
	}
	var seqs, ords []int64
	for _, id := range ids {
		if seq, ord, ok := x.known.Touch(id); ok && ord > x.applied {
			seqs, ords = append(seqs, seq), append(ords, ord)
		}
	}
	return x.restage(ctx, seqs, ords)
}

// A reload's diff is found as it is staged, and only what changed is
// staged whole: each batch's ids, digests and links are copied, looked up
// in objects at once (in the background, while the loader builds the next
// batch), and the data is copied only of the objects that are not stored
// with the same digest. A district's nightly export is almost all
// unchanged: most of a reload's bytes stay on the client, and Apply finds
// the diff done.
//
// That diff holds as long as nothing but Apply writes the objects it looked
// up. An id staged twice (its second staging is compared with its first,
// once applied: rounds), or a Put, PutAll, Remove or RemoveUnput before the
// Apply, drops what was diffed ahead of it (dropAhead), and Apply diffs
// again. The data of an object found unchanged is then taken from the
// stored object, which it equals.

// diffRow is what diff records of a staged object s, given o, what is
// stored under its id (all NULL when nothing is): its seq, its state from
// the digests, and whether its links must be rewritten.
const diffRow = `s.ord, o.seq, CASE WHEN o.seq IS NULL THEN 1 WHEN o.digest = s.digest THEN 3 WHEN o.digest IS NULL THEN 0 ELSE 2 END,
	o.links_digest IS DISTINCT FROM s.links`

// diffAhead records the state of the staged ords (lo, hi] in diff, and
// returns the ords of those not stored with the same digest: one probe of
// the objects' (tenant_id, id) index per object (OFFSET 0 keeps the planner,
// which knows nothing of the staging table yet, from joining it with every
// object of the tenant instead).
func diffAhead(ctx context.Context, tx pgx.Tx, tenant uuid.UUID, lo, hi int64) ([]int64, error) {
	rows, err := tx.Query(ctx, `WITH d AS (
			INSERT INTO pg_temp.diff (ord, seq, state, relink)
			SELECT `+diffRow+`
			FROM pg_temp.stage s LEFT JOIN LATERAL (
				SELECT seq, digest, links_digest FROM objects WHERE tenant_id = $1 AND id = s.id OFFSET 0) o ON true
			WHERE s.ord > $2 AND s.ord <= $3
			RETURNING ord, state)
		SELECT ord FROM d WHERE state <> 3 ORDER BY ord`, tenant, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("postgres: stage: %w", err)
	}
	ords, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("postgres: stage: %w", err)
	}
	return ords, nil
}

// dropAhead forgets what was diffed of the ords after from, which writes
// since made stale; the data not staged of those found unchanged is taken
// from the objects first.
func (x *syncTx) dropAhead(ctx context.Context, from int64) error {
	if err := x.wait(); err != nil {
		return err
	}
	if x.diffed <= from {
		return nil
	}
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO pg_temp.stage_data (ord, data) SELECT d.ord, o.data FROM pg_temp.diff d JOIN objects o ON o.seq = d.seq
		WHERE d.ord > $1 AND d.state = 3`, from)
	b.Queue(`DELETE FROM pg_temp.diff WHERE ord > $1`, from)
	if err := x.tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("postgres: apply: %w", err)
	}
	x.diffed = from
	return nil
}

// copyStage copies objs into the staging tables under ords, which stage
// the ords (lo, hi]; ahead, it diffs them and copies the data only of
// those that changed.
func copyStage(ctx context.Context, tx pgx.Tx, tenant uuid.UUID, lo, hi int64, objs []store.Object, ords []int64, ahead bool) error {
	// Ids go as [16]byte: see insertFresh.
	var orgs, secs [][]any
	for i, o := range objs {
		ord := ords[i]
		for _, org := range o.Orgs {
			orgs = append(orgs, []any{ord, [16]byte(org)})
		}
		for _, sec := range o.Sections {
			secs = append(secs, []any{ord, [16]byte(sec)})
		}
	}
	var dg, lg []byte
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"pg_temp", "stage"}, []string{"ord", "id", "kind", "subtype", "label", "digest", "links"},
		pgx.CopyFromSlice(len(objs), func(i int) ([]any, error) {
			o := &objs[i]
			// Encoded before the next row is asked for: one buffer each serves.
			dg, lg = digest(dg[:0], o), linksDigest(lg[:0], o)
			return []any{ords[i], [16]byte(o.ID), string(o.Kind), o.Subtype, o.Label, dg, lg}, nil
		})); err != nil {
		return fmt.Errorf("postgres: stage: %w", err)
	}
	if len(orgs) > 0 {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"pg_temp", "stage_orgs"}, []string{"ord", "org"}, pgx.CopyFromRows(orgs)); err != nil {
			return fmt.Errorf("postgres: stage: %w", err)
		}
	}
	if len(secs) > 0 {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"pg_temp", "stage_secs"}, []string{"ord", "sec"}, pgx.CopyFromRows(secs)); err != nil {
			return fmt.Errorf("postgres: stage: %w", err)
		}
	}
	need := ords // the ords whose data is copied, in order
	if ahead {
		var err error
		if need, err = diffAhead(ctx, tx, tenant, lo, hi); err != nil {
			return err
		}
	}
	if len(need) == 0 {
		return nil
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"pg_temp", "stage_data"}, []string{"ord", "data"},
		pgx.CopyFromSlice(len(need), func(i int) ([]any, error) {
			j, _ := slices.BinarySearch(ords, need[i])
			return []any{need[i], []byte(objs[j].Data)}, nil
		})); err != nil {
		return fmt.Errorf("postgres: stage: %w", err)
	}
	return nil
}

// Apply implements store.SyncTx. The staged objects are applied in rounds
// of distinct ids (one round unless an id was staged twice), each in a
// fixed number of statements: find the state of every staged object, read
// the new and changed ones back for changed in pages, then update, insert
// and relink with one statement each.
func (x *syncTx) Apply(ctx context.Context, changed func([]store.Change) error) (int, error) {
	if x.fresh {
		return x.applyFresh(ctx, changed)
	}
	n, err := x.applyStaged(ctx, changed)
	if err != nil {
		return 0, err
	}
	// The objects Stage found unchanged were never staged.
	n += x.skipped
	x.skipped = 0
	return n, nil
}

// applyStaged applies what the staging tables hold since the last Apply.
func (x *syncTx) applyStaged(ctx context.Context, changed func([]store.Change) error) (int, error) {
	if err := x.wait(); err != nil {
		return 0, err
	}
	lo, hi := x.applied, x.staged
	if x.rows == 0 {
		// Nothing staged since the last Apply, or all found unchanged.
		x.applied, x.diffed = hi, hi
		return 0, nil
	}
	x.rows = 0
	// The planner knows nothing of the temporary tables until analyzed.
	if _, err := x.tx.Exec(ctx, `ANALYZE pg_temp.stage; ANALYZE pg_temp.stage_orgs; ANALYZE pg_temp.stage_secs`); err != nil {
		return 0, fmt.Errorf("postgres: apply: %w", err)
	}
	bounds, err := x.rounds(ctx, lo, hi)
	if err != nil {
		return 0, err
	}
	if len(bounds) > 1 {
		// An id staged again: what was diffed of the rounds after the
		// first compared it with the roster before the first is applied.
		if err := x.dropAhead(ctx, bounds[1]); err != nil {
			return 0, err
		}
	}
	unchanged := 0
	for i, from := range bounds {
		to := hi
		if i+1 < len(bounds) {
			to = bounds[i+1]
		}
		n, err := x.applyRound(ctx, from, to, changed)
		if err != nil {
			return 0, err
		}
		unchanged += n
	}
	x.applied, x.diffed = hi, hi
	return unchanged, nil
}

// rounds splits the staged ords (lo, hi] into runs of distinct ids: it
// returns the ord each run starts after. An id staged again starts a new
// run at it, so that its second version sees the first as stored.
func (x *syncTx) rounds(ctx context.Context, lo, hi int64) ([]int64, error) {
	rows, err := x.tx.Query(ctx, `SELECT ord, id FROM pg_temp.stage WHERE ord > $1 AND ord <= $2 AND id IN (
			SELECT id FROM pg_temp.stage WHERE ord > $1 AND ord <= $2 GROUP BY id HAVING count(*) > 1)
		ORDER BY ord`, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("postgres: apply: %w", err)
	}
	var ord int64
	var id uuid.UUID
	return splitRounds(lo, rows, []any{&ord, &id}, func() (int64, uuid.UUID) { return ord, id })
}

// splitRounds walks the staged rows of ids staged more than once, in ord
// order, and starts a new round where an id repeats within the current one.
func splitRounds(lo int64, rows pgx.Rows, scans []any, row func() (int64, uuid.UUID)) ([]int64, error) {
	bounds := []int64{lo}
	seen := map[uuid.UUID]bool{}
	_, err := pgx.ForEachRow(rows, scans, func() error {
		ord, id := row()
		if seen[id] {
			bounds = append(bounds, ord-1)
			clear(seen)
		}
		seen[id] = true
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: apply: %w", err)
	}
	return bounds, nil
}

// applyRound applies the staged ords (lo, hi], whose ids are distinct.
func (x *syncTx) applyRound(ctx context.Context, lo, hi int64, changed func([]store.Change) error) (int, error) {
	// The state of each staged object from its digest, for what was not
	// diffed ahead, in one join: it reads the stored objects' ids, seqs and
	// digests, not their data.
	if from := max(lo, x.diffed); from < hi {
		if _, err := x.tx.Exec(ctx, `INSERT INTO pg_temp.diff (ord, seq, state, relink)
			SELECT `+diffRow+`
			FROM pg_temp.stage s LEFT JOIN objects o ON o.tenant_id = $1 AND o.id = s.id
			WHERE s.ord > $2 AND s.ord <= $3`, x.tenant, from, hi); err != nil {
			return 0, fmt.Errorf("postgres: apply: %w", err)
		}
		x.diffed = hi
	}
	var same, unknown int
	if err := x.tx.QueryRow(ctx, `SELECT count(*) FILTER (WHERE state = 3), count(*) FILTER (WHERE state = 0)
		FROM pg_temp.diff WHERE ord > $1 AND ord <= $2`, lo, hi).Scan(&same, &unknown); err != nil {
		return 0, fmt.Errorf("postgres: apply: %w", err)
	}
	if unknown > 0 {
		var nodigest int
		err := x.tx.QueryRow(ctx, `WITH d AS (
				UPDATE pg_temp.diff d SET state = CASE WHEN (o.kind, o.subtype, o.label, o.data) = (s.kind, s.subtype, s.label, sd.data) THEN 4 ELSE 2 END
				FROM pg_temp.stage s, pg_temp.stage_data sd, objects o
				WHERE d.ord > $1 AND d.ord <= $2 AND d.state = 0 AND s.ord = d.ord AND sd.ord = d.ord AND o.seq = d.seq
				RETURNING d.state)
			SELECT count(*) FILTER (WHERE state = 4) FROM d`, lo, hi).Scan(&nodigest)
		if err != nil {
			return 0, fmt.Errorf("postgres: apply: %w", err)
		}
		same += nodigest
	}
	if _, err := x.tx.Exec(ctx, `ANALYZE pg_temp.diff`); err != nil {
		return 0, fmt.Errorf("postgres: apply: %w", err)
	}
	// The changes, in pages (changed may enqueue on this connection, so
	// no result set stays open while it runs).
	for after := lo; ; {
		rows, err := x.tx.Query(ctx, `SELECT d.ord, s.id, s.kind, s.subtype, s.label, sd.data, d.state,
				COALESCE(o.kind, ''), COALESCE(o.subtype, ''), COALESCE(o.label, ''), o.data
			FROM pg_temp.diff d JOIN pg_temp.stage s ON s.ord = d.ord LEFT JOIN pg_temp.stage_data sd ON sd.ord = d.ord
				LEFT JOIN objects o ON d.state = 2 AND o.seq = d.seq
			WHERE d.ord > $1 AND d.ord <= $2 AND d.state IN (1, 2) ORDER BY d.ord LIMIT $3`, after, hi, changePage)
		if err != nil {
			return 0, fmt.Errorf("postgres: apply: %w", err)
		}
		var page []store.Change
		var ord int64
		var state int
		var c store.Change
		var kind, pkind, psub, plabel string
		var data, pdata []byte
		if _, err := pgx.ForEachRow(rows, []any{&ord, &c.Object.ID, &kind, &c.Object.Subtype, &c.Object.Label, &data, &state, &pkind, &psub, &plabel, &pdata}, func() error {
			if data == nil {
				// Only an object found unchanged is staged without its
				// data (diffAhead), and dropAhead restores it before a
				// diff could find it changed: a bug, and the sync fails
				// rather than store an object without it.
				return fmt.Errorf("staged object %s has no data", c.Object.ID)
			}
			ch := store.Change{Object: store.Object{ID: c.Object.ID, Kind: store.Kind(kind), Subtype: c.Object.Subtype, Label: c.Object.Label, Data: data}}
			if state == stateChanged {
				ch.Prior = &store.Object{ID: c.Object.ID, Kind: store.Kind(pkind), Subtype: psub, Label: plabel, Data: pdata}
			}
			page = append(page, ch)
			after = ord
			return nil
		}); err != nil {
			return 0, fmt.Errorf("postgres: apply: %w", err)
		}
		if len(page) > 0 {
			if err := changed(page); err != nil {
				return 0, err
			}
			// changed may have enqueued: its write may be in flight.
			if err := x.wait(); err != nil {
				return 0, err
			}
		}
		if len(page) < changePage {
			break
		}
	}
	b := &pgx.Batch{}
	b.Queue(`UPDATE objects o SET kind = s.kind, subtype = s.subtype, label = s.label, data = sd.data, digest = s.digest, links_digest = s.links
		FROM pg_temp.diff d JOIN pg_temp.stage s ON s.ord = d.ord JOIN pg_temp.stage_data sd ON sd.ord = d.ord
		WHERE d.ord > $1 AND d.ord <= $2 AND d.state = 2 AND o.seq = d.seq`, lo, hi)
	if unknown > 0 {
		b.Queue(`UPDATE objects o SET digest = s.digest FROM pg_temp.diff d JOIN pg_temp.stage s ON s.ord = d.ord
			WHERE d.ord > $1 AND d.ord <= $2 AND d.state = 4 AND o.seq = d.seq`, lo, hi)
	}
	// An unchanged object whose links differ (or were never digested)
	// gets its links' digest; the link statements below relink it.
	b.Queue(`UPDATE objects o SET links_digest = s.links FROM pg_temp.diff d JOIN pg_temp.stage s ON s.ord = d.ord
		WHERE d.ord > $1 AND d.ord <= $2 AND d.state IN (3, 4) AND d.relink AND o.seq = d.seq`, lo, hi)
	// New objects in staging order (their seqs follow it).
	b.Queue(`WITH ins AS (
			INSERT INTO objects (tenant_id, id, kind, subtype, label, data, digest, links_digest)
			SELECT $1, s.id, s.kind, s.subtype, s.label, sd.data, s.digest, s.links
			FROM pg_temp.diff d JOIN pg_temp.stage s ON s.ord = d.ord JOIN pg_temp.stage_data sd ON sd.ord = d.ord
			WHERE d.ord > $2 AND d.ord <= $3 AND d.state = 1 ORDER BY d.ord
			RETURNING id, seq)
		UPDATE pg_temp.diff d SET seq = ins.seq FROM ins JOIN pg_temp.stage s ON s.id = ins.id
		WHERE s.ord = d.ord AND d.ord > $2 AND d.ord <= $3`, x.tenant, lo, hi)
	// Links: a changed object's go (its kind or subtype, which they carry,
	// may be new), an unchanged object's go where no longer staged; then
	// every staged link is made where missing. An object whose links'
	// digest matches (as a rule, all of a reload's, and a changed export's
	// objects whose links and kind stay) is passed over: its links are what
	// was staged.
	for _, l := range []struct{ table, col, key, stage, stageCol string }{
		{"object_orgs", "object_seq", "org_id", "stage_orgs", "org"},
		{"person_sections", "person_seq", "section_id", "stage_secs", "sec"},
	} {
		b.Queue(`DELETE FROM `+l.table+` l USING pg_temp.diff d
			WHERE d.ord > $1 AND d.ord <= $2 AND d.state IN (2, 3, 4) AND d.relink AND l.`+l.col+` = d.seq AND (d.state = 2
				OR NOT EXISTS (SELECT 1 FROM pg_temp.`+l.stage+` x WHERE x.ord = d.ord AND x.`+l.stageCol+` = l.`+l.key+`))`, lo, hi)
	}
	// The links that exist already (all of an unchanged object's, as a
	// rule) are left out by one anti-join rather than found one by one by
	// ON CONFLICT, which stays for a link staged twice.
	b.Queue(`INSERT INTO object_orgs (tenant_id, org_id, object_seq, kind, subtype)
		SELECT $1, x.org, d.seq, s.kind, s.subtype
		FROM pg_temp.stage_orgs x JOIN pg_temp.diff d ON d.ord = x.ord JOIN pg_temp.stage s ON s.ord = x.ord
		WHERE x.ord > $2 AND x.ord <= $3 AND (d.state = 1 OR d.relink)
			AND NOT EXISTS (SELECT 1 FROM object_orgs l WHERE l.tenant_id = $1 AND l.org_id = x.org AND l.object_seq = d.seq)
		ON CONFLICT DO NOTHING`, x.tenant, lo, hi)
	b.Queue(`INSERT INTO person_sections (tenant_id, section_id, person_seq)
		SELECT $1, x.sec, d.seq FROM pg_temp.stage_secs x JOIN pg_temp.diff d ON d.ord = x.ord
		WHERE x.ord > $2 AND x.ord <= $3 AND (d.state = 1 OR d.relink)
			AND NOT EXISTS (SELECT 1 FROM person_sections l WHERE l.tenant_id = $1 AND l.section_id = x.sec AND l.person_seq = d.seq)
		ON CONFLICT DO NOTHING`, x.tenant, lo, hi)
	// Everything applied counts as put for RemoveUnput, which then needs
	// no index on the staging table's ids.
	b.Queue(`INSERT INTO pg_temp.put (seq) SELECT seq FROM pg_temp.diff WHERE ord > $1 AND ord <= $2 ON CONFLICT DO NOTHING`, lo, hi)
	if err := x.tx.SendBatch(ctx, b).Close(); err != nil {
		return 0, fmt.Errorf("postgres: apply: %w", err)
	}
	return same, nil
}
