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
};

/// The legacy row's rendered columns as read under its lock.
struct legacy_columns {
    std::optional<std::string> history, comment, comment_author;
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
};

/// The element a ledger message renders to: its payload where that is valid JSON, else its
/// columns with the configured field names.
std::string element_of(const stored_message& m, const field_names& fields);

/// Decides the legacy columns of a conversation from its ledger messages.
///
/// A history column holding exactly the ledger's messages (as identities, any order or
/// formatting) keeps its text; otherwise the ledger is rendered in id order, elements with a
/// payload keeping their exact text. The comment columns follow the latest message. With no
/// messages nothing is decided (a conversation the ledger does not know is left alone).
render_decision decide_render(const std::vector<stored_message>& ledger, const legacy_columns& row,
                              const field_names& fields);

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
