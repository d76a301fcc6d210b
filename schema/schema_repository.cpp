// SQL for schema bookkeeping. Identifiers come quoted from the validated configuration and
// values travel as bound parameters, so no configured text is ever spliced raw.
#include "schema/schema_repository.hpp"

#include "chatledger/version.hpp"

namespace chatledger::schema {

namespace {

std::string literal_table(const qualified_name& t) {
    return t.quoted();
}

}  // namespace

void schema_repository::lock() {
    // One lock per ledger schema name: two ledgers in one database may be set up at once.
    conn_.exec("taking the schema lock",
               "SELECT pg_advisory_xact_lock(hashtextextended('chatledger schema ' || $1, 0))",
               {cfg_.ledger.schema.name()});
}

bool schema_repository::history_exists() {
    auto r = conn_.exec("looking for the schema history", "SELECT to_regclass($1) IS NOT NULL",
                        {cfg_.ledger.schema.quoted() + ".schema_history"});
    return r.boolean(0, 0);
}

void schema_repository::bootstrap() {
    const std::string s = cfg_.ledger.schema.quoted();
    conn_.exec_script("creating the ledger schema",
                      "CREATE SCHEMA IF NOT EXISTS " + s +
                          ";\n"
                          "CREATE TABLE IF NOT EXISTS " +
                          s +
                          ".schema_history (\n"
                          "    version    integer PRIMARY KEY,\n"
                          "    name       text NOT NULL,\n"
                          "    checksum   text NOT NULL,\n"
                          "    applied_at timestamptz NOT NULL DEFAULT now(),\n"
                          "    applied_by text NOT NULL DEFAULT current_user,\n"
                          "    chatledger_version text NOT NULL\n"
                          ");\n"
                          "CREATE TABLE IF NOT EXISTS " +
                          s +
                          ".schema_repeatable (\n"
                          "    name       text PRIMARY KEY,\n"
                          "    checksum   text NOT NULL,\n"
                          "    target     text NOT NULL,\n"
                          "    applied_at timestamptz NOT NULL DEFAULT now(),\n"
                          "    applied_by text NOT NULL DEFAULT current_user\n"
                          ");\n");
}

std::vector<applied_step> schema_repository::applied_steps() {
    auto r = conn_.exec("reading the schema history",
                        "SELECT version, name, checksum, applied_at::text, applied_by FROM " +
                            cfg_.ledger.schema.quoted() + ".schema_history ORDER BY version");
    std::vector<applied_step> steps;
    for (int i = 0; i < r.rows(); ++i)
        steps.push_back({static_cast<int>(r.integer(i, 0)), std::string(r.text(i, 1)),
                         std::string(r.text(i, 2)), std::string(r.text(i, 3)),
                         std::string(r.text(i, 4))});
    return steps;
}

std::optional<applied_capture> schema_repository::capture_state() {
    auto r = conn_.exec("reading the capture step state",
                        "SELECT checksum, target FROM " + cfg_.ledger.schema.quoted() +
                            ".schema_repeatable WHERE name = 'legacy_capture'");
    if (r.rows() == 0)
        return std::nullopt;
    return applied_capture{std::string(r.text(0, 0)), std::string(r.text(0, 1))};
}

std::string schema_repository::checksum(const std::string& text) {
    auto r = conn_.exec("computing a step checksum",
                        "SELECT encode(sha256(convert_to($1, 'UTF8')), 'hex')", {text});
    return std::string(r.text(0, 0));
}

void schema_repository::run_step(const std::string& what, const std::string& sql) {
    conn_.exec_script(what, sql);
}

void schema_repository::record_step(int version, const std::string& name,
                                    const std::string& checksum) {
    conn_.exec("recording schema step " + std::to_string(version),
               "INSERT INTO " + cfg_.ledger.schema.quoted() +
                   ".schema_history (version, name, checksum, chatledger_version) "
                   "VALUES ($1::integer, $2, $3, $4)",
               {std::to_string(version), name, checksum, std::string(chatledger::version)});
}

void schema_repository::record_capture(const std::string& checksum, const std::string& target) {
    conn_.exec("recording the capture step",
               "INSERT INTO " + cfg_.ledger.schema.quoted() +
                   ".schema_repeatable (name, checksum, target) VALUES ('legacy_capture', $1, $2) "
                   "ON CONFLICT (name) DO UPDATE SET checksum = excluded.checksum, "
                   "target = excluded.target, applied_at = now(), applied_by = current_user",
               {checksum, target});
}

void schema_repository::drop_capture_trigger(const std::string& quoted_table) {
    auto r = conn_.exec("looking for the previous legacy table",
                        "SELECT to_regclass($1) IS NOT NULL", {quoted_table});
    if (!r.boolean(0, 0))
        return;
    // quoted_table was recorded by us from a quoted() identifier, never from user input.
    conn_.exec("removing the capture trigger from " + quoted_table,
               "DROP TRIGGER IF EXISTS chatledger_capture ON " + quoted_table);
}

bool schema_repository::table_exists(const qualified_name& table) {
    auto r = conn_.exec("looking for table " + table.display(),
                        "SELECT to_regclass($1) IS NOT NULL", {literal_table(table)});
    return r.boolean(0, 0);
}

std::vector<std::string> schema_repository::missing_columns(const qualified_name& table,
                                                            const std::vector<std::string>& names) {
    auto r = conn_.exec("checking the columns of " + table.display(),
                        "SELECT n FROM unnest($2::text[]) AS n WHERE NOT EXISTS ("
                        "  SELECT FROM pg_attribute WHERE attrelid = to_regclass($1)"
                        "  AND attname = n AND attnum > 0 AND NOT attisdropped)",
                        {literal_table(table), pg::array_literal(names)});
    std::vector<std::string> missing;
    for (int i = 0; i < r.rows(); ++i) missing.emplace_back(r.text(i, 0));
    return missing;
}

}  // namespace chatledger::schema
