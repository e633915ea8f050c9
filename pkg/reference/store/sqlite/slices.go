package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/google/uuid"

	"github.com/interop-data/interop/internal/ctxsleep"
)

// A sync planned on a snapshot writes its plan holding the write lock. A
// plan of many new objects (a district's first load: every object, link and
// event is new) would hold it for seconds, and every other tenant's token
// request, lease and acknowledgement would wait that long (docs/ONEROSTER.md).
// Such a plan is written in slices instead, each its own short write
// transaction, and kept from readers until the sync commits:
//
//   - A first short transaction claims the tenant (tenants.sync_claim): it
//     sets hide_seq and hide_pos to the next objects seq and tasks pos the
//     file will hand out (AUTOINCREMENT never hands out one lower), and
//     every read of the tenant's objects, links and tasks skips rows at or
//     past them (visible). Seqs and positions are in every index of those
//     tables, so the test costs no row lookups.
//   - Slices insert the new objects, their links and the sync's events,
//     sliceRows at a time, in staging and sequence order.
//   - The last transaction writes the rest of the plan (changes, removals,
//     the links of objects already stored: few, in a nightly reload) and
//     lifts the claim: the whole sync becomes visible at once.
//
// The tenant's other writers wait while it is claimed: another sync (which
// would diff against rows it cannot tell from committed ones) and Enqueue
// (whose task would get a position among the sync's but a sequence after
// them). Other tenants never wait for more than one slice. A sync that fails
// deletes what its slices wrote; one whose process died leaves hidden rows
// and a claim whose sync_beat stops advancing: after claimStale the next
// writer of the tenant, or the next Open, deletes them.
//
// Applying in slices rather than making the final apply short: the final
// transaction of a first load must insert every object, link and event the
// export holds, and no ordering of the work makes that short; writing those
// rows early and keeping them hidden is what makes the last step small.

// defaultSliceRows is how many new objects, or events, the first slice
// writes (300-700 ms of the write lock at 20,000 users on a 2-core
// machine; see docs/PERFORMANCE.md); a plan with no more new objects and
// events than minSliceRows is written in one transaction. Each commit
// costs the load far more than its rows (it rewrites the index pages its
// slice touched, and the page cache is lost to other writers between
// slices): 2,000-row slices took a 20k-user first load 2.4 times main's
// CPU, 8,000-row ones the same as main.
const defaultSliceRows = 8000

// minSliceRows is the least a slice shrinks to on a slow machine.
const minSliceRows = 2000

// sliceTarget is how long a slice should hold the write lock: the rows of
// the next slice are scaled from the last one's to take about this long.
// Each commit writes the pages its slice dirtied (most of the leaves of
// the random-keyed id indexes, in a large load), so slices much smaller
// than this cost a load most of its speed; much larger, and the other
// tenants' requests wait longer. At 400 ms a 100,000-user first load kept
// another tenant waiting up to 1.44 s (a slice that ran long, beside a
// checkpoint); at 250 ms, 632 ms, and the load took no longer (2 min 56 s
// and 2 min 37 s, one run each, docs/PERFORMANCE.md).
const sliceTarget = 250 * time.Millisecond

// withSlices sets the rows of every slice (none scaled) and a hook run
// after each slice commits (tests only: small slices show what large loads
// do).
func withSlices(rows int, hook func(slice int) error) Option {
	return func(c *config) { c.sliceRows, c.sliceHook, c.sliceTarget = rows, hook, 0 }
}

// asideSlice is how many rows the first slice of changed objects written
// aside (pending.go) writes: with slices sized by time, the least, doubling
// from there while they stay quick. An aside update costs several times a
// new object's insert (at 100,000 users a first aside slice of 8,000 held
// the lock 779-927 ms); new objects keep the default start, since smaller
// slices at a small district's start cost its first load a quarter more
// (20,000 users: 19-24 s against 16-19 s, each slice rewriting most of the
// id index's leaves it touched); set sizes (tests) are kept.
func (s *Store) asideSlice() int {
	if s.sliceTarget > 0 {
		return min(s.sliceRows, minSliceRows)
	}
	return s.sliceRows
}

// nextSlice scales rows, the last slice's, by how long it held the lock
// against the target (none: rows stays), between minSliceRows and four
// times the default.
func nextSlice(rows int, took, target time.Duration) int {
	if target <= 0 || took <= 0 {
		return rows
	}
	n := int(float64(rows) * float64(target) / float64(took))
	// Grow by at most twice at a time: a slice that ran alone may have
	// been quicker than the next will be beside other writers.
	return max(minSliceRows, min(n, 2*rows, 4*defaultSliceRows))
}

// withClaimStale sets how long a claim may go without a slice before it
// is taken for a dead sync's (tests only).
func withClaimStale(d time.Duration) Option { return func(c *config) { c.claimStale = d } }

// noHide is hide_seq and hide_pos when no sync is writing the tenant.
const noHide = math.MaxInt64

// defaultClaimStale is how long a claim may go without a slice before it
// is taken for the claim of a dead process.
const defaultClaimStale = time.Minute

// claimPoll is how often a writer waiting for a claimed tenant looks again.
const claimPoll = 20 * time.Millisecond

// errClaimLost says that the sync's claim was lifted under it (the tenant
// was reset, or its claim was taken for a dead one's).
var errClaimLost = errors.New("sqlite: sync: the tenant was reset or its sync taken for dead while it ran")

// errAbandon, returned by a slice hook, ends the sync as the death of its
// process would: without deleting what its slices wrote (tests only).
var errAbandon = errors.New("sqlite: sync abandoned")

// visible is the condition, and its argument, that keeps the rows of a
// sync not yet committed out of a read: col is an objects seq (hideCol
// hide_seq) or a tasks pos (hide_pos), tenantCol the row's tenant column.
// For one tenant the bound is read once (an uncorrelated subquery); for
// several, per row.
func visible(col, hideCol, tenantCol string, tenants []uuid.UUID) (string, []any) {
	if len(tenants) == 1 {
		return ` AND ` + col + ` < (SELECT ` + hideCol + ` FROM tenants WHERE id = ?)`, []any{tenants[0].String()}
	}
	return ` AND ` + col + ` < (SELECT ` + hideCol + ` FROM tenants WHERE id = ` + tenantCol + `)`, nil
}

// settleClaim looks at tenant's claim inside the write transaction tx: it
// reports busy when a live sync holds it. A claim left by a dead sync is
// lifted, and what that sync wrote deleted, in tx.
func (s *Store) settleClaim(ctx context.Context, tx *sql.Tx, tenant uuid.UUID) (busy bool, err error) {
	var claim string
	var beat, hideSeq, hidePos int64
	err = tx.QueryRowContext(ctx, `SELECT sync_claim, sync_beat, hide_seq, hide_pos FROM tenants WHERE id = ?`, tenant.String()).Scan(&claim, &beat, &hideSeq, &hidePos)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && claim == "") {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("sqlite: sync claim: %w", err)
	}
	if time.Since(time.Unix(0, beat)) < s.claimStale {
		return true, nil
	}
	return false, dropHidden(ctx, tx, tenant, hideSeq, hidePos, -1)
}

// dropHidden deletes up to limit (all if negative) of the objects and tasks
// of tenant a claim hides (the links go with their objects), and lifts the
// claim once none is left. It bumps the roster version, so that a sync
// that planned beside the hidden rows plans again.
func dropHidden(ctx context.Context, tx *sql.Tx, tenant uuid.UUID, hideSeq, hidePos int64, limit int) error {
	t := tenant.String()
	// Before the version moves on, which would make them visible.
	left, err := clearPending(ctx, tx, tenant, limit)
	if err != nil {
		return fmt.Errorf("sqlite: drop a dead sync's rows: %w", err)
	}
	for _, q := range []struct {
		sql   string
		bound int64
	}{
		{`DELETE FROM objects WHERE seq IN (SELECT seq FROM objects WHERE seq >= ? AND tenant_id = ? LIMIT ?)`, hideSeq},
		{`DELETE FROM tasks WHERE pos IN (SELECT pos FROM tasks WHERE pos >= ? AND tenant_id = ? LIMIT ?)`, hidePos},
	} {
		r, err := tx.ExecContext(ctx, q.sql, q.bound, t, limit)
		if err != nil {
			return fmt.Errorf("sqlite: drop a dead sync's rows: %w", err)
		}
		n, _ := r.RowsAffected()
		left += n
	}
	if limit >= 0 && left > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE tenants SET hide_seq = ?, hide_pos = ?, sync_claim = '', sync_beat = 0,
		roster_version = roster_version + 1 WHERE id = ?`, int64(noHide), int64(noHide), t); err != nil {
		return fmt.Errorf("sqlite: drop a dead sync's rows: %w", err)
	}
	return nil
}

// dropClaim deletes what the sync claimed tenant with claim wrote, sliceRows
// objects and tasks per write transaction (begun by begin), and lifts the
// claim. A claim no longer the sync's (lifted by a reset, or by a writer
// that took it for dead) is left alone.
func dropClaim(ctx context.Context, begin func(context.Context) (*sql.Tx, error), tenant uuid.UUID, claim string, sliceRows int) error {
	for {
		gone := false
		err := inTx(ctx, begin, func(tx *sql.Tx) error {
			var hideSeq, hidePos int64
			err := tx.QueryRowContext(ctx, `SELECT hide_seq, hide_pos FROM tenants WHERE id = ? AND sync_claim = ?`, tenant.String(), claim).Scan(&hideSeq, &hidePos)
			if errors.Is(err, sql.ErrNoRows) {
				gone = true
				return nil
			}
			if err != nil {
				return err
			}
			return dropHidden(ctx, tx, tenant, hideSeq, hidePos, sliceRows)
		})
		if err != nil || gone {
			return err
		}
	}
}

// dropDeadClaims is Open's sweep: the claims whose sync has not written a
// slice for claimStale are lifted, and what their syncs wrote deleted.
func (s *Store) dropDeadClaims(ctx context.Context) error {
	rows, err := s.w.QueryContext(ctx, `SELECT id, sync_claim FROM tenants WHERE sync_claim != '' AND sync_beat < ?`,
		time.Now().Add(-s.claimStale).UnixNano())
	if err != nil {
		return fmt.Errorf("sqlite: open: %w", err)
	}
	type dead struct {
		tenant uuid.UUID
		claim  string
	}
	var all []dead
	for rows.Next() {
		var d dead
		if err := rows.Scan(&d.tenant, &d.claim); err != nil {
			rows.Close()
			return fmt.Errorf("sqlite: open: %w", err)
		}
		all = append(all, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlite: open: %w", err)
	}
	for _, d := range all {
		if err := dropClaim(ctx, func(ctx context.Context) (*sql.Tx, error) { return s.w.BeginTx(ctx, nil) }, d.tenant, d.claim, s.sliceRows); err != nil {
			return err
		}
	}
	return nil
}

// awaitClaim waits, between write transactions, for a claimed tenant.
func awaitClaim(ctx context.Context) error { return ctxsleep.Sleep(ctx, claimPoll) }

// slicesPay reports whether the plan holds enough new objects, changed
// objects that keep their kind and subtype (written aside, pending.go) and
// events to be written in slices: more than a slice's least rows. A reload that
// changes a few thousand objects has as many events, which would otherwise
// share the last transaction with the objects' updates (a 5% change of a
// 20,000-user district, 7,650 objects and events, held the lock up to 1.3-
// 2.8 s in one transaction; its events are now written before it, hidden).
func (x *syncTx) slicesPay(ctx context.Context) (bool, error) {
	var n int
	if err := x.tx.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM temp.diff WHERE state IN (1, 5)) + (SELECT count(*) FROM temp.plan_tasks)`).Scan(&n); err != nil {
		return false, fmt.Errorf("sqlite: sync: %w", err)
	}
	return n > min(x.s.sliceRows, minSliceRows), nil
}

// The statements of a slice of new objects, the staged ords (?2, ?3]. A
// new object a slice wrote gets state 4 in diff, its seq set, so that the
// plan's last transaction (writePlan) leaves it and its links alone.
var sliceObjects = []string{
	`INSERT INTO main.objects (tenant_id, id, kind, subtype, label, data)
		SELECT ?1, s.id, s.kind, s.subtype, s.label, s.data FROM temp.diff d JOIN temp.stage s ON s.ord = d.ord
		WHERE d.state = 1 AND d.ord > ?2 AND d.ord <= ?3 ORDER BY d.ord`,
	`UPDATE OR FAIL temp.diff SET state = 4, seq = (SELECT o.seq FROM temp.stage s JOIN main.objects o ON o.tenant_id = ?1 AND o.id = s.id WHERE s.ord = diff.ord)
		WHERE state = 1 AND ord > ?2 AND ord <= ?3`,
	`INSERT OR IGNORE INTO main.object_orgs (tenant_id, org_id, object_seq, kind, subtype)
		SELECT ?1, x.org, d.seq, s.kind, s.subtype FROM temp.diff d JOIN temp.stage_orgs x ON x.ord = d.ord JOIN temp.stage s ON s.ord = d.ord
		WHERE d.state = 4 AND d.ord > ?2 AND d.ord <= ?3`,
	`INSERT OR IGNORE INTO main.person_sections (tenant_id, section_id, person_seq)
		SELECT ?1, x.sec, d.seq FROM temp.diff d JOIN temp.stage_secs x ON x.ord = d.ord
		WHERE d.state = 4 AND d.ord > ?2 AND d.ord <= ?3`,
}

// writeSlices writes the plan's new objects and its events in slices. It
// is called holding the write lock in x.tx, the tenant checked unchanged
// and unclaimed; it commits that transaction with the claim, and returns
// with x.tx a new one, the claim still the sync's.
func (x *syncTx) writeSlices(ctx context.Context) error {
	tenant := x.tenant.String()
	claim := uuid.NewString()
	if _, err := x.tx.ExecContext(ctx, `UPDATE tenants SET
			hide_seq = COALESCE((SELECT seq FROM main.sqlite_sequence WHERE name = 'objects'), 0) + 1,
			hide_pos = COALESCE((SELECT seq FROM main.sqlite_sequence WHERE name = 'tasks'), 0) + 1,
			sync_claim = ?, sync_beat = ? WHERE id = ?`, claim, time.Now().UnixNano(), tenant); err != nil {
		return fmt.Errorf("sqlite: sync: claim: %w", err)
	}
	if err := x.tx.Commit(); err != nil {
		x.tx = nil
		return fmt.Errorf("sqlite: sync: claim: %w", err)
	}
	x.tx, x.claim = nil, claim
	// New objects, sliceRows at a time in staging order.
	if err := x.slicesOf(ctx, stateNew, x.s.sliceRows, func(tx *sql.Tx, lo, hi int64) error {
		for _, q := range sliceObjects {
			if _, err := tx.ExecContext(ctx, q, tenant, lo, hi); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	// Events, in sequence order; the counter moves in the last transaction.
	var first, last sql.NullInt64
	if err := x.conn.QueryRowContext(ctx, `SELECT min(sequence), max(sequence) FROM temp.plan_tasks`).Scan(&first, &last); err != nil {
		return fmt.Errorf("sqlite: sync: %w", err)
	}
	sliceRows := x.s.sliceRows
	for lo := first.Int64 - 1; last.Valid && lo < last.Int64; {
		hi := lo + int64(sliceRows)
		took, err := x.slice(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO main.tasks (id, tenant_id, sequence, kind, driver, created_at, payload)
				SELECT id, ?1, sequence, kind, driver, created_at, payload FROM temp.plan_tasks
				WHERE sequence > ?2 AND sequence <= ?3 ORDER BY sequence`, tenant, lo, hi)
			return err
		})
		if err != nil {
			return err
		}
		lo, sliceRows = hi, nextSlice(sliceRows, took, x.s.sliceTarget)
	}
	if _, err := x.conn.ExecContext(ctx, `DELETE FROM temp.plan_tasks`); err != nil {
		return fmt.Errorf("sqlite: sync: %w", err)
	}
	// Changed objects' new values, aside (pending.go).
	if x.final {
		x.aside = true
		if err := x.writeAside(ctx); err != nil {
			return err
		}
	}
	tx, err := x.claimed(ctx)
	if err != nil {
		return err
	}
	x.tx = tx
	if last.Valid {
		if _, err := tx.ExecContext(ctx, `UPDATE tenants SET last_sequence = ? WHERE id = ?`, last.Int64, tenant); err != nil {
			return fmt.Errorf("sqlite: sync: %w", err)
		}
	}
	return nil
}

// slicesOf writes the staged objects of diff state state in slices, in
// staging order, the first of sliceRows rows: write writes the ords
// (lo, hi] in each slice's transaction, and the rows of the next slice are
// scaled from how long the last one held the lock.
func (x *syncTx) slicesOf(ctx context.Context, state, sliceRows int, write func(tx *sql.Tx, lo, hi int64) error) error {
	for lo := int64(0); ; {
		var hi sql.NullInt64
		if err := x.conn.QueryRowContext(ctx, `SELECT max(ord) FROM (SELECT ord FROM temp.diff WHERE state = ? AND ord > ? ORDER BY ord LIMIT ?)`, state, lo, sliceRows).Scan(&hi); err != nil {
			return fmt.Errorf("sqlite: sync: %w", err)
		}
		if !hi.Valid {
			return nil
		}
		took, err := x.slice(ctx, func(tx *sql.Tx) error { return write(tx, lo, hi.Int64) })
		if err != nil {
			return err
		}
		lo, sliceRows = hi.Int64, nextSlice(sliceRows, took, x.s.sliceTarget)
	}
}

// claimed begins a write transaction and checks that the sync still holds
// its claim, marking it alive.
func (x *syncTx) claimed(ctx context.Context) (*sql.Tx, error) {
	tx, err := x.conn.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("sqlite: begin: %w", err)
	}
	r, err := tx.ExecContext(ctx, `UPDATE tenants SET sync_beat = ? WHERE id = ? AND sync_claim = ?`, time.Now().UnixNano(), x.tenant.String(), x.claim)
	var n int64
	if err == nil {
		n, err = r.RowsAffected()
	}
	if err == nil && n != 1 {
		err = errClaimLost
	}
	if err != nil {
		_ = tx.Rollback()
		if errors.Is(err, errClaimLost) {
			x.claim = "" // nothing of the sync's is left to delete
			return nil, err
		}
		return nil, fmt.Errorf("sqlite: sync: %w", err)
	}
	return tx, nil
}

// slice runs fn in a write transaction of its own, the claim checked, and
// returns how long it held the write lock.
func (x *syncTx) slice(ctx context.Context, fn func(tx *sql.Tx) error) (time.Duration, error) {
	tx, err := x.claimed(ctx)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return 0, fmt.Errorf("sqlite: sync: slice: %w", err)
	}
	if d := x.s.sliceHold - time.Since(start); d > 0 {
		time.Sleep(d)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("sqlite: sync: slice: %w", err)
	}
	took := time.Since(start)
	x.slices++
	if err := x.s.pause(ctx, took); err != nil {
		return 0, err
	}
	if h := x.s.sliceHook; h != nil {
		if err := h(x.slices); err != nil {
			if errors.Is(err, errAbandon) {
				x.abandoned = true
			}
			return 0, err
		}
	}
	return took, nil
}

// withSliceHold makes every slice hold the write lock for at least d, as a
// large load's do (tests only).
func withSliceHold(d time.Duration) Option { return func(c *config) { c.sliceHold = d } }

// withSliceHook sets a hook run after each slice commits, the slices'
// sizes left as they are (tests only).
func withSliceHook(hook func(slice int) error) Option {
	return func(c *config) { c.sliceHook = hook }
}
