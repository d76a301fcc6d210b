-- chatledger schema step 0011: the daemon's source check (step 0005) runs after the row, so COPY
-- into the ledger loads in bulk again.
-- PostgreSQL's COPY writes rows one by one (a WAL record, a buffer lock and a page search each)
-- as soon as the table has any BEFORE ROW INSERT trigger, since such a trigger might read the
-- table; with none it writes a page's worth of rows at once. Step 0005's trigger was the only
-- one, and `migrate run` paid for it on every message. As an AFTER ROW trigger it refuses the
-- same rows: its error aborts the statement that wrote them, in that statement, so nothing it
-- refuses is ever committed or seen by a later statement, whether the daemon sent the statement
-- or code it fired did (an exception handler around that code rolls the row back with it). Its
-- WHEN clause is evaluated as each row is written: a row it lets through queues no event. It
-- asks pg_has_role() about the current user without naming it, which is the same question
-- without looking current_user up by name for every row.
-- Placeholders in double braces are replaced by quoted identifiers and literals from the configuration.

-- One transaction: there is no moment without the check.
DROP TRIGGER chat_messages_daemon_source ON {{ledger}}.chat_messages;
CREATE TRIGGER chat_messages_daemon_source
    AFTER INSERT ON {{ledger}}.chat_messages
    FOR EACH ROW WHEN (NEW.source NOT IN ('legacy', 'unparseable')
                       AND pg_catalog.pg_has_role({{daemon_literal}}, 'USAGE')
                       AND NOT pg_catalog.pg_has_role({{owner_literal}}, 'USAGE'))
    EXECUTE FUNCTION {{ledger}}.refuse_daemon_source();
ALTER TABLE {{ledger}}.chat_messages ENABLE ALWAYS TRIGGER chat_messages_daemon_source;
