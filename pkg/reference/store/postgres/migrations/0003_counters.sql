-- 3: the task counter leaves the tenants row. Enqueue advanced it once per
-- batch, and a sync is one transaction: each advance left a row version that
-- its own transaction cannot prune, and the foreign-key check of every object
-- and task the sync inserted (REFERENCES tenants) walked all of them, so a
-- large sync slowed down as it went (a 1M-user load fell from 30,000 to 15,000
-- users a minute). Nothing references this table, and syncs never update
-- the tenants row now; they only lock it.
CREATE TABLE tenant_counters (
	tenant_id     uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
	last_sequence bigint NOT NULL DEFAULT 0
);
INSERT INTO tenant_counters (tenant_id, last_sequence) SELECT id, last_sequence FROM tenants;
ALTER TABLE tenants DROP COLUMN last_sequence;
