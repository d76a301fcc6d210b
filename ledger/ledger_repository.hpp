// The ledger repository both executables share: per-conversation locks, the ledger's messages
// of a set of conversations, and COPY appends. The only SQL of chat_messages outside schema/.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
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
    /// messages_after() only: milliseconds since the row's transaction began, when read.
    double age_ms = 0;
};

/// One ledger message as for_each_ledger_message() reads it: views into the result, valid
/// during the call only; author and body only when it has no payload.
struct ledger_message_view {
    std::string_view zoho_id;
    std::optional<std::string_view> payload, author, body;
    std::optional<long long> sent_at_us;
    std::string_view source;
    bool latest = false;  ///< the conversation's last row in id order
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
    /// Calls `f` with each ledger message of these conversations, by conversation and in id
    /// order, read through a cursor in pieces of `piece` rows, so a large conversation is never
    /// held whole (for `verify`). Author and body come only for rows without a payload: the
    /// payload alone gives the identity (and holds them). Runs in the caller's transaction.
    void for_each_ledger_message(const std::vector<std::string>& keys,
                                 const std::function<void(const ledger_message_view&)>& f,
                                 int piece = 10000);
    /// The messages of one conversation after id `after`, in id order, and how many it has up
    /// to `after`: a sync that rendered up to `after` reads only what came since, and the count
    /// tells whether a row below `after` committed after that render.
    std::pair<long long, std::vector<ledger_message>> messages_after(const std::string& zoho_id,
                                                                     long long after);
    /// Appends messages with one COPY; ids follow the vector's order.
    long long append(const std::vector<new_message>& messages);

    /// One COPY fed a message at a time (see appender below).
    class appender;

  private:
    pg::connection& conn_;
    const config& cfg_;
    bool ledger_exists_ = true;
};

/// One COPY into chat_messages, fed message by message and sent in 1 MB pieces, so a large
/// legacy value's messages are never all held as rows at once; ids follow the order of add().
/// Nothing is sent before the first add(); a COPY left unfinished is aborted.
class ledger_repository::appender {
  public:
    explicit appender(ledger_repository& repo) : repo_(repo) {}
    ~appender();
    appender(const appender&) = delete;
    appender& operator=(const appender&) = delete;

    void add(const new_message& m);
    /// Ends the COPY; returns the rows appended (0 when nothing was added).
    long long finish();

  private:
    /// One binary COPY field (length word and bytes); a large one is sent on in slices.
    void field(std::optional<std::string_view> value);

    ledger_repository& repo_;
    std::string buf_;
    bool open_ = false;
};

}  // namespace chatledger::ledger
