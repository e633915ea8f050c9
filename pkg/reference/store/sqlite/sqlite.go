package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	sqlite3 "modernc.org/sqlite"
	sqlite3lib "modernc.org/sqlite/lib"

	"github.com/interop-data/interop/pkg/reference/store"
)

// Store is the SQLite store. It implements store.Store.
type Store struct {
	path        string
	common      string // the DSN options every pool shares
	busyTimeout time.Duration
	w           *sql.DB    // exactly one connection; its transactions BEGIN IMMEDIATE
	r           *sql.DB    // readers, concurrent with the writer thanks to WAL
	rs          *stmtCache // the read paths' prepared statements, on r
	ws          *stmtCache // the lease's, on w
	syncMu      sync.Mutex
	syncDB      *sql.DB // the syncs' connections (see syncPool), nil until used
	// claimStale is how long a sync's claim on a tenant may go without a
	// slice before it is taken for a dead process's (slices.go).
	claimStale time.Duration
	// sliceRows is how many rows a slice of a sync writes; sliceHook,
	// when set (by tests), runs after each slice commits, and an error
	// from it ends the sync.
	sliceRows   int
	sliceTarget time.Duration
	sliceHook   func(slice int) error
	sliceHold   time.Duration // tests: how long each slice holds the lock at least
	ck          *checkpointer
	// knownAfter is how many objects a sync stages before it reads the
	// tenant's roster (known.go); negative: never.
	knownAfter int64
}

var _ store.Store = (*Store)(nil)

type config struct {
	busyTimeout time.Duration
	readers     int
	knownAfter  int64
	// tests only (slices.go)
	sliceRows   int
	sliceTarget time.Duration
	sliceHook   func(slice int) error
	claimStale  time.Duration
	// tests only (checkpoint.go, slices.go)
	checkpointEvery  time.Duration
	checkpointRounds func()
	sliceHold        time.Duration
}

// Option configures Open.
type Option func(*config)

// WithBusyTimeout sets how long a write waits for another process holding
// the file's write lock before failing (default 10s).
func WithBusyTimeout(d time.Duration) Option { return func(c *config) { c.busyTimeout = d } }

// WithReaders sets the size of the read connection pool (default: GOMAXPROCS, at least 2).
func WithReaders(n int) Option { return func(c *config) { c.readers = n } }

// Open opens (creating when absent) the database file at path and applies
// the migrations it lacks.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	cfg := config{busyTimeout: 10 * time.Second, readers: max(2, runtime.GOMAXPROCS(0)), sliceRows: defaultSliceRows, sliceTarget: sliceTarget, claimStale: defaultClaimStale, checkpointEvery: checkpointEvery, knownAfter: defaultKnownAfter}
	for _, o := range opts {
		o(&cfg)
	}
	if path == "" || strings.ContainsRune(path, '?') || path == ":memory:" {
		// Two pools share the data only through a file.
		return nil, fmt.Errorf("sqlite: database path %q must name a file", path)
	}
	// SQLite would only say "unable to open database file (14)".
	if dir := filepath.Dir(path); dir != "" {
		if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("sqlite: database %s: the directory %s does not exist (create it, or choose a path in an existing one)", path, dir)
		}
	}
	common := fmt.Sprintf("_pragma=busy_timeout(%d)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)", cfg.busyTimeout.Milliseconds()) + noAutoCheckpoint
	// The writer keeps its temporary files in memory and a larger page
	// cache: a big sync (a OneRoster load) otherwise spends a quarter of its
	// time in pwrite, writing each statement's sub-journal (every INSERT
	// into a table with unique indexes keeps one) to a temp file and
	// spilling dirty pages of the random-keyed (tenant_id, id) index to the
	// WAL mid-transaction, only to write them again. The cache grows only
	// as a transaction dirties pages, so small writes cost nothing extra.
	w, err := sql.Open("sqlite", path+"?"+common+"&_pragma=journal_mode(WAL)&_pragma=temp_store(MEMORY)&_pragma=cache_size("+strconv.Itoa(writerCacheKiB)+")&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	s := &Store{path: path, common: common, busyTimeout: cfg.busyTimeout, w: w, ws: newStmtCache(w),
		sliceRows: cfg.sliceRows, sliceTarget: cfg.sliceTarget, sliceHook: cfg.sliceHook, sliceHold: cfg.sliceHold, claimStale: cfg.claimStale, knownAfter: cfg.knownAfter}
	if err := s.migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}
	if err := s.dropDeadClaims(ctx); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", path+"?"+common+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(cfg.readers)
	r.SetMaxIdleConns(cfg.readers)
	s.r, s.rs = r, newStmtCache(r)
	if s.ck, err = startCheckpointer(path, common, cfg.checkpointEvery, cfg.checkpointRounds); err != nil {
		r.Close()
		w.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the prepared statements, the pools and the background
// checkpoint.
func (s *Store) Close() error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	var syncErr error
	if s.syncDB != nil {
		syncErr = s.syncDB.Close()
	}
	return errors.Join(s.rs.close(), s.ws.close(), syncErr, s.r.Close(), s.w.Close(), s.ck.close())
}

// MinHeadroom is the room, in bytes, Ping wants left under the database's
// page cap (PRAGMA max_page_count) beyond the free pages the file already
// holds: a store with less cannot take the next sync or acknowledgement, so
// it is not ready.
const MinHeadroom = 256 << 10

// ErrFull is Ping's answer when the database has less than MinHeadroom of
// room left under its page cap.
var ErrFull = errors.New("sqlite: database is full")

// Ping answers whether the store can commit a write, as store.Store requires
// of it: it updates the one row of readiness_probe in an IMMEDIATE
// transaction and commits, which fails when the file is read-only, locked
// past the busy timeout, or on a disk too full for the write-ahead log to
// grow; and, before committing, it checks that the file has MinHeadroom of
// room under its page cap, since a row update rewrites a page the file
// already has and would pass where a new task cannot.
//
// Readiness does not wait for the write lock: when another connection (a
// load's apply, another process) holds it for longer than PingLockWait,
// the store is ready if it answers and has the headroom, checked without
// the lock. A writer holding the lock is the store at work, not a store
// that cannot serve; the requests that need the lock wait for it.
func (s *Store) Ping(ctx context.Context) error {
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	defer conn.Close()
	tx, err := s.beginWrite(ctx, conn, PingLockWait)
	if isBusy(err) {
		return headroom(ctx, conn)
	}
	if err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it does nothing
	if _, err := tx.ExecContext(ctx, `UPDATE readiness_probe SET pinged_at = ? WHERE id = 1`, time.Now().UnixNano()); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	if err := headroom(ctx, tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: ping: commit: %w", err)
	}
	return nil
}

// PingLockWait is how long Ping waits for the write lock before it checks
// the store without it.
const PingLockWait = 250 * time.Millisecond

// headroom checks that the database has MinHeadroom of room under its page
// cap (ErrFull otherwise).
func headroom(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) error {
	var pageSize, pages, maxPages, free int64
	for _, p := range []struct {
		pragma string
		v      *int64
	}{{"page_size", &pageSize}, {"page_count", &pages}, {"max_page_count", &maxPages}, {"freelist_count", &free}} {
		if err := q.QueryRowContext(ctx, "PRAGMA "+p.pragma).Scan(p.v); err != nil {
			return fmt.Errorf("sqlite: ping: %s: %w", p.pragma, err)
		}
	}
	if room := (maxPages - pages + free) * pageSize; room < MinHeadroom {
		return fmt.Errorf("%w: %d bytes left under the page cap, want %d", ErrFull, room, MinHeadroom)
	}
	return nil
}

// isBusy reports that the write lock was held past the busy timeout.
func isBusy(err error) bool {
	var se *sqlite3.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3lib.SQLITE_BUSY
}

// Secret implements store.Store. It is read first, so that the common case
// (it exists) does not take the write lock.
func (s *Store) Secret(ctx context.Context, name string) ([]byte, error) {
	if err := store.CheckName("secret name", name); err != nil {
		return nil, err
	}
	var v []byte
	err := s.r.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = ?`, name).Scan(&v)
	if err == nil {
		return v, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: secret: %w", err)
	}
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO secrets (name, value) VALUES (?, ?)`, name, fresh); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = ?`, name).Scan(&v)
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: secret: %w", err)
	}
	return v, nil
}

// write runs fn in one IMMEDIATE transaction on the writer connection. A
// panic in fn rolls the transaction back and goes on up, as it does in the
// PostgreSQL store (pgx.BeginFunc): left open, it would keep the only
// writer connection inside a transaction, and every later write would
// wait for it until its context ended.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	defer conn.Close()
	return inTx(ctx, func(ctx context.Context) (*sql.Tx, error) { return s.beginWrite(ctx, conn, s.busyTimeout) }, fn)
}

// inTx runs fn in a transaction begun by begin (on the writer, or on a
// sync's own connection), committed when fn returns nil and rolled back
// otherwise, a panic included.
func inTx(ctx context.Context, begin func(context.Context) (*sql.Tx, error), fn func(tx *sql.Tx) error) error {
	tx, err := begin(ctx)
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	done := false
	defer func() {
		if !done {
			_ = tx.Rollback()
		}
	}()
	if err := fn(tx); err != nil {
		done = true
		_ = tx.Rollback()
		return err
	}
	done = true
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	return nil
}

// isUnique reports a UNIQUE or PRIMARY KEY constraint failure.
func isUnique(err error) bool {
	var se *sqlite3.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3lib.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3lib.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// inClause renders "(?,?,?)" for n values and the ids as arguments.
func inClause(ids []uuid.UUID) (string, []any) {
	if len(ids) == 0 {
		return "(NULL)", nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id.String()
	}
	return "(" + strings.TrimSuffix(strings.Repeat("?,", len(ids)), ",") + ")", args
}

// writerCacheKiB is the writer connection's page cache, as SQLite's
// cache_size pragma takes it (negative: KiB, here 16 MiB, against the 2 MiB
// default). docs/PERFORMANCE.md measures what it buys a large load.
const writerCacheKiB = -16 << 10
