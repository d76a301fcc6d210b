// Keeps the daemon's counters behind one mutex and renders them for Prometheus. Quantiles are
// computed when read, not on every recorded event, so the sync path stays cheap.
#include "daemon/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "chatledger/version.hpp"

namespace chatledger::daemon {

metrics::metrics(std::string instance, double started_at)
    : instance_(std::move(instance)), started_at_(started_at) {}

std::string metrics::started_at_iso() const {
    auto t = static_cast<std::time_t>(started_at_);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[40];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

void metrics::record(const sync_outcome& o) {
    std::lock_guard lock(mutex_);
    ++counters_.conversations;
    counters_.rewrites += o.rewritten;
    counters_.drifts_healed += o.drift;
    first_renders_ += o.first_render.has_value();
    counters_.messages_captured += o.captured;
    for (double l : o.lags_ms) {
        if (lags_ms_.size() >= lag_window)
            lags_ms_.pop_front();
        lags_ms_.push_back(l);
        lag_sum_ms_ += l;
        ++lag_count_;
    }
}

void metrics::record_lock_timeout() {
    std::lock_guard lock(mutex_);
    ++lock_timeouts_;
}

void metrics::record_sync_failure(long long set_aside) {
    std::lock_guard lock(mutex_);
    ++sync_failures_;
    set_aside_ = set_aside;
}

void metrics::set_set_aside(long long set_aside) {
    std::lock_guard lock(mutex_);
    set_aside_ = set_aside;
}

void metrics::record_connected() {
    std::lock_guard lock(mutex_);
    ++connects_;
    connected_ = true;
}

void metrics::record_disconnected(bool retryable) {
    std::lock_guard lock(mutex_);
    ++(retryable ? errors_retryable_ : errors_fatal_);
    connected_ = false;
}

void metrics::record_without_legacy_row(long long events) {
    std::lock_guard lock(mutex_);
    without_legacy_row_ += events;
}

void metrics::set_notifications_ok(bool ok) {
    std::lock_guard lock(mutex_);
    notifications_ok_ = ok;
}

void metrics::set_capture_ok(bool ok) {
    std::lock_guard lock(mutex_);
    capture_ok_ = ok;
}

void metrics::set_backlog(long long depth, double oldest_age_s) {
    std::lock_guard lock(mutex_);
    backlog_depth_ = depth;
    backlog_age_s_ = oldest_age_s;
}

long long metrics::first_renders() const {
    std::lock_guard lock(mutex_);
    return first_renders_;
}

void metrics::record_queue_maintenance(int truncated, bool rotated, const schema::queue_health& h) {
    std::lock_guard lock(mutex_);
    queue_truncations_ += truncated;
    queue_rotations_ += rotated ? 1 : 0;
    queue_health_ = h;
}

instance_counters metrics::counters() const {
    std::lock_guard lock(mutex_);
    instance_counters c = counters_;
    std::vector<double> lags(lags_ms_.begin(), lags_ms_.end());
    c.lag_p50_ms = quantile(lags, 0.5);
    c.lag_p99_ms = quantile(std::move(lags), 0.99);
    return c;
}

std::optional<double> quantile(std::vector<double> samples, double q) {
    if (samples.empty())
        return std::nullopt;
    // Nearest rank: the smallest sample with at least q of all samples at or below it.
    auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(samples.size())));
    rank = std::clamp<size_t>(rank, 1, samples.size());
    std::nth_element(samples.begin(), samples.begin() + (rank - 1), samples.end());
    return samples[rank - 1];
}

std::string escape_label_value(const std::string& value) {
    std::string out;
    for (char c : value) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

namespace {

/// Prometheus floats: shortest round-trip form; NaN as the format spells it.
std::string number(double v) {
    if (std::isnan(v))
        return "NaN";
    char buf[32];
    // Counters are whole numbers: print 20, not the shortest-%g form 2e+01.
    if (v == std::floor(v) && std::fabs(v) < 1e15) {
        std::snprintf(buf, sizeof buf, "%.0f", v);
        return buf;
    }
    std::snprintf(buf, sizeof buf, "%.17g", v);
    // Prefer the shortest text that reads back as the same value.
    for (int precision = 1; precision < 17; ++precision) {
        char shorter[32];
        std::snprintf(shorter, sizeof shorter, "%.*g", precision, v);
        if (std::strtod(shorter, nullptr) == v)
            return shorter;
    }
    return buf;
}

void family(std::string& out, const char* name, const char* type, const char* help) {
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
}

void sample(std::string& out, const std::string& name, double value,
            const std::string& labels = {}) {
    out += name;
    if (!labels.empty())
        out += "{" + labels + "}";
    out += ' ';
    out += number(value);
    out += '\n';
}

/// A family with a single unlabelled sample.
void single(std::string& out, const char* name, const char* type, const char* help, double value) {
    family(out, name, type, help);
    sample(out, name, value);
}

}  // namespace

void metrics::render_queue_health(std::string& out) const {
    single(out, "chatledger_syncd_queue_bytes", "gauge",
           "Disk space of the sync queue (every slot, with indexes and TOAST) at the last check.",
           static_cast<double>(queue_health_.bytes));
    single(out, "chatledger_syncd_queue_dead_rows", "gauge",
           "Deleted queue rows vacuum has not removed yet (n_dead_tup over the slots); they grow "
           "while a transaction holds the xmin horizon back, until their slot is truncated.",
           static_cast<double>(queue_health_.dead_rows));
    single(out, "chatledger_syncd_queue_truncations_total", "counter",
           "Drained queue slots this instance truncated.", static_cast<double>(queue_truncations_));
    single(out, "chatledger_syncd_queue_rotations_total", "counter",
           "Times this instance moved new events on to an empty queue slot.",
           static_cast<double>(queue_rotations_));
    const auto& o = queue_health_.oldest;
    single(out, "chatledger_syncd_oldest_transaction_age_seconds", "gauge",
           "Age of the open transaction in this database holding the xmin horizon back longest; "
           "0 when none is open, NaN when its start is not visible (see docs/operations.md).",
           !o         ? 0
           : o->age_s ? *o->age_s
                      : std::nan(""));
    single(out, "chatledger_syncd_oldest_transaction_xid_age", "gauge",
           "Transaction ids begun since that transaction's snapshot or id; 0 when none is open.",
           o ? static_cast<double>(o->xid_age) : 0);
    if (o) {
        family(out, "chatledger_syncd_oldest_transaction_info", "gauge",
               "Who holds that transaction open: its pid (empty for a prepared transaction), "
               "application_name and state.");
        sample(out, "chatledger_syncd_oldest_transaction_info", 1,
               "pid=\"" + (o->pid ? std::to_string(*o->pid) : std::string()) +
                   "\",application_name=\"" + escape_label_value(o->application_name) +
                   "\",state=\"" + escape_label_value(o->state) + "\"");
    }
}

std::string metrics::render_prometheus() const {
    const instance_counters c = counters();
    std::lock_guard lock(mutex_);
    std::string out;
    family(out, "chatledger_syncd_info", "gauge",
           "Version and instance (host:pid) of this daemon.");
    sample(out, "chatledger_syncd_info", 1,
           "version=\"" + escape_label_value(chatledger::version) + "\",instance=\"" +
               escape_label_value(instance_) + "\"");
    single(out, "chatledger_syncd_start_time_seconds", "gauge",
           "Start time of the process since the Unix epoch in seconds.", started_at_);
    single(out, "chatledger_syncd_database_connected", "gauge",
           "1 while the daemon holds a working database connection, else 0.", connected_ ? 1 : 0);
    single(out, "chatledger_syncd_capture_trigger_ok", "gauge",
           "1 while the capture trigger on the legacy table is in place and ENABLE ALWAYS, 0 "
           "once it is found missing, disabled or altered (checked with each heartbeat).",
           capture_ok_ ? 1 : 0);
    single(out, "chatledger_syncd_notifications_ok", "gauge",
           "1 when a notification sent after LISTEN reached the daemon, 0 when none did (a "
           "transaction pooler such as PgBouncer between it and the server): it then polls the "
           "queue every 100 ms.",
           notifications_ok_ ? 1 : 0);
    single(out, "chatledger_syncd_connects_total", "counter",
           "Database connections established, the first one and every reconnect.",
           static_cast<double>(connects_));
    family(out, "chatledger_syncd_connection_errors_total", "counter",
           "Errors that made the daemon drop its connection and retry, by whether a retry "
           "can help without an operator.");
    sample(out, "chatledger_syncd_connection_errors_total", static_cast<double>(errors_retryable_),
           "retryable=\"true\"");
    sample(out, "chatledger_syncd_connection_errors_total", static_cast<double>(errors_fatal_),
           "retryable=\"false\"");
    single(out, "chatledger_syncd_conversations_synced_total", "counter",
           "Conversation transactions completed (rewritten or found in step).",
           static_cast<double>(c.conversations));
    single(out, "chatledger_syncd_rewrites_total", "counter",
           "Legacy rows rewritten from the ledger.", static_cast<double>(c.rewrites));
    single(out, "chatledger_syncd_drifts_healed_total", "counter",
           "Legacy columns that had lost ledger messages (a stale overwrite) and were healed.",
           static_cast<double>(c.drifts_healed));
    single(out, "chatledger_syncd_first_renders_total", "counter",
           "Legacy rows rewritten for the first time since the migration (never drift): an "
           "unparseable value shown as a system message, a comment found in no message.",
           static_cast<double>(first_renders_));
    single(out, "chatledger_syncd_messages_captured_total", "counter",
           "Messages appended to the ledger from legacy writes.",
           static_cast<double>(c.messages_captured));
    single(out, "chatledger_syncd_lock_timeouts_total", "counter",
           "Conversations left queued for later because a legacy writer held the row.",
           static_cast<double>(lock_timeouts_));
    single(out, "chatledger_syncd_events_without_legacy_row_total", "counter",
           "Queue events consumed for a key the legacy table has no row of, so nothing was "
           "rendered (an application appending under a key spelled otherwise); each is logged.",
           static_cast<double>(without_legacy_row_));
    single(out, "chatledger_syncd_sync_failures_total", "counter",
           "Conversation syncs that failed for a reason other than a lost connection or a held "
           "row; each sets its conversation aside with a backoff.",
           static_cast<double>(sync_failures_));
    single(out, "chatledger_syncd_conversations_set_aside", "gauge",
           "Conversations this instance has set aside after a failed sync (status names them).",
           static_cast<double>(set_aside_));
    single(out, "chatledger_syncd_queue_events", "gauge",
           "Events in the sync queue, which all instances share, at the last check (every 2 s).",
           static_cast<double>(backlog_depth_));
    single(out, "chatledger_syncd_queue_oldest_event_age_seconds", "gauge",
           "Age of the oldest queued event at the last check; 0 when the queue is empty.",
           backlog_age_s_);
    render_queue_health(out);
    family(out, "chatledger_syncd_sync_lag_seconds", "summary",
           "From a write to the legacy or ledger table to the daemon's commit of its "
           "conversation; quantiles over the most recent 4096 events.");
    const double nan = std::nan("");
    sample(out, "chatledger_syncd_sync_lag_seconds", c.lag_p50_ms ? *c.lag_p50_ms / 1000 : nan,
           "quantile=\"0.5\"");
    sample(out, "chatledger_syncd_sync_lag_seconds", c.lag_p99_ms ? *c.lag_p99_ms / 1000 : nan,
           "quantile=\"0.99\"");
    sample(out, "chatledger_syncd_sync_lag_seconds_sum", lag_sum_ms_ / 1000);
    sample(out, "chatledger_syncd_sync_lag_seconds_count", static_cast<double>(lag_count_));
    return out;
}

}  // namespace chatledger::daemon
