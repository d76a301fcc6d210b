-- chatledger schema step 0008: code that the daemon's writes fire cannot use the daemon's rights.
-- A trigger on the legacy table runs with the privileges of whoever fires it, and the daemon's
-- rewrite fires them: such code could delete or blank queued captures (a message lost for good),
-- delete the old system's backup rows (so recover finds nothing) or pass off ledger rows as
-- captured ones. What the daemon itself does runs at trigger depth 0; anything a trigger runs is
-- deeper, so these guards refuse it while the session is the daemon's.
-- Placeholders in double braces are replaced by quoted identifiers and literals from the configuration.
CREATE FUNCTION {{ledger}}.refuse_nested_daemon_write() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $chatledger$
BEGIN
    -- Inside this trigger the depth is 1 for a statement the daemon sent itself.
    IF pg_catalog.pg_trigger_depth() > 1
       AND pg_catalog.pg_has_role(session_user, {{daemon_literal}}, 'MEMBER')
       AND NOT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = session_user) THEN
        RAISE EXCEPTION 'code fired by the daemon''s write may not % %', lower(TG_OP),
            TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'a trigger or rule on the legacy table runs with the daemon login''s '
                         'rights: remove it, or make it leave the chatledger tables alone';
    END IF;
    RETURN NULL;
END
$chatledger$;
ALTER FUNCTION {{ledger}}.refuse_nested_daemon_write() OWNER TO {{owner}};
REVOKE ALL ON FUNCTION {{ledger}}.refuse_nested_daemon_write() FROM PUBLIC;

-- Queue rows are only ever inserted by chatledger's own SECURITY DEFINER triggers (nobody else
-- holds INSERT); changing or removing them is the daemon's work at depth 0.
CREATE TRIGGER sync_queue_no_nested_daemon_write
    BEFORE UPDATE OR DELETE OR TRUNCATE ON {{ledger}}.sync_queue
    FOR EACH STATEMENT EXECUTE FUNCTION {{ledger}}.refuse_nested_daemon_write();
ALTER TABLE {{ledger}}.sync_queue ENABLE ALWAYS TRIGGER sync_queue_no_nested_daemon_write;
CREATE TRIGGER chat_messages_no_nested_daemon_write
    BEFORE INSERT ON {{ledger}}.chat_messages
    FOR EACH STATEMENT EXECUTE FUNCTION {{ledger}}.refuse_nested_daemon_write();
ALTER TABLE {{ledger}}.chat_messages ENABLE ALWAYS TRIGGER chat_messages_no_nested_daemon_write;
