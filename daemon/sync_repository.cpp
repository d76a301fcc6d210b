// SQL for chatledger-syncd. The legacy row is locked with the session's short lock_timeout so a
// dashboard writer never waits long on the daemon; a timeout just leaves the work queued.
#include "daemon/sync_repository.hpp"

#include <algorithm>
#include <limits>

#include "config/error.hpp"
#include "schema/schema_repository.hpp"

namespace chatledger::daemon {

namespace {

event_kind kind_of(std::string_view text) {
    if (text == "insert")
        return event_kind::insert;
    if (text == "update")
        return event_kind::update;
    if (text == "append")
        return event_kind::append;
    throw pg::db_error("unexpected queue event kind \"" + std::string(text) + "\"", "XX000",
                       "the sync queue was written by a newer chatledger: upgrade this one");
}

}  // namespace

const std::string& sync_repository::key_type() {
    if (key_type_.empty())
        key_type_ = schema::schema_repository(conn_, cfg_).key_column_type();
    return key_type_;
}

std::string sync_repository::key_is(const std::string& param) {
    // The typed comparison walks the key's index (key::text = $1 scanned the table on an integer
    // or char(n) key); the text one keeps a key spelled otherwise ('Z1      ' for a char(8) 'Z1',
    // '007' for 7) from matching a row whose conversation the ledger knows by another name.
    const std::string key = cfg_.legacy.key_column.quoted();
    return key + " = " + param + "::text::" + key_type() + " AND " + key + "::text = " + param +
           "::text";
}

sync_repository::login sync_repository::session_login() {
    // current_user too: a conninfo's options='-c role=...' can switch to a superuser role.
    auto r = conn_.exec("checking the login role",
                        "SELECT session_user::text, bool_or(rolsuper) FROM pg_catalog.pg_roles "
                        "WHERE rolname IN (session_user, current_user)");
    return {std::string(r.text(0, 0)), r.boolean(0, 1)};
}

int sync_repository::on_channel(const char* what, const std::string& command) {
    // One query string is one transaction: a transaction pooler runs both on one server.
    return static_cast<int>(conn_
                                .exec_script(what, command + " " + cfg_.ledger.schema.quoted() +
                                                       "; SELECT pg_backend_pid()")
                                .integer(0, 0));
}

int sync_repository::listen() {
    return on_channel("listening for wake-ups", "LISTEN");
}

int sync_repository::unlisten() {
    return on_channel("removing the listen for wake-ups", "UNLISTEN");
}

void sync_repository::notify(const std::string& payload) {
    conn_.exec("probing notifications", "SELECT pg_notify($1, $2)",
               {cfg_.ledger.schema.name(), payload});
}

bool sync_repository::lz4_available() {
    auto r = conn_.exec("checking for lz4 compression",
                        "SELECT EXISTS (SELECT FROM pg_catalog.pg_settings WHERE name = "
                        "'default_toast_compression' AND 'lz4' = ANY (enumvals))");
    return r.boolean(0, 0);
}

void sync_repository::begin_conversation(const std::string& zoho_id) {
    // No marking of the transaction: the capture trigger knows the daemon's rewrites by its login.
    conn_.exec_hot("locking the conversation",
                   "SELECT " + cfg_.ledger.schema.quoted() + ".lock_conversations(ARRAY[$1::text])",
                   {zoho_id});
}

std::vector<std::string> sync_repository::queued_conversations(
    int limit, const std::vector<std::string>& exclude) {
    // Oldest events first; a conversation with many events is listed once.
    auto r = conn_.exec("reading the sync queue",
                        "SELECT zoho_id FROM " + cfg_.ledger.schema.quoted() +
                            ".sync_queue WHERE zoho_id <> ALL ($2::text[]) GROUP BY zoho_id "
                            "ORDER BY min(id) LIMIT $1::integer",
                        {std::to_string(limit), pg::array_literal(exclude)});
    std::vector<std::string> out;
    for (int i = 0; i < r.rows(); ++i) out.emplace_back(r.text(i, 0));
    return out;
}

namespace {

/// Values larger than this are read in slices (pg::connection::read_text_in_slices()), not in
/// the row that names them: one round trip more, so only for large ones.
constexpr long long sliced_above = 4 << 20;

/// The queue columns every claim reads, in the order events_of() takes them; a large history
/// comes as NULL with the last column true.
const std::string event_columns =
    "q.id, q.kind, CASE WHEN octet_length(q.history) <= " + std::to_string(sliced_above) +
    " THEN q.history END, q.comments, q.comments_entered_by, "
    "extract(epoch FROM clock_timestamp() - q.enqueued_at) * 1000, "
    "q.first_ledger_id, q.comment_changed, q.history_changed, "
    "coalesce(octet_length(q.history) > " +
    std::to_string(sliced_above) + ", false)";

/// The claimed events; the ids of those whose history is left to read_large_histories().
std::vector<queue_event> events_of(const pg::result& r, std::vector<long long>& large) {
    std::vector<queue_event> out;
    auto flag = [&](int row, int col) {
        return r.is_null(row, col) ? std::nullopt : std::optional<bool>(r.boolean(row, col));
    };
    for (int i = 0; i < r.rows(); ++i) {
        if (r.is_null(i, 0))
            continue;  // claim_rest's row that only carries its count
        out.push_back({r.integer(i, 0), kind_of(r.text(i, 1)), r.optional_text(i, 2),
                       r.optional_text(i, 3), r.optional_text(i, 4),
                       r.is_null(i, 6) ? std::nullopt : std::optional<long long>(r.integer(i, 6)),
                       std::stod(std::string(r.text(i, 5))), flag(i, 7), flag(i, 8)});
        if (r.boolean(i, 9))
            large.push_back(out.back().id);
    }
    return out;
}

}  // namespace

void sync_repository::read_large_histories(std::vector<queue_event>& events,
                                           const std::vector<long long>& large) {
    for (auto& e : events)
        if (std::find(large.begin(), large.end(), e.id) != large.end())
            e.history = conn_.read_text_in_slices(
                "reading a large queued history", "history",
                cfg_.ledger.schema.quoted() + ".sync_queue WHERE id = $1", {std::to_string(e.id)});
}

claimed_writes sync_repository::claim_writes(const std::string& zoho_id, long long limit,
                                             long long budget_bytes) {
    // All `c` rows are locked, but only a prefix within the byte budget (at least one) is read:
    // sizes come from the values' headers, so a skipped value is never loaded. The locked rest
    // says there is more; this transaction then leaves the rendering to a later one.
    const std::string q = cfg_.ledger.schema.quoted() + ".sync_queue";
    auto r = conn_.exec_hot(
        "claiming queued events",
        "WITH c AS (SELECT id, coalesce(octet_length(history), 0) + "
        "coalesce(octet_length(comments), 0) + "
        "coalesce(octet_length(comments_entered_by), 0) AS size FROM " +
            q +
            " WHERE zoho_id = $1 AND kind <> 'append' ORDER BY id LIMIT $2::bigint "
            "FOR UPDATE SKIP LOCKED), s AS (SELECT id, sum(size) OVER (ORDER BY id) AS upto, "
            "row_number() OVER (ORDER BY id) AS n, count(*) OVER () AS locked FROM c) SELECT " +
            event_columns + ", s.locked FROM s JOIN " + q +
            " q ON q.id = s.id WHERE s.upto <= $3::bigint OR s.n = 1 ORDER BY q.id",
        {zoho_id, std::to_string(limit), std::to_string(budget_bytes)});
    std::vector<long long> large;
    claimed_writes out{events_of(r, large), false};
    const long long locked = r.rows() > 0 ? r.integer(0, r.columns() - 1) : 0;
    out.more = locked == limit || locked > r.rows();
    read_large_histories(out.events, large);
    return out;
}

std::vector<queue_event> sync_repository::claim_rest(const std::string& zoho_id,
                                                     const std::vector<long long>& exclude) {
    std::vector<std::string> ids;
    ids.reserve(exclude.size());
    for (long long id : exclude) ids.push_back(std::to_string(id));
    const std::string q = cfg_.ledger.schema.quoted() + ".sync_queue";
    const std::string mine = " WHERE zoho_id = $1 AND id <> ALL ($2::bigint[])";
    const std::string large = "octet_length(history) > " + std::to_string(sliced_above);
    // Deleted as they are read: locking each row and deleting it later wrote it twice, and a
    // rollback puts them back all the same. No SKIP LOCKED is needed: every claimer of this
    // conversation's events holds its advisory lock (begin_conversation), and inserts lock
    // nothing a DELETE could wait on. A large history is read in slices from its row, which
    // must still be there: those few are locked and left, and `big` counts them (in the
    // statement's snapshot, before the DELETE), with one row even when nothing was deleted.
    auto r = conn_.exec_hot("claiming queued events",
                            "WITH q AS (DELETE FROM " + q + mine + " AND NOT coalesce(" + large +
                                ", false) RETURNING *), b AS (SELECT count(*) AS big FROM " + q +
                                mine + " AND " + large + ") SELECT " + event_columns +
                                ", b.big FROM b LEFT JOIN q ON true ORDER BY q.id",
                            {zoho_id, pg::array_literal(ids)});
    std::vector<long long> none;
    auto events = events_of(r, none);
    for (auto& e : events) e.deleted = true;
    if (r.integer(0, r.columns() - 1) == 0)
        return events;
    auto rest = conn_.exec_hot("claiming queued events",
                               "SELECT " + event_columns + " FROM " + q + " q" + mine +
                                   " ORDER BY id FOR UPDATE SKIP LOCKED",
                               {zoho_id, pg::array_literal(ids)});
    std::vector<long long> sliced;
    auto more = events_of(rest, sliced);
    read_large_histories(more, sliced);
    for (auto& e : more) events.push_back(std::move(e));
    std::sort(events.begin(), events.end(),
              [](const queue_event& a, const queue_event& b) { return a.id < b.id; });
    return events;
}

void sync_repository::record_failure(const std::string& zoho_id, const std::string& instance,
                                     int failures, const std::string& sqlstate,
                                     const std::string& error, std::chrono::seconds retry_in) {
    conn_.exec("recording a failed sync",
               "INSERT INTO " + cfg_.ledger.schema.quoted() +
                   ".sync_failures AS f (zoho_id, failures, sqlstate, error, instance, retry_at) "
                   "VALUES ($1, $2::integer, nullif($3, ''), $4, $5, "
                   "now() + make_interval(secs => $6::integer)) "
                   "ON CONFLICT (zoho_id) DO UPDATE SET failed_at = now(), "
                   "failures = greatest(f.failures + 1, excluded.failures), "
                   "sqlstate = excluded.sqlstate, error = excluded.error, "
                   "instance = excluded.instance, retry_at = excluded.retry_at",
               {zoho_id, std::to_string(failures), sqlstate, error, instance,
                std::to_string(retry_in.count())});
}

void sync_repository::clear_failure(const std::string& zoho_id) {
    conn_.exec("clearing a failed sync",
               "DELETE FROM " + cfg_.ledger.schema.quoted() + ".sync_failures WHERE zoho_id = $1",
               {zoho_id});
}

std::vector<std::pair<std::string, int>> sync_repository::recorded_failures() {
    auto r = conn_.exec("reading failed syncs", "SELECT zoho_id, failures FROM " +
                                                    cfg_.ledger.schema.quoted() +
                                                    ".sync_failures ORDER BY zoho_id");
    std::vector<std::pair<std::string, int>> out;
    for (int i = 0; i < r.rows(); ++i)
        out.emplace_back(std::string(r.text(i, 0)), static_cast<int>(r.integer(i, 1)));
    return out;
}

void sync_repository::forget_stale_failures() {
    const std::string s = cfg_.ledger.schema.quoted();
    conn_.exec("forgetting failed syncs that others completed",
               "DELETE FROM " + s + ".sync_failures f WHERE retry_at < now() - interval '1 min' " +
                   "AND NOT EXISTS (SELECT FROM " + s +
                   ".sync_queue q WHERE q.zoho_id = f.zoho_id)");
}

void sync_repository::delete_events(const std::vector<long long>& ids) {
    if (ids.empty())
        return;
    std::vector<std::string> list;
    for (long long id : ids) list.push_back(std::to_string(id));
    conn_.exec_hot(
        "deleting processed events",
        "DELETE FROM " + cfg_.ledger.schema.quoted() + ".sync_queue WHERE id = ANY($1::bigint[])",
        {pg::array_literal(list)});
}

std::optional<legacy_state> sync_repository::lock_legacy_row(const std::string& zoho_id,
                                                             const std::string& unless_xmin) {
    const auto& l = cfg_.legacy;
    const std::string hist = l.history_column.quoted() + "::text";
    const std::string large = "octet_length(" + hist + ") > " + std::to_string(sliced_above);
    // A large history is left out here and read in slices once the row is locked.
    auto r = conn_.exec_hot(
        "locking the legacy row",
        "SELECT " + l.name_column.quoted() + "::text, CASE WHEN xmin::text = $2 OR " + large +
            " THEN NULL ELSE " + hist + " END, " + l.comment_column.quoted() + "::text, " +
            l.comment_author_column.quoted() + "::text, xmin::text, xmin::text = $2, " +
            "coalesce(xmin::text <> $2 AND " + large + ", false) FROM " + l.table.quoted() +
            " WHERE " + key_is("$1") + " FOR UPDATE",
        {zoho_id, unless_xmin});
    if (r.rows() == 0)
        return std::nullopt;
    // Rendering one row's history into every row of the key would mix conversations: refuse,
    // so the conversation is set aside with this line instead of being retried for ever.
    if (r.rows() > 1)
        throw error("legacy table " + l.table.display() + " has " + std::to_string(r.rows()) +
                        " rows with " + l.key_column.name() + " '" + zoho_id +
                        "' (legacy.key_column)",
                    "one key must be one conversation: merge or re-key those rows, then run: "
                    "CREATE UNIQUE INDEX CONCURRENTLY ON " +
                        l.table.quoted() + " (" + l.key_column.quoted() + ")");
    legacy_state row{r.optional_text(0, 0), r.optional_text(0, 1),     r.optional_text(0, 2),
                     r.optional_text(0, 3), std::string(r.text(0, 4)), r.boolean(0, 5)};
    if (r.boolean(0, 6))
        row.history =
            conn_.read_text_in_slices("reading a large legacy history", hist,
                                      l.table.quoted() + " WHERE " + key_is("$1"), {zoho_id});
    return row;
}

std::string sync_repository::backup_insert() const {
    // The backup table keeps the seed's column names whatever the legacy table calls its own.
    return "INSERT INTO " + cfg_.backup.table.quoted() +
           " (zoho_id, full_name, backup_timestamp, operation_type, chat_history_backup, "
           "comments_backup, comments_entered_by_backup, operation_user) ";
}

std::string sync_repository::backup_prune() const {
    // $1 the key, $5 the daemon's operation_user, $6 keep_last, $7 max_age in seconds, $8
    // prune_batch. Run beside the statement's own two inserts, which it cannot see: it keeps two
    // fewer old rows.
    const std::string t = cfg_.backup.table.quoted();
    const std::string own = " WHERE zoho_id = $1 AND operation_user = $5";
    return "DELETE FROM " + t + " WHERE id IN (SELECT id FROM " + t + own +
           " AND $6::integer > 0 AND id NOT IN (SELECT id FROM " + t + own +
           " ORDER BY id DESC LIMIT greatest($6::integer - 2, 0)) UNION ALL SELECT id FROM " + t +
           own +
           " AND $7::integer > 0 AND backup_timestamp < now() - make_interval(secs => "
           "$7::integer) LIMIT $8::integer)";
}

std::optional<std::string> sync_repository::rewrite(const std::string& zoho_id, std::string history,
                                                    const std::optional<std::string>& comment,
                                                    const std::optional<std::string>& author,
                                                    bool backups, bool append) {
    const auto& l = cfg_.legacy;
    const std::string row = l.table.quoted() + " WHERE " + key_is("$1");
    const std::string hist = l.history_column.quoted();
    const std::string name_text = l.name_column.quoted() + "::text";
    const std::string comment_text = l.comment_column.quoted() + "::text";
    const std::string author_text = l.comment_author_column.quoted() + "::text";
    // Appending, $2 is the tail that replaces the closing bracket: the old text stays on the
    // server, read once by `o` (one snapshot for the whole statement) and cut there by bytes.
    // left(h, -1) counts characters twice over the whole text: on a 1 MB history it took five
    // times as long as reading it, and the statement took it three times. The last byte is the
    // `]` this daemon wrote (the row is still its version), so the cut never splits a character.
    const std::string enc = "getdatabaseencoding()";
    const std::string cut = "convert_from(substring(convert_to(" + hist + "::text, " + enc +
                            ") FROM 1 FOR octet_length(" + hist + "::text) - 1), " + enc + ")";
    const std::string set = hist + (append ? " = (SELECT l FROM o) || $2::text, " : " = $2, ") +
                            l.comment_column.quoted() + " = $3, " +
                            l.comment_author_column.quoted() + " = $4";
    const std::string old = append ? "o AS (SELECT " + cut + " AS l, " + name_text + " AS n, " +
                                         comment_text + " AS c, " + author_text + " AS a FROM " +
                                         row + "), "
                                   : "";
    const std::string check = append ? " SELECT u.h = o.l || $2::text, u.x FROM u, o"
                                     : " SELECT u.h = $2::text, u.x FROM u";
    // The stored text is compared on the server: sending it back would copy it again. The new
    // row version's xmin tells the next sync whether anyone wrote the row since.
    const std::string returning = " RETURNING " + l.name_column.quoted() + "::text AS n, " + hist +
                                  "::text AS h, " + comment_text + " AS c, " + author_text +
                                  " AS a, xmin::text AS x";
    auto stored = [](const pg::result& r) -> std::optional<std::string> {
        if (r.rows() != 1 || !r.boolean(0, 0))
            return std::nullopt;
        return std::string(r.text(0, 1));
    };
    // Moved in, not copied: the history can be hundreds of megabytes.
    std::vector<pg::param> params;
    params.reserve(8);
    params.emplace_back(zoho_id);
    params.emplace_back(std::move(history));
    params.emplace_back(comment);
    params.emplace_back(author);
    if (!backups)
        return stored(conn_.exec_hot("rewriting the legacy row",
                                     "WITH " + old + "u AS (UPDATE " + l.table.quoted() + " SET " +
                                         set + " WHERE " + key_is("$1") + returning + ")" + check,
                                     params));
    // One statement, one snapshot: `before` reads the row as it was, `after` what the UPDATE
    // wrote; `after` reads `before`, so the before row is written (and numbered) first, as the
    // old tooling expects. `pruned` keeps the daemon's newest keep_last rows of the
    // conversation: it cannot see this statement's two new rows, so it keeps two fewer old ones.
    // Only the daemon's own rows are pruned: older rows are the old system's, and `recover`
    // reads them.
    const auto& b = cfg_.backup;
    for (auto p : {std::string(backup_user), std::to_string(b.keep_last),
                   std::to_string(b.max_age.count()), std::to_string(b.prune_batch)})
        params.emplace_back(std::move(p));
    // Appending, the old text is `o`'s cut and the bracket: it is not read a second time.
    const std::string was =
        append ? "SELECT $1, o.n, now(), 'before_update', o.l || ']', o.c, o.a, $5 FROM o"
               : "SELECT $1, " + name_text + ", now(), 'before_update', " + hist + "::text, " +
                     comment_text + ", " + author_text + ", $5 FROM " + row;
    const std::string insert = backup_insert();
    auto r = conn_.exec_hot("rewriting the legacy row with its backup rows",
                            "WITH " + old + "before AS (" + insert + was +
                                " RETURNING id), u AS (UPDATE " + l.table.quoted() + " SET " + set +
                                " WHERE " + key_is("$1") + returning + "), after AS (" + insert +
                                "SELECT $1, n, now(), 'after_update', h, c, a, $5 FROM u, "
                                "(SELECT count(*) FROM before) b), pruned AS (" +
                                backup_prune() + ")" + check,
                            params);
    return stored(r);
}

std::optional<std::string> sync_repository::legacy_key_equal_to(const std::string& zoho_id) {
    const auto& l = cfg_.legacy;
    const std::string key = l.key_column.quoted();
    // In its own transaction: a value the type cannot read fails this statement alone.
    try {
        pg::transaction tx(conn_, "BEGIN READ ONLY");
        auto r = conn_.exec("looking for the legacy key of an event",
                            "SELECT " + key + "::text FROM " + l.table.quoted() + " WHERE " + key +
                                " = $1::text::" + key_type() + " LIMIT 1",
                            {zoho_id});
        tx.commit();
        if (r.rows() == 0)
            return std::nullopt;
        return std::string(r.text(0, 0));
    } catch (const pg::connection_error&) {
        throw;
    } catch (const pg::db_error&) {
        return std::nullopt;
    }
}

long long sync_repository::legacy_row_count() {
    const auto& l = cfg_.legacy;
    return conn_
        .exec("counting legacy conversations", "SELECT count(*) FROM " + l.table.quoted() +
                                                   " WHERE " + l.key_column.quoted() +
                                                   " IS NOT NULL")
        .integer(0, 0);
}

std::vector<std::string> sync_repository::legacy_keys(const std::optional<std::string>& after,
                                                      int limit) {
    const auto& l = cfg_.legacy;
    const std::string key = l.key_column.quoted();
    std::string sql =
        "SELECT " + key + "::text FROM " + l.table.quoted() + " WHERE " + key + " IS NOT NULL";
    std::vector<pg::param> params = {std::to_string(limit)};
    if (after) {
        sql += " AND " + key + " > $2";
        params.push_back(*after);
    }
    sql += " ORDER BY " + key + " LIMIT $1::integer";
    auto r = conn_.exec("listing legacy conversations", sql, params);
    std::vector<std::string> out;
    for (int i = 0; i < r.rows(); ++i) out.emplace_back(r.text(i, 0));
    return out;
}

long long sync_repository::collect_appends() {
    // READ COMMITTED whatever the role's default: the function reads the cursor after its lock.
    pg::transaction tx(conn_, "BEGIN ISOLATION LEVEL READ COMMITTED");
    auto r = conn_.exec_hot("collecting appends",
                            "SELECT " + cfg_.ledger.schema.quoted() + ".collect_appends()");
    tx.commit();
    return r.is_null(0, 0) ? 0 : r.integer(0, 0);
}

bool sync_repository::appends_waiting() {
    auto r = conn_.exec_hot(
        "looking for new appends",
        "SELECT EXISTS (SELECT FROM " + cfg_.ledger.schema.quoted() + ".uncollected_appends)");
    return r.boolean(0, 0);
}

std::optional<long long> sync_repository::first_unannounced(const std::string& zoho_id) {
    const std::string l = cfg_.ledger.schema.quoted();
    auto r = conn_.exec_hot(
        "reading which ledger rows are new",
        "SELECT least((SELECT min(first_ledger_id) FROM " + l +
            ".sync_queue WHERE zoho_id = $1 AND kind = 'append'), (SELECT min(id) FROM " + l +
            ".uncollected_appends WHERE zoho_id = $1))",
        {zoho_id});
    return r.is_null(0, 0) ? std::nullopt : std::optional<long long>(r.integer(0, 0));
}

void sync_repository::heartbeat(const std::string& instance, const std::string& started_at,
                                const instance_counters& c) {
    auto opt = [](const std::optional<double>& v) -> pg::param {
        return v ? pg::param(std::to_string(*v)) : std::nullopt;
    };
    conn_.exec("writing the heartbeat",
               "INSERT INTO " + cfg_.ledger.schema.quoted() +
                   ".syncd_instances (instance, started_at, heartbeat_at, conversations, rewrites, "
                   "drifts_healed, messages_captured, lag_p50_ms, lag_p99_ms) "
                   "VALUES ($1, $2::timestamptz, now(), $3, $4, $5, $6, $7, $8) "
                   "ON CONFLICT (instance) DO UPDATE SET heartbeat_at = now(), "
                   "conversations = excluded.conversations, rewrites = excluded.rewrites, "
                   "drifts_healed = excluded.drifts_healed, "
                   "messages_captured = excluded.messages_captured, "
                   "lag_p50_ms = excluded.lag_p50_ms, lag_p99_ms = excluded.lag_p99_ms",
               {instance, started_at, std::to_string(c.conversations), std::to_string(c.rewrites),
                std::to_string(c.drifts_healed), std::to_string(c.messages_captured),
                opt(c.lag_p50_ms), opt(c.lag_p99_ms)});
}

void sync_repository::forget_instance(const std::string& instance) {
    conn_.exec(
        "removing the instance row",
        "DELETE FROM " + cfg_.ledger.schema.quoted() + ".syncd_instances WHERE instance = $1",
        {instance});
}

queue_maintenance sync_repository::maintain_queue() {
    // READ COMMITTED whatever the role's default: the function's emptiness check needs a
    // snapshot taken after its lock.
    pg::transaction tx(conn_, "BEGIN ISOLATION LEVEL READ COMMITTED");
    auto r = conn_.exec(
        "maintaining the sync queue",
        "SELECT truncated, rotated FROM " + cfg_.ledger.schema.quoted() + ".maintain_queue()");
    tx.commit();
    return {static_cast<int>(r.integer(0, 0)), r.boolean(0, 1)};
}

}  // namespace chatledger::daemon
