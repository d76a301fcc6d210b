// Unit tests for the pure part of the schema module: step ordering, roles, placeholder rendering.
// No server: these run in the unit label.
#include "schema/steps.hpp"

#include <gtest/gtest.h>

#include <typeinfo>

#include "config/error.hpp"

namespace chatledger::schema {
namespace {

/// The "message HINT: hint" line of what `f` throws, which must be exactly an `E` (not a
/// subclass: the root means a packaging bug, exit 3; config_error a user's setting, exit 2).
template <typename E, typename F>
std::string line_of(F f) {
    try {
        f();
    } catch (const E& e) {
        EXPECT_TRUE(typeid(e) == typeid(E)) << typeid(e).name() << ": " << e.what();
        return e.line();
    }
    ADD_FAILURE() << "nothing was thrown";
    return {};
}

TEST(steps, embedded_steps_are_numbered_from_one) {
    auto steps = versioned_steps();
    ASSERT_FALSE(steps.empty());
    for (size_t i = 0; i < steps.size(); ++i) EXPECT_EQ(steps[i].version, static_cast<int>(i) + 1);
    EXPECT_EQ(steps.front().name, "ledger");
}

TEST(steps, a_gap_in_numbering_is_refused) {
    std::vector<sql_file> files = {{"0001_a.sql", "x"}, {"0003_c.sql", "y"}};
    EXPECT_EQ(line_of<error>([&] { versioned_steps(files); }),
              "schema steps are not numbered 1, 2, 3, ...: found step 3 at position 2 HINT: this "
              "is a packaging bug; report it");
}

TEST(steps, non_step_files_are_ignored_and_order_follows_numbers) {
    std::vector<sql_file> files = {
        {"0002_b.sql", "y"}, {"legacy_capture.sql", "z"}, {"0001_a.sql", "x"}};
    auto steps = versioned_steps(files);
    ASSERT_EQ(steps.size(), 2u);
    EXPECT_EQ(steps[0].name, "a");
    EXPECT_EQ(steps[1].text, "y");
    EXPECT_EQ(capture_step_text(files), "z");
}

TEST(steps, roles_derive_from_the_schema_name) {
    config cfg;
    cfg.ledger.schema = identifier("ledger");
    auto roles = roles_for(cfg);
    EXPECT_EQ(roles.owner.name(), "ledger_owner");
    EXPECT_EQ(roles.writer.name(), "ledger_writer");
    EXPECT_EQ(roles.reader.name(), "ledger_reader");
    EXPECT_EQ(roles.daemon.name(), "ledger_daemon");
}

TEST(steps, a_schema_name_too_long_for_role_names_is_a_config_error) {
    config cfg;
    cfg.ledger.schema = identifier(std::string(60, 'x'));
    const std::string line = line_of<config_error>([&] { roles_for(cfg); });
    EXPECT_NE(line.find("ledger.schema: \"" + std::string(60, 'x') +
                        "\" is too long to derive the role name " + std::string(60, 'x') + "_"),
              std::string::npos)
        << line;
    EXPECT_NE(line.find("HINT: use a schema name of at most 56 bytes"), std::string::npos) << line;
}

TEST(steps, render_substitutes_quoted_identifiers) {
    config cfg;
    cfg.legacy.table = qualified_name("app", "live\"chat");
    auto values = placeholders(cfg);
    EXPECT_EQ(render("UPDATE {{legacy_table}} SET {{history}} = 1", values),
              "UPDATE \"app\".\"live\"\"chat\" SET \"chat_history\" = 1");
    EXPECT_EQ(values.at("ledger_literal"), "'chatledger'");
}

TEST(steps, render_refuses_unknown_and_unterminated_placeholders) {
    placeholder_map values = {{"a", "1"}};
    EXPECT_EQ(line_of<error>([&] { render("{{b}}", values); }),
              "unknown placeholder {{b}} in a schema step HINT: this is a packaging bug");
    EXPECT_EQ(line_of<error>([&] { render("{{a", values); }),
              "unterminated placeholder in a schema step HINT: this is a packaging bug");
    EXPECT_EQ(render("{{a}}{{a}}", values), "11");
}

TEST(steps, render_refuses_a_value_that_could_end_a_function_body) {
    config cfg;
    cfg.legacy.history_column = identifier("x$chatledger$y");
    auto values = placeholders(cfg);
    const std::string line = line_of<config_error>([&] { render("{{history}}", values); });
    EXPECT_NE(line.find("a configured name contains \"$chatledger$\""), std::string::npos) << line;
}

TEST(steps, every_placeholder_in_the_embedded_steps_is_known) {
    config cfg;
    auto values = placeholders(cfg);
    for (const auto& f : embedded_sql_files()) {
        std::string out;
        EXPECT_NO_THROW(out = render(f.text, values)) << f.name;
        EXPECT_EQ(out.find("{{"), std::string::npos) << f.name;
    }
}

}  // namespace
}  // namespace chatledger::schema
