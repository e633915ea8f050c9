-- 2: random keys shared by every replica (paging cursors are signed with one).
CREATE TABLE secrets (
	name  text PRIMARY KEY,
	value bytea NOT NULL
);
