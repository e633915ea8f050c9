package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"
)

// Checkpoints run in the background, not in the commit that fills the log.
//
// SQLite's default (wal_autocheckpoint, 1,000 pages) makes the connection
// whose commit takes the write-ahead log past 4 MiB copy the log into the
// database file before its Commit returns. In a large load that is a
// slice's commit (slices.go), so the load waits for every checkpoint in
// turn: 2.6 s of a 20,000-user first load's 18 s, on its critical path
// (docs/PERFORMANCE.md). Every connection of a Store turns that off
// (noAutoCheckpoint, in the options all its pools share) and one
// goroutine per Store runs a PASSIVE checkpoint every checkpointEvery on
// a connection of its own: the log is copied while the load builds and
// writes its next slice. PASSIVE never waits for a lock and never holds
// one that readers or writers wait for, so no request waits for it;
// frames that a reader's snapshot still needs are left for a later round,
// as they would be by the automatic checkpoint. The log still restarts from
// its start at the first commit after a round that copied all of it, so it
// stays as small as it did.
//
// Several processes on one file (interop serve beside interop load) each
// run their own: a checkpoint round with nothing to copy costs a read of
// the log's index.
const noAutoCheckpoint = "&_pragma=wal_autocheckpoint(0)"

// checkpointEvery is how often the background checkpoint runs. At 200 ms
// the log of a first load grows by at most a slice or two between rounds.
const checkpointEvery = 200 * time.Millisecond

// withCheckpointEvery sets the background checkpoint's interval (tests).
func withCheckpointEvery(d time.Duration) Option {
	return func(c *config) { c.checkpointEvery = d }
}

// checkpointer is a Store's background checkpoint.
type checkpointer struct {
	db     *sql.DB // one connection, for the checkpoints only
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once
	rounds func() // tests: called after each round
}

// startCheckpointer opens the checkpoint's connection and starts its loop.
func startCheckpointer(path, common string, every time.Duration, rounds func()) (*checkpointer, error) {
	db, err := sql.Open("sqlite", path+"?"+common)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxIdleTime(0)
	db.SetConnMaxLifetime(0)
	c := &checkpointer{db: db, stop: make(chan struct{}), done: make(chan struct{}), rounds: rounds}
	go c.loop(every)
	return c, nil
}

func (c *checkpointer) loop(every time.Duration) {
	defer close(c.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			// An error (the file locked for a checkpoint by another
			// process, say) leaves the log to the next round.
			_ = c.checkpoint()
			if c.rounds != nil {
				c.rounds()
			}
		}
	}
}

// checkpoint copies what it can of the log into the database file.
func (c *checkpointer) checkpoint() error {
	_, err := c.db.ExecContext(context.Background(), `PRAGMA wal_checkpoint(PASSIVE)`)
	return err
}

// close stops the loop and closes the connection. (The last connection to
// the file to close copies the log and deletes it, as SQLite always does.)
func (c *checkpointer) close() error {
	var err error
	c.once.Do(func() {
		close(c.stop)
		<-c.done
		err = c.db.Close()
	})
	return err
}
