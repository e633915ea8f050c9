package sqlite

import (
	"path/filepath"
	"testing"
	"time"
)

// Slices sized by time start the changed objects written aside at the
// least and grow at most twofold per slice, shrink at once to what the target allows, and never
// below the least or above four times the default; set sizes stay.
func TestSliceSizes(t *testing.T) {
	timed := openTest(t, filepath.Join(t.TempDir(), "timed.db"))
	if got := timed.asideSlice(); got != minSliceRows {
		t.Errorf("first aside slice of a timed store: %d rows, want %d", got, minSliceRows)
	}
	set := openTest(t, filepath.Join(t.TempDir(), "set.db"), withSlices(3, nil))
	if got := set.asideSlice(); got != 3 {
		t.Errorf("first aside slice with a set size: %d rows, want 3", got)
	}
	for _, c := range []struct {
		rows         int
		took, target time.Duration
		want         int
	}{
		{2000, 50 * time.Millisecond, sliceTarget, 4000},                            // quick: doubles, no more
		{8000, time.Second, sliceTarget, 2000},                                      // slow: down to the target's share
		{2000, 2 * time.Second, sliceTarget, minSliceRows},                          // never below the least
		{4 * defaultSliceRows, time.Millisecond, sliceTarget, 4 * defaultSliceRows}, // never above the cap
		{500, time.Second, 0, 500},                                                  // set size
	} {
		if got := nextSlice(c.rows, c.took, c.target); got != c.want {
			t.Errorf("nextSlice(%d, %v, %v) = %d, want %d", c.rows, c.took, c.target, got, c.want)
		}
	}
}
