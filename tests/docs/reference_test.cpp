// Keeps docs/reference.md true: every option the two parsers take, each command's own options
// and every key the loader reads are documented there, and nothing documented is missing. No
// server.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "daemon/cli.hpp"
#include "migrator/cli.hpp"

namespace chatledger {
namespace {

using row = std::vector<std::string>;

std::string trim(const std::string& s) {
    const size_t a = s.find_first_not_of(' ');
    return a == std::string::npos ? "" : s.substr(a, s.find_last_not_of(' ') - a + 1);
}

/// Rows of the tables under the heading `section`, then `sub` when given, up to the next
/// heading of the same level (header rows and separators left out), split into trimmed cells.
std::vector<row> table(const std::string& section, const std::string& sub = {}) {
    std::ifstream in(std::string(CHATLEDGER_SOURCE_DIR) + "/docs/reference.md");
    std::vector<row> out;
    std::string line;
    bool in_section = false, in_sub = sub.empty(), header = true;
    while (std::getline(in, line)) {
        if (line.rfind("## ", 0) == 0) {
            in_section = line == "## " + section;
            in_sub = sub.empty();
            header = true;
        } else if (line.rfind("### ", 0) == 0 && !sub.empty()) {
            in_sub = line == "### " + sub;
            header = true;
        }
        if (line.rfind("|", 0) != 0)
            header = true;  // the next table starts with its own header row
        if (!in_section || !in_sub || line.rfind("|", 0) != 0)
            continue;
        if (header || line.rfind("|---", 0) == 0) {
            header = false;
            continue;
        }
        row cells;
        for (size_t at = 1, next; (next = line.find('|', at)) != std::string::npos; at = next + 1)
            cells.push_back(trim(line.substr(at, next - at)));
        out.push_back(cells);
    }
    return out;
}

/// The long option names a cell names: `--config FILE`, `-c FILE` gives {"config"}.
std::vector<std::string> options_in(const std::string& cell) {
    std::vector<std::string> out;
    for (size_t at = cell.find("`--"); at != std::string::npos; at = cell.find("`--", at + 1)) {
        const size_t end = cell.find_first_of("` ", at + 3);
        out.push_back(cell.substr(at + 3, end - at - 3));
    }
    return out;
}

/// The backquoted words of a cell: "`plan`, `run`" gives {"plan", "run"}.
std::vector<std::string> words_in(const std::string& cell) {
    std::vector<std::string> out;
    for (size_t at = cell.find('`'); at != std::string::npos; at = cell.find('`', at + 1)) {
        const size_t end = cell.find('`', at + 1);
        out.push_back(cell.substr(at + 1, end - at - 1));
        at = end;
    }
    return out;
}

std::vector<std::string> documented_options(const std::string& section) {
    std::vector<std::string> out;
    for (const auto& r : table(section, "Options")) {
        const auto names = options_in(r.at(0));
        EXPECT_EQ(names.size(), 1u) << "one option per row: " << r.at(0);
        out.insert(out.end(), names.begin(), names.end());
    }
    return out;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
}

TEST(reference, documents_every_option_chatledger_migrate_takes_and_no_other) {
    EXPECT_EQ(sorted(documented_options("chatledger-migrate")), sorted(migrator::option_names()));
}

TEST(reference, documents_each_migrate_command_with_the_options_it_takes) {
    std::map<std::string, std::vector<std::string>> doc;
    for (const auto& r : table("chatledger-migrate", "Commands")) {
        const auto name = words_in(r.at(0));
        ASSERT_EQ(name.size(), 1u) << r.at(0);
        EXPECT_TRUE(r.at(1) == "none" || !options_in(r.at(1)).empty()) << r.at(1);
        doc[name.front()] = sorted(options_in(r.at(1)));
    }
    std::map<std::string, std::vector<std::string>> parser;
    std::map<std::string, std::set<std::string>> commands_of;
    for (const auto& [cmd, opts] : migrator::command_option_table()) {
        parser[cmd] = sorted(opts);
        for (const auto& o : opts) commands_of[o].insert(cmd);
    }
    EXPECT_EQ(doc, parser);
    // The options table's "commands" column says the same for each command's own option.
    for (const auto& r : table("chatledger-migrate", "Options")) {
        const auto name = options_in(r.at(0));
        if (name.empty() || !commands_of.count(name.front()))
            continue;
        const auto cmds = words_in(r.at(1));
        EXPECT_EQ(std::set<std::string>(cmds.begin(), cmds.end()), commands_of[name.front()])
            << "--" << name.front();
    }
}

TEST(reference, documents_every_option_chatledger_syncd_takes_and_no_other) {
    EXPECT_EQ(sorted(documented_options("chatledger-syncd")), sorted(daemon::option_names()));
}

TEST(reference, the_configuration_table_lists_every_key_the_loader_reads_in_order) {
    std::vector<std::string> keys;
    for (const auto& r : table("Configuration")) {
        const auto k = words_in(r.at(0));
        ASSERT_EQ(k.size(), 1u) << r.at(0);
        keys.push_back(k.front());
    }
    EXPECT_EQ(keys, config_keys());
}

TEST(reference, names_every_source_the_ledger_accepts_and_every_exit_status) {
    std::vector<std::string> sources;
    for (const auto& r : table("The ledger: `<ledger.schema>.chat_messages`"))
        if (r.size() == 2)
            sources.push_back(words_in(r.at(0)).at(0));
    EXPECT_EQ(sorted(sources), sorted({"migration", "legacy", "backup", "unparseable", "app"}));
    for (const char* exe : {"chatledger-migrate", "chatledger-syncd"}) {
        std::vector<std::string> statuses;
        for (const auto& r : table(exe, "Exit status")) statuses.push_back(r.at(0));
        EXPECT_EQ(statuses, (std::vector<std::string>{"0", "1", "2", "3"})) << exe;
    }
}

// Users get the repository, not the project's contract: README and docs point only at files
// they have (README once sent them to CONTRACT.md "in the project's shared folder").
TEST(reference, readme_and_docs_name_no_file_outside_the_repository) {
    std::vector<std::filesystem::path> files = {std::filesystem::path(CHATLEDGER_SOURCE_DIR) /
                                                "README.md"};
    for (const auto& e : std::filesystem::recursive_directory_iterator(
             std::filesystem::path(CHATLEDGER_SOURCE_DIR) / "docs"))
        if (e.is_regular_file())
            files.push_back(e.path());
    for (const auto& f : files) {
        std::ifstream in(f);
        std::ostringstream text;
        text << in.rdbuf();
        for (const char* outside : {"CONTRACT", "shared folder", "contract section"})
            EXPECT_EQ(text.str().find(outside), std::string::npos) << f << " names " << outside;
    }
}

}  // namespace
}  // namespace chatledger
