package reference

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/interop-data/interop/pkg/reference/store"
)

// SyncOptions describe one sync.
type SyncOptions struct {
	// Origin of the sync_event tasks ("initial", "resend", ...); default "initial".
	Origin string
	// Driver the sync's tasks are addressed to; empty for every driver.
	Driver string
	// GroupID links the tasks of the sync; a random one when zero.
	GroupID uuid.UUID
	// Silent stores the objects without enqueueing any task (bulk seeding).
	Silent bool
}

// DefaultOrigin is the origin of a sync that names none.
const DefaultOrigin = "initial"

// MaxResultTasks bounds SyncResult.Tasks, so that a sync of a million
// objects does not hold a million tasks in memory to report them.
const MaxResultTasks = 1000

// SyncResult reports what a sync did.
type SyncResult struct {
	GroupID                            uuid.UUID
	Added, Changed, Deleted, Unchanged int
	// Enqueued counts the tasks enqueued: SYNC_START, the data events,
	// SYNC_END (none for a silent sync).
	Enqueued int
	// Tasks are the first MaxResultTasks of them, in sequence order.
	Tasks []store.Task
}

// SyncWriter is what the fill function of ApplySync writes a sync through.
// Calls reach the store inside the sync's transaction: upserts are staged
// in the engine in batches of a few thousand and applied as sets (before a
// Delete or DeleteAbsent, and at the end), so a sync of any size holds no
// more than small buffers of objects and tasks in memory and makes no round
// trip per object. An invalid object (store.CheckObject) is refused by the
// store when it is staged, so its error, like any error of the store, may
// surface at a later call or from ApplySync (either way nothing is kept).
// A SyncWriter is valid only during the fill function.
type SyncWriter interface {
	// Upsert stores obj: an ADD when it is new, a CHANGE carrying the prior
	// values of the attributes that differ when its Data differs from what
	// is stored, no event when it is equal. Its links (Orgs, Sections) are
	// replaced either way.
	Upsert(ctx context.Context, obj store.Object) error
	// Delete removes the object of this kind and id (any kind when kind is
	// empty): a DELETE carrying its last data when it was present, nothing
	// otherwise.
	Delete(ctx context.Context, kind store.Kind, id uuid.UUID) error
	// DeleteAbsent removes, each with a DELETE, every object of kind (and
	// subtype, when not empty) that this sync has not upserted so far: what
	// a OneRoster "bulk" file means for the kinds it holds.
	DeleteAbsent(ctx context.Context, kind store.Kind, subtype string) error
}

// flushEvery is how many data events a sync buffers before enqueueing them.
const flushEvery = 1024

// stageEvery is how many upserts a sync buffers before staging them in one
// SyncTx.Stage (one bulk copy on PostgreSQL).
const stageEvery = 2048

// deleteBatch is how many absent objects DeleteAbsent removes per store call.
const deleteBatch = 1000

// ApplySync runs one sync of tenant in a single store transaction: fill
// writes the objects through the SyncWriter, and the sync enqueues
// SYNC_START first, one data event per object that was added, changed or
// deleted, and SYNC_END last, all under one group id. Everything or nothing:
// when fill (or the store) returns an error, the roster and the queue are
// left exactly as they were and the error is returned.
func ApplySync(ctx context.Context, st store.Store, tenant uuid.UUID, now time.Time, opts SyncOptions, fill func(w SyncWriter) error) (SyncResult, error) {
	if opts.Origin == "" {
		opts.Origin = DefaultOrigin
	}
	if opts.GroupID == uuid.Nil {
		opts.GroupID = uuid.New()
	}
	var res SyncResult
	err := st.Sync(ctx, tenant, func(tx store.SyncTx) error {
		res = SyncResult{GroupID: opts.GroupID}
		w := &syncWriter{tx: tx, opts: opts, now: now, res: &res}
		// The background Stage uses tx: it ends before the sync does,
		// even when fill panics.
		defer w.drain()
		if !opts.Silent {
			w.pending = append(w.pending, SyncTask(ActionSyncStart, opts.GroupID, opts.Origin, opts.Driver))
		}
		err := fill(w)
		if werr := w.wait(); err == nil {
			err = werr
		}
		if err != nil {
			return err
		}
		if err := w.apply(ctx); err != nil {
			return err
		}
		if !opts.Silent {
			w.pending = append(w.pending, SyncTask(ActionSyncEnd, opts.GroupID, opts.Origin, opts.Driver))
		}
		return w.flush(ctx)
	})
	if err != nil {
		return SyncResult{}, err
	}
	return res, nil
}

type syncWriter struct {
	tx      store.SyncTx
	opts    SyncOptions
	now     time.Time
	res     *SyncResult
	pending []store.NewTask // events not yet enqueued
	buf     []store.Object  // upserts not yet staged
	staged  int             // upserts staged since the last Apply
	// A full buffer is staged on a goroutine of its own while the fill
	// function builds the next (inflight reports its end); every other
	// call into tx waits for it first.
	inflight chan staging
	spare    []store.Object // the buffer being staged, or the one to fill next
}

// staging is how a background Stage ended.
type staging struct {
	err   error
	panic any // re-raised on the sync's goroutine
}

func (w *syncWriter) event(ctx context.Context, t store.NewTask) error {
	if w.opts.Silent {
		return nil
	}
	w.pending = append(w.pending, t)
	if len(w.pending) >= flushEvery {
		return w.flush(ctx)
	}
	return nil
}

func (w *syncWriter) flush(ctx context.Context) error {
	if len(w.pending) == 0 {
		return nil
	}
	ts, err := w.tx.Enqueue(ctx, w.pending, w.now)
	if err != nil {
		return err
	}
	w.res.Enqueued += len(ts)
	if room := MaxResultTasks - len(w.res.Tasks); room > 0 {
		w.res.Tasks = append(w.res.Tasks, ts[:min(room, len(ts))]...)
	}
	w.pending = w.pending[:0]
	return nil
}

// Upsert leaves checking o to the store's Stage, which must (SyncTx.Stage):
// checking here as well read every object's JSON twice.
func (w *syncWriter) Upsert(ctx context.Context, o store.Object) error {
	w.buf = append(w.buf, o)
	if len(w.buf) < stageEvery {
		return nil
	}
	if err := w.wait(); err != nil {
		return err
	}
	// A store that keeps staged objects in memory asks to be applied
	// every so many (asked once the last Stage has ended: the limit may
	// change with what a Stage finds).
	if l, ok := w.tx.(store.StageLimiter); ok && l.StageLimit() > 0 && w.staged+len(w.buf) >= l.StageLimit() {
		return w.apply(ctx)
	}
	// Stage this buffer in the background and fill the other meanwhile:
	// the store's work and the caller's (a OneRoster load builds each
	// object from its own staging database) take a core each.
	batch, done := w.buf, make(chan staging, 1)
	w.buf, w.spare, w.inflight = w.spare[:0], batch, done
	w.staged += len(batch)
	go func() {
		var st staging
		defer func() {
			if p := recover(); p != nil {
				st = staging{panic: p}
			}
			done <- st
		}()
		st = staging{err: w.tx.Stage(ctx, batch)}
	}()
	return nil
}

// wait waits for the background Stage, if one runs, and returns its error
// (or raises its panic here).
func (w *syncWriter) wait() error {
	if w.inflight == nil {
		return nil
	}
	st := <-w.inflight
	w.inflight = nil
	clear(w.spare) // let the objects' data go
	if st.panic != nil {
		panic(st.panic)
	}
	return st.err
}

// drain waits for the background Stage, if one runs, and drops its
// outcome: the sync is ending another way (a panic of fill).
func (w *syncWriter) drain() {
	if w.inflight != nil {
		<-w.inflight
		w.inflight = nil
	}
}

// stage stages what is buffered, after the background Stage.
func (w *syncWriter) stage(ctx context.Context) error {
	if err := w.wait(); err != nil {
		return err
	}
	if len(w.buf) == 0 {
		return nil
	}
	if err := w.tx.Stage(ctx, w.buf); err != nil {
		return err
	}
	w.staged += len(w.buf)
	clear(w.buf)
	w.buf = w.buf[:0]
	return nil
}

// apply applies what was upserted so far and turns what each added or
// changed object replaced into its event, in order.
func (w *syncWriter) apply(ctx context.Context) error {
	if err := w.stage(ctx); err != nil {
		return err
	}
	if w.staged == 0 {
		return nil
	}
	unchanged, err := w.tx.Apply(ctx, func(chs []store.Change) error {
		for _, ch := range chs {
			if err := w.upserted(ctx, ch.Object, ch.Prior); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	w.res.Unchanged += unchanged
	w.staged = 0
	return nil
}

func (w *syncWriter) upserted(ctx context.Context, o store.Object, prior *store.Object) error {
	if prior == nil {
		w.res.Added++
		return w.event(ctx, DataTask(ActionAdd, o, o.Data, nil, w.opts.GroupID, w.opts.Driver))
	}
	changes, err := Changes(prior.Data, o.Data)
	if err != nil {
		return fmt.Errorf("%s %s: %w", o.Kind, o.ID, err)
	}
	if len(changes) == 0 {
		w.res.Unchanged++
		return nil
	}
	w.res.Changed++
	return w.event(ctx, DataTask(ActionChange, o, o.Data, changes, w.opts.GroupID, w.opts.Driver))
}

func (w *syncWriter) deleted(ctx context.Context, o store.Object) error {
	w.res.Deleted++
	return w.event(ctx, DataTask(ActionDelete, o, o.Data, nil, w.opts.GroupID, w.opts.Driver))
}

func (w *syncWriter) Delete(ctx context.Context, kind store.Kind, id uuid.UUID) error {
	if err := w.apply(ctx); err != nil {
		return err
	}
	o, err := w.tx.Remove(ctx, kind, id)
	if err != nil || o == nil {
		return err
	}
	return w.deleted(ctx, *o)
}

func (w *syncWriter) DeleteAbsent(ctx context.Context, kind store.Kind, subtype string) error {
	if err := w.apply(ctx); err != nil {
		return err
	}
	for {
		objs, err := w.tx.RemoveUnput(ctx, kind, subtype, deleteBatch)
		if err != nil {
			return err
		}
		for _, o := range objs {
			if err := w.deleted(ctx, o); err != nil {
				return err
			}
		}
		if len(objs) < deleteBatch {
			return nil
		}
	}
}
