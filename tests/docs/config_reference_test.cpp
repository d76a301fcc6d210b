// Keeps docs/reference.md's configuration table true: the table, the example file and the
// loader must name the same keys, in the same order, with the same defaults. No server.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>
#include <vector>

#include "config/config.hpp"

namespace chatledger {
namespace {

const std::string source_dir = CHATLEDGER_SOURCE_DIR;

/// Leaf keys of the example file as dotted paths, with their scalar text.
void leaves(const YAML::Node& node, const std::string& path,
            std::vector<std::pair<std::string, std::string>>& out) {
    if (node.IsMap()) {
        for (const auto& kv : node)
            leaves(kv.second, (path.empty() ? "" : path + ".") + kv.first.Scalar(), out);
        return;
    }
    out.emplace_back(path, node.IsNull() ? "" : node.Scalar());
}

std::vector<std::pair<std::string, std::string>> example() {
    std::vector<std::pair<std::string, std::string>> out;
    leaves(YAML::LoadFile(source_dir + "/config/chatledger.example.yaml"), "", out);
    return out;
}

/// Rows `| \`key\` | \`default\` | meaning |` of the reference's "Configuration" section.
std::vector<std::pair<std::string, std::string>> documented() {
    std::ifstream in(source_dir + "/docs/reference.md");
    std::vector<std::pair<std::string, std::string>> out;
    std::string line;
    bool inside = false;
    while (std::getline(in, line)) {
        if (line.rfind("## ", 0) == 0)
            inside = line == "## Configuration";
        if (!inside || line.rfind("| `", 0) != 0)
            continue;
        auto cell = [&](size_t n) {
            size_t at = 0;
            for (size_t i = 0; i <= n; ++i) at = line.find('|', at) + 1;
            std::string c = line.substr(at, line.find('|', at) - at);
            c = c.substr(c.find_first_not_of(' '));
            c = c.substr(0, c.find_last_not_of(' ') + 1);
            return c;
        };
        auto unquote = [](std::string c) {
            EXPECT_TRUE(c.size() >= 2 && c.front() == '`' && c.back() == '`') << c;
            c = c.substr(1, c.size() - 2);
            return c == "\"\"" ? std::string() : c;
        };
        out.emplace_back(unquote(cell(0)), unquote(cell(1)));
    }
    return out;
}

TEST(config_reference, the_loader_and_the_example_name_the_same_keys_in_order) {
    std::vector<std::string> from_example;
    for (const auto& [k, v] : example()) from_example.push_back(k);
    EXPECT_EQ(config_keys(), from_example);
    EXPECT_GE(from_example.size(), 29u);
}

TEST(config_reference, docs_reference_md_lists_every_key_with_the_example_default) {
    const auto doc = documented();
    const auto ex = example();
    ASSERT_FALSE(doc.empty()) << "no \"## Configuration\" table in docs/reference.md";
    for (size_t i = 0; i < std::max(doc.size(), ex.size()); ++i) {
        const auto d = i < doc.size() ? doc[i] : std::pair<std::string, std::string>{"(none)", ""};
        const auto e = i < ex.size() ? ex[i] : std::pair<std::string, std::string>{"(none)", ""};
        EXPECT_EQ(d.first, e.first) << "row " << i + 1 << " of the reference table";
        if (d.first == e.first) {
            EXPECT_EQ(d.second, e.second) << "default of " << d.first;
        }
    }
}

}  // namespace
}  // namespace chatledger
