-- 5: each token names its client in a column, so that the token endpoint
-- can count a client's tokens (auth.TokenLimit) in the index instead of
-- reading every principal. Tokens saved before keep working: their client
-- is read from the principal once, here.
ALTER TABLE tokens ADD COLUMN client_id text NOT NULL DEFAULT '';
UPDATE tokens SET client_id = COALESCE(convert_from(principal, 'UTF8')::jsonb ->> 'client_id', '');
CREATE INDEX tokens_by_client ON tokens (client_id, expires_at);
