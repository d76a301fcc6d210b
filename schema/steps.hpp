// The schema steps compiled into chatledger and the rendering of their placeholders.
// Pure: no database access, so naming, ordering and quoting are unit-tested without a server.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace chatledger::schema {

/// One SQL file from schema/sql, embedded at build time.
struct sql_file {
    std::string_view name;
    std::string_view text;
};

/// Every file of schema/sql in name order (generated source).
const std::vector<sql_file>& embedded_sql_files();

/// A versioned step: applied once, in order, and never edited afterwards.
struct step {
    int version = 0;
    std::string name;       ///< from the file name: 0001_ledger.sql gives "ledger"
    std::string_view text;  ///< the template; its checksum is what history records
};

/// The versioned steps (files named NNNN_name.sql), ascending; throws error on a gap or duplicate.
std::vector<step> versioned_steps(const std::vector<sql_file>& files = embedded_sql_files());

/// The repeatable capture step (legacy_capture.sql), re-applied when its rendered text changes.
std::string_view capture_step_text(const std::vector<sql_file>& files = embedded_sql_files());

/// The NOLOGIN group roles of one ledger, derived from its schema name.
struct role_names {
    identifier owner, writer, reader, daemon;
};

/// `<schema>_owner`, `_writer`, `_reader`, `_daemon`; config_error when a name would exceed 63
/// bytes.
role_names roles_for(const config& cfg);

/// Placeholder name to SQL text (quoted identifiers and literals) for one configuration.
using placeholder_map = std::map<std::string, std::string, std::less<>>;
placeholder_map placeholders(const config& cfg);

/// Replaces every {{name}} in `text`; throws error on an unknown or unterminated placeholder.
///
/// Values must not contain the dollar-quote tag the steps use, or a crafted identifier could end
/// a function body early; such a value is refused rather than escaped.
std::string render(std::string_view text, const placeholder_map& values);

}  // namespace chatledger::schema
