// Orders the embedded schema steps and renders their placeholders from the configuration.
// Every value substituted here is a quoted identifier or a quoted literal, never raw config text.
#include "schema/steps.hpp"

#include <algorithm>
#include <charconv>

#include "config/error.hpp"

namespace chatledger::schema {

namespace {

constexpr std::string_view dollar_tag = "$chatledger$";
constexpr std::string_view capture_file = "legacy_capture.sql";

}  // namespace

std::vector<step> versioned_steps(const std::vector<sql_file>& files) {
    std::vector<step> steps;
    for (const auto& f : files) {
        // NNNN_name.sql: four digits, an underscore, a name.
        if (f.name.size() < 10 || f.name[4] != '_' || !f.name.ends_with(".sql"))
            continue;
        int version = 0;
        auto [p, ec] = std::from_chars(f.name.data(), f.name.data() + 4, version);
        if (ec != std::errc() || p != f.name.data() + 4)
            continue;
        steps.push_back({version, std::string(f.name.substr(5, f.name.size() - 9)), f.text});
    }
    std::sort(steps.begin(), steps.end(),
              [](const step& a, const step& b) { return a.version < b.version; });
    for (size_t i = 0; i < steps.size(); ++i) {
        if (steps[i].version != static_cast<int>(i) + 1)
            throw error("schema steps are not numbered 1, 2, 3, ...: found step " +
                            std::to_string(steps[i].version) + " at position " +
                            std::to_string(i + 1),
                        "this is a packaging bug; report it");
    }
    return steps;
}

std::string_view capture_step_text(const std::vector<sql_file>& files) {
    for (const auto& f : files)
        if (f.name == capture_file)
            return f.text;
    throw error("the capture step legacy_capture.sql is missing from this build",
                "this is a packaging bug; report it");
}

role_names roles_for(const config& cfg) {
    const std::string& base = cfg.ledger.schema.name();
    auto make = [&](const char* suffix) {
        std::string name = base + suffix;
        if (name.size() > 63)
            throw config_error(cfg.source + ": ledger.schema: \"" + base +
                                   "\" is too long to derive the role name " + name,
                               "use a schema name of at most 56 bytes");
        return identifier(name);
    };
    return {make("_owner"), make("_writer"), make("_reader"), make("_daemon")};
}

placeholder_map placeholders(const config& cfg) {
    const auto roles = roles_for(cfg);
    const auto& legacy = cfg.legacy;
    placeholder_map v;
    v["ledger"] = cfg.ledger.schema.quoted();
    v["ledger_literal"] = quote_literal(cfg.ledger.schema.name());
    // NOTIFY channel: the schema name, so two ledgers in one database do not wake each other.
    v["channel_literal"] = quote_literal(cfg.ledger.schema.name());
    for (auto [key, id] :
         {std::pair{"owner", &roles.owner}, std::pair{"writer", &roles.writer},
          std::pair{"reader", &roles.reader}, std::pair{"daemon", &roles.daemon}}) {
        v[key] = id->quoted();
        v[std::string(key) + "_literal"] = quote_literal(id->name());
    }
    v["legacy_table"] = legacy.table.quoted();
    v["legacy_table_literal"] = quote_literal(legacy.table.quoted());
    v["key"] = legacy.key_column.quoted();
    v["name"] = legacy.name_column.quoted();
    v["history"] = legacy.history_column.quoted();
    v["comment"] = legacy.comment_column.quoted();
    v["comment_author"] = legacy.comment_author_column.quoted();
    v["backup_table"] = cfg.backup.table.quoted();
    v["backup_table_literal"] = quote_literal(cfg.backup.table.quoted());
    return v;
}

std::string render(std::string_view text, const placeholder_map& values) {
    std::string out;
    out.reserve(text.size() + 1024);
    size_t pos = 0;
    while (true) {
        size_t open = text.find("{{", pos);
        if (open == std::string_view::npos)
            break;
        size_t close = text.find("}}", open + 2);
        if (close == std::string_view::npos)
            throw error("unterminated placeholder in a schema step", "this is a packaging bug");
        std::string_view key = text.substr(open + 2, close - open - 2);
        auto it = values.find(key);
        if (it == values.end())
            throw error("unknown placeholder {{" + std::string(key) + "}} in a schema step",
                        "this is a packaging bug");
        if (it->second.find(dollar_tag) != std::string::npos)
            throw config_error("a configured name contains \"" + std::string(dollar_tag) +
                                   "\", which the schema steps reserve",
                               "rename the object or choose another name in the configuration");
        out.append(text.substr(pos, open - pos));
        out.append(it->second);
        pos = close + 2;
    }
    out.append(text.substr(pos));
    return out;
}

}  // namespace chatledger::schema
