-- 4: the signing keys of the LTI test issuer; at most one is current
-- (retired_at 0).
CREATE TABLE lti_keys (
	id         text PRIMARY KEY,
	private    bytea NOT NULL,
	created_at bigint NOT NULL,
	retired_at bigint NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX lti_keys_current ON lti_keys (retired_at) WHERE retired_at = 0;
