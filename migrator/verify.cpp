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
#include "core/sync_decision.hpp"
#include "ledger/ingest.hpp"
#include "migrator/commands.hpp"
#include "migrator/first_render.hpp"
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
    first_render_totals first;  ///< what the daemon's first pass will change in clean ones
};

/// One conversation's ledger side, as it is read. As long as every message has a payload and
/// they fit in `texts_cap` bytes, the payloads are kept as text: a legacy value whose elements are
/// those very texts, in order, holds the same messages, with no identity computed (a migrated
/// conversation, the common case, costs a comparison of bytes). Otherwise the messages are
/// counted by identity, as the multiset rule says.
struct ledger_side {
    static constexpr size_t texts_cap = 4 << 20;
    bool texts_only = true;
    size_t bytes = 0;
    std::vector<std::string> texts;
    std::unordered_map<std::string, long long> counts;

    /// Leaves the texts for identity counts.
    void count_texts() {
        for (const auto& t : texts) ++counts[core::identity_of_element(t)];
        texts = {};
        texts_only = false;
    }
    /// Whether the legacy value's elements are exactly the kept texts, in order.
    bool same_elements(const std::optional<std::string>& history) const {
        if (!texts_only || !history)
            return false;
        const auto split = core::split_value(*history);
        if (split.kind == core::value_kind::unparseable || split.elements.size() != texts.size())
            return false;
        for (size_t i = 0; i < texts.size(); ++i)
            if (split.elements[i] != texts[i])
                return false;
        return true;
    }
};

/// Compares one batch and prints differences until max_listed lines were printed; forecasts
/// the daemon's first render of each conversation without differences. Memory: the ledger is
/// read in pieces and held as identity counts (or, up to ledger_side::texts_cap, as the
/// payloads' text), the legacy value's identities are computed one at a time against them,
/// and each conversation's side goes once compared.
void compare(ledger::ledger_repository& repo, std::vector<legacy_row>& rows,
             const core::field_names& fields, difference_totals& d, std::ostream& out) {
    std::vector<std::string> keys;
    for (const auto& r : rows) keys.push_back(r.zoho_id);
    std::unordered_map<std::string_view, const legacy_row*> row_of;
    for (const auto& r : rows) row_of[r.zoho_id] = &r;
    std::unordered_map<std::string, ledger_side> ledger;
    // Of the latest message, only how it compares with the comment columns is kept.
    std::unordered_map<std::string, core::latest_message> latest;
    repo.for_each_ledger_message(keys, [&](const ledger::ledger_message_view& m) {
        auto text = [](std::optional<std::string_view> v) {
            return v ? std::optional<std::string>(std::string(*v)) : std::nullopt;
        };
        std::optional<std::string> author = text(m.author), body = text(m.body);
        auto& side = ledger[std::string(m.zoho_id)];
        if (side.texts_only && (!m.payload || side.bytes + m.payload->size() > side.texts_cap))
            side.count_texts();
        if (side.texts_only) {
            side.bytes += m.payload->size();
            side.texts.emplace_back(*m.payload);
        } else {
            ++side.counts[m.payload ? core::identity_of_element(*m.payload)
                                    : core::stored_identity(std::nullopt, author, body,
                                                            m.sent_at_us, fields)];
        }
        if (!m.latest)
            return;
        if (m.payload) {
            auto f = core::extract_fields(*m.payload, fields);
            author = std::move(f.author);
            body = std::move(f.body);
        }
        const auto* r = row_of.at(m.zoho_id);
        latest[std::string(m.zoho_id)] = core::compare_latest(m.source == "unparseable", author,
                                                              body, r->comment, r->comment_author);
    });
    for (auto& r : rows) {
        ++d.conversations_checked;
        // Each legacy message takes one of the ledger's: what the ledger lacks is missing, what
        // is left over is extra (multisets of identities).
        ledger_side side;
        if (auto node = ledger.extract(r.zoho_id))
            side = std::move(node.mapped());
        long long missing = 0, extra = 0;
        if (!side.same_elements(r.history)) {
            side.count_texts();
            auto& have = side.counts;
            core::for_each_value_identity(r.history, fields, [&](std::string id) {
                auto it = have.find(id);
                if (it == have.end() || it->second == 0)
                    ++missing;
                else
                    --it->second;
            });
            for (const auto& [id, h] : have) extra += h;
        }
        if (missing == 0 && extra == 0) {
            auto it = latest.find(r.zoho_id);
            d.first.add(core::forecast_first_render(
                it == latest.end() ? std::nullopt : std::optional(it->second),
                {std::move(r.history), std::move(r.comment), std::move(r.comment_author)}, fields));
            continue;
        }
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
    f << "],\"first_render\":" << first_render_json(d.first) << "}\n";
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
            auto rows = repo.legacy_rows(part);
            compare(ledger, rows, fields, d, ctx.out);
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
    print_first_render(ctx.out, d.first);
    const bool clean = d.conversations_differing == 0 && d.ledger_only == 0;
    if (!ctx.report_path.empty())
        write_report(ctx.report_path, ctx, d, clean);
    ctx.out << (clean ? "verify: every legacy message is in the ledger\n"
                      : "verify: differences found\n");
    return clean ? 0 : static_cast<int>(exit_status::differences);
}

}  // namespace chatledger::migrator
