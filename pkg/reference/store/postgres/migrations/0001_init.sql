-- 1: tenants, roster, task queue, history, tokens, liveness.
-- Times are Unix nanoseconds (bigint), as in the SQLite store: exact, and
-- compared with the instants the reference server's clock passes in.

CREATE TABLE tenants (
	id            uuid PRIMARY KEY,
	name          text NOT NULL,
	client_id     text NOT NULL UNIQUE,
	secret_hash   text NOT NULL,
	created_at    bigint NOT NULL,
	last_sequence bigint NOT NULL DEFAULT 0
);

-- seq is the stable list order: an object keeps its seq when it changes.
-- data is kept as bytes, exactly as given (jsonb would reorder keys).
CREATE TABLE objects (
	seq       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	tenant_id uuid NOT NULL REFERENCES tenants (id),
	id        uuid NOT NULL,
	kind      text NOT NULL,
	subtype   text NOT NULL DEFAULT '',
	label     text NOT NULL DEFAULT '',
	data      bytea NOT NULL,
	UNIQUE (tenant_id, id)
);
CREATE INDEX objects_by_kind ON objects (tenant_id, kind, seq);
CREATE INDEX objects_by_subtype ON objects (tenant_id, kind, subtype, seq);

-- person-org, course-org, section-org and term-org links, carrying their
-- object's kind and subtype so that an org's lists page in the index.
CREATE TABLE object_orgs (
	tenant_id  uuid NOT NULL,
	org_id     uuid NOT NULL,
	object_seq bigint NOT NULL REFERENCES objects (seq) ON DELETE CASCADE,
	kind       text NOT NULL,
	subtype    text NOT NULL DEFAULT '',
	PRIMARY KEY (tenant_id, org_id, object_seq)
);
CREATE INDEX object_orgs_by_object ON object_orgs (object_seq);
CREATE INDEX object_orgs_by_kind ON object_orgs (tenant_id, org_id, kind, object_seq);
CREATE INDEX object_orgs_by_subtype ON object_orgs (tenant_id, org_id, kind, subtype, object_seq);

-- person-section links.
CREATE TABLE person_sections (
	tenant_id  uuid NOT NULL,
	section_id uuid NOT NULL,
	person_seq bigint NOT NULL REFERENCES objects (seq) ON DELETE CASCADE,
	PRIMARY KEY (tenant_id, section_id, person_seq)
);
CREATE INDEX person_sections_by_person ON person_sections (person_seq);

-- pos is the global enqueue order; sequence the per-tenant one shown to clients.
CREATE TABLE tasks (
	pos          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	id           uuid NOT NULL UNIQUE,
	tenant_id    uuid NOT NULL REFERENCES tenants (id),
	sequence     bigint NOT NULL,
	kind         text NOT NULL,
	driver       text NOT NULL DEFAULT '',
	created_at   bigint NOT NULL,
	payload      bytea NOT NULL,
	leased_until bigint NOT NULL DEFAULT 0,
	deliveries   integer NOT NULL DEFAULT 0,
	UNIQUE (tenant_id, sequence)
);
CREATE INDEX tasks_by_tenant ON tasks (tenant_id, pos);

CREATE TABLE task_history (
	pos             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	tenant_id       uuid NOT NULL,
	task_id         uuid NOT NULL,
	sequence        bigint NOT NULL,
	kind            text NOT NULL,
	status          text NOT NULL,
	terminal        boolean NOT NULL,
	message         text NOT NULL DEFAULT '',
	app_id          text NOT NULL DEFAULT '',
	acknowledged_at bigint NOT NULL
);
CREATE INDEX task_history_by_task ON task_history (task_id, terminal);
CREATE INDEX task_history_by_tenant ON task_history (tenant_id, pos);

CREATE TABLE tokens (
	hash       text PRIMARY KEY,
	principal  bytea NOT NULL,
	expires_at bigint NOT NULL
);
CREATE INDEX tokens_by_expiry ON tokens (expires_at);

-- Ping commits a write here: a database that answers but cannot write
-- (read-only standby, full disk) is not ready.
CREATE TABLE liveness (
	id integer PRIMARY KEY,
	at bigint NOT NULL
);
