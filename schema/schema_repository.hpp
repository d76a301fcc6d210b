// All SQL of the schema module: history bookkeeping, the advisory lock and legacy-table checks.
// Commands above it (apply_schema, status) never build SQL of their own.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "pg/connection.hpp"

namespace chatledger::schema {

/// One row of <ledger>.schema_history.
struct applied_step {
    int version = 0;
    std::string name;
    std::string checksum;
    std::string applied_at;
    std::string applied_by;
};

/// The recorded state of the repeatable capture step.
struct applied_capture {
    std::string checksum;
    std::string target;  ///< the quoted legacy table the trigger was put on
};

/// The transaction in this database that holds the xmin horizon back longest.
struct open_transaction {
    std::optional<int> pid;        ///< nullopt for a prepared transaction
    std::string application_name;  ///< "prepared transaction GID" for one
    std::string state;             ///< pg_stat_activity.state ("idle in transaction", ...)
    std::optional<double> age_s;   ///< nullopt when the session is not visible in full
    long long xid_age = 0;         ///< transactions begun since its snapshot or id
};

/// How the sync queue fares: the work waiting in it, what it occupies and what vacuum could not
/// remove yet.
struct queue_health {
    /// Queued events and, since schema step 0012, application appends no daemon collected yet.
    long long waiting = 0;
    std::optional<double> oldest_waiting_age_s;  ///< nullopt when nothing waits
    long long bytes = 0;                         ///< heap, indexes and TOAST of every slot
    long long dead_rows = 0;                     ///< pg_stat_user_tables.n_dead_tup over the slots
    bool oldest_read = false;  ///< false before schema step 9, which brings the function
    std::optional<open_transaction> oldest;  ///< nullopt when none is open
};

/// Reads and writes the ledger's schema bookkeeping through one connection.
class schema_repository {
  public:
    schema_repository(pg::connection& conn, const config& cfg) : conn_(conn), cfg_(cfg) {}

    /// Serializes concurrent `schema` runs on this database until the transaction ends.
    void lock();
    /// The legacy key column's type as format_type() prints it (identifiers quoted by the
    /// server), for lookups in the column's own type; config_error when the column is missing.
    std::string key_column_type();
    /// True when <ledger>.schema_history exists (the ledger was set up before).
    bool history_exists();
    /// Creates the ledger schema and the history tables if missing.
    void bootstrap();
    std::vector<applied_step> applied_steps();
    std::optional<applied_capture> capture_state();
    /// Hex SHA-256 of `text`, computed by the server so every client agrees.
    std::string checksum(const std::string& text);

    /// Runs one rendered step script.
    void run_step(const std::string& what, const std::string& sql);
    void record_step(int version, const std::string& name, const std::string& checksum);
    void record_capture(const std::string& checksum, const std::string& target);
    /// Removes the capture trigger from a table the configuration no longer names.
    void drop_capture_trigger(const std::string& quoted_table);

    /// What is wrong with chatledger_capture on the legacy table; "" when it is there, ENABLE
    /// ALWAYS and still chatledger's (its function, events, columns, no WHEN clause).
    std::string capture_trigger_problem();
    /// What is wrong with chatledger_no_nested_daemon_write on the backup table (the capture
    /// step's guard of the old system's backup rows); "" when it is there, ENABLE ALWAYS and
    /// still chatledger's.
    std::string backup_guard_problem();
    /// Every other trigger and rule on the legacy table, as "trigger audit" or "rule r".
    std::vector<std::string> foreign_triggers();

    /// One of the ledger's own triggers and its pg_trigger.tgenabled.
    struct ledger_trigger {
        std::string table;  ///< chat_messages or sync_queue
        std::string name;
        std::optional<std::string> enabled;  ///< nullopt when it is missing
    };
    /// The triggers the steps up to `version` put on chat_messages and sync_queue, each with
    /// its state.
    std::vector<ledger_trigger> ledger_triggers(int version);
    /// ALTER TABLE ... ENABLE ALWAYS TRIGGER for one of ledger_triggers().
    void enable_ledger_trigger(const ledger_trigger& t);

    /// Size and dead rows of the sync queue's slots; the oldest open transaction from step 9 on.
    queue_health read_queue_health(int version);

    /// True when `table` resolves to a table or view the session can see.
    bool table_exists(const qualified_name& table);
    /// True when `table` has a valid, unique, non-partial index whose only key is `column`
    /// (a primary key or unique constraint counts): only then is one key one legacy row.
    bool has_unique_index_on(const qualified_name& table, const std::string& column);
    /// Columns of `names` that `table` lacks.
    std::vector<std::string> missing_columns(const qualified_name& table,
                                             const std::vector<std::string>& names);

  private:
    pg::connection& conn_;
    const config& cfg_;
};

}  // namespace chatledger::schema
