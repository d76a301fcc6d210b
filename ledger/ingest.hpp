// The ingest rule applied to a batch of conversations: compare legacy values with the ledger
// and append what the ledger has fewer of. Shared by `run`, `recover` and chatledger-syncd.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/config.hpp"
#include "core/message.hpp"
#include "ledger/ledger_repository.hpp"

namespace chatledger::ledger {

/// One legacy value to ingest for a conversation.
struct legacy_value {
    std::string zoho_id;
    std::optional<std::string> text;  ///< the history column; nullopt for NULL
};

/// The counts an ingest reports; summed across batches and workers by operator+=.
struct ingest_counts {
    long long appended = 0;      ///< rows appended
    long long elements = 0;      ///< array elements seen
    long long unparseable = 0;   ///< values that were not JSON arrays
    long long null_values = 0;   ///< NULL: no messages
    long long blank_values = 0;  ///< "" or only whitespace: no messages
    long long empty_arrays = 0;  ///< [] (whitespace inside allowed): no messages
    long long no_timestamp = 0;  ///< appended messages without a parseable timestamp

    ingest_counts& operator+=(const ingest_counts& o) {
        appended += o.appended;
        elements += o.elements;
        unparseable += o.unparseable;
        null_values += o.null_values;
        blank_values += o.blank_values;
        empty_arrays += o.empty_arrays;
        no_timestamp += o.no_timestamp;
        return *this;
    }
};

/// What ingesting a batch appended.
struct ingest_result : ingest_counts {
    std::map<std::string, long long> per_conversation;  ///< appended rows by zoho_id
    std::set<std::string> unparseable_keys;             ///< conversations with such a value
};

/// The configured keys of a message object (legacy.fields).
core::field_names field_names_of(const config& cfg);

/// Identities of a legacy value's messages in array order: canonical elements, or for a value
/// that is not a JSON array the identity of the one `unparseable` row it becomes.
std::vector<std::string> value_identities(const std::optional<std::string>& text,
                                          const core::field_names& fields);

/// Identity of a ledger row: its payload's canonical form, or the element it renders to.
std::string ledger_identity(const ledger_message& m, const core::field_names& fields);

/// The ledger's identity counts of conversations an ingest already read, so a second ingest
/// in the same transaction (the daemon's late claim) need not read them again.
struct ingest_cache {
    std::unordered_map<std::string, core::identity_counts> counts;  ///< by zoho_id
    bool locked = false;  ///< the caller holds the conversations' advisory locks already
};

/// Ingests `values` in a transaction the caller opened: locks the conversations, reads their
/// ledger messages and appends, in each value's array order, what the ledger has fewer of.
/// Several values of one conversation are applied in order (each sees the previous appends).
///
/// With dry_run nothing is locked or appended: the result says what would be (for `plan`).
/// With skip_unparseable (for backup snapshots) a value that is not a JSON array is counted but
/// appends nothing. With a cache, conversations it holds are not read again, and it is kept
/// up to date with what this ingest appends.
ingest_result ingest(ledger_repository& repo, const std::vector<legacy_value>& values,
                     const core::field_names& fields, const char* source, bool dry_run = false,
                     bool skip_unparseable = false, ingest_cache* cache = nullptr);

}  // namespace chatledger::ledger
