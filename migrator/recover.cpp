// `recover`: brings back messages the old system lost after its backups began. Every backup
// snapshot of a conversation the legacy table has is ingested with the ingest rule, so per
// conversation and message identity the ledger ends with max(its count, the largest count in any
// one snapshot): re-running adds nothing. Snapshots under any other key are listed, not appended.
#include <spdlog/spdlog.h>

#include <map>
#include <ostream>
#include <unordered_set>

#include "config/logging.hpp"
#include "config/progress.hpp"
#include "ledger/ingest.hpp"
#include "migrator/commands.hpp"
#include "migrator/migration_repository.hpp"

namespace chatledger::migrator {

namespace {

constexpr size_t max_listed = 50;

/// Lists the conversations that got messages back; returns how many messages in all.
long long print_recovered(std::ostream& out, const std::map<std::string, long long>& recovered) {
    long long messages = 0;
    size_t listed = 0;
    for (const auto& [z, n] : recovered) {
        messages += n;
        if (listed++ < max_listed)
            out << "  " << z << ": " << n << " message(s) recovered\n";
    }
    if (recovered.size() > max_listed)
        out << "  ... and " << recovered.size() - max_listed << " more conversation(s)\n";
    return messages;
}

/// Lists backup keys no legacy row has, each with the key it likely meant.
void print_unmatched(pg::connection& conn, migration_repository& repo, std::ostream& out,
                     const std::map<std::string, long long>& unmatched) {
    size_t listed = 0;
    for (const auto& [z, n] : unmatched) {
        if (listed++ >= max_listed) {
            out << "  ... and " << unmatched.size() - max_listed
                << " more backup key(s) with no legacy row\n";
            break;
        }
        std::optional<std::string> like;
        {
            pg::transaction tx(conn, "BEGIN READ ONLY");
            like = repo.likely_legacy_key(z);
            tx.commit();
        }
        out << "  '" << z << "': no legacy row has this key, " << n << " snapshot(s) not recovered"
            << (like ? "; likely '" + *like + "' (the same after trimming and case folding)"
                     : std::string())
            << "\n";
    }
    if (!unmatched.empty())
        spdlog::warn(
            "{} backup key(s) match no legacy row and were not recovered HINT: each is listed "
            "above; fix the backup rows' zoho_id to the legacy key and run recover again",
            unmatched.size());
}

}  // namespace

int recover_command(const command_context& ctx) {
    auto conn = open_connection(ctx, "recover");
    command_repositories repos(conn, ctx.cfg);
    auto& [ledger, repo] = repos;
    const auto& fields = ctx.cfg.legacy.fields;

    long long total_rows = 0;
    {
        pg::transaction tx(conn, "BEGIN READ ONLY");
        ledger.require_schema();
        total_rows = repo.backup_row_count();
        tx.commit();
    }
    progress bar("recovering", total_rows);
    std::map<std::string, long long> recovered;
    std::map<std::string, long long> unmatched;  // backup key -> snapshots left out
    long long snapshots = 0, unusable = 0, after = 0;
    // Pages commit one by one: the rule is a max, so page boundaries cannot change the result
    // and a crash only leaves work for the next run.
    while (true) {
        pg::transaction tx(conn);
        auto page = repo.backup_snapshots(after, ctx.cfg.migrate.batch_rows);
        if (page.empty())
            break;
        after = page.back().first;
        snapshots += static_cast<long long>(page.size());
        bar.advance(static_cast<long long>(page.size()));
        // A backup key no legacy row has ('z00060' beside 'Z00060', 'Z00061 ') would become a
        // new conversation that no dashboard shows and the append-only ledger cannot drop.
        std::vector<std::string> keys;
        for (const auto& [id, row] : page) keys.push_back(row.zoho_id);
        const auto missing = repo.keys_without_legacy_row(keys);
        const std::unordered_set<std::string> skip(missing.begin(), missing.end());
        std::erase_if(page, [&](const auto& p) {
            if (!skip.count(p.second.zoho_id))
                return false;
            ++unmatched[p.second.zoho_id];
            return true;
        });
        const auto values = values_of(page);
        auto r = ledger::ingest(ledger, values, fields,
                                {.source = core::message_source::backup, .skip_unparseable = true});
        tx.commit();
        unusable += r.unparseable;
        for (const auto& [z, n] : r.per_conversation) recovered[z] += n;
    }
    bar.finish();

    const long long messages = print_recovered(ctx.out, recovered);
    print_unmatched(conn, repo, ctx.out, unmatched);
    ctx.out << "backup snapshots read        " << snapshots << "\n"
            << "snapshots not a JSON array   " << unusable << "\n"
            << "conversations recovered      " << recovered.size() << "\n"
            << "messages recovered           " << messages << "\n"
            << "backup keys with no legacy row " << unmatched.size() << "\n";
    const auto conversations = static_cast<long long>(recovered.size());
    log_with_fields(spdlog::level::info, "recover finished",
                    fmt::format("recover finished: {} messages in {} conversations from {} "
                                "snapshots",
                                messages, conversations, snapshots),
                    {{"messages", messages},
                     {"conversations", conversations},
                     {"snapshots", static_cast<long long>(snapshots)}});
    return 0;
}

}  // namespace chatledger::migrator
