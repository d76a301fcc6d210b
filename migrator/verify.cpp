// `verify`: every conversation's legacy messages compared with the ledger as multisets of
// message identities, in one read-only snapshot. Exit 1 lists the first differences.
#include <spdlog/spdlog.h>

#include <climits>
#include <fstream>
#include <ostream>
#include <unordered_map>

#include "config/error.hpp"
#include "config/progress.hpp"
#include "core/json.hpp"
#include "ledger/ingest.hpp"
#include "migrator/commands.hpp"
#include "migrator/migration_repository.hpp"

namespace chatledger::migrator {

namespace {

constexpr int max_listed = 20;

struct difference_totals {
    long long conversations_checked = 0;
    long long conversations_differing = 0;
    long long missing = 0;           ///< in the legacy column, not in the ledger: a loss risk
    long long extra = 0;             ///< in the ledger, not in the legacy column: needs a re-render
    long long ledger_only = 0;       ///< ledger conversations with no legacy row
    bool ledger_only_exact = false;  ///< every orphan was counted (--report), not max_listed + 1
    int listed = 0;
    /// With --report, every differing conversation, so the report holds what the screen cuts.
    bool keep_all = false;
    struct conversation {
        std::string zoho_id;
        long long missing, extra;
    };
    std::vector<conversation> all;
    std::vector<std::string> ledger_only_keys;
};

/// Compares one batch and prints differences until max_listed lines were printed.
void compare(ledger::ledger_repository& repo, const std::vector<legacy_row>& rows,
             const core::field_names& fields, difference_totals& d, std::ostream& out) {
    std::vector<std::string> keys;
    for (const auto& r : rows) keys.push_back(r.zoho_id);
    std::unordered_map<std::string, std::unordered_map<std::string, long long>> ledger;
    for (const auto& m : repo.ledger_messages(keys))
        ++ledger[m.zoho_id][ledger::ledger_identity(m, fields)];
    for (const auto& r : rows) {
        ++d.conversations_checked;
        std::unordered_map<std::string, long long> legacy_counts;
        for (auto& id : core::value_identities(r.history, fields)) ++legacy_counts[id];
        auto& have = ledger[r.zoho_id];
        long long missing = 0, extra = 0;
        for (const auto& [id, n] : legacy_counts) {
            auto it = have.find(id);
            long long h = it == have.end() ? 0 : it->second;
            if (n > h)
                missing += n - h;
        }
        for (const auto& [id, h] : have) {
            auto it = legacy_counts.find(id);
            long long n = it == legacy_counts.end() ? 0 : it->second;
            if (h > n)
                extra += h - n;
        }
        if (missing == 0 && extra == 0)
            continue;
        ++d.conversations_differing;
        d.missing += missing;
        d.extra += extra;
        if (d.keep_all)
            d.all.push_back({r.zoho_id, missing, extra});
        if (d.listed++ < max_listed)
            out << "  " << r.zoho_id << ": " << missing << " missing from the ledger, " << extra
                << " in the ledger but not in the legacy column\n";
    }
}

/// Whether the ledger-only count stopped at max_listed + 1 (without --report it is not read whole).
bool lower_bound(const difference_totals& d) {
    return !d.ledger_only_exact && d.ledger_only > max_listed;
}

/// The last lines of the list: how many were left out and how to see them all.
void print_left_out(std::ostream& out, const difference_totals& d, bool report) {
    if (d.listed <= max_listed)
        return;
    out << "  ... " << (lower_bound(d) ? "at least " : "") << d.listed - max_listed
        << " more not listed"
        << (report ? " (the report file lists them all)"
                   : " (verify --report FILE writes them all to FILE)")
        << "\n";
}

/// The --report file: the summary counts for tools. ledger_only is a lower bound when more
/// orphans exist than are listed, and null under --sample, which does not look for them.
void write_report(const std::string& path, const command_context& ctx, const difference_totals& d,
                  bool clean) {
    std::ofstream f(path);
    if (!f)
        throw usage_error("cannot write the report file " + path,
                          "check that its directory exists and is writable");
    f << "{\"command\":\"verify\",\"sample\":";
    if (ctx.sample > 0)
        f << ctx.sample;
    else
        f << "null";
    f << ",\"conversations_checked\":" << d.conversations_checked
      << ",\"conversations_differing\":" << d.conversations_differing
      << ",\"missing\":" << d.missing << ",\"extra\":" << d.extra << ",\"ledger_only\":";
    if (ctx.sample > 0)
        f << "null";
    else
        f << d.ledger_only;
    f << ",\"ledger_only_is_lower_bound\":" << (lower_bound(d) ? "true" : "false")
      << ",\"clean\":" << (clean ? "true" : "false") << ",\"differences\":[";
    for (size_t i = 0; i < d.all.size(); ++i)
        f << (i ? "," : "") << "{\"zoho_id\":" << core::json_string(d.all[i].zoho_id)
          << ",\"missing\":" << d.all[i].missing << ",\"extra\":" << d.all[i].extra << "}";
    f << "],\"ledger_only_keys\":[";
    for (size_t i = 0; i < d.ledger_only_keys.size(); ++i)
        f << (i ? "," : "") << core::json_string(d.ledger_only_keys[i]);
    f << "]}\n";
    if (!f.flush())
        throw usage_error("cannot write the report file " + path,
                          "check the free space and permissions of its directory");
}

}  // namespace

int verify_command(const command_context& ctx) {
    auto conn = open_connection(ctx, "verify");
    command_repositories repos(conn, ctx.cfg);
    auto& [ledger, repo] = repos;
    const auto& fields = ctx.cfg.legacy.fields;

    // One snapshot: a conversation written between reading its legacy row and its ledger rows
    // would otherwise show a difference that never existed.
    pg::transaction tx(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    ledger.require_schema();
    repo.require_unique_keys();
    difference_totals d;
    d.keep_all = !ctx.report_path.empty();
    ctx.out << "differences (first " << max_listed << "):\n";
    if (ctx.sample > 0) {
        auto keys = repo.sample_keys(ctx.sample);
        for (size_t i = 0; i < keys.size(); i += static_cast<size_t>(ctx.cfg.migrate.batch_rows)) {
            std::vector<std::string> part(
                keys.begin() + i,
                keys.begin() + std::min(keys.size(), i + ctx.cfg.migrate.batch_rows));
            compare(ledger, repo.legacy_rows(part), fields, d, ctx.out);
        }
    } else {
        progress bar("verifying", repo.legacy_row_count());
        std::optional<std::string> cursor;
        while (true) {
            auto rows = repo.legacy_batch(cursor, ctx.cfg.migrate.batch_rows, false);
            if (rows.empty())
                break;
            cursor = rows.back().zoho_id;
            compare(ledger, rows, fields, d, ctx.out);
            bar.advance(static_cast<long long>(rows.size()));
        }
        bar.finish();
        auto orphans = repo.ledger_only_conversations(d.keep_all ? INT_MAX : max_listed + 1);
        d.ledger_only = static_cast<long long>(orphans.size());
        d.ledger_only_exact = d.keep_all;
        for (const auto& z : orphans)
            if (d.listed++ < max_listed)
                ctx.out << "  " << z << ": in the ledger but the legacy table has no such row\n";
        if (d.keep_all)
            d.ledger_only_keys = std::move(orphans);
    }
    tx.commit();
    if (d.listed == 0)
        ctx.out << "  none\n";
    print_left_out(ctx.out, d, d.keep_all);
    ctx.out << "conversations checked     " << d.conversations_checked << "\n"
            << "conversations differing   " << d.conversations_differing << "\n"
            << "messages missing          " << d.missing << "\n"
            << "messages extra            " << d.extra << "\n"
            << "ledger-only conversations " << d.ledger_only << (lower_bound(d) ? "+" : "") << "\n";
    const bool clean = d.conversations_differing == 0 && d.ledger_only == 0;
    if (!ctx.report_path.empty())
        write_report(ctx.report_path, ctx, d, clean);
    ctx.out << (clean ? "verify: every legacy message is in the ledger\n"
                      : "verify: differences found\n");
    return clean ? 0 : static_cast<int>(exit_status::differences);
}

}  // namespace chatledger::migrator
