// The ledger repository both executables share: per-conversation locks, the ledger's messages
// of a set of conversations, and COPY appends. The only SQL of chat_messages outside schema/.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/message.hpp"
#include "pg/connection.hpp"

namespace chatledger::ledger {

/// One ledger message, enough to compute its identity.
struct ledger_message {
    long long id = 0;
    std::string zoho_id;
    std::optional<std::string> payload;
    std::optional<std::string> author;
    std::optional<std::string> body;
    std::optional<long long> sent_at_us;  ///< microseconds since the Unix epoch
    std::string source;
    bool this_transaction = false;  ///< appended by the reading transaction itself
};

/// A message to append; zoho_id and payload point into the caller's legacy values.
struct new_message {
    const std::string* zoho_id;
    std::optional<std::string> author;
    std::optional<std::string> body;
    std::optional<long long> sent_at_us;
    std::optional<std::string_view> payload;
    core::message_source source;
};

/// Ledger access through one connection.
class ledger_repository {
  public:
    ledger_repository(pg::connection& conn, const config& cfg) : conn_(conn), cfg_(cfg) {}

    /// Fails with a config_error naming `schema` when the ledger is missing or out of date.
    /// With allow_missing (for `plan`), a missing ledger reads as an empty one instead.
    void require_schema(bool allow_missing = false);
    /// False after require_schema(true) found no ledger (then reads return nothing).
    bool exists() const { return ledger_exists_; }
    /// Serializes ingestion of these conversations with every other ingester (daemon included)
    /// until the transaction ends. Locks are taken in the given order: pass sorted keys.
    void lock_conversations(const std::vector<std::string>& keys);
    /// Every ledger message of these conversations, in id order.
    std::vector<ledger_message> ledger_messages(const std::vector<std::string>& keys);
    /// The messages of one conversation after id `after`, in id order, and how many it has up
    /// to `after`: a sync that rendered up to `after` reads only what came since, and the count
    /// tells whether a row below `after` committed after that render.
    std::pair<long long, std::vector<ledger_message>> messages_after(const std::string& zoho_id,
                                                                     long long after);
    /// Appends messages with one COPY; ids follow the vector's order.
    long long append(const std::vector<new_message>& messages);

  private:
    pg::connection& conn_;
    const config& cfg_;
    bool ledger_exists_ = true;
};

/// Appends one COPY text-format field (escaped, or \N for NULL) to `out`.
void copy_field(std::string& out, std::optional<std::string_view> value);

}  // namespace chatledger::ledger
