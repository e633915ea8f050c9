-- 8: what a district's sync pays for (issue 21).
--
-- The roster and the queue lose their foreign keys. Each key is a row
-- trigger, run for every row inserted (a query apiece; on the links it also
-- locks the object's row, a WAL record per link): about half of what
-- PostgreSQL did in a district's first load. Nothing they checked can
-- happen: objects and tasks are written only in a transaction that locked
-- the tenant's row (a sync) or its counter (an enqueue), which exist while
-- the tenant does, and tenants are never deleted; links are written beside
-- their object in the same transaction, and the statements that delete
-- objects delete their links (ON DELETE CASCADE did).
ALTER TABLE objects DROP CONSTRAINT IF EXISTS objects_tenant_id_fkey;
ALTER TABLE tasks DROP CONSTRAINT IF EXISTS tasks_tenant_id_fkey;
ALTER TABLE object_orgs DROP CONSTRAINT IF EXISTS object_orgs_object_seq_fkey;
ALTER TABLE person_sections DROP CONSTRAINT IF EXISTS person_sections_person_seq_fkey;

-- Each object keeps a digest of what a sync compares (kind, subtype, label
-- and data; the first 16 bytes of their SHA-256, computed by the store), so
-- that a reload tells unchanged objects by joining ids and digests instead
-- of reading and comparing whole rows. NULL for an object stored before
-- this migration: a sync compares it whole, once, and gives it its digest.
ALTER TABLE objects ADD COLUMN digest bytea;
