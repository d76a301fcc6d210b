// Loads chatledger.yaml with yaml-cpp and validates every key before any command runs.
// Each error names the file, the line and the key path, and says what to write instead.
#include "config/config.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>

#include "config/error.hpp"

namespace chatledger {

namespace {

/// Every section and its keys: the loader refuses anything else, config_keys() lists them.
const std::vector<std::pair<std::string, std::vector<std::string>>>& key_table() {
    static const std::vector<std::pair<std::string, std::vector<std::string>>> table = {
        {"", {"database", "legacy", "ledger", "backup", "migrate", "daemon", "logging"}},
        {"database",
         {"conninfo", "application_name", "connect_timeout_ms", "statement_timeout_ms",
          "lock_timeout_ms"}},
        {"legacy",
         {"table", "key_column", "name_column", "history_column", "comment_column",
          "comment_author_column", "fields"}},
        {"legacy.fields", {"author", "body", "sent_at"}},
        {"ledger", {"schema"}},
        {"backup", {"table", "mode", "keep_last", "max_age_s", "prune_batch"}},
        {"migrate", {"batch_rows", "workers"}},
        {"daemon",
         {"poll_interval_ms", "append_poll_ms", "batch_conversations", "workers", "claim_bytes",
          "reconnect_min_ms", "reconnect_max_ms", "metrics_listen"}},
        {"logging", {"level", "format"}},
    };
    return table;
}

const std::vector<std::string>& keys_of(const std::string& section) {
    for (const auto& [name, keys] : key_table())
        if (name == section)
            return keys;
    static const std::vector<std::string> none;
    return none;
}

/// Walks one YAML document, remembering the file name for messages.
class loader {
  public:
    explicit loader(std::string source) : source_(std::move(source)) {}

    [[noreturn]] void fail(const YAML::Node& at, const std::string& key, const std::string& what,
                           std::string hint = {}) const {
        std::string where = source_;
        if (at.IsDefined() && at.Mark().line >= 0)
            where += ":" + std::to_string(at.Mark().line + 1);
        throw config_error(where + ": " + (key.empty() ? "" : key + ": ") + what, std::move(hint));
    }

    /// Refuses keys of `map` not in `known`; `path` is the dotted path of the map.
    void check_keys(const YAML::Node& map, const std::string& path) const {
        const auto& known = keys_of(path);
        if (!map.IsMap())
            fail(map, path, "expected a mapping of keys, got " + kind(map));
        // yaml-cpp keeps both pairs of a repeated key and its lookup returns the first, so an
        // override appended to a copy of the example would be ignored without this check.
        std::vector<std::pair<std::string, int>> seen;
        for (const auto& kv : map) {
            const std::string k = kv.first.Scalar();
            const int line = kv.first.Mark().line + 1;
            const std::string full = path.empty() ? k : path + "." + k;
            for (const auto& [name, first] : seen)
                if (name == k)
                    throw config_error(source_ + ":" + std::to_string(line) + ": key \"" + full +
                                           "\" is given twice, on lines " + std::to_string(first) +
                                           " and " + std::to_string(line),
                                       "keep one of them; the loader never picks one silently");
            seen.emplace_back(k, line);
            bool ok = false;
            for (const auto& n : known) ok = ok || k == n;
            if (ok)
                continue;
            std::string list;
            for (const auto& n : known) list += (list.empty() ? "" : ", ") + n;
            throw config_error(
                source_ + ":" + std::to_string(kv.first.Mark().line + 1) + ": unknown key \"" +
                    (path.empty() ? k : path + "." + k) + "\"",
                "known keys" + (path.empty() ? std::string() : " under " + path) + ": " + list);
        }
    }

    static std::string kind(const YAML::Node& n) {
        if (n.IsMap())
            return "a mapping";
        if (n.IsSequence())
            return "a list";
        if (n.IsNull())
            return "no value";
        return "\"" + n.Scalar() + "\"";
    }

    void string(const YAML::Node& map, const std::string& path, const char* key, std::string& out,
                bool allow_empty = true) const {
        auto n = map[key];
        if (!n.IsDefined())
            return;
        const std::string full = path + "." + key;
        if (n.IsNull() && allow_empty) {
            out.clear();
            return;
        }
        if (!n.IsScalar())
            fail(n, full, "expected a string, got " + kind(n));
        if (!allow_empty && n.Scalar().empty())
            fail(n, full, "must not be empty");
        out = n.Scalar();
    }

    void ident(const YAML::Node& map, const std::string& path, const char* key,
               identifier& out) const {
        parsed(map, path, key, [&](const std::string& s) { out = identifier(s); });
    }

    void table(const YAML::Node& map, const std::string& path, const char* key,
               qualified_name& out) const {
        parsed(map, path, key, [&](const std::string& s) { out = qualified_name::parse(s); });
    }

    /// A non-empty string handed to `parse`, whose config_error gets this key's line.
    template <typename Parse>
    void parsed(const YAML::Node& map, const std::string& path, const char* key,
                Parse parse) const {
        auto n = map[key];
        if (!n.IsDefined())
            return;
        std::string s;
        string(map, path, key, s, false);
        try {
            parse(s);
        } catch (const config_error& e) {
            fail(n, path + "." + key, e.what(), e.hint());
        }
    }

    template <typename T>
    void integer(const YAML::Node& map, const std::string& path, const char* key, T& out,
                 long long min, long long max) const {
        auto n = map[key];
        if (!n.IsDefined())
            return;
        const std::string full = path + "." + key;
        if (!n.IsScalar())
            fail(n, full, "expected an integer, got " + kind(n));
        const std::string& s = n.Scalar();
        long long v = 0;
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (ec != std::errc() || p != s.data() + s.size())
            fail(n, full, "expected an integer, got \"" + s + "\"");
        if (v < min || v > max)
            fail(n, full, std::to_string(v) + " is out of range",
                 "use a value from " + std::to_string(min) + " to " + std::to_string(max));
        out = static_cast<T>(v);
    }

    void millis(const YAML::Node& map, const std::string& path, const char* key,
                std::chrono::milliseconds& out, long long min, long long max) const {
        long long v = out.count();
        integer(map, path, key, v, min, max);
        out = std::chrono::milliseconds(v);
    }

    void choice(const YAML::Node& map, const std::string& path, const char* key, std::string& out,
                std::initializer_list<const char*> allowed) const {
        auto n = map[key];
        if (!n.IsDefined())
            return;
        std::string s;
        string(map, path, key, s, false);
        std::string list;
        for (const char* a : allowed) {
            if (s == a) {
                out = s;
                return;
            }
            list += (list.empty() ? "" : ", ") + std::string(a);
        }
        fail(n, path + "." + key, "\"" + s + "\" is not one of " + list);
    }

    /// Runs `body` on the mapping under `key` when present.
    void section(const YAML::Node& root, const char* key,
                 const std::function<void(const YAML::Node&)>& body) const {
        auto n = root[key];
        if (!n.IsDefined() || n.IsNull())
            return;
        body(n);
    }

  private:
    std::string source_;
};

void parse_legacy(const loader& l, const YAML::Node& n, legacy_config& g) {
    l.check_keys(n, "legacy");
    l.table(n, "legacy", "table", g.table);
    l.ident(n, "legacy", "key_column", g.key_column);
    l.ident(n, "legacy", "name_column", g.name_column);
    l.ident(n, "legacy", "history_column", g.history_column);
    l.ident(n, "legacy", "comment_column", g.comment_column);
    l.ident(n, "legacy", "comment_author_column", g.comment_author_column);
    l.section(n, "fields", [&](const YAML::Node& f) {
        l.check_keys(f, "legacy.fields");
        l.string(f, "legacy.fields", "author", g.fields.author, false);
        l.string(f, "legacy.fields", "body", g.fields.body, false);
        l.string(f, "legacy.fields", "sent_at", g.fields.sent_at, false);
        const auto& fs = g.fields;
        if (fs.author == fs.body || fs.author == fs.sent_at || fs.body == fs.sent_at)
            l.fail(f, "legacy.fields", "author, body and sent_at must name different keys");
    });
}

void parse_backup(const loader& l, const YAML::Node& n, backup_config& b) {
    l.check_keys(n, "backup");
    l.table(n, "backup", "table", b.table);
    std::string mode = to_string(b.mode);
    l.choice(n, "backup", "mode", mode, {"every_rewrite", "drift_only", "off"});
    b.mode = mode == "off"          ? backup_mode::off
             : mode == "drift_only" ? backup_mode::drift_only
                                    : backup_mode::every_rewrite;
    l.integer(n, "backup", "keep_last", b.keep_last, 0, 1000000);
    long long age = b.max_age.count();
    l.integer(n, "backup", "max_age_s", age, 0, 100LL * 365 * 86400);
    b.max_age = std::chrono::seconds(age);
    l.integer(n, "backup", "prune_batch", b.prune_batch, 1, 100000);
}

void parse_daemon(const loader& l, const YAML::Node& n, daemon_config& d) {
    l.check_keys(n, "daemon");
    l.millis(n, "daemon", "poll_interval_ms", d.poll_interval, 10, 3600000);
    l.millis(n, "daemon", "append_poll_ms", d.append_poll, 1, 60000);
    l.integer(n, "daemon", "batch_conversations", d.batch_conversations, 1, 100000);
    l.integer(n, "daemon", "workers", d.workers, 0, 64);
    l.integer(n, "daemon", "claim_bytes", d.claim_bytes, 1024, 1LL << 30);
    l.millis(n, "daemon", "reconnect_min_ms", d.reconnect_min, 10, 3600000);
    l.millis(n, "daemon", "reconnect_max_ms", d.reconnect_max, 10, 3600000);
    if (d.reconnect_min > d.reconnect_max)
        l.fail(n, "daemon.reconnect_min_ms", "is larger than daemon.reconnect_max_ms",
               "make the first backoff no longer than the ceiling");
    l.string(n, "daemon", "metrics_listen", d.metrics_listen);
    try {
        parse_listen_address(d.metrics_listen);
    } catch (const config_error& e) {
        l.fail(n["metrics_listen"], "daemon.metrics_listen", e.what(), e.hint());
    }
}

config parse_document(const YAML::Node& root, const std::string& source) {
    config cfg;
    cfg.source = source;
    loader l(source);
    if (!root.IsDefined() || root.IsNull())
        return cfg;
    l.check_keys(root, "");
    l.section(root, "database", [&](const YAML::Node& n) {
        l.check_keys(n, "database");
        auto& d = cfg.database;
        l.string(n, "database", "conninfo", d.conninfo);
        l.string(n, "database", "application_name", d.application_name, false);
        l.millis(n, "database", "connect_timeout_ms", d.connect_timeout, 1000, 3600000);
        l.millis(n, "database", "statement_timeout_ms", d.statement_timeout, 0, 86400000);
        l.millis(n, "database", "lock_timeout_ms", d.lock_timeout, 0, 3600000);
    });
    l.section(root, "legacy", [&](const YAML::Node& n) { parse_legacy(l, n, cfg.legacy); });
    l.section(root, "ledger", [&](const YAML::Node& n) {
        l.check_keys(n, "ledger");
        l.ident(n, "ledger", "schema", cfg.ledger.schema);
    });
    l.section(root, "backup", [&](const YAML::Node& n) { parse_backup(l, n, cfg.backup); });
    l.section(root, "migrate", [&](const YAML::Node& n) {
        l.check_keys(n, "migrate");
        l.integer(n, "migrate", "batch_rows", cfg.migrate.batch_rows, 1, 100000);
        l.integer(n, "migrate", "workers", cfg.migrate.workers, 1, 64);
    });
    l.section(root, "daemon", [&](const YAML::Node& n) { parse_daemon(l, n, cfg.daemon); });
    l.section(root, "logging", [&](const YAML::Node& n) {
        l.check_keys(n, "logging");
        l.choice(n, "logging", "level", cfg.logging.level,
                 {"trace", "debug", "info", "warn", "error", "critical", "off"});
        l.choice(n, "logging", "format", cfg.logging.format, {"text", "json"});
    });
    return cfg;
}

}  // namespace

const char* to_string(backup_mode mode) {
    switch (mode) {
        case backup_mode::every_rewrite:
            return "every_rewrite";
        case backup_mode::drift_only:
            return "drift_only";
        case backup_mode::off:
            return "off";
    }
    return "every_rewrite";
}

std::optional<listen_address> parse_listen_address(const std::string& text) {
    if (text.empty())
        return std::nullopt;
    const std::string hint =
        "write 127.0.0.1:9187, localhost:9187 or [::1]:9187, or \"\" to turn the endpoint off";
    listen_address out;
    std::string port;
    if (text.front() == '[') {
        auto close = text.find(']');
        if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':')
            throw config_error("\"" + text + "\" is not HOST:PORT", hint);
        out.host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string::npos || text.find(':') != colon)
            throw config_error("\"" + text + "\" is not HOST:PORT", hint);
        out.host = text.substr(0, colon);
        port = text.substr(colon + 1);
    }
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), out.port);
    if (port.empty() || ec != std::errc() || p != port.data() + port.size() || out.port < 1 ||
        out.port > 65535)
        throw config_error("\"" + port + "\" in \"" + text + "\" is not a port from 1 to 65535",
                           hint);
    in_addr v4{};
    in6_addr v6{};
    bool loopback = out.host == "localhost";
    if (inet_pton(AF_INET, out.host.c_str(), &v4) == 1)
        loopback = (ntohl(v4.s_addr) >> 24) == 127;
    else if (inet_pton(AF_INET6, out.host.c_str(), &v6) == 1)
        loopback = IN6_IS_ADDR_LOOPBACK(&v6);
    if (!loopback)
        throw config_error("\"" + out.host + "\" is not a loopback address",
                           "the metrics endpoint has no authentication; bind it to the loopback "
                           "interface and let a local Prometheus agent or proxy reach it");
    return out;
}

std::vector<std::string> config_keys() {
    std::vector<std::string> out;
    for (const auto& [section, keys] : key_table()) {
        if (section.empty())
            continue;
        for (const auto& k : keys)
            if (keys_of(section + "." + k).empty())
                out.push_back(section + "." + k);
    }
    return out;
}

config parse_config(const std::string& yaml_text, const std::string& source) {
    YAML::Node root;
    try {
        root = YAML::Load(yaml_text);
    } catch (const YAML::Exception& e) {
        throw config_error(
            source + ":" + std::to_string(e.mark.line + 1) + ": invalid YAML: " + e.msg,
            "fix the syntax; indent with spaces, not tabs");
    }
    return parse_document(root, source);
}

config load_config(const std::string& path) {
    // An ifstream reads a directory as an empty file, which would silently give every default.
    struct stat st {};
    if (stat(path.c_str(), &st) != 0)
        throw config_error("cannot read config file " + path + ": " + std::strerror(errno),
                           "check the --config path and its permissions");
    if (!S_ISREG(st.st_mode))
        throw config_error("config file " + path + " is " +
                               (S_ISDIR(st.st_mode) ? "a directory" : "not a regular file"),
                           "give --config the path of the YAML file itself, e.g. "
                           "/etc/chatledger/chatledger.yaml");
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw config_error("cannot read config file " + path + ": " + std::strerror(errno),
                           "check the --config path and its permissions");
    std::ostringstream text;
    text << in.rdbuf();
    return parse_config(text.str(), path);
}

std::string redact_conninfo(const std::string& conninfo) {
    std::string out = conninfo;
    // URI: postgresql://user:secret@host/db?password=secret
    if (out.rfind("postgresql://", 0) == 0 || out.rfind("postgres://", 0) == 0) {
        size_t start = out.find("://") + 3;
        size_t at = out.find('@', start);
        size_t slash = out.find('/', start);
        if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
            size_t colon = out.find(':', start);
            if (colon != std::string::npos && colon < at)
                out.replace(colon + 1, at - colon - 1, "***");
        }
        for (size_t p = out.find("password=", 0); p != std::string::npos;
             p = out.find("password=", p + 1)) {
            if (p > 0 && out[p - 1] != '?' && out[p - 1] != '&')
                continue;
            size_t end = out.find('&', p);
            out.replace(p + 9, (end == std::string::npos ? out.size() : end) - p - 9, "***");
        }
        return out;
    }
    // key=value: password = 'sec ret' or password=secret
    std::string result;
    size_t i = 0;
    while (i < out.size()) {
        size_t p = out.find("password", i);
        if (p == std::string::npos)
            break;
        size_t j = p + 8;
        while (j < out.size() && out[j] == ' ') ++j;
        bool is_key =
            (p == 0 || out[p - 1] == ' ' || out[p - 1] == '\t') && j < out.size() && out[j] == '=';
        if (!is_key) {
            result.append(out, i, p + 8 - i);
            i = p + 8;
            continue;
        }
        ++j;
        while (j < out.size() && out[j] == ' ') ++j;
        size_t end = j;
        if (end < out.size() && out[end] == '\'') {
            ++end;
            while (end < out.size() && out[end] != '\'') end += (out[end] == '\\') ? 2 : 1;
            end = std::min(out.size(), end + 1);
        } else {
            while (end < out.size() && out[end] != ' ') end += (out[end] == '\\') ? 2 : 1;
            end = std::min(out.size(), end);
        }
        result.append(out, i, j - i);
        result += "***";
        i = end;
    }
    result.append(out, std::min(i, out.size()), std::string::npos);
    return result;
}

std::optional<std::string> permission_warning(const config& cfg) {
    if (cfg.source.empty())
        return std::nullopt;
    if (redact_conninfo(cfg.database.conninfo) == cfg.database.conninfo)
        return std::nullopt;
    struct stat st {};
    if (stat(cfg.source.c_str(), &st) != 0)
        return std::nullopt;
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) == 0)
        return std::nullopt;
    return "config file " + cfg.source +
           " holds a database password and is readable by other users; chmod 600 it, or move "
           "the password to a pgpass file (systemd: LoadCredential)";
}

}  // namespace chatledger
