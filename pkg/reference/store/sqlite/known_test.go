package sqlite_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/interop-data/interop/pkg/reference/store"
	"github.com/interop-data/interop/pkg/reference/store/sqlite"
	"github.com/interop-data/interop/pkg/reference/store/storetest"
)

// A sync that reads the roster after it staged and removed objects.
func TestSyncReadMidSync(t *testing.T) {
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "known.db"), sqlite.WithRosterReadAfter(2))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	storetest.ReadMidSync(t, s)
}

// Once the roster is known, an object staged as it is stored stages no
// row, however its links are listed, and one that differs in anything that
// is stored stages its own: the sums made in SQL of what is stored and in
// Go of what is staged agree exactly.
func TestSyncKnownStagesWhatDiffers(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "known.db"), sqlite.WithRosterReadAfter(0))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tn := storetest.NewTenant(t, s, "known")
	a, b := storetest.Org(store.SubtypeSchool, "a"), storetest.Org(store.SubtypeSchool, "b")
	sec := uuid.New()
	x := storetest.Person(store.SubtypeStudent, "x", a.ID, b.ID)
	x.Sections = []uuid.UUID{sec}
	m := store.Object{ID: uuid.New(), Kind: store.KindPersonSectionMembership, Label: "m", Data: []byte(`{"sourcedId":"m"}`)}
	storetest.StageApply(t, s, tn.ID, a, b, x, m)
	with := func(f func(o *store.Object)) store.Object {
		o := x
		o.Orgs, o.Sections = slices.Clone(x.Orgs), slices.Clone(x.Sections)
		f(&o)
		return o
	}
	for _, tc := range []struct {
		name string
		x    store.Object
		rows int64
	}{
		{"as stored", x, 0},
		{"orgs in another order, one twice", with(func(o *store.Object) { o.Orgs = []uuid.UUID{b.ID, a.ID, b.ID} }), 0},
		{"orgs listed nine times over", with(func(o *store.Object) {
			for range 8 {
				o.Orgs = append(o.Orgs, b.ID, a.ID)
			}
		}), 0},
		{"an org fewer", with(func(o *store.Object) { o.Orgs = o.Orgs[:1] }), 1},
		{"the org as a section", with(func(o *store.Object) { o.Orgs, o.Sections = []uuid.UUID{a.ID, b.ID, sec}, nil }), 1},
		{"no section", with(func(o *store.Object) { o.Sections = nil }), 1},
		{"relabeled", with(func(o *store.Object) { o.Label = "x2" }), 1},
		{"other data", with(func(o *store.Object) { o.Data = append(slices.Clone(o.Data[:len(o.Data)-1]), ' ', '}') }), 1},
		{"another subtype", with(func(o *store.Object) { o.Subtype = store.SubtypeTeacher }), 1},
	} {
		var rows int64
		err := s.Sync(ctx, tn.ID, func(tx store.SyncTx) error {
			if err := tx.Stage(ctx, []store.Object{a, b, tc.x, m}); err != nil {
				return err
			}
			var err error
			rows, err = sqlite.StagedRows(ctx, tx)
			return err
		})
		if err != nil || rows != tc.rows {
			t.Errorf("%s: %d rows staged, %v; want %d", tc.name, rows, err, tc.rows)
		}
	}
}
