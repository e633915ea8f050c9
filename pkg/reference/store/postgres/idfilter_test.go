package postgres

import (
	"testing"

	"github.com/google/uuid"
)

// The filter of a fresh sync's writes never forgets an id (a repeat it
// missed would be copied again and fail the load on the unique index), also
// across its growth and for time-ordered ids, and rarely claims one it was
// not given (each claim costs an index probe).
func TestIDFilter(t *testing.T) {
	var f idFilter
	var added []uuid.UUID
	for i := range 100_000 {
		id := uuid.New()
		if i%2 == 0 {
			id = uuid.Must(uuid.NewV7())
		}
		f.add(id)
		added = append(added, id)
	}
	for _, id := range added {
		if !f.mayHave(id) {
			t.Fatalf("added %s, not held", id)
		}
	}
	if len(f.parts) < 2 {
		t.Fatalf("%d parts after 100,000 ids: the filter did not grow", len(f.parts))
	}
	claimed := 0
	for i := range 100_000 {
		id := uuid.New()
		if i%2 == 0 {
			id = uuid.Must(uuid.NewV7())
		}
		if f.mayHave(id) {
			claimed++
		}
	}
	if claimed > 2_000 {
		t.Fatalf("%d of 100,000 ids never added are claimed", claimed)
	}
	t.Logf("%d parts, %d false positives in 100,000", len(f.parts), claimed)
}
