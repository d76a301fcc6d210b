// SQL identifiers taken from the configuration, validated once and quoted on every use.
// No config value reaches SQL except through quoted() here or as a bound parameter.
#pragma once

#include <string>
#include <string_view>

namespace chatledger {

/// One validated SQL identifier (a schema, table or column name), kept unquoted.
///
/// Valid: 1 to 63 bytes of UTF-8 without NUL or control characters. Anything else throws
/// config_error. Quoting doubles embedded double quotes, so even `a"; drop` is harmless.
class identifier {
  public:
    identifier() = default;
    /// Throws config_error when `name` is not a valid identifier.
    explicit identifier(std::string name);

    const std::string& name() const noexcept { return name_; }
    /// The identifier as SQL: always double-quoted, embedded quotes doubled.
    std::string quoted() const;

    friend bool operator==(const identifier&, const identifier&) = default;

  private:
    std::string name_;
};

/// A possibly schema-qualified table name such as `public.live_chat`.
class qualified_name {
  public:
    qualified_name() = default;
    /// An empty schema means "resolved through search_path".
    qualified_name(std::string schema, std::string table);

    /// Parses `table`, `schema.table` or quoted forms like `"my schema"."t.x"`; throws
    /// config_error.
    static qualified_name parse(std::string_view text);

    const std::string& schema() const noexcept { return schema_; }
    const std::string& table() const noexcept { return table_.name(); }
    /// `"schema"."table"` or `"table"`.
    std::string quoted() const;
    /// Readable form for messages: schema.table.
    std::string display() const;

    friend bool operator==(const qualified_name&, const qualified_name&) = default;

  private:
    std::string schema_;
    identifier table_;
};

/// Quotes a SQL string literal ('...' with quotes doubled, E'' never needed for UTF-8 text).
std::string quote_literal(std::string_view text);

}  // namespace chatledger
