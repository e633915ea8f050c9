package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// walSize is the size of the file's write-ahead log.
func walSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// writeSecrets commits n transactions of a 64 KiB value each.
func writeSecrets(t *testing.T, s *Store, n int, between func()) {
	t.Helper()
	ctx := context.Background()
	value := make([]byte, 64<<10)
	for i := range n {
		if err := s.write(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO secrets (name, value) VALUES (?, ?)`, fmt.Sprint("bulk-", i), value)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if between != nil {
			between()
		}
	}
}

// No commit copies the log into the database: with the background
// checkpoint away, 12 MiB of small commits leave a log of 12 MiB (SQLite's
// automatic checkpoint would have copied it at every 4 MiB, inside the
// commit that crossed the mark, and the log would have started over).
func TestCommitsDoNotCheckpoint(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ck.db")
	s := openTest(t, path, withCheckpointEvery(time.Hour))
	writeSecrets(t, s, 192, nil)
	if size := walSize(t, path); size < 12<<20 {
		t.Errorf("the log holds %d bytes after 12 MiB of commits, want all of them: a commit checkpointed", size)
	}
}

// The background checkpoint copies the log while writes go on, so that
// it starts over and stays small.
func TestBackgroundCheckpointKeepsTheLogSmall(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ck.db")
	// Each round waits for the test to take note of it: at most one runs
	// beside a batch of commits.
	rounds := make(chan struct{})
	s := openTest(t, path, withCheckpointEvery(5*time.Millisecond), func(c *config) {
		c.checkpointRounds = func() { rounds <- struct{}{} }
	})
	// Cleanups run last first: the rounds are drained, then the store
	// closed.
	t.Cleanup(func() {
		go func() {
			for range rounds {
			}
		}()
	})
	// A round between every 16 commits (1 MiB): the second one to report
	// began after the commits.
	i := 0
	writeSecrets(t, s, 192, func() {
		if i++; i%16 == 0 {
			<-rounds
			<-rounds
		}
	})
	// 12 MiB of values take 18 MiB of log; a log that starts over after
	// each checkpoint stays at a few MiB (more than 1 MiB: a commit that
	// meets a round under way cannot start it over, the next one does).
	if size := walSize(t, path); size > 8<<20 {
		t.Errorf("the log holds %d bytes after 12 MiB of commits with checkpoints between, want at most 8 MiB", size)
	}
}
