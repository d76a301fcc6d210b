// SQL for schema bookkeeping. Identifiers come quoted from the validated configuration and
// values travel as bound parameters, so no configured text is ever spliced raw.
#include "schema/schema_repository.hpp"

#include "config/error.hpp"

#include "chatledger/version.hpp"

#include <optional>

namespace chatledger::schema {

namespace {

std::string literal_table(const qualified_name& t) {
    return t.quoted();
}

}  // namespace

void schema_repository::lock() {
    // One lock per ledger schema name: two ledgers in one database may be set up at once.
    conn_.exec("taking the schema lock",
               "SELECT pg_advisory_xact_lock(hashtextextended('chatledger schema ' || $1, 0))",
               {cfg_.ledger.schema.name()});
}

bool schema_repository::history_exists() {
    auto r = conn_.exec("looking for the schema history", "SELECT to_regclass($1) IS NOT NULL",
                        {cfg_.ledger.schema.quoted() + ".schema_history"});
    return r.boolean(0, 0);
}

void schema_repository::bootstrap() {
    const std::string s = cfg_.ledger.schema.quoted();
    conn_.exec_script("creating the ledger schema",
                      "CREATE SCHEMA IF NOT EXISTS " + s +
                          ";\n"
                          "CREATE TABLE IF NOT EXISTS " +
                          s +
                          ".schema_history (\n"
                          "    version    integer PRIMARY KEY,\n"
                          "    name       text NOT NULL,\n"
                          "    checksum   text NOT NULL,\n"
                          "    applied_at timestamptz NOT NULL DEFAULT now(),\n"
                          "    applied_by text NOT NULL DEFAULT current_user,\n"
                          "    chatledger_version text NOT NULL\n"
                          ");\n"
                          "CREATE TABLE IF NOT EXISTS " +
                          s +
                          ".schema_repeatable (\n"
                          "    name       text PRIMARY KEY,\n"
                          "    checksum   text NOT NULL,\n"
                          "    target     text NOT NULL,\n"
                          "    applied_at timestamptz NOT NULL DEFAULT now(),\n"
                          "    applied_by text NOT NULL DEFAULT current_user\n"
                          ");\n");
}

std::vector<applied_step> schema_repository::applied_steps() {
    auto r = conn_.exec("reading the schema history",
                        "SELECT version, name, checksum, applied_at::text, applied_by FROM " +
                            cfg_.ledger.schema.quoted() + ".schema_history ORDER BY version");
    std::vector<applied_step> steps;
    for (int i = 0; i < r.rows(); ++i)
        steps.push_back({static_cast<int>(r.integer(i, 0)), std::string(r.text(i, 1)),
                         std::string(r.text(i, 2)), std::string(r.text(i, 3)),
                         std::string(r.text(i, 4))});
    return steps;
}

std::optional<applied_capture> schema_repository::capture_state() {
    auto r = conn_.exec("reading the capture step state",
                        "SELECT checksum, target FROM " + cfg_.ledger.schema.quoted() +
                            ".schema_repeatable WHERE name = 'legacy_capture'");
    if (r.rows() == 0)
        return std::nullopt;
    return applied_capture{std::string(r.text(0, 0)), std::string(r.text(0, 1))};
}

std::string schema_repository::checksum(const std::string& text) {
    auto r = conn_.exec("computing a step checksum",
                        "SELECT encode(sha256(convert_to($1, 'UTF8')), 'hex')", {text});
    return std::string(r.text(0, 0));
}

void schema_repository::run_step(const std::string& what, const std::string& sql) {
    conn_.exec_script(what, sql);
}

void schema_repository::record_step(int version, const std::string& name,
                                    const std::string& checksum) {
    conn_.exec("recording schema step " + std::to_string(version),
               "INSERT INTO " + cfg_.ledger.schema.quoted() +
                   ".schema_history (version, name, checksum, chatledger_version) "
                   "VALUES ($1::integer, $2, $3, $4)",
               {std::to_string(version), name, checksum, std::string(chatledger::version)});
}

void schema_repository::record_capture(const std::string& checksum, const std::string& target) {
    conn_.exec("recording the capture step",
               "INSERT INTO " + cfg_.ledger.schema.quoted() +
                   ".schema_repeatable (name, checksum, target) VALUES ('legacy_capture', $1, $2) "
                   "ON CONFLICT (name) DO UPDATE SET checksum = excluded.checksum, "
                   "target = excluded.target, applied_at = now(), applied_by = current_user",
               {checksum, target});
}

void schema_repository::drop_capture_trigger(const std::string& quoted_table) {
    auto r = conn_.exec("looking for the previous legacy table",
                        "SELECT to_regclass($1) IS NOT NULL", {quoted_table});
    if (!r.boolean(0, 0))
        return;
    // quoted_table was recorded by us from a quoted() identifier, never from user input.
    conn_.exec("removing the capture trigger from " + quoted_table,
               "DROP TRIGGER IF EXISTS chatledger_capture ON " + quoted_table);
}

std::string schema_repository::capture_trigger_problem() {
    const auto& l = cfg_.legacy;
    // An owner may drop it, disable it, make it fire only in replica or only in origin sessions,
    // or re-create it under the same name doing less: each is a way legacy writes go unseen.
    // tgtype 21 is AFTER ROW INSERT OR UPDATE.
    auto r = conn_.exec(
        "checking the capture trigger",
        "SELECT t.tgenabled::text, t.tgfoid = to_regprocedure($2) AND t.tgtype = 21 "
        "AND t.tgqual IS NULL AND (SELECT array_agg(a::int ORDER BY a) FROM "
        "unnest(t.tgattr::int2[]) a) IS NOT DISTINCT FROM (SELECT array_agg(attnum::int ORDER BY "
        "attnum) FROM pg_catalog.pg_attribute WHERE attrelid = t.tgrelid AND NOT attisdropped "
        "AND attname = ANY($3::text[])) FROM pg_catalog.pg_trigger t "
        "WHERE t.tgrelid = to_regclass($1) AND t.tgname = 'chatledger_capture'",
        {l.table.quoted(), cfg_.ledger.schema.quoted() + ".capture_legacy_write()",
         pg::array_literal({l.key_column.name(), l.history_column.name(), l.comment_column.name(),
                            l.comment_author_column.name()})});
    const std::string name = "the capture trigger chatledger_capture on " + l.table.display();
    if (r.rows() == 0)
        return name + " is missing: legacy writes are not captured";
    if (!r.boolean(0, 1))
        return name +
               " is not chatledger's: it was re-created with another function, events, "
               "columns or WHEN clause";
    const auto enabled = r.text(0, 0);
    if (enabled == "D")
        return name + " is disabled: legacy writes are not captured";
    if (enabled == "R")
        return name +
               " fires only in replica sessions (ENABLE REPLICA): ordinary legacy writes "
               "are not captured";
    if (enabled == "O")
        return name +
               " is not ENABLE ALWAYS: writes under session_replication_role = replica "
               "are not captured";
    return {};
}

std::string schema_repository::backup_guard_problem() {
    const auto& b = cfg_.backup.table;
    // tgtype 62 is BEFORE STATEMENT INSERT OR UPDATE OR DELETE OR TRUNCATE.
    auto r = conn_.exec(
        "checking the backup table's guard trigger",
        "SELECT to_regclass($1) IS NOT NULL, t.tgenabled::text, t.tgfoid = to_regprocedure($2) "
        "AND t.tgtype = 62 AND t.tgqual IS NULL FROM (SELECT) x LEFT JOIN pg_catalog.pg_trigger "
        "t ON t.tgrelid = to_regclass($1) AND t.tgname = 'chatledger_no_nested_daemon_write'",
        {b.quoted(), cfg_.ledger.schema.quoted() + ".refuse_nested_daemon_write()"});
    if (!r.boolean(0, 0))
        return "the backup table " + b.display() + " is missing";
    const std::string name =
        "the guard trigger chatledger_no_nested_daemon_write on " + b.display();
    const std::string why = ": code the daemon's rewrite fires could change backup rows";
    if (r.is_null(0, 1))
        return name + " is missing" + why;
    if (!r.boolean(0, 2))
        return name +
               " is not chatledger's: it was re-created with another function, events "
               "or WHEN clause";
    if (r.text(0, 1) == "D")
        return name + " is disabled" + why;
    if (r.text(0, 1) != "A")
        return name + " is not ENABLE ALWAYS" + why;
    return {};
}

std::vector<std::string> schema_repository::foreign_triggers() {
    auto r = conn_.exec(
        "listing triggers and rules on the legacy table",
        "SELECT 'trigger ' || quote_ident(tgname) || CASE tgenabled WHEN 'D' THEN ' (disabled)' "
        "ELSE '' END FROM pg_catalog.pg_trigger WHERE tgrelid = to_regclass($1) "
        "AND NOT tgisinternal AND tgname <> 'chatledger_capture' "
        "UNION ALL SELECT 'rule ' || quote_ident(rulename) FROM pg_catalog.pg_rewrite "
        "WHERE ev_class = to_regclass($1) AND rulename <> '_RETURN' ORDER BY 1",
        {cfg_.legacy.table.quoted()});
    std::vector<std::string> out;
    for (int i = 0; i < r.rows(); ++i) out.emplace_back(r.text(i, 0));
    return out;
}

std::vector<schema_repository::ledger_trigger> schema_repository::ledger_triggers(int version) {
    std::vector<std::string> tables, names;
    auto expect = [&](const char* table, const char* name) {
        tables.emplace_back(table);
        names.emplace_back(name);
    };
    if (version >= 1) {
        expect("chat_messages", "chat_messages_append_only_row");
        expect("chat_messages", "chat_messages_append_only_statement");
        // Step 0012 replaced the queue row per append with a wake-up per statement, and step
        // 0013 dropped the wake-up: the daemon polls.
        if (version < 12)
            expect("chat_messages", "chat_messages_enqueue");
        else if (version == 12)
            expect("chat_messages", "chat_messages_wake");
    }
    if (version >= 5)
        expect("chat_messages", "chat_messages_daemon_source");
    if (version >= 8) {
        expect("chat_messages", "chat_messages_no_nested_daemon_write");
        expect("sync_queue", "sync_queue_no_nested_daemon_write");
    }
    if (names.empty())
        return {};
    auto r = conn_.exec(
        "checking the ledger's triggers",
        "SELECT t, n, (SELECT tgenabled::text FROM pg_catalog.pg_trigger WHERE "
        "tgrelid = to_regclass($1 || '.' || t) AND tgname = n) "
        "FROM unnest($2::text[], $3::text[]) AS x(t, n)",
        {cfg_.ledger.schema.quoted(), pg::array_literal(tables), pg::array_literal(names)});
    std::vector<ledger_trigger> out;
    for (int i = 0; i < r.rows(); ++i)
        out.push_back(
            {std::string(r.text(i, 0)), std::string(r.text(i, 1)), r.optional_text(i, 2)});
    return out;
}

void schema_repository::enable_ledger_trigger(const ledger_trigger& t) {
    // Table and trigger are fixed names from ledger_triggers(), never configuration text; quoted
    // all the same.
    conn_.exec("enabling the ledger trigger " + t.name,
               "ALTER TABLE " + cfg_.ledger.schema.quoted() + "." + identifier(t.table).quoted() +
                   " ENABLE ALWAYS TRIGGER " + identifier(t.name).quoted());
}

queue_health schema_repository::read_queue_health(int version) {
    queue_health h;
    const std::string s = cfg_.ledger.schema.quoted();
    const std::string waiting =
        "SELECT enqueued_at AS at FROM " + s + ".sync_queue" +
        (version >= 12 ? " UNION ALL SELECT created_at FROM " + s + ".uncollected_appends" : "");
    // The planner cannot know how few appends wait (it assumes a third of all of them), and at a
    // few million appends the count was JIT-compiled: 25 ms of CPU on every heartbeat and
    // `status`, for a read of a few index pages. JIT off until the transaction ends.
    std::optional<pg::transaction> own;
    if (!conn_.in_transaction())
        own.emplace(conn_);
    conn_.exec("turning JIT off for the count", "SELECT pg_catalog.set_config('jit', 'off', true)");
    auto w = conn_.exec("measuring the work waiting in the sync queue",
                        "SELECT count(*), extract(epoch FROM clock_timestamp() - min(at)) FROM (" +
                            waiting + ") w");
    if (own)
        own->commit();
    h.waiting = w.integer(0, 0);
    if (!w.is_null(0, 1))
        h.oldest_waiting_age_s = std::stod(std::string(w.text(0, 1)));
    // Statistics and sizes need no privilege on the slots; before step 9 the queue is one table.
    auto r = conn_.exec("reading the sync queue's size",
                        "SELECT coalesce(sum(pg_total_relation_size(relid)), 0)::bigint, "
                        "coalesce(sum(n_dead_tup), 0)::bigint FROM pg_catalog.pg_stat_user_tables "
                        "WHERE relid = to_regclass($1) OR relid IN (SELECT inhrelid FROM "
                        "pg_catalog.pg_inherits WHERE inhparent = to_regclass($1))",
                        {cfg_.ledger.schema.quoted() + ".sync_queue"});
    h.bytes = r.integer(0, 0);
    h.dead_rows = r.integer(0, 1);
    if (version < 9)
        return h;
    h.oldest_read = true;
    auto o = conn_.exec("looking for the oldest open transaction",
                        "SELECT pid, application_name, coalesce(state, ''), age_s, xid_age FROM " +
                            cfg_.ledger.schema.quoted() + ".oldest_transaction()");
    if (o.rows() == 0 || o.is_null(0, 4))
        return h;
    open_transaction t;
    if (!o.is_null(0, 0))
        t.pid = static_cast<int>(o.integer(0, 0));
    t.application_name = o.optional_text(0, 1).value_or("");
    t.state = std::string(o.text(0, 2));
    if (!o.is_null(0, 3))
        t.age_s = std::stod(std::string(o.text(0, 3)));
    t.xid_age = o.integer(0, 4);
    h.oldest = std::move(t);
    return h;
}

bool schema_repository::table_exists(const qualified_name& table) {
    auto r = conn_.exec("looking for table " + table.display(),
                        "SELECT to_regclass($1) IS NOT NULL", {literal_table(table)});
    return r.boolean(0, 0);
}

bool schema_repository::has_unique_index_on(const qualified_name& table,
                                            const std::string& column) {
    // Expression and partial indexes do not make the plain column unique, and a key of several
    // columns (tenant_id, zoho_id) lets two rows share this one.
    auto r = conn_.exec("checking the unique indexes of " + table.display(),
                        "SELECT EXISTS (SELECT FROM pg_index i JOIN pg_attribute a "
                        "ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] "
                        "WHERE i.indrelid = to_regclass($1) AND i.indisunique AND i.indisvalid "
                        "AND i.indnkeyatts = 1 AND i.indpred IS NULL AND i.indexprs IS NULL "
                        "AND a.attname = $2)",
                        {literal_table(table), column});
    return r.boolean(0, 0);
}

std::vector<std::string> schema_repository::missing_columns(const qualified_name& table,
                                                            const std::vector<std::string>& names) {
    auto r = conn_.exec("checking the columns of " + table.display(),
                        "SELECT n FROM unnest($2::text[]) AS n WHERE NOT EXISTS ("
                        "  SELECT FROM pg_attribute WHERE attrelid = to_regclass($1)"
                        "  AND attname = n AND attnum > 0 AND NOT attisdropped)",
                        {literal_table(table), pg::array_literal(names)});
    std::vector<std::string> missing;
    for (int i = 0; i < r.rows(); ++i) missing.emplace_back(r.text(i, 0));
    return missing;
}

std::string schema_repository::key_column_type() {
    const auto& l = cfg_.legacy;
    auto r = conn_.exec("reading the type of the legacy key column",
                        "SELECT pg_catalog.format_type(atttypid, atttypmod) FROM "
                        "pg_catalog.pg_attribute WHERE attrelid = to_regclass($1) AND attname = $2 "
                        "AND attnum > 0 AND NOT attisdropped",
                        {l.table.quoted(), l.key_column.name()});
    if (r.rows() == 0)
        throw config_error(
            "legacy table " + l.table.display() + " has no column \"" + l.key_column.name() +
                "\" (legacy.key_column)",
            "set legacy.key_column to the column's exact name, as psql's \\d shows it");
    // format_type quotes every identifier of the name it returns: it is spliced as the server
    // prints it, and nothing of the config is.
    return std::string(r.text(0, 0));
}

}  // namespace chatledger::schema
