// Package sqlite is the store of the reference server: one SQLite file,
// through modernc.org/sqlite (pure Go, no cgo).
//
// The file runs in WAL mode so that readers never wait for the writer. All
// writes go through a single connection whose transactions begin IMMEDIATE:
// inside one process they queue on that connection, across processes (interop
// tenant create beside a running server) they wait on busy_timeout instead of
// failing. Leasing selects and marks tasks inside one such transaction, which
// is what makes concurrent GET /tasks safe.
//
// A sync is the exception: it runs on a connection of its own and first
// without the write lock, staging its objects in temporary tables (which
// lock nothing of the database), diffing them against a snapshot and
// planning its writes there; it takes the lock only to write the plan, after
// checking that the tenant did not change since the snapshot (see
// Store.Sync). A large load so holds the lock for its writes only, and an
// unchanged reload for milliseconds. Readiness (Ping) does not wait for the
// lock either. A sync of thousands of objects first reads the tenant's
// roster into memory (store.Known, up to a million objects;
// WithRosterReadAfter) and stages only what differs from it.
//
// The schema is versioned: Open applies the migrations the file lacks, each
// in its own IMMEDIATE transaction that re-reads the version first (two
// processes opening a new file at once apply each once), records them in
// schema_migrations, and refuses a file newer than the program. A file that
// is up to date is only read. The runner is our own, not goose: see the
// postgres package's documentation for why.
package sqlite
