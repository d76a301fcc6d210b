// `run` and `plan`: walk the legacy table in key order, batch by batch, and apply the ingest
// rule; `run` commits each batch with its checkpoint, `plan` only counts in a read-only snapshot.
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <deque>
#include <exception>
#include <fstream>
#include <mutex>
#include <ostream>
#include <set>
#include <thread>

#include "config/error.hpp"
#include "config/logging.hpp"
#include "config/progress.hpp"
#include "core/json.hpp"
#include "ledger/ingest.hpp"
#include "migrator/commands.hpp"
#include "migrator/first_render.hpp"
#include "migrator/migration_repository.hpp"

namespace chatledger::migrator {

namespace {

/// Unparseable keys the table names; --report lists them all, as pgloader's reject file would.
constexpr size_t keys_listed = 20;

/// Totals of a `run` or `plan`, printed as a table and optionally written as JSON.
struct totals : ledger::ingest_counts {
    long long conversations = 0;
    long long already_migrated = 0;
    long long migrated = 0;
    long long captured_writes = 0;
    long long captured_appended = 0;
    double seconds = 0;
    /// Conversations whose value became an `unparseable` row: every one with --report (a key
    /// each, even for a million), else the first keys_listed.
    std::set<std::string> unparseable_keys;
    bool all_keys = false;
    first_render_totals first;  ///< plan: what the daemon's first pass will change

    /// Adds a worker's totals: its conversations and what it ingested.
    void merge(totals o) {
        already_migrated += o.already_migrated;
        migrated += o.migrated;
        first += o.first;
        *this += static_cast<const ledger::ingest_counts&>(o);
        unparseable_keys.merge(o.unparseable_keys);
        while (!all_keys && unparseable_keys.size() > keys_listed)
            unparseable_keys.erase(std::prev(unparseable_keys.end()));
    }
};

/// The unparseable values' keys under the table: the first ones, and how to get the rest.
void print_unparseable_keys(std::ostream& out, const totals& t) {
    if (t.unparseable_keys.empty())
        return;
    out << "    keys:";
    size_t n = 0;
    for (auto it = t.unparseable_keys.begin(); it != t.unparseable_keys.end() && n < keys_listed;
         ++it, ++n)
        out << (n ? ", " : " ") << *it;
    const long long more = t.unparseable - static_cast<long long>(n);
    if (more > 0)
        out << " and " << more << " more (--report FILE lists them all)";
    out << "\n";
}

void print_table(std::ostream& out, const char* title, const totals& t, bool dry_run) {
    auto row = [&](const char* label, long long v) {
        out << "  " << label << std::string(34 - std::string(label).size(), ' ') << v << "\n";
    };
    out << title << "\n";
    row("legacy conversations", t.conversations);
    row("already migrated (skipped)", t.already_migrated);
    row(dry_run ? "conversations to migrate" : "conversations migrated", t.migrated);
    row("array elements read", t.elements);
    row("NULL values", t.null_values);
    row("empty or blank values", t.blank_values);
    row("[] values", t.empty_arrays);
    row("unparseable values", t.unparseable);
    print_unparseable_keys(out, t);
    row(dry_run ? "ledger rows to append" : "ledger rows appended", t.appended);
    row("messages without a timestamp", t.no_timestamp);
    if (!dry_run) {
        row("legacy writes captured during run", t.captured_writes);
        row("rows appended from those writes", t.captured_appended);
        char secs[32];
        std::snprintf(secs, sizeof secs, "%.1f", t.seconds);
        out << "  elapsed seconds" << std::string(34 - 15, ' ') << secs << "\n";
    }
}

/// The --report file. plan's counts say what would be done (to_migrate, to_append): a plan
/// that wrote nothing must not read as "migrated".
void write_report(const std::string& path, bool dry_run, const totals& t) {
    std::ofstream f(path);
    if (!f)
        throw usage_error("cannot write the report file " + path,
                          "check that its directory exists and is writable");
    f << "{\"command\":\"" << (dry_run ? "plan" : "run")
      << "\",\"dry_run\":" << (dry_run ? "true" : "false")
      << ",\"conversations\":" << t.conversations << ",\"already_migrated\":" << t.already_migrated
      << (dry_run ? ",\"to_migrate\":" : ",\"migrated\":") << t.migrated
      << ",\"elements\":" << t.elements << (dry_run ? ",\"to_append\":" : ",\"appended\":")
      << t.appended << ",\"null_values\":" << t.null_values
      << ",\"blank_values\":" << t.blank_values << ",\"empty_arrays\":" << t.empty_arrays
      << ",\"unparseable\":" << t.unparseable << ",\"unparseable_keys\":[";
    size_t n = 0;
    for (const auto& k : t.unparseable_keys) f << (n++ ? "," : "") << core::json_string(k);
    f << "],\"no_timestamp\":" << t.no_timestamp;
    if (!dry_run)
        f << ",\"captured_writes\":" << t.captured_writes
          << ",\"captured_appended\":" << t.captured_appended << ",\"seconds\":" << t.seconds;
    if (dry_run)
        f << ",\"first_render\":" << first_render_json(t.first);
    f << "}\n";
    if (!f.flush())
        throw usage_error("cannot write the report file " + path,
                          "check the free space and permissions of its directory");
}

/// Ingests one batch; for `run` in its own transaction together with its checkpoint.
totals migrate_batch(pg::connection& conn, ledger::ledger_repository& ledger,
                     migration_repository& repo, std::vector<legacy_row> rows,
                     const core::field_names& fields, bool dry_run) {
    totals t;
    std::optional<pg::transaction> tx;
    if (!dry_run)
        tx.emplace(conn);
    std::vector<ledger::legacy_value> values;
    for (auto& r : rows) {
        if (r.migrated) {
            ++t.already_migrated;
            continue;
        }
        if (dry_run) {
            // Moved in and out: a value can be large, and the forecast only reads it.
            core::legacy_columns row{std::move(r.history), std::move(r.comment),
                                     std::move(r.comment_author)};
            t.first.add(core::forecast_first_render(row, fields));
            r.history = std::move(row.history);
        }
        values.push_back({r.zoho_id, std::move(r.history)});
    }
    auto result = ledger::ingest(ledger, values, fields,
                                 {.source = core::message_source::migration, .dry_run = dry_run});
    t += result;
    t.migrated += static_cast<long long>(values.size());
    if (!dry_run) {
        std::vector<std::pair<std::string, int>> counts;
        std::vector<bool> unparseable;
        for (const auto& v : values) {
            auto it = result.per_conversation.find(v.zoho_id);
            counts.push_back({v.zoho_id, it == result.per_conversation.end()
                                             ? 0
                                             : static_cast<int>(it->second)});
            unparseable.push_back(result.unparseable_keys.count(v.zoho_id) > 0);
        }
        repo.mark_migrated(counts, unparseable);
        tx->commit();
    }
    t.unparseable_keys = std::move(result.unparseable_keys);
    return t;
}

/// Batches handed from the reader to the loading workers; bounded so memory stays flat.
class batch_queue {
  public:
    explicit batch_queue(size_t capacity) : capacity_(capacity) {}

    /// Blocks while full; false once a worker failed.
    bool put(std::vector<legacy_row> batch) {
        std::unique_lock lock(mu_);
        not_full_.wait(lock, [&] { return q_.size() < capacity_ || failure_; });
        if (failure_)
            return false;
        q_.push_back(std::move(batch));
        not_empty_.notify_one();
        return true;
    }
    /// Blocks while empty; nullopt when closed and drained, or after a failure.
    std::optional<std::vector<legacy_row>> get() {
        std::unique_lock lock(mu_);
        not_empty_.wait(lock, [&] { return !q_.empty() || closed_ || failure_; });
        if (failure_ || q_.empty())
            return std::nullopt;
        auto b = std::move(q_.front());
        q_.pop_front();
        not_full_.notify_one();
        return b;
    }
    void close() {
        std::lock_guard lock(mu_);
        closed_ = true;
        not_empty_.notify_all();
    }
    void fail(std::exception_ptr e) {
        std::lock_guard lock(mu_);
        if (!failure_)
            failure_ = e;
        not_full_.notify_all();
        not_empty_.notify_all();
    }
    std::exception_ptr failure() {
        std::lock_guard lock(mu_);
        return failure_;
    }

  private:
    std::mutex mu_;
    std::condition_variable not_full_, not_empty_;
    std::deque<std::vector<legacy_row>> q_;
    size_t capacity_;
    bool closed_ = false;
    std::exception_ptr failure_;
};

/// Legacy rows to walk, read once before the walk so the progress bar has a total.
long long count_legacy(pg::connection& conn, ledger::ledger_repository& ledger,
                       migration_repository& repo, bool allow_missing_ledger) {
    pg::transaction tx(conn, "BEGIN READ ONLY");
    ledger.require_schema(allow_missing_ledger);
    repo.require_unique_keys();
    const long long n = repo.legacy_row_count();
    tx.commit();
    return n;
}

/// `plan`: every batch counted in one read-only snapshot, so the counts add up.
totals plan_walk(pg::connection& conn, const command_context& ctx) {
    command_repositories repos(conn, ctx.cfg);
    auto& [ledger, repo] = repos;
    totals t;
    t.all_keys = !ctx.report_path.empty();
    t.conversations = count_legacy(conn, ledger, repo, true);
    progress bar("planning", t.conversations);
    pg::transaction snapshot(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    std::optional<std::string> cursor;
    while (true) {
        auto rows = repo.legacy_batch(cursor, ctx.cfg.migrate.batch_rows, true);
        if (rows.empty())
            break;
        cursor = rows.back().zoho_id;
        const auto n = static_cast<long long>(rows.size());
        t.merge(migrate_batch(conn, ledger, repo, std::move(rows), ctx.cfg.legacy.fields, true));
        bar.advance(n);
    }
    snapshot.commit();
    bar.finish();
    t.seconds = bar.elapsed_s();
    return t;
}

/// One loading worker: its own connection, batches from `queue` until it is closed.
void load_batches(const command_context& ctx, int worker, batch_queue& queue, std::mutex& mu,
                  totals& t, progress& bar) {
    try {
        auto c = pg::connection::open(
            ctx.cfg.database,
            ctx.cfg.database.application_name + " migrate run worker " + std::to_string(worker + 1),
            access_for(ctx.cfg, "run"));
        ledger::ledger_repository l(c, ctx.cfg);
        migration_repository r(c, ctx.cfg, l);
        while (auto batch = queue.get()) {
            const auto n = static_cast<long long>(batch->size());
            auto part = migrate_batch(c, l, r, std::move(*batch), ctx.cfg.legacy.fields, false);
            std::lock_guard lock(mu);
            t.merge(std::move(part));
            bar.advance(n);
        }
    } catch (...) {
        queue.fail(std::current_exception());
    }
}

/// Legacy writes that committed while `run` walked are in the queue; ingesting them here makes
/// `run` complete on its own. The daemon ingests them again later: a no-op.
void ingest_captured_writes(pg::connection& conn, ledger::ledger_repository& ledger,
                            migration_repository& repo, const command_context& ctx, totals& t) {
    long long after = 0;
    while (true) {
        pg::transaction tx(conn);
        auto batch = repo.captured_writes(after, ctx.cfg.migrate.batch_rows);
        if (batch.empty())
            break;
        after = batch.back().first;
        const auto values = values_of(batch);
        auto result = ledger::ingest(ledger, values, ctx.cfg.legacy.fields,
                                     {.source = core::message_source::legacy});
        t.captured_writes += static_cast<long long>(batch.size());
        t.captured_appended += result.appended;
        tx.commit();
    }
}

/// `run`: this connection reads batches while `workers` connections load them, so parsing,
/// the server's COPY work and the next read overlap and both cores are busy.
totals run_walk(pg::connection& conn, const command_context& ctx) {
    command_repositories repos(conn, ctx.cfg);
    auto& [ledger, repo] = repos;
    totals t;
    t.all_keys = !ctx.report_path.empty();
    t.conversations = count_legacy(conn, ledger, repo, false);
    progress bar("migrating", t.conversations);
    std::mutex mu;
    batch_queue queue(static_cast<size_t>(ctx.cfg.migrate.workers));
    std::vector<std::thread> workers;
    for (int w = 0; w < ctx.cfg.migrate.workers; ++w)
        workers.emplace_back([&, w] { load_batches(ctx, w, queue, mu, t, bar); });
    try {
        std::optional<std::string> cursor;
        while (true) {
            // In a transaction of its own so row_security = off applies: a policy that would
            // hide legacy rows is an error, not a silent gap in the migration.
            // One snapshot: a large value is read in slices.
            pg::transaction read(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
            auto rows = repo.legacy_batch(cursor, ctx.cfg.migrate.batch_rows, true);
            read.commit();
            if (rows.empty())
                break;
            cursor = rows.back().zoho_id;
            if (!queue.put(std::move(rows)))
                break;
        }
    } catch (...) {
        queue.fail(std::current_exception());
    }
    queue.close();
    for (auto& w : workers) w.join();
    if (auto failure = queue.failure())
        std::rethrow_exception(failure);
    bar.finish();
    ingest_captured_writes(conn, ledger, repo, ctx, t);
    t.seconds = bar.elapsed_s();
    return t;
}

}  // namespace

int run_command(const command_context& ctx) {
    auto conn = open_connection(ctx, "run");
    auto t = run_walk(conn, ctx);
    print_table(ctx.out, "migration finished", t, false);
    if (!ctx.report_path.empty())
        write_report(ctx.report_path, false, t);
    log_with_fields(
        spdlog::level::info, "migration finished",
        fmt::format("migration finished: {} conversations, {} rows appended in {:.1f} s",
                    t.migrated, t.appended, t.seconds),
        {{"conversations", t.migrated},
         {"appended", t.appended},
         {"unparseable", t.unparseable},
         {"captured_appended", t.captured_appended},
         {"seconds", t.seconds}});
    return 0;
}

int plan_command(const command_context& ctx) {
    auto conn = open_connection(ctx, "plan");
    auto t = plan_walk(conn, ctx);
    print_table(ctx.out, "plan (dry run, nothing was written)", t, true);
    print_first_render(ctx.out, t.first);
    if (!ctx.report_path.empty())
        write_report(ctx.report_path, true, t);
    return 0;
}

}  // namespace chatledger::migrator
