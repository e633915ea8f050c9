package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

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
