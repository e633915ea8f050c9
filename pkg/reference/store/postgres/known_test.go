package postgres_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/interop-data/interop/pkg/reference/store"
	"github.com/interop-data/interop/pkg/reference/store/postgres"
	"github.com/interop-data/interop/pkg/reference/store/postgres/pgtest"
	"github.com/interop-data/interop/pkg/reference/store/storetest"
)

// Once the roster is known, an object staged as stored (memberships as
// well as served kinds) stages no row; one that differs stages its own.
func TestSyncKnownStagesWhatDiffers(t *testing.T) {
	ctx := context.Background()
	s := open(t, pgtest.Schema(t), postgres.WithRosterReadAfter(0))
	defer s.Close()
	tn := storetest.NewTenant(t, s, "known")
	x := storetest.Person(store.SubtypeStudent, "x")
	m := store.Object{ID: uuid.New(), Kind: store.KindPersonSectionMembership, Label: "m", Data: []byte(`{"sourcedId":"m"}`), Orgs: x.Orgs}
	objs := []store.Object{x, m}
	storetest.StageApply(t, s, tn.ID, objs...)
	for _, tc := range []struct {
		name string
		objs []store.Object
		rows int64
	}{
		{"as stored", objs, 0},
		{"a membership changed", []store.Object{x, {ID: m.ID, Kind: m.Kind, Label: "m2", Data: m.Data}}, 1},
	} {
		var rows int64
		err := s.Sync(ctx, tn.ID, func(tx store.SyncTx) error {
			if err := tx.Stage(ctx, tc.objs); err != nil {
				return err
			}
			rows = postgres.StagedRows(tx)
			return nil
		})
		if err != nil || rows != tc.rows {
			t.Errorf("%s: %d rows staged, %v; want %d", tc.name, rows, err, tc.rows)
		}
	}
}

// A sync that reads the roster after it staged and removed objects.
func TestSyncReadMidSync(t *testing.T) {
	s := open(t, pgtest.Schema(t), postgres.WithRosterReadAfter(2))
	defer s.Close()
	storetest.ReadMidSync(t, s)
}
