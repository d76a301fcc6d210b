-- chatledger schema step 0009: the sync queue rotates between three partitions and truncates the
-- drained ones, so a session idle in transaction no longer makes every claim walk dead rows.
-- Deleted queue rows stay in the table for as long as any open transaction might see them; a
-- forgotten psql kept them for hours and every claim walked them all. A TRUNCATEd partition has
-- none. Why this is safe is written out in docs/guarantees.md ("The queue under a pinned horizon").
-- Placeholders in double braces are replaced by quoted identifiers and literals from the configuration.

-- No event may be written or claimed while the rows move to the new table.
LOCK TABLE {{ledger}}.sync_queue IN ACCESS EXCLUSIVE MODE;

-- The slot new events go to: last_value % 3. A sequence is updated in place, so moving it
-- leaves no dead row behind, where a one-row pointer table would gain one per rotation that every
-- insert would walk under the very horizon this step is about. queue_slot() is the column's
-- default, evaluated for the owner inside chatledger's triggers, which pin search_path already.
CREATE SEQUENCE {{ledger}}.queue_epoch AS bigint MINVALUE 0 START 0;
ALTER SEQUENCE {{ledger}}.queue_epoch OWNER TO {{owner}};
REVOKE ALL ON SEQUENCE {{ledger}}.queue_epoch FROM PUBLIC;

CREATE FUNCTION {{ledger}}.queue_slot() RETURNS smallint
LANGUAGE plpgsql VOLATILE AS $chatledger$
BEGIN
    RETURN ((SELECT last_value FROM {{ledger}}.queue_epoch) % 3)::smallint;
END
$chatledger$;
ALTER FUNCTION {{ledger}}.queue_slot() OWNER TO {{owner}};
REVOKE ALL ON FUNCTION {{ledger}}.queue_slot() FROM PUBLIC;

ALTER TABLE {{ledger}}.sync_queue RENAME TO sync_queue_before_0009;
ALTER INDEX {{ledger}}.sync_queue_pkey RENAME TO sync_queue_before_0009_pkey;
ALTER INDEX {{ledger}}.sync_queue_zoho_id RENAME TO sync_queue_before_0009_zoho_id;

-- The same columns in the same order, and the slot. Ids come from one identity for all slots, so
-- they stay unique and in enqueue order across partitions; the key has to include the slot.
CREATE TABLE {{ledger}}.sync_queue (
    id                  bigint GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME {{ledger}}.sync_queue_id),
    zoho_id             text NOT NULL,
    kind                text NOT NULL
                        CONSTRAINT sync_queue_kind_check CHECK (kind IN ('append', 'insert', 'update')),
    history             text,
    comments            text,
    comments_entered_by text,
    first_ledger_id     bigint,
    enqueued_at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    xact_id             xid8 NOT NULL DEFAULT pg_current_xact_id(),
    comment_changed     boolean,
    history_changed     boolean,
    slot                smallint NOT NULL DEFAULT {{ledger}}.queue_slot(),
    CONSTRAINT sync_queue_pkey PRIMARY KEY (id, slot)
) PARTITION BY LIST (slot);
CREATE TABLE {{ledger}}.sync_queue_0 PARTITION OF {{ledger}}.sync_queue FOR VALUES IN (0);
CREATE TABLE {{ledger}}.sync_queue_1 PARTITION OF {{ledger}}.sync_queue FOR VALUES IN (1);
CREATE TABLE {{ledger}}.sync_queue_2 PARTITION OF {{ledger}}.sync_queue FOR VALUES IN (2);
CREATE INDEX sync_queue_zoho_id ON {{ledger}}.sync_queue (zoho_id, id);
COMMENT ON TABLE {{ledger}}.sync_queue IS
    'work queue: one row per ledger append (kind append) or captured legacy write (insert, update, with the written values); partitioned by slot, read through this table only';

-- The ids keep counting from where the old table's identity stood, so events queued before this
-- step stay ahead of the new ones (claims and `run` go by id order).
DO $chatledger$
DECLARE
    t text := pg_catalog.format('%I.sync_queue', {{ledger_literal}});
    last bigint;
    called boolean;
BEGIN
    EXECUTE pg_catalog.format('SELECT last_value, is_called FROM %s',
                              pg_catalog.pg_get_serial_sequence(t || '_before_0009', 'id'))
        INTO last, called;
    PERFORM pg_catalog.setval(pg_catalog.pg_get_serial_sequence(t, 'id'), last, called);
END
$chatledger$;
INSERT INTO {{ledger}}.sync_queue (id, zoho_id, kind, history, comments, comments_entered_by,
                                   first_ledger_id, enqueued_at, xact_id, comment_changed,
                                   history_changed, slot)
    OVERRIDING SYSTEM VALUE
    SELECT id, zoho_id, kind, history, comments, comments_entered_by, first_ledger_id,
           enqueued_at, xact_id, comment_changed, history_changed, 0
    FROM {{ledger}}.sync_queue_before_0009;
DROP TABLE {{ledger}}.sync_queue_before_0009;
ALTER SEQUENCE {{ledger}}.sync_queue_id RENAME TO sync_queue_id_seq;

ALTER TABLE {{ledger}}.sync_queue OWNER TO {{owner}};
ALTER TABLE {{ledger}}.sync_queue_0 OWNER TO {{owner}};
ALTER TABLE {{ledger}}.sync_queue_1 OWNER TO {{owner}};
ALTER TABLE {{ledger}}.sync_queue_2 OWNER TO {{owner}};
-- The grants of steps 0001 and 0008's guard, on the new table. The partitions grant nothing:
-- every read and write goes through sync_queue, where the guard fires.
REVOKE ALL ON {{ledger}}.sync_queue, {{ledger}}.sync_queue_0, {{ledger}}.sync_queue_1,
              {{ledger}}.sync_queue_2 FROM PUBLIC;
GRANT SELECT ON {{ledger}}.sync_queue TO {{reader}};
GRANT SELECT, UPDATE, DELETE ON {{ledger}}.sync_queue TO {{daemon}};
CREATE TRIGGER sync_queue_no_nested_daemon_write
    BEFORE UPDATE OR DELETE OR TRUNCATE ON {{ledger}}.sync_queue
    FOR EACH STATEMENT EXECUTE FUNCTION {{ledger}}.refuse_nested_daemon_write();
ALTER TABLE {{ledger}}.sync_queue ENABLE ALWAYS TRIGGER sync_queue_no_nested_daemon_write;

-- Maintenance, called by every chatledger-syncd every few seconds in a READ COMMITTED transaction
-- of its own. It TRUNCATEs a slot other than the current one only when the slot has no row under
-- an ACCESS EXCLUSIVE lock: a transaction still inserting into it, claiming from it or reading it
-- holds a lock that makes NOWAIT fail (it is tried again next time), and every transaction that
-- inserted into it and ended has committed before it let go of its lock, so the statement after
-- the LOCK sees its rows. It moves new events on to an empty, truncated slot once the current one
-- holds rotate_at bytes. Three slots: one still held by a forgotten transaction leaves two to
-- alternate between. The size is fixed here, not configured: 4 MB is about 45,000 append events,
-- a few milliseconds per claim at worst and as long under the lock to check a slot before it is
-- truncated, against one TRUNCATE's few dead catalog rows per 4 MB of events.
CREATE FUNCTION {{ledger}}.maintain_queue(OUT truncated integer, OUT rotated boolean)
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
    -- Several daemons call it: one at a time, the others skip this turn.
    IF NOT pg_try_advisory_xact_lock(hashtextextended('chatledger queue ' || {{ledger_literal}}, 0)) THEN
        RETURN;
    END IF;
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
ALTER FUNCTION {{ledger}}.maintain_queue() OWNER TO {{owner}};
REVOKE ALL ON FUNCTION {{ledger}}.maintain_queue() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION {{ledger}}.maintain_queue() TO {{daemon}};

-- The transaction holding the horizon back, for `status` and the daemon's metrics. Monitoring
-- and the daemon see other logins' sessions only in part (pg_stat_activity hides when their
-- transaction began); this function sees them whole when the owner role holds pg_read_all_stats,
-- and hands out no query text. Client sessions and prepared transactions of this database.
CREATE FUNCTION {{ledger}}.oldest_transaction(OUT pid integer, OUT application_name text,
                                              OUT state text, OUT age_s double precision,
                                              OUT xid_age integer)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $chatledger$
    SELECT * FROM (
        SELECT a.pid, a.application_name, a.state,
               extract(epoch FROM clock_timestamp() - a.xact_start)::double precision,
               greatest(age(a.backend_xid), age(a.backend_xmin))
        FROM pg_stat_activity a
        WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()
          AND a.backend_type = 'client backend'
          AND (a.backend_xid IS NOT NULL OR a.backend_xmin IS NOT NULL)
        UNION ALL
        SELECT NULL, 'prepared transaction ' || p.gid, 'prepared',
               extract(epoch FROM clock_timestamp() - p.prepared)::double precision,
               age(p.transaction)
        FROM pg_prepared_xacts p WHERE p.database = current_database()
    ) t ORDER BY 5 DESC LIMIT 1
$chatledger$;
ALTER FUNCTION {{ledger}}.oldest_transaction() OWNER TO {{owner}};
REVOKE ALL ON FUNCTION {{ledger}}.oldest_transaction() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION {{ledger}}.oldest_transaction() TO {{reader}}, {{daemon}};
DO $chatledger$
BEGIN
    EXECUTE format('GRANT pg_read_all_stats TO %I', {{owner_literal}});
EXCEPTION WHEN insufficient_privilege OR invalid_grant_operation THEN
    RAISE NOTICE 'the owner role % could not be granted pg_read_all_stats: status shows the oldest transaction''s age in transaction ids only', {{owner_literal}}
        USING HINT = format('have a superuser run: GRANT pg_read_all_stats TO %I', {{owner_literal}});
END
$chatledger$;
