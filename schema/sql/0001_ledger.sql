-- chatledger schema step 0001: the append-only ledger, its roles and its work queue.
-- Applied once by `chatledger-migrate schema`; never edit it after release, add a new step.
-- Placeholders in double braces are replaced by quoted identifiers and literals from the configuration.

-- A NOLOGIN role owns every ledger object: no login role can disable the ledger's triggers.
DO $chatledger$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY[{{owner_literal}}, {{writer_literal}}, {{reader_literal}}, {{daemon_literal}}] LOOP
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = r) THEN
            -- Roles are cluster-wide: another database's setup may create the same one at once.
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', r);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;
            END;
        END IF;
    END LOOP;
    -- A non-superuser DBA must be a member of the owner role to hand objects over to it.
    IF NOT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
        EXECUTE format('GRANT %I TO %I', {{owner_literal}}, current_user);
    END IF;
END
$chatledger$;

ALTER SCHEMA {{ledger}} OWNER TO {{owner}};
REVOKE ALL ON SCHEMA {{ledger}} FROM PUBLIC;
GRANT USAGE ON SCHEMA {{ledger}} TO {{writer}}, {{reader}}, {{daemon}};

CREATE TABLE {{ledger}}.chat_messages (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    zoho_id    text NOT NULL,
    author     text,
    body       text,
    sent_at    timestamptz DEFAULT now(),
    payload    json,
    source     text NOT NULL DEFAULT 'app'
               CONSTRAINT chat_messages_source_check
               CHECK (source IN ('migration', 'legacy', 'backup', 'unparseable', 'app')),
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE {{ledger}}.chat_messages IS
    'append-only chat ledger: INSERT a row to add a message; UPDATE, DELETE and TRUNCATE are refused';
-- Rendering reads one conversation in append order.
CREATE INDEX chat_messages_zoho_id_id ON {{ledger}}.chat_messages (zoho_id, id);
ALTER TABLE {{ledger}}.chat_messages OWNER TO {{owner}};

CREATE FUNCTION {{ledger}}.refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $chatledger$
BEGIN
    RAISE EXCEPTION '%.% is append-only: % is refused', TG_TABLE_SCHEMA, TG_TABLE_NAME, lower(TG_OP)
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'append a new message with INSERT; the ledger never changes a row it holds';
END
$chatledger$;
ALTER FUNCTION {{ledger}}.refuse_change() OWNER TO {{owner}};

-- REVOKE alone would not stop the owner or a superuser; triggers do. The statement trigger also
-- fires for statements that match no row and for TRUNCATE, which row triggers never see.
CREATE TRIGGER chat_messages_append_only_row
    BEFORE UPDATE OR DELETE ON {{ledger}}.chat_messages
    FOR EACH ROW EXECUTE FUNCTION {{ledger}}.refuse_change();
CREATE TRIGGER chat_messages_append_only_statement
    BEFORE UPDATE OR DELETE OR TRUNCATE ON {{ledger}}.chat_messages
    FOR EACH STATEMENT EXECUTE FUNCTION {{ledger}}.refuse_change();
-- ALWAYS: they fire under session_replication_role = replica too.
ALTER TABLE {{ledger}}.chat_messages ENABLE ALWAYS TRIGGER chat_messages_append_only_row;
ALTER TABLE {{ledger}}.chat_messages ENABLE ALWAYS TRIGGER chat_messages_append_only_statement;

-- One row per event (a ledger append or a captured legacy write), written in the event's own
-- transaction and deleted by the consumer that claims it FOR UPDATE SKIP LOCKED: unlike a
-- cursor or a per-conversation flag, no late-committing event can be skipped.
CREATE TABLE {{ledger}}.sync_queue (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    zoho_id             text NOT NULL,
    kind                text NOT NULL
                        CONSTRAINT sync_queue_kind_check CHECK (kind IN ('append', 'insert', 'update')),
    history             text,
    comments            text,
    comments_entered_by text,
    first_ledger_id     bigint,
    enqueued_at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    xact_id             xid8 NOT NULL DEFAULT pg_current_xact_id()
);
COMMENT ON TABLE {{ledger}}.sync_queue IS
    'work queue: one row per ledger append (kind append) or captured legacy write (insert, update, with the written values)';
CREATE INDEX sync_queue_zoho_id ON {{ledger}}.sync_queue (zoho_id, id);
ALTER TABLE {{ledger}}.sync_queue OWNER TO {{owner}};

-- The wake-up hint. NOTIFY serializes every notifying commit on one global lock, so a session
-- sends at most one per 10 ms; a daemon that worked in the last second polls every 10 ms anyway,
-- so a skipped hint delays an event by at most that, and an idle daemon's first event always
-- notifies. The queue row, not the hint, is what carries the work.
CREATE FUNCTION {{ledger}}.wake() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $chatledger$
DECLARE
    last text := current_setting('chatledger.woke_at', true);
    now_ms bigint := (extract(epoch FROM clock_timestamp()) * 1000)::bigint;
BEGIN
    IF last IS NULL OR last = '' OR now_ms - last::bigint >= 10 THEN
        PERFORM pg_notify({{channel_literal}}, '');
        PERFORM set_config('chatledger.woke_at', now_ms::text, false);
    END IF;
END
$chatledger$;
ALTER FUNCTION {{ledger}}.wake() OWNER TO {{owner}};
REVOKE ALL ON FUNCTION {{ledger}}.wake() FROM PUBLIC;

-- Only rows the legacy column cannot show yet need a render: applications' appends and
-- messages recovered from backups. Migrated rows are already in the column, captured legacy rows
-- came from it (their capture events are queued), and the daemon renders its own appends in the
-- same transaction. A row trigger with a WHEN clause costs a bulk migration nothing per row,
-- where a statement trigger's transition table would collect every inserted row.
CREATE FUNCTION {{ledger}}.enqueue_append() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $chatledger$
BEGIN
    -- first_ledger_id tells the daemon which rows are new, not lost from the legacy column.
    INSERT INTO {{ledger}}.sync_queue (zoho_id, kind, first_ledger_id)
    VALUES (NEW.zoho_id, 'append', NEW.id);
    PERFORM {{ledger}}.wake();
    RETURN NULL;
END
$chatledger$;
ALTER FUNCTION {{ledger}}.enqueue_append() OWNER TO {{owner}};
REVOKE ALL ON FUNCTION {{ledger}}.enqueue_append() FROM PUBLIC;
REVOKE ALL ON FUNCTION {{ledger}}.refuse_change() FROM PUBLIC;
CREATE TRIGGER chat_messages_enqueue
    AFTER INSERT ON {{ledger}}.chat_messages
    FOR EACH ROW WHEN (NEW.source IN ('app', 'backup'))
    EXECUTE FUNCTION {{ledger}}.enqueue_append();
ALTER TABLE {{ledger}}.chat_messages ENABLE ALWAYS TRIGGER chat_messages_enqueue;

-- Privileges: writers append with a plain INSERT and cannot forge the source or the clock.
REVOKE ALL ON {{ledger}}.chat_messages, {{ledger}}.sync_queue FROM PUBLIC;
GRANT SELECT ON {{ledger}}.chat_messages TO {{writer}}, {{reader}}, {{daemon}};
GRANT INSERT (zoho_id, author, body, sent_at, payload) ON {{ledger}}.chat_messages TO {{writer}};
GRANT INSERT ON {{ledger}}.chat_messages TO {{daemon}};
GRANT SELECT ON {{ledger}}.sync_queue TO {{reader}};
-- UPDATE is what SELECT ... FOR UPDATE SKIP LOCKED requires; the queue is not the ledger.
GRANT SELECT, UPDATE, DELETE ON {{ledger}}.sync_queue TO {{daemon}};
