package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// migrations are applied in order; migrations[i] brings the file to version
// i+1. Never edit one that has shipped: append a new one.
var migrations = []string{
	// 1: tenants, roster, task queue, history, tokens.
	`
CREATE TABLE tenants (
	id            TEXT PRIMARY KEY,
	name          TEXT NOT NULL,
	client_id     TEXT NOT NULL UNIQUE,
	secret_hash   TEXT NOT NULL,
	created_at    INTEGER NOT NULL,
	last_sequence INTEGER NOT NULL DEFAULT 0
);

-- seq is the stable list order: an object keeps its seq when it changes.
CREATE TABLE objects (
	seq       INTEGER PRIMARY KEY AUTOINCREMENT,
	tenant_id TEXT NOT NULL REFERENCES tenants(id),
	id        TEXT NOT NULL,
	kind      TEXT NOT NULL,
	subtype   TEXT NOT NULL DEFAULT '',
	label     TEXT NOT NULL DEFAULT '',
	data      BLOB NOT NULL,
	UNIQUE (tenant_id, id)
);
CREATE INDEX objects_by_kind ON objects (tenant_id, kind, seq);
CREATE INDEX objects_by_subtype ON objects (tenant_id, kind, subtype, seq);

-- person-org, course-org, section-org and term-org links.
CREATE TABLE object_orgs (
	tenant_id  TEXT NOT NULL,
	org_id     TEXT NOT NULL,
	object_seq INTEGER NOT NULL REFERENCES objects(seq) ON DELETE CASCADE,
	PRIMARY KEY (tenant_id, org_id, object_seq)
) WITHOUT ROWID;
CREATE INDEX object_orgs_by_object ON object_orgs (object_seq);

-- person-section links.
CREATE TABLE person_sections (
	tenant_id  TEXT NOT NULL,
	section_id TEXT NOT NULL,
	person_seq INTEGER NOT NULL REFERENCES objects(seq) ON DELETE CASCADE,
	PRIMARY KEY (tenant_id, section_id, person_seq)
) WITHOUT ROWID;
CREATE INDEX person_sections_by_person ON person_sections (person_seq);

-- pos is the global enqueue order; sequence the per-tenant one shown to clients.
CREATE TABLE tasks (
	pos          INTEGER PRIMARY KEY AUTOINCREMENT,
	id           TEXT NOT NULL UNIQUE,
	tenant_id    TEXT NOT NULL REFERENCES tenants(id),
	sequence     INTEGER NOT NULL,
	kind         TEXT NOT NULL,
	driver       TEXT NOT NULL DEFAULT '',
	created_at   INTEGER NOT NULL,
	payload      BLOB NOT NULL,
	leased_until INTEGER NOT NULL DEFAULT 0,
	deliveries   INTEGER NOT NULL DEFAULT 0,
	UNIQUE (tenant_id, sequence)
);
CREATE INDEX tasks_by_tenant ON tasks (tenant_id, pos);

CREATE TABLE task_history (
	pos             INTEGER PRIMARY KEY AUTOINCREMENT,
	tenant_id       TEXT NOT NULL,
	task_id         TEXT NOT NULL,
	sequence        INTEGER NOT NULL,
	kind            TEXT NOT NULL,
	status          TEXT NOT NULL,
	terminal        INTEGER NOT NULL,
	message         TEXT NOT NULL DEFAULT '',
	app_id          TEXT NOT NULL DEFAULT '',
	acknowledged_at INTEGER NOT NULL
);
CREATE INDEX task_history_by_task ON task_history (task_id, terminal);
CREATE INDEX task_history_by_tenant ON task_history (tenant_id, pos);

CREATE TABLE tokens (
	hash       TEXT PRIMARY KEY,
	principal  BLOB NOT NULL,
	expires_at INTEGER NOT NULL
);
CREATE INDEX tokens_by_expiry ON tokens (expires_at);
`,
	// 2: each org link carries its object's kind and subtype, so that a page
	// of an org's students (say) is found, and its OFFSET stepped over, in
	// the link index alone, without reading one objects row per skipped link.
	`
ALTER TABLE object_orgs ADD COLUMN kind TEXT NOT NULL DEFAULT '';
ALTER TABLE object_orgs ADD COLUMN subtype TEXT NOT NULL DEFAULT '';
UPDATE object_orgs SET
	kind = (SELECT kind FROM objects WHERE seq = object_seq),
	subtype = (SELECT subtype FROM objects WHERE seq = object_seq);
CREATE INDEX object_orgs_by_kind ON object_orgs (tenant_id, org_id, kind, object_seq);
CREATE INDEX object_orgs_by_subtype ON object_orgs (tenant_id, org_id, kind, subtype, object_seq);
`,
	// 3: the one row the readiness probe (Ping) updates, so that ready means
	// a write just committed, not only that the file answers a SELECT.
	`
CREATE TABLE readiness_probe (
	id        INTEGER PRIMARY KEY CHECK (id = 1),
	pinged_at INTEGER NOT NULL
);
INSERT INTO readiness_probe (id, pinged_at) VALUES (1, 0);
`,
	// 4: random keys shared by every process on the file (paging cursors
	// are signed with one).
	`
CREATE TABLE secrets (
	name  TEXT PRIMARY KEY,
	value BLOB NOT NULL
);
`,
	// 5: the objects a sync wrote, for RemoveUnput. It was a TEMP table,
	// which the writer keeps in memory (temp_store=MEMORY, for the statement
	// journals), so the process grew with every object written (a 1M-user
	// load peaked at 466 MiB with it, 309 MiB without). In the file its pages
	// go through the page cache like any other, and it is empty outside a
	// sync (a sync holds the write lock).
	`
CREATE TABLE sync_put (seq INTEGER PRIMARY KEY);
`,
	// 6: each token names its client in a column, so that the token
	// endpoint can count a client's tokens (auth.TokenLimit) in the index
	// instead of reading every principal. Tokens saved before keep working:
	// their client is read from the principal once, here.
	`
ALTER TABLE tokens ADD COLUMN client_id TEXT NOT NULL DEFAULT '';
UPDATE tokens SET client_id = COALESCE(json_extract(CAST(principal AS TEXT), '$.client_id'), '');
CREATE INDEX tokens_by_client ON tokens (client_id, expires_at);
`,
	// 7: the signing keys of the LTI test issuer; at most one is current
	// (retired_at 0).
	`
CREATE TABLE lti_keys (
	id         TEXT PRIMARY KEY,
	private    BLOB NOT NULL,
	created_at INTEGER NOT NULL,
	retired_at INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX lti_keys_current ON lti_keys (retired_at) WHERE retired_at = 0;
`,
	// 8: a counter of the writes to each tenant's roster. A sync stages and
	// diffs an export without the write lock, reading a snapshot; once it
	// holds the lock, an unchanged counter says the diff still holds.
	`
ALTER TABLE tenants ADD COLUMN roster_version INTEGER NOT NULL DEFAULT 0;
`,
	// 9: a large sync writes its new objects, their links and its events in
	// short slices before it commits (see slices.go); until then readers
	// skip the tenant's objects from hide_seq and tasks from hide_pos on
	// (both past any seq or pos when no sync is writing). sync_claim names
	// the sync writing them, sync_beat is when it last wrote a slice, so
	// that the rows of a sync that died can be told from a live one's.
	`
ALTER TABLE tenants ADD COLUMN hide_seq INTEGER NOT NULL DEFAULT 9223372036854775807;
ALTER TABLE tenants ADD COLUMN hide_pos INTEGER NOT NULL DEFAULT 9223372036854775807;
ALTER TABLE tenants ADD COLUMN sync_claim TEXT NOT NULL DEFAULT '';
ALTER TABLE tenants ADD COLUMN sync_beat INTEGER NOT NULL DEFAULT 0;
`,
	// 10: the new values of a sync's changed objects, written aside before
	// it commits and visible once the tenant's roster_version reaches
	// next_ver (see pending.go).
	`
ALTER TABLE objects ADD COLUMN next_label TEXT;
ALTER TABLE objects ADD COLUMN next_data BLOB;
ALTER TABLE objects ADD COLUMN next_ver INTEGER;
CREATE INDEX objects_pending ON objects (tenant_id, next_ver) WHERE next_ver IS NOT NULL;
`,
}

// SchemaVersion is the version Open brings a file to.
var SchemaVersion = len(migrations)

// migrate applies the missing migrations, each in an IMMEDIATE transaction
// that re-reads the version first, so that two processes opening the same
// new file at once do not both apply it. A file that is up to date is only
// read: opening it (interop tenant create beside a running server) does not
// wait for the write lock.
func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	version := func(q interface {
		QueryRowContext(context.Context, string, ...any) *sql.Row
	}) (int, error) {
		var have int
		err := q.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&have)
		return have, err
	}
	have, err := version(s.w)
	if err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	if have > len(migrations) {
		return fmt.Errorf("sqlite: %s has schema version %d, newer than this program's %d", s.path, have, len(migrations))
	}
	for v := have + 1; v <= len(migrations); v++ {
		err := s.write(ctx, func(tx *sql.Tx) error {
			have, err := version(tx)
			if err != nil || have >= v {
				return err
			}
			if _, err := tx.ExecContext(ctx, migrations[v-1]); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, v, time.Now().UnixNano())
			return err
		})
		if err != nil {
			return fmt.Errorf("sqlite: migration %d: %w", v, err)
		}
	}
	return nil
}
