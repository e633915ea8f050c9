package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/interop-data/interop/pkg/reference/store"
)

// A sync of a tenant whose roster is empty when it starts (a district's
// first load, or the first after a reset) can be "fresh": nothing it stages
// can be stored already, unless it staged the same id before. Such a sync
// skips the staging tables, the diff and the plan: Stage keeps the objects
// in memory, the store asks to be applied every slice's worth of them
// (store.StageLimiter), and each Apply passes them to changed as new and
// writes them, their links and the events enqueued so far straight into
// the roster and the queue, in hidden slices under the tenant's claim
// (slices.go). The staging tables cost a first load of 20,000 users about
// a third of its CPU: every object written to them, indexed, diffed, read
// back for its event and copied again.
//
// The sync becomes fresh at its first Apply of at least freshMin objects,
// with nothing but Stage called before it: it then takes the claim, checking
// under the write lock that the tenant is still as the snapshot saw it
// (errStale otherwise, and the sync runs again holding the lock) and still
// empty. Until then it is a candidate (freshOK), and anything else (Put,
// Remove, Enqueue, a smaller Apply) turns it into an ordinary sync, the
// objects kept so far staged in the tables.
//
// A fresh sync that meets an id it wrote already (staged again, or twice
// in one Apply), or a call that needs the roster as changed (Put, PutAll,
// Remove), leaves the fresh path for the rest of the sync: it takes the
// write lock, keeping the claim, and goes on as a sync holding the lock
// does, the objects not yet written staged in the tables, where an id seen
// before is a change.

// freshMin is the least an Apply must hold to start the fresh path; smaller
// syncs gain nothing from it (and tests with smaller slices take it sooner).
const freshMin = 2048

// pendingTask is a task a fresh sync enqueued and has not yet written.
type pendingTask struct {
	t       store.Task
	created int64
}

// StageLimit implements store.StageLimiter: a fresh sync (or a candidate)
// keeps staged objects in memory and writes each Apply's in slices, so it
// asks to be applied every slice's worth; any other sync applies once, as
// late as possible.
func (x *syncTx) StageLimit() int {
	if x.freshOK || x.fresh {
		return x.chunk
	}
	return 0
}

// stageFresh keeps objs in memory (they were checked).
func (x *syncTx) stageFresh(objs []store.Object) {
	x.pending = append(x.pending, objs...)
	x.staged += int64(len(objs))
}

// unfresh ends a candidacy: the objects kept so far go to the staging
// tables, and the sync goes on as any other.
func (x *syncTx) unfresh(ctx context.Context) error {
	if !x.freshOK {
		return nil
	}
	x.freshOK = false
	pending := x.pending
	x.pending = nil
	if len(pending) == 0 {
		return nil
	}
	if err := x.stageTemp(ctx, pending, x.staged-int64(len(pending))); err != nil {
		return fmt.Errorf("sqlite: stage: %w", err)
	}
	return nil
}

// leaveFresh ends the fresh path of a fresh sync: it takes the write lock
// (the claim stays the sync's until it commits), writes the tasks enqueued
// so far and the task counter, records what the sync wrote as put (for
// RemoveUnput), and stages the objects not yet written in the tables.
func (x *syncTx) leaveFresh(ctx context.Context) error {
	if !x.fresh {
		return nil
	}
	tx, err := x.claimed(ctx)
	if err != nil {
		return err
	}
	x.tx, x.fresh, x.written = tx, false, nil
	if err := x.tempFile(ctx); err != nil {
		return err
	}
	if err := x.writeTasks(ctx, tx, len(x.tasks)); err != nil {
		return err
	}
	tenant := x.tenant.String()
	if _, err := tx.ExecContext(ctx, `UPDATE tenants SET last_sequence = ? WHERE id = ?`, x.lastSeq+x.plannedTasks, tenant); err != nil {
		return fmt.Errorf("sqlite: sync: %w", err)
	}
	if err := x.markWritten(ctx, tx); err != nil {
		return err
	}
	st, err := prepareSync(ctx, tx)
	if err != nil {
		return err
	}
	x.st = st
	pending := x.pending
	x.pending = nil
	if len(pending) > 0 {
		if err := x.stageTemp(ctx, pending, x.applied); err != nil {
			return fmt.Errorf("sqlite: stage: %w", err)
		}
	}
	return nil
}

// endFresh is the fresh sync's last step before its commit: it takes the
// write lock and writes the tasks not yet written (in slices first when
// they are many) and the task counter.
func (x *syncTx) endFresh(ctx context.Context) error {
	for len(x.tasks) > x.chunk {
		took, err := x.freshSlice(ctx, func(tx *sql.Tx) error { return x.writeTasks(ctx, tx, x.chunk) })
		if err != nil {
			return err
		}
		x.chunk = nextSlice(x.chunk, took, x.s.sliceTarget)
	}
	tx, err := x.claimed(ctx)
	if err != nil {
		return err
	}
	x.tx, x.fresh, x.written, x.pending = tx, false, nil, nil
	if err := x.writeTasks(ctx, tx, len(x.tasks)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE tenants SET last_sequence = ? WHERE id = ?`, x.lastSeq+x.plannedTasks, x.tenant.String()); err != nil {
		return fmt.Errorf("sqlite: sync: %w", err)
	}
	return nil
}

// startFresh takes the tenant's claim for a fresh sync, if the tenant is
// still as the snapshot saw it (errStale otherwise).
func (x *syncTx) startFresh(ctx context.Context) error {
	x.snapshot = false
	if _, err := x.conn.ExecContext(ctx, `COMMIT`); err != nil {
		return fmt.Errorf("sqlite: sync: %w", err)
	}
	tenant := x.tenant.String()
	claim := uuid.NewString()
	stale := false
	err := inTx(ctx, func(ctx context.Context) (*sql.Tx, error) { return x.conn.BeginTx(ctx, nil) }, func(tx *sql.Tx) error {
		busy, err := x.s.settleClaim(ctx, tx, x.tenant)
		if err != nil {
			return err
		}
		var version, last int64
		var empty bool
		if err := tx.QueryRowContext(ctx, `SELECT roster_version, last_sequence, NOT EXISTS (SELECT 1 FROM objects WHERE tenant_id = ?1)
				FROM tenants WHERE id = ?1`, tenant).Scan(&version, &last, &empty); err != nil {
			return fmt.Errorf("sqlite: sync: %w", err)
		}
		// The snapshot saw the roster empty and unclaimed: a roster no
		// longer so was written meanwhile, and the version says so too.
		if busy || version != x.version || last != x.lastSeq || !empty {
			stale = true
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE tenants SET
				hide_seq = COALESCE((SELECT seq FROM main.sqlite_sequence WHERE name = 'objects'), 0) + 1,
				hide_pos = COALESCE((SELECT seq FROM main.sqlite_sequence WHERE name = 'tasks'), 0) + 1,
				sync_claim = ?, sync_beat = ? WHERE id = ?`, claim, time.Now().UnixNano(), tenant); err != nil {
			return fmt.Errorf("sqlite: sync: claim: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if stale {
		return errStale
	}
	x.claim, x.fresh, x.written = claim, true, map[uuid.UUID]struct{}{}
	if os.Getenv("HX_TEMPFILE") == "" {
		if _, err := x.conn.ExecContext(ctx, `PRAGMA temp_store = MEMORY`); err != nil {
			return fmt.Errorf("sqlite: sync: %w", err)
		}
		x.tempMem = true
	}
	return nil
}

// tempFile puts the connection's temporary files back in a file and makes
// the staging tables again (changing temp_store drops them).
func (x *syncTx) tempFile(ctx context.Context) error {
	if !x.tempMem {
		return nil
	}
	x.tempMem = false
	if _, err := x.conn.ExecContext(ctx, `PRAGMA temp_store = FILE; `+stageTables); err != nil {
		return fmt.Errorf("sqlite: sync: %w", err)
	}
	return nil
}

// applyFresh is Apply of a fresh sync or a candidate. It reports done
// false when the sync left the fresh path, for Apply to go on the usual
// way with what is staged.
func (x *syncTx) applyFresh(ctx context.Context, changed func([]store.Change) error) (done bool, err error) {
	if x.freshOK {
		if len(x.pending) < min(freshMin, x.s.sliceRows) {
			return false, x.unfresh(ctx)
		}
		x.freshOK = false
		if err := x.startFresh(ctx); err != nil {
			return false, err
		}
	}
	for len(x.pending) > 0 {
		// A remainder of less than a quarter slice goes with this one
		// rather than paying a commit of its own.
		n := len(x.pending)
		if n > x.chunk+x.chunk/4 {
			n = x.chunk
		}
		chunk := x.pending[:n]
		if !x.allNew(chunk) {
			return false, x.leaveFresh(ctx)
		}
		// The chunk is this Apply's from here: a call of changed that
		// leaves the fresh path stages only the objects after it.
		x.pending = x.pending[len(chunk):]
		x.applied += int64(len(chunk))
		chs := make([]store.Change, len(chunk))
		for i := range chunk {
			o := &chunk[i]
			chs[i] = store.Change{Object: store.Object{ID: o.ID, Kind: o.Kind, Subtype: o.Subtype, Label: o.Label, Data: o.Data}}
		}
		if err := changed(chs); err != nil {
			return false, err
		}
		if x.tx != nil {
			// changed left the fresh path (a Put, say): the chunk is
			// written under the lock now held, and counts as put.
			if err := x.writeObjects(ctx, x.tx, chunk); err != nil {
				return false, fmt.Errorf("sqlite: apply: %w", err)
			}
			if err := x.markWritten(ctx, x.tx); err != nil {
				return false, err
			}
			return false, nil
		}
		took, err := x.freshSlice(ctx, func(tx *sql.Tx) error {
			if err := x.writeObjects(ctx, tx, chunk); err != nil {
				return err
			}
			return x.writeTasks(ctx, tx, len(x.tasks))
		})
		if err != nil {
			return false, err
		}
		for _, o := range chunk {
			x.written[o.ID] = struct{}{}
		}
		clear(chunk) // let the objects' data go
		x.chunk = nextSlice(x.chunk, took, x.s.sliceTarget)
	}
	x.pending = nil
	return true, nil
}

// markWritten records what the fresh sync wrote (every hidden object of
// the tenant) as put, for RemoveUnput once the sync left the fresh path.
func (x *syncTx) markWritten(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO sync_put (seq) SELECT seq FROM objects
			WHERE tenant_id = ?1 AND seq >= (SELECT hide_seq FROM tenants WHERE id = ?1)`, x.tenant.String()); err != nil {
		return fmt.Errorf("sqlite: sync: %w", err)
	}
	return nil
}

// allNew reports whether every id of chunk is new to the sync: none twice
// in it, none written before.
func (x *syncTx) allNew(chunk []store.Object) bool {
	seen := make(map[uuid.UUID]struct{}, len(chunk))
	for _, o := range chunk {
		if _, dup := x.written[o.ID]; dup {
			return false
		}
		if _, dup := seen[o.ID]; dup {
			return false
		}
		seen[o.ID] = struct{}{}
	}
	return true
}

// writeObjects inserts objs, none stored, with their links, under seqs
// drawn in staging order after every seq the table has handed out.
func (x *syncTx) writeObjects(ctx context.Context, tx *sql.Tx, objs []store.Object) error {
	var base int64
	if err := tx.QueryRowContext(ctx, `SELECT max(COALESCE((SELECT seq FROM main.sqlite_sequence WHERE name = 'objects'), 0),
			COALESCE((SELECT max(seq) FROM main.objects), 0))`).Scan(&base); err != nil {
		return err
	}
	tenant := x.tenant.String()
	objRows := make([]any, 0, 7*len(objs))
	var orgRows, secRows []any
	for i := range objs {
		o := &objs[i]
		seq := base + int64(i) + 1
		objRows = append(objRows, seq, tenant, o.ID.String(), string(o.Kind), o.Subtype, o.Label, []byte(o.Data))
		for j, org := range o.Orgs {
			if !slices.Contains(o.Orgs[:j], org) {
				orgRows = append(orgRows, tenant, org.String(), seq, string(o.Kind), o.Subtype)
			}
		}
		for j, sec := range o.Sections {
			if !slices.Contains(o.Sections[:j], sec) {
				secRows = append(secRows, tenant, sec.String(), seq)
			}
		}
	}
	for _, t := range []struct {
		into string
		cols int
		args []any
	}{
		{`main.objects (seq, tenant_id, id, kind, subtype, label, data)`, 7, objRows},
		{`main.object_orgs (tenant_id, org_id, object_seq, kind, subtype)`, 5, orgRows},
		{`main.person_sections (tenant_id, section_id, person_seq)`, 3, secRows},
	} {
		if err := insertRowsAs(ctx, tx, freshInsert, t.into, t.cols, t.args); err != nil {
			return err
		}
	}
	return nil
}

// writeTasks inserts the first n tasks not yet written.
func (x *syncTx) writeTasks(ctx context.Context, tx *sql.Tx, n int) error {
	if n == 0 {
		return nil
	}
	tenant := x.tenant.String()
	args := make([]any, 0, 7*n)
	for _, p := range x.tasks[:n] {
		t := &p.t
		args = append(args, t.ID.String(), tenant, t.Sequence, string(t.Kind), t.Driver, p.created, []byte(t.Payload))
	}
	if err := insertRowsAs(ctx, tx, freshInsert, `main.tasks (id, tenant_id, sequence, kind, driver, created_at, payload)`, 7, args); err != nil {
		return err
	}
	clear(x.tasks[:n])
	x.tasks = x.tasks[n:]
	if len(x.tasks) == 0 {
		x.tasks = nil
	}
	return nil
}

// enqueueFresh is Enqueue of a fresh sync: the tasks are numbered after
// the counter the claim was taken with and those enqueued before, and
// written with the next slice.
func (x *syncTx) enqueueFresh(tasks []store.NewTask, now time.Time) ([]store.Task, error) {
	if len(tasks) == 0 {
		return nil, nil
	}
	if err := store.CheckNewTasks(tasks); err != nil {
		return nil, err
	}
	out := make([]store.Task, len(tasks))
	created := store.UnixNanos(now)
	for i, nt := range tasks {
		payload := nt.Payload
		if len(payload) == 0 {
			payload = []byte("{}")
		}
		x.plannedTasks++
		// Time-ordered ids, as planEnqueue's.
		t := store.Task{ID: uuid.Must(uuid.NewV7()), TenantID: x.tenant, Sequence: x.lastSeq + x.plannedTasks, Kind: nt.Kind,
			Driver: nt.Driver, CreatedAt: time.Unix(0, now.UnixNano()).UTC(), Payload: payload}
		x.tasks = append(x.tasks, pendingTask{t: t, created: created})
		out[i] = t
	}
	return out, nil
}

// freshInsert heads a fresh slice's inserts. A conflict cannot happen (the
// ids were checked, the seqs drawn past every one handed out) and would
// fail the sync anyway; ROLLBACK rather than the default ABORT, and the
// foreign keys off during the slice (freshSlice), spare SQLite the
// statement journal that a statement able to fail halfway keeps: every
// page a statement changes, copied to a temporary file first (half of
// what a 20,000-user first load wrote, with ABORT).
const freshInsert = "INSERT OR ROLLBACK INTO "

// freshSlice is slice with the foreign keys off: a fresh slice inserts
// objects of the claimed tenant, links to the objects it inserts and
// tasks of the tenant, so there is nothing for them to check, and each
// check would cost a lookup and a statement journal. They are on again
// for everything else the connection does (dropClaim relies on their
// cascades).
func (x *syncTx) freshSlice(ctx context.Context, fn func(tx *sql.Tx) error) (time.Duration, error) {
	if _, err := x.conn.ExecContext(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
		return 0, fmt.Errorf("sqlite: sync: %w", err)
	}
	took, err := x.slice(ctx, fn)
	if _, err2 := x.conn.ExecContext(context.Background(), `PRAGMA foreign_keys = ON`); err2 != nil && err == nil {
		err = fmt.Errorf("sqlite: sync: %w", err2)
	}
	return took, err
}
