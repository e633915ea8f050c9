package postgres

import (
	"context"
	"fmt"
	"slices"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/interop-data/interop/pkg/reference/store"
)

// A sync of a tenant whose roster is empty when it starts (a district's
// first load, or the first after a reset) is "fresh": nothing it stages can
// be stored already, unless it staged or put the same id before. Such a
// sync skips the staging tables: Stage keeps the objects in memory, and
// Apply copies them straight into objects and the link tables, with seqs
// drawn beforehand, and passes them all to changed as new; no diff, no
// read-back. A chunk holding an id already stored (staged or put earlier
// in the sync), or one id twice, goes through the staging tables like any
// other sync, where it is a change.

// freshChunk is how many objects a fresh sync copies per step: what it asks
// the caller to stage between Applies (store.StageLimiter), and the size of
// the steps of an Apply of more.
const freshChunk = 4096

// StageLimit implements store.StageLimiter: a fresh sync keeps what is
// staged in memory until Apply, so it asks to be applied every freshChunk
// objects; any other applies once, as late as possible (one diff of the
// whole export against the roster).
func (x *syncTx) StageLimit() int {
	if x.fresh {
		return freshChunk
	}
	return 0
}

// wrote records, in a fresh sync, that objs are stored.
func (x *syncTx) wrote(objs []store.Object) {
	if !x.fresh {
		return
	}
	for i := range objs {
		x.written.add(objs[i].ID)
	}
}

// applyFresh applies the objects staged in memory, a chunk at a time.
func (x *syncTx) applyFresh(ctx context.Context, changed func([]store.Change) error) (int, error) {
	unchanged := 0
	for len(x.pending) > 0 {
		n := min(len(x.pending), freshChunk)
		chunk := x.pending[:n]
		ok, err := x.insertFresh(ctx, chunk, changed)
		if err != nil {
			return 0, err
		}
		if !ok {
			x.wrote(chunk)
			if err := x.copyStage(ctx, chunk); err != nil {
				return 0, err
			}
			u, err := x.applyStaged(ctx, changed)
			if err != nil {
				return 0, err
			}
			unchanged += u
			clear(chunk) // let the objects' data go
		}
		x.pending = x.pending[n:]
	}
	x.pending = nil
	return unchanged, nil
}

// insertFresh passes objs, none of them stored, to changed as new, and
// copies them with their links in the background (async). It returns
// false, having written nothing, when an id repeats in objs or is stored
// already.
func (x *syncTx) insertFresh(ctx context.Context, objs []store.Object, changed func([]store.Change) error) (bool, error) {
	seen := make(map[uuid.UUID]struct{}, len(objs))
	var ids [][16]byte // those the sync may have written (x.written)
	for _, o := range objs {
		if _, dup := seen[o.ID]; dup {
			return false, nil
		}
		seen[o.ID] = struct{}{}
		if x.written.mayHave(o.ID) {
			ids = append(ids, [16]byte(o.ID))
		}
	}
	// An id stored already (staged or put earlier in this sync: the sync
	// holds the tenant, so nothing else adds to it meanwhile) sends the
	// chunk the staging way; only the ids the filter of the sync's writes
	// may hold are looked up. Asked beforehand rather than learnt from the
	// copy's unique violation: that would need a savepoint per chunk, and
	// thousands of subtransactions in one transaction overflow every
	// backend's subtransaction cache, slowing other sessions' snapshots
	// for as long as the load runs. The seqs are drawn in the same round
	// trip (after the writes in flight, which may hold earlier chunks'
	// ids), and handed out in
	// staging order (the list order), so that the links can be copied
	// beside the objects without reading anything back; a chunk that goes
	// the staging way leaves a gap in the seqs, which only order.
	if err := x.wait(); err != nil {
		return false, err
	}
	var stored bool
	var seqs []int64
	if err := x.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM objects WHERE tenant_id = $1 AND id = ANY($2)),
			ARRAY(SELECT nextval(pg_get_serial_sequence('objects', 'seq')) FROM generate_series(1, $3))`,
		x.tenant, ids, len(objs)).Scan(&stored, &seqs); err != nil {
		return false, fmt.Errorf("postgres: apply: %w", err)
	}
	if stored {
		return false, nil
	}
	x.wrote(objs)
	// Every object of the chunk is new: changed hears of them before they
	// are written, as Apply promises.
	chs := make([]store.Change, len(objs))
	for i := range objs {
		o := &objs[i]
		chs[i] = store.Change{Object: store.Object{ID: o.ID, Kind: o.Kind, Subtype: o.Subtype, Label: o.Label, Data: o.Data}}
	}
	if err := changed(chs); err != nil {
		return false, err
	}
	slices.Sort(seqs)
	tx := x.tx
	tenant := [16]byte(x.tenant)
	if err := x.async(ctx, func(ctx context.Context) error {
		defer clear(objs) // let the objects' data go
		return copyFresh(ctx, tx, tenant, seqs, objs)
	}); err != nil {
		return false, err
	}
	return true, nil
}

// copyFresh copies objs, new, into objects under seqs (in their order), and
// their links.
func copyFresh(ctx context.Context, tx pgx.Tx, tenant [16]byte, seqs []int64, objs []store.Object) error {
	var dg, lg []byte
	// uuid.UUID is a driver.Valuer, which pgx encodes through its text
	// (a string and a parse per value, a third of the COPY's client CPU);
	// the bytes go as they are.
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"objects"}, []string{"seq", "tenant_id", "id", "kind", "subtype", "label", "data", "digest", "links_digest"},
		pgx.CopyFromSlice(len(objs), func(i int) ([]any, error) {
			o := &objs[i]
			// Encoded before the next row is asked for: one buffer each serves.
			dg, lg = digest(dg[:0], o), linksDigest(lg[:0], o)
			return []any{seqs[i], tenant, [16]byte(o.ID), string(o.Kind), o.Subtype, o.Label, []byte(o.Data), dg, lg}, nil
		}))
	if err != nil {
		return fmt.Errorf("postgres: apply: %w", err)
	}
	// Links, each once per object (Apply's insert skips a repeated one).
	var orgs, secs [][]any
	for i := range objs {
		o := &objs[i]
		for j, org := range o.Orgs {
			if !slices.Contains(o.Orgs[:j], org) {
				orgs = append(orgs, []any{tenant, [16]byte(org), seqs[i], string(o.Kind), o.Subtype})
			}
		}
		for j, sec := range o.Sections {
			if !slices.Contains(o.Sections[:j], sec) {
				secs = append(secs, []any{tenant, [16]byte(sec), seqs[i]})
			}
		}
	}
	if len(orgs) > 0 {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"object_orgs"}, []string{"tenant_id", "org_id", "object_seq", "kind", "subtype"}, pgx.CopyFromRows(orgs)); err != nil {
			return fmt.Errorf("postgres: apply: %w", err)
		}
	}
	if len(secs) > 0 {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"person_sections"}, []string{"tenant_id", "section_id", "person_seq"}, pgx.CopyFromRows(secs)); err != nil {
			return fmt.Errorf("postgres: apply: %w", err)
		}
	}
	return nil
}
