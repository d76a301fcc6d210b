-- chatledger schema step 0006: conversations chatledger-syncd could not sync.
-- One row per conversation while it is set aside (a legacy trigger or constraint refuses its
-- row, a value it cannot render); deleted by the sync that succeeds. `status` lists them.
-- Placeholders in double braces are replaced by quoted identifiers and literals from the configuration.
CREATE TABLE {{ledger}}.sync_failures (
    zoho_id         text PRIMARY KEY,
    first_failed_at timestamptz NOT NULL DEFAULT now(),
    failed_at       timestamptz NOT NULL DEFAULT now(),
    failures        integer NOT NULL DEFAULT 1,
    sqlstate        text,
    error           text NOT NULL,
    instance        text NOT NULL,
    retry_at        timestamptz NOT NULL
);
COMMENT ON TABLE {{ledger}}.sync_failures IS
    'conversations chatledger-syncd has set aside because their sync failed; cleared when one succeeds';
ALTER TABLE {{ledger}}.sync_failures OWNER TO {{owner}};
REVOKE ALL ON {{ledger}}.sync_failures FROM PUBLIC;
GRANT SELECT ON {{ledger}}.sync_failures TO {{reader}};
GRANT SELECT, INSERT, UPDATE, DELETE ON {{ledger}}.sync_failures TO {{daemon}};

-- The ledger holds only values the legacy column can show: a sent_at of infinity (which any
-- application could insert) cannot be rendered as a time and stopped every sync of its
-- conversation. NOT VALID: rows already stored are rendered without a time instead of failing
-- this step.
ALTER TABLE {{ledger}}.chat_messages
    ADD CONSTRAINT chat_messages_sent_at_finite CHECK (isfinite(sent_at)) NOT VALID;
