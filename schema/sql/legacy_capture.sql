-- chatledger repeatable step: the capture trigger on the legacy table and the backup table.
-- Re-applied whenever its rendered text changes (a new legacy table or column in the config).
-- Placeholders in double braces are replaced by quoted identifiers and literals from the configuration.

-- The legacy-compatible backup table, created with the seed's columns only when missing, and
-- its index. Only what is missing is created: CREATE ... IF NOT EXISTS checks CREATE on the
-- schema before it looks, and a DBA who owns both tables need not keep that right for this
-- step to restore the capture trigger.
DO $chatledger$
BEGIN
    IF pg_catalog.to_regclass({{backup_table_literal}}) IS NULL THEN
        CREATE TABLE {{backup_table}} (
            id                         serial PRIMARY KEY,
            zoho_id                    text,
            full_name                  text,
            backup_timestamp           timestamptz DEFAULT now(),
            operation_type             text,
            chat_history_backup        text,
            comments_backup            text,
            comments_entered_by_backup text,
            operation_user             text
        );
    END IF;
    -- The daemon prunes its own backup rows per conversation after each rewrite; without this
    -- index every prune scanned the whole backup table, which every_rewrite mode keeps growing.
    -- Looked up by name in the table's schema, as IF NOT EXISTS did.
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_class c
                   WHERE c.relname = 'chatledger_backup_by_conversation'
                     AND c.relnamespace = (SELECT relnamespace FROM pg_catalog.pg_class
                                           WHERE oid = {{backup_table_literal}}::regclass)) THEN
        CREATE INDEX chatledger_backup_by_conversation ON {{backup_table}} (zoho_id, id);
    END IF;
END
$chatledger$;

-- Runs as the ledger owner so legacy writers need no privilege on the ledger schema.
CREATE OR REPLACE FUNCTION {{ledger}}.capture_legacy_write() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $chatledger$
BEGIN
    -- The daemon's own rewrite is not captured again (it would loop). Told by the login, which
    -- no setting, SET ROLE or PGOPTIONS of a legacy writer can change: a session_user holding the
    -- daemon role. A superuser holds every role, so its writes are always captured.
    IF pg_catalog.pg_has_role(session_user, {{daemon_literal}}, 'MEMBER')
       AND NOT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = session_user) THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE'
       AND NEW.{{history}} IS NOT DISTINCT FROM OLD.{{history}}
       AND NEW.{{comment}} IS NOT DISTINCT FROM OLD.{{comment}}
       AND NEW.{{comment_author}} IS NOT DISTINCT FROM OLD.{{comment_author}}
       AND NEW.{{key}} IS NOT DISTINCT FROM OLD.{{key}} THEN
        RETURN NULL;
    END IF;
    -- What the write changed decides whether its comment is a message of its own (step 0007).
    INSERT INTO {{ledger}}.sync_queue (zoho_id, kind, history, comments, comments_entered_by,
                                       comment_changed, history_changed)
    VALUES (NEW.{{key}}::text, lower(TG_OP), NEW.{{history}}::text, NEW.{{comment}}::text,
            NEW.{{comment_author}}::text,
            TG_OP = 'INSERT' OR NEW.{{comment}} IS DISTINCT FROM OLD.{{comment}}
                OR NEW.{{comment_author}} IS DISTINCT FROM OLD.{{comment_author}},
            TG_OP = 'INSERT' OR NEW.{{history}} IS DISTINCT FROM OLD.{{history}});
    PERFORM {{ledger}}.wake();
    RETURN NULL;
END
$chatledger$;
ALTER FUNCTION {{ledger}}.capture_legacy_write() OWNER TO {{owner}};
REVOKE ALL ON FUNCTION {{ledger}}.capture_legacy_write() FROM PUBLIC;

DROP TRIGGER IF EXISTS chatledger_capture ON {{legacy_table}};
CREATE TRIGGER chatledger_capture
    AFTER INSERT OR UPDATE OF {{key}}, {{history}}, {{comment}}, {{comment_author}} ON {{legacy_table}}
    FOR EACH ROW EXECUTE FUNCTION {{ledger}}.capture_legacy_write();
-- ALWAYS: legacy writes under session_replication_role = replica are captured too.
ALTER TABLE {{legacy_table}} ENABLE ALWAYS TRIGGER chatledger_capture;

-- The backup table is where `recover` finds lost messages: code that the daemon's rewrite fires
-- may not add, change or remove its rows with the daemon's rights (step 0008's guard).
DROP TRIGGER IF EXISTS chatledger_no_nested_daemon_write ON {{backup_table}};
CREATE TRIGGER chatledger_no_nested_daemon_write
    BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON {{backup_table}}
    FOR EACH STATEMENT EXECUTE FUNCTION {{ledger}}.refuse_nested_daemon_write();
ALTER TABLE {{backup_table}} ENABLE ALWAYS TRIGGER chatledger_no_nested_daemon_write;

-- What the daemon needs on the legacy side: rewrite the rendered columns, write backup rows.
-- Monitoring counts legacy rows (`status`), which takes SELECT on one column.
GRANT SELECT, UPDATE ({{history}}, {{comment}}, {{comment_author}}) ON {{legacy_table}} TO {{daemon}};
GRANT SELECT ({{key}}) ON {{legacy_table}} TO {{reader}};
GRANT SELECT, INSERT, DELETE ON {{backup_table}} TO {{daemon}};
DO $chatledger$
DECLARE
    seq text := pg_catalog.pg_get_serial_sequence({{backup_table_literal}}, 'id');
    s regnamespace;
    r text;
BEGIN
    IF seq IS NOT NULL THEN
        EXECUTE format('GRANT USAGE ON SEQUENCE %s TO %I', seq, {{daemon_literal}});
    END IF;
    -- A legacy or backup table outside public (crm.live_chat) is out of reach without USAGE on
    -- its schema. Granted only where missing: public already allows it, and only the schema's
    -- owner may grant it, which the DBA need not be for public.
    FOR s IN SELECT DISTINCT c.relnamespace::regnamespace FROM pg_catalog.pg_class c
             WHERE c.oid IN ({{legacy_table_literal}}::regclass, {{backup_table_literal}}::regclass) LOOP
        FOREACH r IN ARRAY ARRAY[{{daemon_literal}}, {{reader_literal}}] LOOP
            IF NOT pg_catalog.has_schema_privilege(r, s, 'USAGE') THEN
                EXECUTE format('GRANT USAGE ON SCHEMA %s TO %I', s, r);
                IF NOT pg_catalog.has_schema_privilege(r, s, 'USAGE') THEN
                    RAISE EXCEPTION 'cannot grant USAGE on schema % to %', s, r
                        USING ERRCODE = 'insufficient_privilege',
                              HINT = format('run schema as the owner of schema %s, or have it run: GRANT USAGE ON SCHEMA %s TO %I', s, s, r);
                END IF;
            END IF;
        END LOOP;
    END LOOP;
END
$chatledger$;
