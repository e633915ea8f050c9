package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/interop-data/interop/internal/ctxsleep"
)

// Waiting for the write lock: a request's write must get in between a
// load's slices.
//
// SQLite's busy handler (busy_timeout) sleeps between its tries for 1, 2,
// 5, ... and from a third of a second on 100 ms at a time. A load writing
// in slices (slices.go) releases the lock for a moment between two of
// them; a writer asleep in that handler wakes to find the next slice
// holding it, and again, for the whole load. Measured (20,000-user first
// load, docs/PERFORMANCE.md): once each slice's commit no longer also ran a
// checkpoint, which used to leave a gap of tens of milliseconds, another
// tenant's token request waited 4.6-5.4 s, the length of the load's
// object slices.
//
// So the store's own writes take the lock by polling: BEGIN IMMEDIATE with
// busy_timeout 0, again every writePoll until the wait is spent, and a sync
// leaves sliceGap between its slices, several polls long. Other programs
// on the file wait as SQLite makes them.
const writePoll = time.Millisecond

// sliceGap is how long a sync leaves the write lock free after each slice:
// long enough for a polling writer to see it free (a few polls), short
// against a slice (sliceTarget).
const sliceGap = 5 * time.Millisecond

// pause leaves the write lock free after a sync's write transaction (a
// slice, a fold) that held it for took: sliceGap, and no longer than the
// transaction itself. A test's fixed small slices (withSlices without
// withSliceHold) get none: thousands of them would spend most of a test
// in pauses.
func (s *Store) pause(ctx context.Context, took time.Duration) error {
	if s.sliceTarget == 0 && s.sliceHold == 0 {
		return nil
	}
	return ctxsleep.Sleep(ctx, min(sliceGap, took))
}

// beginWrite begins an IMMEDIATE transaction on conn, the writer's
// connection, waiting up to wait for the write lock by polling. It returns
// SQLite's busy error when the wait is spent. The connection's busy
// timeout is restored to the store's once the transaction is begun, for
// what runs in it.
func (s *Store) beginWrite(ctx context.Context, conn *sql.Conn, wait time.Duration) (*sql.Tx, error) {
	if _, err := conn.ExecContext(ctx, `PRAGMA busy_timeout = 0`); err != nil {
		return nil, err
	}
	restore := func() error {
		_, err := conn.ExecContext(context.Background(), fmt.Sprintf("PRAGMA busy_timeout = %d", s.busyTimeout.Milliseconds()))
		return err
	}
	deadline := time.Now().Add(wait)
	for {
		tx, err := conn.BeginTx(ctx, nil)
		if err == nil {
			if err := restore(); err != nil {
				_ = tx.Rollback()
				return nil, err
			}
			return tx, nil
		}
		if !isBusy(err) || !time.Now().Before(deadline) {
			_ = restore()
			return nil, err
		}
		if err := ctxsleep.Sleep(ctx, writePoll); err != nil {
			_ = restore()
			return nil, err
		}
	}
}
