-- chatledger schema step 0012: an application's append writes its ledger row and nothing else;
-- the daemon finds new appends by the transaction that wrote them and queues them itself.
-- Measured on two cores (docs/scaling.md): the queue row each append wrote halved the append
-- rate. Each row now carries its transaction id, and collect_appends() turns every row whose
-- transaction was not yet committed at the last collection into one event per conversation.
-- "Not committed at snapshot S" is exactly "xact_id >= S's xmax or in S's list of transactions
-- in progress", so a transaction that commits late, out of id order, is found all the same: no
-- `id > last_seen` cursor, which would skip it. The cursor and the events it produced are
-- written by one statement, under one snapshot, so a crash never separates them.
-- Placeholders in double braces are replaced by quoted identifiers and literals from the configuration.

-- NULL on the rows from before: their events were queued by step 0010's trigger. No login may
-- insert it (the column grants of steps 0001 and 0005 name other columns).
ALTER TABLE {{ledger}}.chat_messages ADD COLUMN xact_id xid8;
ALTER TABLE {{ledger}}.chat_messages ALTER COLUMN xact_id SET DEFAULT pg_catalog.pg_current_xact_id();
COMMENT ON COLUMN {{ledger}}.chat_messages.xact_id IS
    'the transaction that appended the row: chatledger-syncd finds new appends by it';
-- Only the rows the daemon must find: `run`'s COPY (source migration) does not maintain it.
CREATE INDEX chat_messages_new_appends ON {{ledger}}.chat_messages (xact_id)
    WHERE source IN ('app', 'backup');

-- Rows, not one row updated in place: under a horizon held back by a forgotten transaction an
-- updated row grows a chain of versions every read walks (step 0009's lesson); the newest row is
-- the first one an index scan backwards meets. The one before it is deleted as a new one is added.
CREATE TABLE {{ledger}}.append_cursor (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    snap_xmax xid8 NOT NULL,
    snap_xip  xid8[] NOT NULL,
    taken_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
COMMENT ON TABLE {{ledger}}.append_cursor IS
    'the snapshot of the last collection of appends (collect_appends): rows of transactions it did not see committed are new';
ALTER TABLE {{ledger}}.append_cursor OWNER TO {{owner}};
REVOKE ALL ON {{ledger}}.append_cursor FROM PUBLIC;
GRANT SELECT ON {{ledger}}.append_cursor TO {{reader}}, {{daemon}};
-- Rows appended before this transaction commits went through the old trigger; any appended
-- after it is by a transaction not committed in this snapshot.
INSERT INTO {{ledger}}.append_cursor (snap_xmax, snap_xip)
SELECT pg_snapshot_xmax(s), ARRAY(SELECT pg_snapshot_xip(s)) FROM pg_current_snapshot() s;

-- The appends no collection has queued yet: the daemon's backlog, `status`, and what
-- collect_appends() queues. With the cursor table emptied (only the owner can), every append
-- since step 0012 counts.
CREATE VIEW {{ledger}}.uncollected_appends AS
-- Two index range scans, not one filter over every append ever made: the cursor's values come
-- from subqueries the executor evaluates once, so each branch has an index condition. The
-- branches are disjoint: a snapshot's in-progress transactions all lie below its xmax.
SELECT m.id, m.zoho_id, m.created_at
FROM {{ledger}}.chat_messages m
WHERE m.source IN ('app', 'backup')
  AND m.xact_id >= coalesce((SELECT a.snap_xmax FROM {{ledger}}.append_cursor a ORDER BY a.id DESC LIMIT 1),
                            '3'::xid8)
UNION ALL
SELECT m.id, m.zoho_id, m.created_at
FROM {{ledger}}.chat_messages m
WHERE m.source IN ('app', 'backup')
  AND m.xact_id = ANY (coalesce((SELECT a.snap_xip FROM {{ledger}}.append_cursor a ORDER BY a.id DESC LIMIT 1),
                                '{}'::xid8[]))
  AND m.xact_id < coalesce((SELECT a.snap_xmax FROM {{ledger}}.append_cursor a ORDER BY a.id DESC LIMIT 1),
                           '3'::xid8);
ALTER VIEW {{ledger}}.uncollected_appends OWNER TO {{owner}};
REVOKE ALL ON {{ledger}}.uncollected_appends FROM PUBLIC;
GRANT SELECT ON {{ledger}}.uncollected_appends TO {{reader}}, {{daemon}};

-- Called by every chatledger-syncd before it lists the queue, in a READ COMMITTED transaction of
-- its own. Returns the number of events queued, or NULL when another daemon is collecting.
CREATE FUNCTION {{ledger}}.collect_appends() RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
-- Index scans only, whatever the statistics say; and no JIT, which the cost of a disabled
-- sequential scan (the queue_epoch sequence has no other) would set off: 300 ms per call.
SET enable_seqscan = off SET jit = off AS $chatledger$
DECLARE
    cur_id bigint;
    queued integer;
    moved integer;
BEGIN
    -- A transaction snapshot taken before the lock below could read a cursor another daemon
    -- has replaced since.
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'collecting appends needs a READ COMMITTED transaction, not %',
            upper(current_setting('transaction_isolation'))
            USING ERRCODE = 'invalid_transaction_state',
                  HINT = 'call it in a transaction of its own: BEGIN ISOLATION LEVEL READ COMMITTED';
    END IF;
    -- Nothing new, the common case of a poll: no lock, so no transaction id and no WAL.
    IF NOT EXISTS (SELECT FROM {{ledger}}.uncollected_appends) THEN
        RETURN 0;
    END IF;
    -- Daemons take turns on the newest cursor row's lock, not on an advisory lock: any login
    -- can take an advisory lock and keep it, which would stop every collection; a row lock
    -- needs UPDATE on the table, which only the owner has. A row another collector replaced
    -- meanwhile is gone when the lock is granted: that collector has just done the work.
    BEGIN
        SELECT c.id INTO cur_id FROM {{ledger}}.append_cursor c ORDER BY c.id DESC LIMIT 1
            FOR UPDATE NOWAIT;
    EXCEPTION WHEN lock_not_available THEN
        RETURN NULL;
    END;
    IF cur_id IS NULL AND EXISTS (SELECT FROM {{ledger}}.append_cursor) THEN
        RETURN NULL;
    END IF;
    -- (With the table emptied, which only the owner can do, uncollected_appends counts every
    -- append since step 0012: each such conversation is queued once more, which is harmless.)
    -- One statement, one snapshot: the rows found are those committed in it, and the cursor
    -- saved is that same snapshot. A new cursor only when something was found: the old one
    -- still describes everything not yet queued.
    WITH snap AS MATERIALIZED (SELECT pg_current_snapshot() AS s),
         found AS MATERIALIZED (
             SELECT u.zoho_id, min(u.id) AS first_id, min(u.created_at) AS since
             FROM {{ledger}}.uncollected_appends u GROUP BY u.zoho_id),
         events AS (
             INSERT INTO {{ledger}}.sync_queue (zoho_id, kind, first_ledger_id, enqueued_at, slot)
             SELECT f.zoho_id, 'append', f.first_id, f.since,
                    (SELECT (e.last_value % 3)::smallint FROM {{ledger}}.queue_epoch e)
             FROM found f ORDER BY f.first_id
             RETURNING 1),
         saved AS (
             INSERT INTO {{ledger}}.append_cursor (snap_xmax, snap_xip)
             SELECT pg_snapshot_xmax(snap.s), ARRAY(SELECT pg_snapshot_xip(snap.s)) FROM snap
             WHERE EXISTS (SELECT FROM found)
             RETURNING 1)
    SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM saved) INTO queued, moved;
    -- The one row before it, by its key: no scan over rows a held-back horizon keeps.
    IF moved > 0 AND cur_id IS NOT NULL THEN
        DELETE FROM {{ledger}}.append_cursor WHERE id = cur_id;
    END IF;
    RETURN queued;
END
$chatledger$;
ALTER FUNCTION {{ledger}}.collect_appends() OWNER TO {{owner}};
REVOKE ALL ON FUNCTION {{ledger}}.collect_appends() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION {{ledger}}.collect_appends() TO {{daemon}};

-- The wake-up, once per statement instead of once per row, at most one per session every 500 ms
-- (step 0010's rule). No WHEN clause and no SET: a trigger's WHEN is read back from its stored
-- text for every statement, and that alone took 14% of an append's server time (docs/scaling.md);
-- a PL/pgSQL call stays compiled in the session. Every name is qualified instead of a SET: the
-- function runs with the rights of whoever appends, so a search_path can only mislead its own
-- session. A value a session set itself that is not a time wakes the daemon (it only costs that
-- session a NOTIFY): the hint is never the work, the cursor is.
CREATE FUNCTION {{ledger}}.wake_after_append() RETURNS trigger
LANGUAGE plpgsql AS $chatledger$
DECLARE
    last pg_catalog.text := pg_catalog.current_setting('chatledger.woke_at', true);
    now_ms pg_catalog.int8 := pg_catalog.floor(pg_catalog.date_part('epoch', pg_catalog.clock_timestamp())
                                               OPERATOR(pg_catalog.*) 1000::pg_catalog.float8);
BEGIN
    IF last IS NULL OR last OPERATOR(pg_catalog.!~) '^[0-9]{1,15}$'
       OR now_ms OPERATOR(pg_catalog.-) last::pg_catalog.int8 OPERATOR(pg_catalog.>=) 500 THEN
        PERFORM pg_catalog.pg_notify({{channel_literal}}, '');
        PERFORM pg_catalog.set_config('chatledger.woke_at', now_ms::pg_catalog.text, false);
    END IF;
    RETURN NULL;
END
$chatledger$;
ALTER FUNCTION {{ledger}}.wake_after_append() OWNER TO {{owner}};
REVOKE ALL ON FUNCTION {{ledger}}.wake_after_append() FROM PUBLIC;

DROP TRIGGER chat_messages_enqueue ON {{ledger}}.chat_messages;
DROP FUNCTION {{ledger}}.enqueue_append();
CREATE TRIGGER chat_messages_wake
    AFTER INSERT ON {{ledger}}.chat_messages
    FOR EACH STATEMENT EXECUTE FUNCTION {{ledger}}.wake_after_append();
ALTER TABLE {{ledger}}.chat_messages ENABLE ALWAYS TRIGGER chat_messages_wake;

-- Queue maintenance (step 0009) took its turn on an advisory lock: any login can take that key
-- and keep it, and no slot would ever be truncated again. Its turn is now a lock on a table
-- that grants nothing to anyone (LOCK TABLE needs a privilege on it), the rest unchanged.
CREATE TABLE {{ledger}}.maintenance_turn ();
COMMENT ON TABLE {{ledger}}.maintenance_turn IS
    'never holds a row: maintain_queue() locks it so that one daemon at a time maintains the queue';
ALTER TABLE {{ledger}}.maintenance_turn OWNER TO {{owner}};
REVOKE ALL ON {{ledger}}.maintenance_turn FROM PUBLIC;
CREATE OR REPLACE FUNCTION {{ledger}}.maintain_queue(OUT truncated integer, OUT rotated boolean)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $chatledger$
DECLARE
    rotate_at constant bigint := 4 * 1024 * 1024;
    cur smallint;
    part regclass;
    busy boolean;
    s integer;
BEGIN
    truncated := 0;
    rotated := false;
    -- A transaction snapshot taken before the lock could miss a row committed just before it.
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'queue maintenance needs a READ COMMITTED transaction, not %',
            upper(current_setting('transaction_isolation'))
            USING ERRCODE = 'invalid_transaction_state',
                  HINT = 'call it in a transaction of its own: BEGIN ISOLATION LEVEL READ COMMITTED';
    END IF;
    -- Several daemons call it: one at a time, the others skip this turn. The turn is a lock on a
    -- table no other login may even read: an advisory lock, as before, any login could take
    -- and keep, and maintenance would never run again.
    BEGIN
        LOCK TABLE {{ledger}}.maintenance_turn IN EXCLUSIVE MODE NOWAIT;
    EXCEPTION WHEN lock_not_available THEN
        RETURN;
    END;
    cur := {{ledger}}.queue_slot();
    FOR s IN 0..2 LOOP
        CONTINUE WHEN s = cur;
        part := format('%I.sync_queue_%s', {{ledger_literal}}, s)::regclass;
        -- Empty pages only after a TRUNCATE: nothing to do.
        CONTINUE WHEN pg_relation_size(part) = 0;
        -- Looked at without the lock first: a slot still draining is not locked for nothing.
        EXECUTE format('SELECT EXISTS (SELECT FROM %s)', part) INTO busy;
        CONTINUE WHEN busy;
        BEGIN
            EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE NOWAIT', part);
        EXCEPTION WHEN lock_not_available THEN
            CONTINUE;
        END;
        -- A new statement, so a new snapshot, taken under the lock: it sees every committed row.
        EXECUTE format('SELECT EXISTS (SELECT FROM %s)', part) INTO busy;
        IF NOT busy THEN
            EXECUTE format('TRUNCATE %s', part);
            truncated := truncated + 1;
        END IF;
    END LOOP;
    part := format('%I.sync_queue_%s', {{ledger_literal}}, cur)::regclass;
    IF pg_relation_size(part) >= rotate_at THEN
        FOR s IN 1..2 LOOP
            part := format('%I.sync_queue_%s', {{ledger_literal}}, (cur + s) % 3)::regclass;
            IF pg_relation_size(part) = 0 THEN
                PERFORM setval(format('%I.queue_epoch', {{ledger_literal}}),
                               (SELECT last_value FROM {{ledger}}.queue_epoch) + s, true);
                rotated := true;
                EXIT;
            END IF;
        END LOOP;
    END IF;
END
$chatledger$;
