package sqlite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/interop-data/interop/pkg/reference/store"
	"github.com/interop-data/interop/pkg/reference/store/storetest"
)

// renamed is objs with every person's first name (label and data) changed
// to "r<n>": the same ids, kind and subtype.
func renamed(objs []store.Object) []store.Object {
	out := make([]store.Object, len(objs))
	for i, o := range objs {
		if o.Kind == store.KindPerson {
			o.Label = fmt.Sprint("r", i)
			o.Data, _ = json.Marshal(map[string]any{"$sys": map[string]any{"id": o.ID, "type": "Person", "person_type": o.Subtype, "label": o.Label},
				"name": map[string]any{"first": o.Label}})
		}
		out[i] = o
	}
	return out
}

// names is what readers see of the tenant's persons: the labels of a list
// and of each person found by id, with the first name in its data, all
// prefixed the same ("s" before a rename, "r" after) or "mixed".
func names(t *testing.T, s *Store, tenant uuid.UUID, objs []store.Object) string {
	t.Helper()
	ctx := context.Background()
	seen := map[string]bool{}
	list, _, err := s.ListObjects(ctx, store.ObjectQuery{Tenants: []uuid.UUID{tenant}, Kind: store.KindPerson, Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	school := objs[0].ID
	byOrg, _, err := s.ListObjects(ctx, store.ObjectQuery{Tenants: []uuid.UUID{tenant}, Kind: store.KindPerson, Org: &school, Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs[1:] {
		f, err := s.FindObject(ctx, []uuid.UUID{tenant}, store.KindPerson, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		list = append(list, f)
	}
	for _, o := range append(list, byOrg...) {
		var d struct {
			Name struct{ First string } `json:"name"`
		}
		if err := json.Unmarshal(o.Data, &d); err != nil {
			t.Fatal(err)
		}
		seen[o.Label[:1]], seen[d.Name.First[:1]] = true, true
	}
	if len(seen) != 1 {
		return "mixed"
	}
	for k := range seen {
		return k
	}
	return ""
}

// openTest opens the store at path for the test, closed at its end.
func openTest(t *testing.T, path string, opts ...Option) *Store {
	t.Helper()
	s, err := Open(context.Background(), path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// pending counts the tenant's objects with next values.
func pending(t *testing.T, s *Store, tenant uuid.UUID) int {
	t.Helper()
	var n int
	if err := s.r.QueryRowContext(context.Background(), `SELECT count(*) FROM objects WHERE tenant_id = ? AND next_ver IS NOT NULL`, tenant.String()).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A changed export's new values are written aside in slices before the
// sync commits: readers see none of them until the commit, then all of
// them, and they are folded in after it.
func TestChangesAsideUntilCommit(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "aside.db")
	server := openTest(t, path)
	tenant := storetest.NewTenant(t, server, "district")
	objs := district(100)
	var aside int
	var during []string
	loader := openTest(t, path, withSlices(10, func(int) error {
		if n := pending(t, server, tenant.ID); n > 0 {
			aside = max(aside, n)
			during = append(during, names(t, server, tenant.ID, objs))
		}
		return nil
	}))
	if err := load(ctx, loader, tenant.ID, objs, nil); err != nil {
		t.Fatal(err)
	}
	if aside != 0 || names(t, server, tenant.ID, objs) != "s" {
		t.Fatalf("after the first load: %d objects aside, names %q; want none and s", aside, names(t, server, tenant.ID, objs))
	}
	if err := load(ctx, loader, tenant.ID, renamed(objs), nil); err != nil {
		t.Fatal(err)
	}
	if aside != 100 {
		t.Errorf("the rename wrote %d objects aside before its commit, want the 100 persons", aside)
	}
	for _, v := range during {
		if v != "s" {
			t.Errorf("while the rename wrote aside, readers saw names %q, want s alone", v)
		}
	}
	if v, n := names(t, server, tenant.ID, objs), pending(t, server, tenant.ID); v != "r" || n != 0 {
		t.Errorf("after the rename readers see names %q, %d objects aside; want r alone and none", v, n)
	}
	// A reload of the same export finds every object unchanged: the
	// folded values are the renamed ones.
	var res []int
	if err := loader.Sync(ctx, tenant.ID, func(tx store.SyncTx) error {
		if err := tx.Stage(ctx, renamed(objs)); err != nil {
			return err
		}
		same, err := tx.Apply(ctx, func([]store.Change) error { return nil })
		res = append(res, same)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0] != len(objs) {
		t.Errorf("a reload of the renamed export: unchanged %v, want %d", res, len(objs))
	}
}

// A sync that fails after writing aside takes its values back; one whose
// process dies leaves them invisible, and the sweep of its claim takes
// them back before the roster version moves.
func TestChangesAsideOfAFailedSyncAreTakenBack(t *testing.T) {
	ctx := context.Background()
	boom := errors.New("boom")
	for _, how := range []string{"fails", "dies"} {
		t.Run(how, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "aside.db")
			server := openTest(t, path)
			tenant := storetest.NewTenant(t, server, "district")
			objs := district(100)
			first, err := Open(ctx, path, withSlices(10, nil))
			if err != nil {
				t.Fatal(err)
			}
			if err := load(ctx, first, tenant.ID, objs, nil); err != nil {
				t.Fatal(err)
			}
			first.Close()
			var aside int
			loader, err := Open(ctx, path, withSlices(10, func(int) error {
				// A slice's error ends the sync as a failure would;
				// errAbandon as its process's death would.
				if aside = pending(t, server, tenant.ID); aside < 50 {
					return nil
				}
				if how == "dies" {
					return errAbandon
				}
				return boom
			}), withClaimStale(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			defer loader.Close()
			err = load(ctx, loader, tenant.ID, renamed(objs), nil)
			if how == "fails" && !errors.Is(err, boom) || how == "dies" && !errors.Is(err, errAbandon) {
				t.Fatalf("the rename: %v, want it to end with %s", err, how)
			}
			if aside < 50 {
				t.Fatalf("the rename wrote %d objects aside before it ended, want at least 50", aside)
			}
			if v := names(t, server, tenant.ID, objs); v != "s" {
				t.Errorf("after the rename %s readers see names %q, want s alone", how, v)
			}
			want := 0
			if how == "dies" {
				want = aside // a dead process's, until its claim goes stale
			}
			if n := pending(t, server, tenant.ID); n != want {
				t.Errorf("after the rename %s, %d objects aside, want %d", how, n, want)
			}
			if how == "dies" {
				// Open's sweep, once the claim is stale.
				swept, err := Open(ctx, path, withClaimStale(time.Nanosecond))
				if err != nil {
					t.Fatal(err)
				}
				swept.Close()
				if v, n := names(t, server, tenant.ID, objs), pending(t, server, tenant.ID); v != "s" || n != 0 {
					t.Errorf("after the sweep readers see names %q, %d objects aside; want s alone and none", v, n)
				}
			}
			// The next sync renames them for good.
			if err := load(ctx, server, tenant.ID, renamed(objs), nil); err != nil {
				t.Fatal(err)
			}
			if v := names(t, server, tenant.ID, objs); v != "r" {
				t.Errorf("after the next rename readers see names %q, want r alone", v)
			}
		})
	}
}

// Values committed but not yet folded (the process died right after its
// commit) are what readers see, and the tenant's next sync folds them
// before it diffs.
func TestCommittedChangesAsideAreFoldedByTheNextSync(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, filepath.Join(t.TempDir(), "aside.db"))
	tenant := storetest.NewTenant(t, s, "district")
	objs := district(5)
	if err := load(ctx, s, tenant.ID, objs, nil); err != nil {
		t.Fatal(err)
	}
	next := renamed(objs)
	for _, o := range next[1:] {
		if _, err := s.w.ExecContext(ctx, `UPDATE objects SET next_label = ?, next_data = ?,
			next_ver = (SELECT roster_version FROM tenants WHERE id = ?) WHERE id = ?`, o.Label, []byte(o.Data), tenant.ID.String(), o.ID.String()); err != nil {
			t.Fatal(err)
		}
	}
	if v := names(t, s, tenant.ID, objs); v != "r" {
		t.Fatalf("committed values aside: readers see names %q, want r alone", v)
	}
	var unchanged int
	if err := s.Sync(ctx, tenant.ID, func(tx store.SyncTx) error {
		if err := tx.Stage(ctx, next); err != nil {
			return err
		}
		var err error
		unchanged, err = tx.Apply(ctx, func([]store.Change) error { return nil })
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if unchanged != len(next) || pending(t, s, tenant.ID) != 0 {
		t.Errorf("the next sync of the renamed objects found %d unchanged with %d aside left, want %d and none", unchanged, pending(t, s, tenant.ID), len(next))
	}
	var labels string
	if err := s.r.QueryRowContext(ctx, `SELECT group_concat(substr(label, 1, 1), '') FROM objects WHERE tenant_id = ? AND kind = ?`, tenant.ID.String(), string(store.KindPerson)).Scan(&labels); err != nil {
		t.Fatal(err)
	}
	if labels != strings.Repeat("r", 5) {
		t.Errorf("the stored labels after the fold: %q, want rrrrr", labels)
	}
}
