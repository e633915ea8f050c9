-- 8: the roster and the queue lose their foreign keys. Each key is a row
-- trigger, run for every row inserted (one query apiece; on the links it
-- also locks the object's row, a WAL record per link): about half of what
-- PostgreSQL did in a district's first load (issue 21). Nothing they
-- checked can happen: objects and tasks are written only in a transaction
-- that locked the tenant's row (a sync) or its counter (an enqueue), which
-- exists while its tenant does, and tenants are never deleted; links are
-- written beside their object in the same transaction, and the statements
-- that delete objects delete their links (ON DELETE CASCADE did).
ALTER TABLE objects DROP CONSTRAINT IF EXISTS objects_tenant_id_fkey;
ALTER TABLE tasks DROP CONSTRAINT IF EXISTS tasks_tenant_id_fkey;
ALTER TABLE object_orgs DROP CONSTRAINT IF EXISTS object_orgs_object_seq_fkey;
ALTER TABLE person_sections DROP CONSTRAINT IF EXISTS person_sections_person_seq_fkey;
