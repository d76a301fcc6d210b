-- chatledger schema step 0003: what chatledger-syncd reports about itself.
-- One row per running instance, upserted every few seconds; `chatledger-migrate status` reads it.
-- Placeholders in double braces are replaced by quoted identifiers and literals from the configuration.
CREATE TABLE {{ledger}}.syncd_instances (
    instance           text PRIMARY KEY,
    started_at         timestamptz NOT NULL,
    heartbeat_at       timestamptz NOT NULL,
    conversations      bigint NOT NULL DEFAULT 0,
    rewrites           bigint NOT NULL DEFAULT 0,
    drifts_healed      bigint NOT NULL DEFAULT 0,
    messages_captured  bigint NOT NULL DEFAULT 0,
    lag_p50_ms         double precision,
    lag_p99_ms         double precision
);
COMMENT ON TABLE {{ledger}}.syncd_instances IS
    'chatledger-syncd instances and their counters (heartbeat every few seconds)';
ALTER TABLE {{ledger}}.syncd_instances OWNER TO {{owner}};
REVOKE ALL ON {{ledger}}.syncd_instances FROM PUBLIC;
GRANT SELECT ON {{ledger}}.syncd_instances TO {{reader}};
GRANT SELECT, INSERT, UPDATE, DELETE ON {{ledger}}.syncd_instances TO {{daemon}};
