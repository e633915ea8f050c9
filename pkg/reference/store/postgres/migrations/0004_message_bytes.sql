-- 4: acknowledgement messages and app ids are kept as bytes (UTF-8, as
-- given). text cannot hold U+0000, which JSON allows in a message: such an
-- acknowledgement failed with SQLSTATE 22021 and could never be recorded.
-- Nothing looks rows up by either column.
ALTER TABLE task_history
	ALTER COLUMN message DROP DEFAULT,
	ALTER COLUMN message TYPE bytea USING convert_to(message, 'UTF8'),
	ALTER COLUMN message SET DEFAULT ''::bytea,
	ALTER COLUMN app_id DROP DEFAULT,
	ALTER COLUMN app_id TYPE bytea USING convert_to(app_id, 'UTF8'),
	ALTER COLUMN app_id SET DEFAULT ''::bytea;
