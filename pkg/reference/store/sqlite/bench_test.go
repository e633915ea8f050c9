package sqlite_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/google/uuid"

	"github.com/interop-data/interop/pkg/reference/store"
	"github.com/interop-data/interop/pkg/reference/store/sqlite"
	"github.com/interop-data/interop/pkg/reference/store/storetest"
)

// BenchmarkListObjects reads one page of 2000 persons out of 100,000, at the
// front of the list and at its end, plainly and under an org: the store's
// share of a paging walk, and what a deep OFFSET costs.
func BenchmarkListObjects(b *testing.B) {
	if testing.Short() {
		b.Skip("the 100,000-person setup is skipped in short mode")
	}
	const n, size = 100_000, 2000
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	tn := storetest.NewTenant(b, s, "bench")
	school := storetest.Org(store.SubtypeSchool, "Lincoln")
	objs := []store.Object{school}
	for i := range n {
		p := storetest.Person(store.SubtypeStudent, fmt.Sprintf("Zoë-%d", i), school.ID)
		p.Data, _ = json.Marshal(map[string]any{"$sys": map[string]any{"id": p.ID, "type": "Person", "person_type": "Student"},
			"name": map[string]string{"first": "Zoë", "last": fmt.Sprintf("Núñez-%d", i)}, "email": fmt.Sprintf("s%d@example.org", i)})
		objs = append(objs, p)
	}
	storetest.Put(b, s, tn.ID, objs...)
	for _, bc := range []struct {
		name string
		q    store.ObjectQuery
	}{
		{"kind/first", store.ObjectQuery{Kind: store.KindPerson}},
		{"kind/last", store.ObjectQuery{Kind: store.KindPerson, Offset: n - size}},
		{"subtype/last", store.ObjectQuery{Kind: store.KindPerson, Subtype: store.SubtypeStudent, Offset: n - size}},
		{"org/first", store.ObjectQuery{Kind: store.KindPerson, Subtype: store.SubtypeStudent, Org: &school.ID}},
		{"org/last", store.ObjectQuery{Kind: store.KindPerson, Subtype: store.SubtypeStudent, Org: &school.ID, Offset: n - size}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			q := bc.q
			q.Tenants, q.Limit = []uuid.UUID{tn.ID}, size
			for b.Loop() {
				got, _, err := s.ListObjects(ctx, q)
				if err != nil || len(got) != size {
					b.Fatalf("ListObjects = %d, %v", len(got), err)
				}
			}
		})
	}
}
