-- chatledger schema step 0005: what each role may put into a ledger row.
-- Placeholders in double braces are replaced by quoted identifiers and literals from the configuration.

-- Column privileges: neither role may name id (so no OVERRIDING SYSTEM VALUE) or created_at.
-- The daemon names the columns its ingest writes; an application only what section 3 of the
-- contract lets it give, so its row always renders from its own columns: with a payload of its
-- choosing the dashboard would show one author while the ledger's columns say another, and the
-- forged identity could make a real legacy message look like a duplicate.
REVOKE INSERT ON {{ledger}}.chat_messages FROM {{daemon}};
GRANT INSERT (zoho_id, author, body, sent_at, payload, source) ON {{ledger}}.chat_messages TO {{daemon}};
REVOKE INSERT (payload) ON {{ledger}}.chat_messages FROM {{writer}};

-- The daemon's ingest appends only what it captured ('legacy', 'unparseable'). A column
-- privilege cannot restrict a value, so a trigger refuses the others; code the daemon's writes
-- fire (a trigger on the legacy table) cannot pass off a row as migrated or as an app's.
CREATE FUNCTION {{ledger}}.refuse_daemon_source() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $chatledger$
BEGIN
    RAISE EXCEPTION 'the daemon role appends only captured messages: source % is refused', quote_literal(NEW.source)
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'migration and backup rows are appended by chatledger-migrate run and recover as the DBA; applications log in with the writer role';
END
$chatledger$;
ALTER FUNCTION {{ledger}}.refuse_daemon_source() OWNER TO {{owner}};
REVOKE ALL ON FUNCTION {{ledger}}.refuse_daemon_source() FROM PUBLIC;
-- The condition is in WHEN, evaluated without calling PL/pgSQL, so a bulk migration pays next
-- to nothing per row. The owner's members (the DBA, a superuser) append every source.
CREATE TRIGGER chat_messages_daemon_source
    BEFORE INSERT ON {{ledger}}.chat_messages
    FOR EACH ROW WHEN (NEW.source NOT IN ('legacy', 'unparseable')
                       AND pg_catalog.pg_has_role(current_user, {{daemon_literal}}, 'USAGE')
                       AND NOT pg_catalog.pg_has_role(current_user, {{owner_literal}}, 'USAGE'))
    EXECUTE FUNCTION {{ledger}}.refuse_daemon_source();
ALTER TABLE {{ledger}}.chat_messages ENABLE ALWAYS TRIGGER chat_messages_daemon_source;
