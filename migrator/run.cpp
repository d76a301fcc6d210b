// `run` and `plan`: walk the legacy table in key order, batch by batch, and apply the ingest
// rule; `run` commits each batch with its checkpoint, `plan` only counts in a read-only snapshot.
#include <spdlog/spdlog.h>

#include <fstream>
#include <ostream>

#include "migrator/commands.hpp"
#include "migrator/ingest.hpp"
#include "migrator/progress.hpp"

namespace chatledger::migrator {

namespace {

/// Totals of a `run` or `plan`, printed as a table and optionally written as JSON.
struct totals {
    long long conversations = 0;
    long long already_migrated = 0;
    long long migrated = 0;
    long long elements = 0;
    long long appended = 0;
    long long empty = 0;
    long long unparseable = 0;
    long long no_timestamp = 0;
    long long captured_writes = 0;
    long long captured_appended = 0;
    double seconds = 0;

    void add(const ingest_result& r) {
        elements += r.elements;
        appended += r.appended;
        empty += r.empty;
        unparseable += r.unparseable;
        no_timestamp += r.no_timestamp;
    }
};

legacy::field_names fields_of(const config& cfg) {
    legacy::field_names f;
    f.author = cfg.legacy.fields.author;
    f.body = cfg.legacy.fields.body;
    f.sent_at = cfg.legacy.fields.sent_at;
    return f;
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
    row("NULL, blank or [] values", t.empty);
    row("unparseable values", t.unparseable);
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

void write_report(const std::string& path, const char* command, const totals& t) {
    std::ofstream f(path);
    if (!f)
        throw usage_error("cannot write the report file " + path,
                          "check that its directory exists and is writable");
    f << "{\"command\":\"" << command << "\",\"conversations\":" << t.conversations
      << ",\"already_migrated\":" << t.already_migrated << ",\"migrated\":" << t.migrated
      << ",\"elements\":" << t.elements << ",\"appended\":" << t.appended
      << ",\"empty\":" << t.empty << ",\"unparseable\":" << t.unparseable
      << ",\"no_timestamp\":" << t.no_timestamp << ",\"captured_writes\":" << t.captured_writes
      << ",\"captured_appended\":" << t.captured_appended << ",\"seconds\":" << t.seconds << "}\n";
}

/// The shared walk of `run` and `plan`.
totals walk(pg::connection& conn, const command_context& ctx, bool dry_run) {
    ledger_repository repo(conn, ctx.cfg);
    const auto fields = fields_of(ctx.cfg);
    totals t;
    {
        pg::transaction tx(conn, "BEGIN READ ONLY");
        repo.require_schema(dry_run);
        t.conversations = repo.legacy_row_count();
        tx.commit();
    }
    progress bar(dry_run ? "planning" : "migrating", t.conversations);
    std::optional<std::string> cursor;
    // `plan` reads one snapshot so its counts add up; `run` commits batch by batch.
    std::optional<pg::transaction> snapshot;
    if (dry_run) snapshot.emplace(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    while (true) {
        std::optional<pg::transaction> tx;
        if (!dry_run) tx.emplace(conn);
        auto rows = repo.legacy_batch(cursor, ctx.cfg.migrate.batch_rows);
        if (rows.empty()) break;
        cursor = rows.back().zoho_id;
        std::vector<legacy_value> values;
        for (auto& r : rows) {
            if (r.migrated) {
                ++t.already_migrated;
                continue;
            }
            values.push_back({r.zoho_id, std::move(r.history)});
        }
        auto result = ingest(repo, values, fields, "migration", dry_run);
        t.add(result);
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
        bar.advance(static_cast<long long>(rows.size()));
    }
    bar.finish();

    if (!dry_run) {
        // Legacy writes that committed while we walked are in the queue; ingesting them here
        // makes `run` complete on its own. The daemon ingests them again later: a no-op.
        long long after = 0;
        while (true) {
            pg::transaction tx(conn);
            auto batch = repo.captured_writes(after, ctx.cfg.migrate.batch_rows);
            if (batch.empty()) break;
            after = batch.back().first;
            std::vector<legacy_value> values;
            for (auto& [id, row] : batch) values.push_back({row.zoho_id, std::move(row.history)});
            auto result = ingest(repo, values, fields, "legacy");
            t.captured_writes += static_cast<long long>(batch.size());
            t.captured_appended += result.appended;
            tx.commit();
        }
    }
    t.seconds = bar.elapsed_s();
    if (snapshot) snapshot->commit();
    return t;
}

}  // namespace

int run_command(const command_context& ctx) {
    auto conn = pg::connection::open(ctx.cfg.database, ctx.cfg.database.application_name + " migrate run");
    auto t = walk(conn, ctx, false);
    print_table(ctx.out, "migration finished", t, false);
    if (!ctx.report_path.empty()) write_report(ctx.report_path, "run", t);
    spdlog::info("migration finished: {} conversations, {} rows appended in {:.1f} s", t.migrated,
                 t.appended, t.seconds);
    return 0;
}

int plan_command(const command_context& ctx) {
    auto conn = pg::connection::open(ctx.cfg.database, ctx.cfg.database.application_name + " migrate plan");
    auto t = walk(conn, ctx, true);
    print_table(ctx.out, "plan (dry run, nothing was written)", t, true);
    if (!ctx.report_path.empty()) write_report(ctx.report_path, "plan", t);
    return 0;
}

}  // namespace chatledger::migrator
