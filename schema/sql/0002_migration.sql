-- chatledger schema step 0002: migration bookkeeping.
-- One row per migrated conversation, committed in the same transaction as its messages,
-- which makes `chatledger-migrate run` resumable after a crash at any point.
CREATE TABLE {{ledger}}.migrated_conversations (
    zoho_id     text PRIMARY KEY,
    messages    integer NOT NULL,
    unparseable boolean NOT NULL DEFAULT false,
    migrated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE {{ledger}}.migrated_conversations IS
    'conversations chatledger-migrate run has copied into the ledger; a re-run skips them';
ALTER TABLE {{ledger}}.migrated_conversations OWNER TO {{owner}};
REVOKE ALL ON {{ledger}}.migrated_conversations FROM PUBLIC;
GRANT SELECT ON {{ledger}}.migrated_conversations TO {{reader}}, {{daemon}};

-- Every ingester (migrate run, recover, the daemon) holds this lock on a conversation while it
-- compares a legacy value with the ledger and appends the difference; without it two ingesters
-- could both see a message missing and both append it. Locks are taken in one global order
-- (by hash) so that batches never deadlock each other. Hash collisions only serialize two
-- unrelated conversations.
CREATE FUNCTION {{ledger}}.lock_conversations(keys text[]) RETURNS void
LANGUAGE plpgsql AS $chatledger$
DECLARE
    h integer;
BEGIN
    FOR h IN SELECT DISTINCT pg_catalog.hashtext(k) FROM unnest(keys) AS k ORDER BY 1 LOOP
        PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext({{ledger_literal}}), h);
    END LOOP;
END
$chatledger$;
ALTER FUNCTION {{ledger}}.lock_conversations(text[]) OWNER TO {{owner}};
REVOKE ALL ON FUNCTION {{ledger}}.lock_conversations(text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION {{ledger}}.lock_conversations(text[]) TO {{daemon}};
