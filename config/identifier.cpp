// Validation and quoting of SQL identifiers from the configuration.
// Quoting is unconditional: a valid name can hold quotes, dots or semicolons and stays inert.
#include "config/identifier.hpp"

#include <vector>

#include "config/error.hpp"

namespace chatledger {

namespace {

void validate(const std::string& name) {
    if (name.empty())
        throw config_error("an identifier is empty", "give a table, schema or column name");
    if (name.size() > 63)
        throw config_error(
            "identifier \"" + name + "\" is longer than 63 bytes",
            "PostgreSQL truncates longer names; use the name as the catalog shows it");
    for (unsigned char c : name) {
        if (c < 0x20 || c == 0x7f)
            throw config_error("identifier \"" + name + "\" contains a control character",
                               "remove it from the name");
    }
}

}  // namespace

identifier::identifier(std::string name) : name_(std::move(name)) {
    validate(name_);
}

std::string identifier::quoted() const {
    std::string out = "\"";
    for (char c : name_) {
        if (c == '"')
            out += '"';
        out += c;
    }
    out += '"';
    return out;
}

qualified_name::qualified_name(std::string schema, std::string table)
    : schema_(std::move(schema)), table_(std::move(table)) {
    if (!schema_.empty())
        validate(schema_);
}

qualified_name qualified_name::parse(std::string_view text) {
    std::vector<std::string> parts;
    std::string cur;
    bool quoted = false, was_quoted = false;
    auto finish = [&](size_t pos) {
        if (cur.empty() && !was_quoted)
            throw config_error("table name \"" + std::string(text) + "\" has an empty part at " +
                                   std::to_string(pos + 1),
                               "write table or schema.table, quoting parts with double quotes");
        parts.push_back(cur);
        cur.clear();
        was_quoted = false;
    };
    for (size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (quoted) {
            if (c == '"') {
                if (i + 1 < text.size() && text[i + 1] == '"') {
                    cur += '"';
                    ++i;
                } else {
                    quoted = false;
                }
            } else {
                cur += c;
            }
        } else if (c == '"') {
            if (!cur.empty() || was_quoted)
                throw config_error(
                    "table name \"" + std::string(text) + "\" has a quote inside an unquoted part",
                    "quote the whole part: \"my\"\"name\"");
            quoted = true;
            was_quoted = true;
        } else if (c == '.') {
            finish(i);
        } else {
            if (was_quoted)
                throw config_error(
                    "table name \"" + std::string(text) + "\" has text after a closing quote",
                    "write schema.table, quoting parts with double quotes");
            // Unquoted names fold to lower case, as PostgreSQL itself folds them.
            cur += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
        }
    }
    if (quoted)
        throw config_error("table name \"" + std::string(text) + "\" has an unbalanced quote",
                           "close every double quote");
    finish(text.size());
    if (parts.size() > 2)
        throw config_error("table name \"" + std::string(text) + "\" has more than two parts",
                           "write table or schema.table; a database name is not allowed");
    if (parts.size() == 2)
        return qualified_name(parts[0], parts[1]);
    return qualified_name("", parts[0]);
}

std::string qualified_name::quoted() const {
    if (schema_.empty())
        return table_.quoted();
    return identifier(schema_).quoted() + "." + table_.quoted();
}

std::string qualified_name::display() const {
    return schema_.empty() ? table_.name() : schema_ + "." + table_.name();
}

std::string quote_literal(std::string_view text) {
    std::string out = "'";
    for (char c : text) {
        if (c == '\'')
            out += '\'';
        out += c;
    }
    out += '\'';
    return out;
}

}  // namespace chatledger
