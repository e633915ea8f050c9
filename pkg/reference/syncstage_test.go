package reference_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/interop-data/interop/pkg/reference"
	"github.com/interop-data/interop/pkg/reference/store"
	"github.com/interop-data/interop/pkg/reference/store/storetest"
)

// stageProbe wraps a store's SyncTx: it reports a call into the SyncTx
// while a Stage runs, and lets a test hold the first Stage.
type stageProbe struct {
	store.Store
	t       *testing.T
	hold    func(batch int) // called in each Stage before the store's
	staging atomic.Bool
	stages  atomic.Int32
	ended   atomic.Bool // the store's Sync has returned (or panicked)
}

func (p *stageProbe) Sync(ctx context.Context, tenant uuid.UUID, fn func(store.SyncTx) error) error {
	defer p.ended.Store(true)
	return p.Store.Sync(ctx, tenant, func(tx store.SyncTx) error { return fn(&probeTx{SyncTx: tx, p: p}) })
}

type probeTx struct {
	store.SyncTx
	p *stageProbe
}

func (x *probeTx) alone(call string) {
	if x.p.staging.Load() {
		x.p.t.Errorf("%s called while a Stage runs", call)
	}
}

func (x *probeTx) Stage(ctx context.Context, objs []store.Object) error {
	if x.p.staging.Swap(true) {
		x.p.t.Error("two Stages at once")
	}
	defer x.p.staging.Store(false)
	n := int(x.p.stages.Add(1))
	if x.p.hold != nil {
		x.p.hold(n)
	}
	err := x.SyncTx.Stage(ctx, objs)
	if x.p.ended.Load() {
		x.p.t.Error("a Stage ran on after the sync ended")
	}
	return err
}

func (x *probeTx) Apply(ctx context.Context, changed func([]store.Change) error) (int, error) {
	x.alone("Apply")
	return x.SyncTx.Apply(ctx, changed)
}

func (x *probeTx) Remove(ctx context.Context, kind store.Kind, id uuid.UUID) (*store.Object, error) {
	x.alone("Remove")
	return x.SyncTx.Remove(ctx, kind, id)
}

func (x *probeTx) RemoveUnput(ctx context.Context, kind store.Kind, subtype string, limit int) ([]store.Object, error) {
	x.alone("RemoveUnput")
	return x.SyncTx.RemoveUnput(ctx, kind, subtype, limit)
}

func (x *probeTx) Enqueue(ctx context.Context, tasks []store.NewTask, now time.Time) ([]store.Task, error) {
	x.alone("Enqueue")
	return x.SyncTx.Enqueue(ctx, tasks, now)
}

// A full batch of upserts is staged while the fill function goes on
// building the next one, and nothing else reaches the store meanwhile.
func TestApplySyncStagesWhileFilling(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		tn := storetest.NewTenant(t, st, "pipeline")
		old := storetest.Person(store.SubtypeStudent, "Old")
		if _, err := reference.ApplySync(ctx, st, tn.ID, syncT0, reference.SyncOptions{}, upserts(old)); err != nil {
			t.Fatal(err)
		}
		// The first Stage waits until the fill has upserted all but one of
		// the next batch: a Stage that ran inside Upsert would wait forever.
		filled := make(chan struct{})
		p := &stageProbe{Store: st, t: t, hold: func(batch int) {
			if batch != 1 {
				return
			}
			select {
			case <-filled:
			case <-time.After(20 * time.Second):
				t.Error("the first Stage held the fill function up: it did not go on building the next batch")
			}
		}}
		var objs []store.Object
		for i := range 5000 {
			objs = append(objs, storetest.Person(store.SubtypeStudent, fmt.Sprint(i)))
		}
		res, err := reference.ApplySync(ctx, p, tn.ID, syncT0, reference.SyncOptions{}, func(w reference.SyncWriter) error {
			for i, o := range objs {
				if err := w.Upsert(ctx, o); err != nil {
					return err
				}
				if i == 2*2048-2 {
					close(filled)
				}
			}
			return w.DeleteAbsent(ctx, store.KindPerson, "")
		})
		if err != nil {
			t.Fatal(err)
		}
		if res.Added != len(objs) || res.Deleted != 1 || p.stages.Load() < 3 {
			t.Fatalf("added %d, deleted %d in %d Stages; want %d added, 1 deleted, at least 3 Stages", res.Added, res.Deleted, p.stages.Load(), len(objs))
		}
		evs := events(t, queue(t, st, tn.ID))
		evs = evs[len(evs)-len(objs)-3:] // this sync's: SYNC_START, the ADDs in upsert order, the DELETE, SYNC_END
		for i, o := range objs {
			if e := evs[1+i]; e.Action != reference.ActionAdd || e.ObjectID != o.ID.String() {
				t.Fatalf("event %d: %s %s, want ADD %s", 1+i, e.Action, e.ObjectID, o.ID)
			}
		}
		if got := actions([]event{evs[0], evs[len(evs)-2], evs[len(evs)-1]}); got != "[SYNC_START DELETE SYNC_END]" {
			t.Fatalf("the sync's first and last events: %s", got)
		}
	})
}

// A Stage that fails in the background fails the sync, whichever call
// sees it, and nothing is kept; a panic in it is raised on the sync's
// goroutine.
func TestApplySyncBackgroundStageFails(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		tn := storetest.NewTenant(t, st, "pipeline-error")
		before := queue(t, st, tn.ID)
		for _, bad := range []int{0, 2047, 2048, 4500} {
			objs := make([]store.Object, 0, 5000)
			for i := range 5000 {
				o := storetest.Person(store.SubtypeStudent, fmt.Sprint(i))
				if i == bad {
					o.Data = []byte(`[`)
				}
				objs = append(objs, o)
			}
			if _, err := reference.ApplySync(ctx, st, tn.ID, syncT0, reference.SyncOptions{}, upserts(objs...)); !errors.Is(err, store.ErrInvalid) {
				t.Fatalf("bad object at %d: err = %v, want ErrInvalid", bad, err)
			}
			if after := queue(t, st, tn.ID); len(after) != len(before) {
				t.Fatalf("bad object at %d: the queue went from %d to %d tasks", bad, len(before), len(after))
			}
			if _, err := st.FindObject(ctx, []uuid.UUID{tn.ID}, store.KindPerson, objs[len(objs)-1].ID); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("bad object at %d: an upserted object stayed: %v", bad, err)
			}
		}

		boom := errors.New("boom")
		p := &stageProbe{Store: st, t: t, hold: func(batch int) {
			if batch == 1 {
				panic(boom)
			}
		}}
		var objs []store.Object
		for i := range 3000 {
			objs = append(objs, storetest.Person(store.SubtypeStudent, fmt.Sprint(i)))
		}
		func() {
			defer func() {
				if r := recover(); r != boom {
					t.Fatalf("recovered %v, want the Stage's panic", r)
				}
			}()
			_, _ = reference.ApplySync(ctx, p, tn.ID, syncT0, reference.SyncOptions{}, upserts(objs...))
		}()
		// The fill function panics while a Stage runs: the sync waits for
		// the Stage before it ends.
		p = &stageProbe{Store: st, t: t, hold: func(int) { time.Sleep(100 * time.Millisecond) }}
		func() {
			defer func() {
				if r := recover(); r != boom {
					t.Fatalf("recovered %v, want the fill function's panic", r)
				}
			}()
			_, _ = reference.ApplySync(ctx, p, tn.ID, syncT0, reference.SyncOptions{}, func(w reference.SyncWriter) error {
				if err := upserts(objs[:2048]...)(w); err != nil {
					return err
				}
				panic(boom)
			})
		}()
		if p.stages.Load() != 1 {
			t.Fatalf("%d Stages, want the one the panic left running", p.stages.Load())
		}
		if _, err := reference.ApplySync(ctx, st, tn.ID, syncT0, reference.SyncOptions{}, upserts(objs[0])); err != nil {
			t.Fatalf("a sync after the panics: %v", err)
		}
	})
}

// A sync whose context is cancelled while a Stage runs in the background
// fails, keeps nothing, and leaves the store able to sync again.
func TestApplySyncCancelledWhileStaging(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		tn := storetest.NewTenant(t, st, "pipeline-cancel")
		before := queue(t, st, tn.ID)
		var objs []store.Object
		for i := range 5000 {
			objs = append(objs, storetest.Person(store.SubtypeStudent, fmt.Sprint(i)))
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		p := &stageProbe{Store: st, t: t, hold: func(batch int) {
			if batch == 1 {
				cancel() // the fill goes on; this Stage and everything after see the cancellation
			}
		}}
		_, err := reference.ApplySync(ctx, p, tn.ID, syncT0, reference.SyncOptions{}, func(w reference.SyncWriter) error {
			for _, o := range objs {
				if err := w.Upsert(ctx, o); err != nil {
					return err
				}
			}
			return nil
		})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if after := queue(t, st, tn.ID); len(after) != len(before) {
			t.Fatalf("the queue went from %d to %d tasks", len(before), len(after))
		}
		if _, err := st.FindObject(context.Background(), []uuid.UUID{tn.ID}, store.KindPerson, objs[0].ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("an upserted object stayed: %v", err)
		}
		res, err := reference.ApplySync(context.Background(), st, tn.ID, syncT0, reference.SyncOptions{}, upserts(objs...))
		if err != nil || res.Added != len(objs) {
			t.Fatalf("the next sync: added %d, err %v; want %d added", res.Added, err, len(objs))
		}
	})
}
