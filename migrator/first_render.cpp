// The first-render forecast of `plan` and `verify`: counts per reason and how they are shown,
// so an operator knows before the daemon's first pass which rows it rewrites and why.
#include "migrator/first_render.hpp"

#include <ostream>

namespace chatledger::migrator {

void first_render_totals::add(const core::first_render_change& f) {
    if (!f.any())
        return;
    ++conversations;
    unparseable_shown += f.unparseable_shown;
    comment_appended += f.comment_appended;
    comment_columns += f.comment_columns;
}

first_render_totals& first_render_totals::operator+=(const first_render_totals& o) {
    conversations += o.conversations;
    unparseable_shown += o.unparseable_shown;
    comment_appended += o.comment_appended;
    comment_columns += o.comment_columns;
    return *this;
}

void print_first_render(std::ostream& out, const first_render_totals& t) {
    out << "the daemon's first pass will rewrite " << t.conversations << " conversation(s)"
        << (t.conversations ? ":" : "") << "\n";
    if (!t.conversations)
        return;
    auto row = [&](const char* label, long long v) {
        out << "  " << label << std::string(50 - std::string(label).size(), ' ') << v << "\n";
    };
    row("unparseable value shown as a system message", t.unparseable_shown);
    row("comment found in no message, appended as one", t.comment_appended);
    row("comment columns set to the latest message", t.comment_columns);
}

std::string first_render_json(const first_render_totals& t) {
    return "{\"conversations\":" + std::to_string(t.conversations) +
           ",\"unparseable_shown\":" + std::to_string(t.unparseable_shown) +
           ",\"comment_appended\":" + std::to_string(t.comment_appended) +
           ",\"comment_columns\":" + std::to_string(t.comment_columns) + "}";
}

}  // namespace chatledger::migrator
