// The daemon's decisions for one conversation, without a database: which comments a legacy
// write left are new messages, and what the legacy columns must hold given the ledger.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "core/message.hpp"

namespace chatledger::core {

/// One ledger message as the render decision sees it, in ledger (id) order.
struct stored_message {
    std::optional<std::string> payload;  ///< the original element text, where it has one
    std::optional<std::string> author, body;
    std::optional<int64_t> sent_at_us;
    /// The legacy column should already show it: neither appended in this sync nor announced
    /// by an event this sync consumes. Only such messages count as drift when missing.
    bool shown_before = false;
    /// Its identity (stored_identity()), when the caller computed it already; else computed.
    std::optional<std::string> identity;
    /// Recovered from a backup: shown where its sent_at puts it, before the first other
    /// message sent later, not after messages it preceded.
    bool placed_by_time = false;
    /// `run` migrated it (source migration or unparseable) and it was in the ledger before
    /// this sync began.
    bool migrated = false;
    /// This sync appended it (a comment found in no message).
    bool appended_now = false;
};

/// The legacy row's rendered columns as read under its lock.
struct legacy_columns {
    std::optional<std::string> history, comment, comment_author;
};

/// Why the first render of a migrated conversation changes its legacy row; several may hold.
struct first_render_change {
    /// The value is not a JSON array: its one `unparseable` row is shown as a system message
    /// (in the comment columns, and in the history column when that is rendered).
    bool unparseable_shown = false;
    /// The comment columns hold words no message has: appended as a message sent now.
    bool comment_appended = false;
    /// The comment columns are set to the latest migrated message's body and author.
    bool comment_columns = false;
    bool any() const { return unparseable_shown || comment_appended || comment_columns; }
};

/// What the legacy columns must become.
struct render_decision {
    bool rewrite = false;          ///< the columns differ from what the ledger says
    bool history_in_step = false;  ///< the history column already holds exactly the messages
    long long missing = 0;         ///< messages shown before that the column lost (drift)
    std::string history;           ///< with rewrite: the history column to write
    /// `history` is the ledger rendered in id order (render_array() of each message's
    /// element), not the column's own text kept: appending elements to it renders the same.
    bool rendered = false;
    std::optional<std::string> comment, comment_author;  ///< the latest message's body, author
    /// The column was never rendered: every message read before this sync was migrated and the
    /// history column holds exactly those (as `run` read it). Only set with rewrite.
    bool first_render = false;
    first_render_change first;  ///< with first_render: what it changes
};

/// The element a ledger message renders to: its payload where that is valid JSON, else its
/// columns with the configured field names.
std::string element_of(const stored_message& m, const field_names& fields);

/// Decides the legacy columns of a conversation from its ledger messages.
///
/// A history column holding exactly the ledger's messages (as identities, any order or
/// formatting) keeps its text; otherwise the ledger is rendered in render_order(), elements
/// with a payload keeping their exact text. The comment columns follow the last message of
/// that order. With no messages nothing is decided (a conversation the ledger does not know is
/// left alone).
/// Indexes of `ledger` in the order the history column shows them: id order, except that each
/// message placed_by_time (with a sent_at) stands before the first other message sent later;
/// those among themselves by sent_at, then id.
std::vector<size_t> render_order(const std::vector<stored_message>& ledger);

/// `row` is taken by value: a history kept as it is moves into the decision, not copied.
render_decision decide_render(const std::vector<stored_message>& ledger, legacy_columns row,
                              const field_names& fields);

/// The latest ledger message of a conversation as the first-render forecast needs it: only how
/// it compares with the row's comment columns (so a large message need not be kept).
struct latest_message {
    bool unparseable = false;               ///< the one row of a value that is not a JSON array
    bool body_is_comment = false;           ///< its body equals the comment column (NULLs too)
    bool author_is_comment_author = false;  ///< its author equals the comment author column
};

/// How a latest message with this author and body compares with the comment columns.
latest_message compare_latest(bool unparseable, const std::optional<std::string>& author,
                              const std::optional<std::string>& body,
                              const std::optional<std::string>& comment,
                              const std::optional<std::string>& comment_author);

/// What the daemon's first render of a conversation that `run` migrated will change, without
/// identities (for `verify`): the caller knows its ledger messages to be exactly the messages of
/// `row.history`; `latest` is the last of them (none: the ledger has none). The row's comment is
/// judged as the daemon judges the current row's (comment_rule::by_body).
first_render_change forecast_first_render(const std::optional<latest_message>& latest,
                                          const legacy_columns& row, const field_names& fields);

/// forecast_first_render() of a conversation `run` has yet to migrate: the ledger will hold
/// exactly the messages of row.history (for `plan`).
first_render_change forecast_first_render(const legacy_columns& row, const field_names& fields);

/// How to tell whether a comment a write left is a message of its own.
enum class comment_rule {
    /// The write changed the comment columns and not the history: always a new message, even
    /// when its words repeat an earlier one (an older write path that sets only the comment).
    new_message,
    /// The write changed both: new only if no element of its own history has that body (it
    /// normally names the element it appended).
    own_history,
    /// The write did not change the comment columns: its comment is an earlier write's.
    unchanged,
    /// Not known what the write changed (the current row, events queued before the capture
    /// trigger recorded it): new only if no ledger message, earlier new comment or element of
    /// its history has that body.
    by_body,
};

/// The comment columns one captured legacy write left.
struct left_comment {
    std::string_view history;  ///< the history the same write left ("" for NULL)
    std::string body;
    std::optional<std::string> author;
    comment_rule rule = comment_rule::by_body;
};

/// Indexes of the comments that are messages of their own, in order, each by its rule. An
/// older write path sets only the comment columns; re-rendering them from the ledger would
/// otherwise erase its message.
std::vector<size_t> new_comment_messages(const std::vector<left_comment>& comments,
                                         std::unordered_set<std::string_view> ledger_bodies,
                                         const field_names& fields);

}  // namespace chatledger::core
