// Unit tests of configuration loading: defaults, the example file, every error class with its
// file:line and key, identifier quoting and password redaction. No server.
#include "config/config.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "config/error.hpp"

namespace chatledger {
namespace {

std::string error_of(const std::string& yaml) {
    try {
        parse_config(yaml, "c.yaml");
    } catch (const config_error& e) {
        EXPECT_EQ(e.status(), exit_status::usage);
        return e.line();
    }
    return "no error";
}

TEST(config, an_empty_document_gives_every_default) {
    auto cfg = parse_config("", "c.yaml");
    EXPECT_EQ(cfg.database.conninfo, "");
    EXPECT_EQ(cfg.legacy.table.quoted(), "\"live_chat\"");
    EXPECT_EQ(cfg.legacy.key_column.name(), "zoho_id");
    EXPECT_EQ(cfg.legacy.history_column.name(), "chat_history");
    EXPECT_EQ(cfg.legacy.comment_column.name(), "comments");
    EXPECT_EQ(cfg.legacy.comment_author_column.name(), "comments_entered_by");
    EXPECT_EQ(cfg.legacy.fields.author, "sender");
    EXPECT_EQ(cfg.legacy.fields.body, "message");
    EXPECT_EQ(cfg.legacy.fields.sent_at, "timestamp");
    EXPECT_EQ(cfg.ledger.schema.name(), "chatledger");
    EXPECT_EQ(cfg.backup.table.display(), "chat_history_backup");
    EXPECT_EQ(cfg.logging.level, "info");
    EXPECT_EQ(parse_config("# only a comment\n", "c.yaml").migrate.batch_rows, 1000);
}

TEST(config, the_example_file_loads_and_equals_the_defaults) {
    auto cfg = load_config(std::string(CHATLEDGER_SOURCE_DIR) + "/config/chatledger.example.yaml");
    config d;
    EXPECT_EQ(cfg.database.conninfo, d.database.conninfo);
    EXPECT_EQ(cfg.database.application_name, d.database.application_name);
    EXPECT_EQ(cfg.database.lock_timeout, d.database.lock_timeout);
    EXPECT_EQ(cfg.legacy.table, d.legacy.table);
    EXPECT_EQ(cfg.legacy.comment_author_column, d.legacy.comment_author_column);
    EXPECT_EQ(cfg.legacy.fields.sent_at, d.legacy.fields.sent_at);
    EXPECT_EQ(cfg.ledger.schema, d.ledger.schema);
    EXPECT_EQ(cfg.backup.table, d.backup.table);
    EXPECT_EQ(cfg.backup.mode, d.backup.mode);
    EXPECT_EQ(cfg.backup.keep_last, d.backup.keep_last);
    EXPECT_EQ(cfg.migrate.workers, d.migrate.workers);
    EXPECT_EQ(cfg.daemon.poll_interval, d.daemon.poll_interval);
    EXPECT_EQ(cfg.daemon.reconnect_max, d.daemon.reconnect_max);
    EXPECT_EQ(cfg.logging.format, d.logging.format);
}

TEST(config, values_are_read) {
    auto cfg = parse_config(
        "database:\n  conninfo: \"host=db port=6543\"\n  lock_timeout_ms: 250\n"
        "legacy:\n  table: app.Live_Chat\n  fields:\n    author: who\n"
        "ledger:\n  schema: ledger2\nbackup:\n  mode: drift_only\n  max_age_s: 86400\n"
        "logging:\n  level: debug\n  format: json\n",
        "c.yaml");
    EXPECT_EQ(cfg.database.conninfo, "host=db port=6543");
    EXPECT_EQ(cfg.database.lock_timeout.count(), 250);
    EXPECT_EQ(cfg.legacy.table.quoted(), "\"app\".\"live_chat\"");
    EXPECT_EQ(cfg.legacy.fields.author, "who");
    EXPECT_EQ(cfg.ledger.schema.name(), "ledger2");
    EXPECT_EQ(cfg.backup.mode, backup_mode::drift_only);
    EXPECT_EQ(cfg.backup.max_age.count(), 86400);
    EXPECT_EQ(cfg.logging.format, "json");
}

TEST(config, an_unknown_key_names_its_path_line_and_the_known_keys) {
    auto e = error_of("legacy:\n  table: x\n  tabel: y\n");
    EXPECT_NE(e.find("c.yaml:3:"), std::string::npos) << e;
    EXPECT_NE(e.find("\"legacy.tabel\""), std::string::npos) << e;
    EXPECT_NE(e.find("HINT: known keys under legacy: table"), std::string::npos) << e;
    EXPECT_NE(error_of("datbase: {}\n").find("unknown key \"datbase\""), std::string::npos);
    EXPECT_NE(error_of("legacy:\n  fields:\n    auhtor: a\n").find("legacy.fields.auhtor"),
              std::string::npos);
}

TEST(config, wrong_types_are_named) {
    auto e = error_of("database:\n  lock_timeout_ms: soon\n");
    EXPECT_NE(e.find("c.yaml:2: database.lock_timeout_ms: expected an integer"), std::string::npos)
        << e;
    EXPECT_NE(
        error_of("legacy:\n  table: [a, b]\n").find("legacy.table: expected a string, got a list"),
        std::string::npos);
    EXPECT_NE(error_of("ledger: 5\n").find("ledger: expected a mapping"), std::string::npos);
    EXPECT_NE(error_of("- a\n- b\n").find("expected a mapping"), std::string::npos);
}

TEST(config, out_of_range_and_bad_choices_are_refused) {
    EXPECT_NE(error_of("migrate:\n  batch_rows: 0\n").find("migrate.batch_rows: 0 is out of range"),
              std::string::npos);
    EXPECT_NE(error_of("migrate:\n  workers: 65\n").find("HINT: use a value from 1 to 64"),
              std::string::npos);
    EXPECT_NE(
        error_of("backup:\n  mode: sometimes\n").find("backup.mode: \"sometimes\" is not one of"),
        std::string::npos);
    EXPECT_NE(error_of("logging:\n  level: loud\n").find("logging.level"), std::string::npos);
    EXPECT_NE(error_of("daemon:\n  reconnect_min_ms: 5000\n  reconnect_max_ms: 1000\n")
                  .find("daemon.reconnect_min_ms"),
              std::string::npos);
    EXPECT_NE(error_of("legacy:\n  fields:\n    author: x\n    body: x\n").find("different keys"),
              std::string::npos);
}

TEST(config, invalid_identifiers_are_refused) {
    EXPECT_NE(error_of("ledger:\n  schema: \"\"\n").find("ledger.schema"), std::string::npos);
    EXPECT_NE(error_of("ledger:\n  schema: " + std::string(64, 'x') + "\n").find("longer than 63"),
              std::string::npos);
    EXPECT_NE(error_of("legacy:\n  key_column: \"a\\tb\"\n").find("control character"),
              std::string::npos);
    EXPECT_NE(error_of("legacy:\n  table: a.b.c\n").find("more than two parts"), std::string::npos);
    EXPECT_NE(error_of("legacy:\n  table: '\"open'\n").find("unbalanced quote"), std::string::npos);
}

TEST(config, malformed_yaml_names_the_line) {
    auto e = error_of("database:\n  conninfo: [unclosed\n");
    EXPECT_NE(e.find("c.yaml:"), std::string::npos) << e;
    EXPECT_NE(e.find("invalid YAML"), std::string::npos) << e;
}

TEST(config, an_unreadable_file_is_a_config_error) {
    try {
        load_config("/nonexistent/chatledger.yaml");
        FAIL() << "a missing file loaded";
    } catch (const config_error& e) {
        EXPECT_NE(std::string(e.what()).find("/nonexistent/chatledger.yaml"), std::string::npos);
        EXPECT_NE(std::string(e.what()).find("No such file"), std::string::npos);
    }
}

TEST(config, a_key_given_twice_names_the_key_and_both_lines) {
    // An override appended to a copy of the example: yaml-cpp alone would keep the first.
    auto e = error_of(
        "database:\n  conninfo: \"\"\n  lock_timeout_ms: 100\n"
        "legacy:\n  table: live_chat\n  table: app.live_chat\n");
    EXPECT_NE(e.find("c.yaml:6: key \"legacy.table\" is given twice, on lines 5 and 6"),
              std::string::npos)
        << e;
    EXPECT_NE(e.find("HINT: keep one of them"), std::string::npos) << e;
    e = error_of("logging:\n  level: info\nmigrate:\n  workers: 1\nlogging:\n  level: debug\n");
    EXPECT_NE(e.find("c.yaml:5: key \"logging\" is given twice, on lines 1 and 5"),
              std::string::npos)
        << e;
    e = error_of("legacy:\n  fields: {author: a, author: b}\n");
    EXPECT_NE(e.find("key \"legacy.fields.author\" is given twice, on lines 2 and 2"),
              std::string::npos)
        << e;
}

TEST(config, a_config_path_that_is_not_a_regular_file_is_refused) {
    auto dir = std::filesystem::temp_directory_path() / "cl_config_dir_test";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    try {
        load_config(dir.string());
        FAIL() << "a directory loaded as a configuration";
    } catch (const config_error& e) {
        EXPECT_EQ(e.status(), exit_status::usage);
        EXPECT_NE(e.line().find("config file " + dir.string() +
                                " is a directory HINT: give "
                                "--config the path of the YAML file itself"),
                  std::string::npos)
            << e.line();
    }
    try {
        load_config("/dev/null");
        FAIL() << "a device loaded as a configuration";
    } catch (const config_error& e) {
        EXPECT_NE(e.line().find("config file /dev/null is not a regular file"), std::string::npos)
            << e.line();
    }
    // A symbolic link to a regular file is the usual packaged layout and stays accepted.
    std::ofstream(dir / "real.yaml") << "migrate:\n  workers: 3\n";
    std::filesystem::create_symlink(dir / "real.yaml", dir / "link.yaml");
    EXPECT_EQ(load_config((dir / "link.yaml").string()).migrate.workers, 3);
    std::filesystem::remove_all(dir);
}

TEST(config, metrics_listen_takes_only_a_loopback_host_and_port) {
    EXPECT_FALSE(parse_listen_address("").has_value());
    auto a = parse_listen_address("127.0.0.1:9187");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->host, "127.0.0.1");
    EXPECT_EQ(a->port, 9187);
    EXPECT_EQ(parse_listen_address("localhost:1")->host, "localhost");
    EXPECT_EQ(parse_listen_address("127.8.9.10:65535")->port, 65535);
    a = parse_listen_address("[::1]:9187");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->host, "::1");
    EXPECT_EQ(parse_config("daemon:\n  metrics_listen: \"localhost:9000\"\n", "c.yaml")
                  .daemon.metrics_listen,
              "localhost:9000");

    auto e = error_of("daemon:\n  metrics_listen: 0.0.0.0:9187\n");
    EXPECT_NE(e.find("c.yaml:2: daemon.metrics_listen: \"0.0.0.0\" is not a loopback address"),
              std::string::npos)
        << e;
    EXPECT_NE(e.find("HINT: the metrics endpoint has no authentication"), std::string::npos) << e;
    for (const char* bad : {"10.1.2.3:80", "[::]:80", "[2001:db8::1]:80", "example.com:80"})
        EXPECT_NE(error_of(std::string("daemon:\n  metrics_listen: \"") + bad + "\"\n")
                      .find("is not a loopback address"),
                  std::string::npos)
            << bad;
    for (const char* bad : {"127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536",
                            "127.0.0.1:http", "::1:80", "[::1]80"}) {
        e = error_of(std::string("daemon:\n  metrics_listen: \"") + bad + "\"\n");
        EXPECT_NE(e.find("c.yaml:2: daemon.metrics_listen: "), std::string::npos) << bad << e;
        EXPECT_NE(e.find("HINT: write 127.0.0.1:9187"), std::string::npos) << bad << e;
    }
}

TEST(identifier, quoting_doubles_quotes_and_keeps_everything_else) {
    EXPECT_EQ(identifier("plain").quoted(), "\"plain\"");
    EXPECT_EQ(identifier("a\"b").quoted(), "\"a\"\"b\"");
    EXPECT_EQ(identifier("x\"; DROP TABLE y; --").quoted(), "\"x\"\"; DROP TABLE y; --\"");
    EXPECT_EQ(identifier("caf\xc3\xa9").quoted(), "\"caf\xc3\xa9\"");
    EXPECT_THROW(identifier(""), config_error);
    EXPECT_THROW(identifier(std::string("a\0b", 3)), config_error);
    EXPECT_EQ(quote_literal("it's"), "'it''s'");
}

TEST(qualified_name, parses_sql_forms) {
    EXPECT_EQ(qualified_name::parse("live_chat").quoted(), "\"live_chat\"");
    EXPECT_EQ(qualified_name::parse("Public.Live_Chat").quoted(), "\"public\".\"live_chat\"");
    EXPECT_EQ(qualified_name::parse("\"My Schema\".\"t.x\"").quoted(), "\"My Schema\".\"t.x\"");
    EXPECT_EQ(qualified_name::parse("\"a\"\"b\"").quoted(), "\"a\"\"b\"");
    EXPECT_EQ(qualified_name::parse("s.t").display(), "s.t");
    for (const char* bad : {"", ".t", "s.", "a.b.c", "\"x", "a\"b\"", "\"a\"b"})
        EXPECT_THROW(qualified_name::parse(bad), config_error) << bad;
}

TEST(redact_conninfo, hides_passwords_in_every_form) {
    EXPECT_EQ(redact_conninfo("host=db password=s3cret user=u"), "host=db password=*** user=u");
    EXPECT_EQ(redact_conninfo("password = 'a b\\' c' host=x"), "password = *** host=x");
    EXPECT_EQ(redact_conninfo("postgresql://u:s3cret@db:5432/app"),
              "postgresql://u:***@db:5432/app");
    EXPECT_EQ(redact_conninfo("postgres://db/app?sslmode=require&password=s3cret"),
              "postgres://db/app?sslmode=require&password=***");
    EXPECT_EQ(redact_conninfo("host=db user=u"), "host=db user=u");
    EXPECT_EQ(redact_conninfo("postgresql://u@db/app"), "postgresql://u@db/app");
}

TEST(permission_warning, warns_only_for_a_readable_file_with_a_password) {
    auto dir = std::filesystem::temp_directory_path() / "cl_config_test";
    std::filesystem::create_directories(dir);
    auto path = (dir / "c.yaml").string();
    std::ofstream(path) << "database:\n  conninfo: \"password=x\"\n";
    chmod(path.c_str(), 0644);
    const auto warning = permission_warning(load_config(path));
    ASSERT_TRUE(warning.has_value());
    EXPECT_NE(warning->find("config file " + path +
                            " holds a database password and is readable "
                            "by other users; chmod 600 it"),
              std::string::npos)
        << *warning;
    EXPECT_EQ(warning->find("password=x"), std::string::npos) << *warning;
    chmod(path.c_str(), 0600);
    EXPECT_FALSE(permission_warning(load_config(path)).has_value());
    std::ofstream(path) << "database:\n  conninfo: \"host=x\"\n";
    chmod(path.c_str(), 0644);
    EXPECT_FALSE(permission_warning(load_config(path)).has_value());
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace chatledger
