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

/// Identity of a ledger row: its payload's canonical form, or the element it renders to.
std::string ledger_identity(const ledger_message& m, const core::field_names& fields);

/// The ledger's identity counts of conversations an ingest already read, so a second ingest
/// in the same transaction (the daemon's late claim) need not read them again.
struct ingest_cache {
    std::unordered_map<std::string, core::identity_counts> counts;  ///< by zoho_id
    bool locked = false;  ///< the caller holds the conversations' advisory locks already
};

/// How one ingest call behaves.
struct ingest_options {
    core::message_source source;  ///< what appended rows record (migration, legacy, backup)
    /// Nothing is locked or appended: the result says what would be (for `plan`).
    bool dry_run = false;
    /// A value that is not a JSON array is counted but appends nothing (backup snapshots).
    bool skip_unparseable = false;
    /// Conversations it holds are not read again, and it learns what this ingest appends.
    ingest_cache* cache = nullptr;
    /// Receives each appended row (id 0, this_transaction), in append order, for a caller that
    /// keeps the conversation in memory instead of reading it again.
    std::vector<ledger_message>* appended = nullptr;
};

/// Ingests `values` in a transaction the caller opened: locks the conversations, reads their
/// ledger messages and appends, in each value's array order, what the ledger has fewer of.
/// Several values of one conversation are applied in order (each sees the previous appends).
ingest_result ingest(ledger_repository& repo, const std::vector<legacy_value>& values,
                     const core::field_names& fields, const ingest_options& options);

}  // namespace chatledger::ledger
