// The chatledger configuration (docs/reference.md, Configuration) and its YAML loader.
// Loading validates everything up front, so a running command never meets a bad value.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "config/identifier.hpp"
#include "core/message.hpp"
#include "pg/options.hpp"

namespace chatledger {

/// Log output settings shared by both executables.
struct logging_config {
    std::string level = "info";   ///< trace, debug, info, warn, error, critical, off
    std::string format = "text";  ///< text or json (one JSON object per line)
};

/// The legacy table the dashboard reads.
struct legacy_config {
    qualified_name table{"", "live_chat"};
    identifier key_column{"zoho_id"};
    identifier name_column{"full_name"};
    identifier history_column{"chat_history"};
    identifier comment_column{"comments"};
    identifier comment_author_column{"comments_entered_by"};
    core::field_names fields;  ///< keys of one message object in the JSON array
};

/// Where the ledger and the tool's own tables live.
struct ledger_config {
    identifier schema{"chatledger"};
};

/// When the daemon writes before/after rows into the legacy backup table.
enum class backup_mode { every_rewrite, drift_only, off };

/// The legacy-compatible backup table and its retention.
struct backup_config {
    qualified_name table{"", "chat_history_backup"};
    backup_mode mode = backup_mode::every_rewrite;
    int keep_last = 50;               ///< per conversation; 0 = no count limit
    std::chrono::seconds max_age{0};  ///< 0 = no age limit
    int prune_batch = 500;            ///< rows deleted per pruning statement
};

/// Migration tuning.
struct migrate_config {
    int batch_rows = 1000;  ///< legacy rows per checkpointed batch
    int workers = 2;        ///< loading connections
};

/// A loopback TCP address for the metrics endpoint.
struct listen_address {
    std::string host;  ///< numeric 127.0.0.0/8 or ::1 address, or "localhost"
    int port = 0;      ///< 1 to 65535
};

/// Daemon timing.
struct daemon_config {
    std::chrono::milliseconds poll_interval{1000};  ///< queue poll when no NOTIFY arrives
    /// How often an idle daemon looks for new appends, which send no notification.
    std::chrono::milliseconds append_poll{20};
    int batch_conversations = 100;       ///< conversations claimed per cycle
    int workers = 0;                     ///< connections syncing in parallel; 0 = one per CPU core
    long long claim_bytes = 32LL << 20;  ///< captured legacy values one sync claims, in bytes
    std::chrono::milliseconds reconnect_min{200};    ///< first reconnect backoff
    std::chrono::milliseconds reconnect_max{30000};  ///< backoff ceiling
    std::string metrics_listen;                      ///< "" = off, else host:port on loopback
};

/// Everything a chatledger command needs to know.
struct config {
    std::string source;  ///< file it was loaded from, for messages; "" for defaults
    database_config database;
    legacy_config legacy;
    ledger_config ledger;
    backup_config backup;
    migrate_config migrate;
    daemon_config daemon;
    logging_config logging;
};

/// Parses daemon.metrics_listen: "" = off, else HOST:PORT with a loopback HOST ([::1]:PORT for
/// IPv6). Throws config_error: the endpoint is unauthenticated, so it never leaves the host.
std::optional<listen_address> parse_listen_address(const std::string& text);

/// Every configuration key as a dotted path (database.conninfo, legacy.fields.author, ...), in
/// the order of the example file; the loader accepts exactly these.
std::vector<std::string> config_keys();

/// Loads and validates a YAML config file.
///
/// Throws config_error naming the file, line and key for an unreadable file, malformed YAML,
/// an unknown key, a wrong type, an invalid identifier or an out-of-range value.
config load_config(const std::string& path);

/// Parses YAML text; `source` names it in error messages.
config parse_config(const std::string& yaml_text, const std::string& source);

/// Text name of a backup mode as written in YAML.
const char* to_string(backup_mode mode);

/// The conninfo with every password replaced by ***, for messages and logs.
std::string redact_conninfo(const std::string& conninfo);

/// A warning text when the config file holds a password and others may read it.
std::optional<std::string> permission_warning(const config& cfg);

}  // namespace chatledger
