// Package postgres is the PostgreSQL store of the reference server, through
// github.com/jackc/pgx/v5 (pgxpool). It is the store for running several
// replicas of the server: everything they share (tenants, tokens, rosters,
// queues, leases, acknowledgements, history) is in the database, and no
// replica keeps state of its own that another would need.
//
// Leasing is one statement: the next visible tasks are selected FOR UPDATE
// SKIP LOCKED and marked leased in the same UPDATE, so that consumers on
// different replicas never receive the same task within its lease, and
// never wait for each other either. A sync locks its tenant's row for its
// transaction: syncs of one tenant run one after the other, and the tasks
// one enqueues are consecutive. A sync stages its objects with COPY into
// temporary tables of its connection and lets a few statements find and
// write what differs from the roster. A sync of thousands of objects first
// reads the tenant's roster's digests into memory (store.Known, up to a
// million objects; WithRosterReadAfter) and stages only what differs:
// a nightly export, almost all unchanged, then sends little but its new and
// changed objects.
//
// # Migrations
//
// The schema is versioned: the files in migrations/ (NNNN_name.sql) are
// embedded in the binary, and Open applies the ones the database lacks, all
// in one transaction under an advisory lock, so that replicas starting
// together apply each exactly once; a database whose schema is newer than
// the binary is refused. The runner is the thirty lines in migrate.go, not
// github.com/pressly/goose/v3: goose would fit PostgreSQL, but not the
// SQLite store's needs (it has no lock for SQLite, where two processes
// opening a new file at once must not both apply a migration, and it keeps
// its own version table, which would need a bootstrap for existing files),
// and one runner per store, each as small as this, is simpler than one
// library with a workaround on one side.
//
// # Schemas
//
// The store works in the connection's search_path, so one database can
// hold several independent stores (the tests give each run its own schema):
// add search_path=NAME to the URL.
package postgres
