-- chatledger schema step 0013: an application's append fires no trigger that does work; the
-- daemon looks for new appends itself, every daemon.append_poll_ms.
-- Measured on two cores (docs/scaling.md): step 0012's wake-up, a statement trigger calling
-- PL/pgSQL to send a NOTIFY at most twice a second per session, cost a fifth of the append
-- rate, almost all of it in firing the trigger, not in the NOTIFY. Since step 0012 the hint
-- carried nothing the daemon needs: appends are found by their transaction (collect_appends()),
-- whether or not anybody was told. An idle daemon asks the view uncollected_appends, one indexed
-- probe, instead of waiting for the hint. Legacy writes still notify (capture trigger).
-- Placeholders in double braces are replaced by quoted identifiers and literals from the configuration.

DROP TRIGGER chat_messages_wake ON {{ledger}}.chat_messages;
DROP FUNCTION {{ledger}}.wake_after_append();

-- The legacy capture's hint (step 0010's wake()) read the session's own setting as a number: a
-- legacy writer that set chatledger.woke_at to text had every write refused, and one that set it
-- to a time to come sent no hint at all. A value that is not a time in the last 500 ms now
-- simply sends the hint, as step 0012's rule for appends did.
CREATE OR REPLACE FUNCTION {{ledger}}.wake() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $chatledger$
DECLARE
    last text := current_setting('chatledger.woke_at', true);
    now_ms bigint := (extract(epoch FROM clock_timestamp()) * 1000)::bigint;
BEGIN
    IF last IS NULL OR last !~ '^[0-9]{1,15}$' OR now_ms - last::bigint NOT BETWEEN 0 AND 499 THEN
        PERFORM pg_notify({{channel_literal}}, '');
        PERFORM set_config('chatledger.woke_at', now_ms::text, false);
    END IF;
END
$chatledger$;
