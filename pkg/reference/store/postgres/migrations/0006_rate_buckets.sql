-- 6: the API's per-client rate-limit buckets, shared by every replica
-- (server.WithSharedRateLimit): tokens is the level after the last request
-- that took one, at the instant at (Unix nanoseconds). A row idle long
-- enough to have refilled is the same as no row, and is swept.
CREATE TABLE rate_buckets (
	key    text PRIMARY KEY,
	tokens double precision NOT NULL,
	at     bigint NOT NULL
);
CREATE INDEX rate_buckets_by_at ON rate_buckets (at);
