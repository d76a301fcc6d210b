// `recover`: brings back messages the old system lost after its backups began. Every backup
// snapshot is ingested with the ingest rule, so per conversation and message identity the ledger
// ends with max(its count, the largest count in any one snapshot): re-running adds nothing.
#include <spdlog/spdlog.h>

#include <map>
#include <ostream>

#include "ledger/ingest.hpp"
#include "migrator/commands.hpp"
#include "migrator/migration_repository.hpp"
#include "migrator/progress.hpp"

namespace chatledger::migrator {

int recover_command(const command_context& ctx) {
    auto conn = open_connection(ctx, "recover");
    ledger::ledger_repository ledger(conn, ctx.cfg);
    migration_repository repo(conn, ctx.cfg, ledger);
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
    long long snapshots = 0, unusable = 0, after = 0;
    // Pages commit one by one: the rule is a max, so page boundaries cannot change the result
    // and a crash only leaves work for the next run.
    while (true) {
        pg::transaction tx(conn);
        auto page = repo.backup_snapshots(after, ctx.cfg.migrate.batch_rows);
        if (page.empty())
            break;
        after = page.back().first;
        const auto values = values_of(page);
        auto r = ledger::ingest(ledger, values, fields,
                                {.source = core::message_source::backup, .skip_unparseable = true});
        tx.commit();
        snapshots += static_cast<long long>(page.size());
        unusable += r.unparseable;
        for (const auto& [z, n] : r.per_conversation) recovered[z] += n;
        bar.advance(static_cast<long long>(page.size()));
    }
    bar.finish();

    long long messages = 0;
    constexpr size_t max_listed = 50;
    size_t listed = 0;
    for (const auto& [z, n] : recovered) {
        messages += n;
        if (listed++ < max_listed)
            ctx.out << "  " << z << ": " << n << " message(s) recovered\n";
    }
    if (recovered.size() > max_listed)
        ctx.out << "  ... and " << recovered.size() - max_listed << " more conversation(s)\n";
    ctx.out << "backup snapshots read        " << snapshots << "\n"
            << "snapshots not a JSON array   " << unusable << "\n"
            << "conversations recovered      " << recovered.size() << "\n"
            << "messages recovered           " << messages << "\n";
    spdlog::info("recover finished: {} messages in {} conversations from {} snapshots", messages,
                 recovered.size(), snapshots);
    return 0;
}

}  // namespace chatledger::migrator
