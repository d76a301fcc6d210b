// What the daemon's first pass after `run` will change in the legacy rows, as `plan` and
// `verify` report it: conversations counted per reason (core::forecast_first_render decides).
#pragma once

#include <iosfwd>
#include <string>

#include "core/sync_decision.hpp"

namespace chatledger::migrator {

/// Conversations the daemon's first render will rewrite, in all and per reason.
struct first_render_totals {
    long long conversations = 0;      ///< rows the first pass rewrites
    long long unparseable_shown = 0;  ///< a value that is not an array shown as a system message
    long long comment_appended = 0;   ///< a comment found in no message, appended sent now
    long long comment_columns = 0;    ///< comment columns set to the latest message

    /// Counts one conversation's forecast.
    void add(const core::first_render_change& f);
    first_render_totals& operator+=(const first_render_totals& o);
};

/// The lines `plan` and `verify` print (nothing when no row will change).
void print_first_render(std::ostream& out, const first_render_totals& t);

/// The totals as a JSON object, for --report.
std::string first_render_json(const first_render_totals& t);

}  // namespace chatledger::migrator
