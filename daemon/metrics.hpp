// The counters, gauges and lag samples of one chatledger-syncd process, and their Prometheus
// text rendering. The main loop writes them; the metrics endpoint's thread reads them.
#pragma once

#include <deque>
#include <mutex>
#include <string>

#include "daemon/sync_repository.hpp"
#include "daemon/syncer.hpp"
#include "schema/schema_repository.hpp"

namespace chatledger::daemon {

/// Thread-safe metrics of this process; every member function takes the lock.
class metrics {
  public:
    /// `instance` is host:pid; `started_at` seconds since the Unix epoch.
    metrics(std::string instance, double started_at);

    const std::string& instance() const { return instance_; }
    /// ISO 8601 start time, as the heartbeat row shows it.
    std::string started_at_iso() const;

    /// Adds what syncing one conversation did.
    void record(const sync_outcome& o);
    /// First renders since `run` (counted by record()), for --once's closing line.
    long long first_renders() const;
    /// A conversation left queued because a legacy writer held its row.
    void record_lock_timeout();
    /// Events consumed for a key the legacy table has no row of (nothing could be rendered).
    void record_without_legacy_row(long long events);
    /// A conversation's sync failed and it was set aside; `set_aside` is how many are now.
    void record_sync_failure(long long set_aside);
    /// How many conversations are set aside (after a success or at connect).
    void set_set_aside(long long set_aside);
    /// A connection was established (the first one or a reconnect).
    void record_connected();
    /// The connection was given up after an error; `retryable` as the error said.
    void record_disconnected(bool retryable);
    /// Whether a notification sent after LISTEN reached this daemon (no: a transaction pooler).
    void set_notifications_ok(bool ok);
    /// Whether the capture trigger was found in place at the last check (connect, heartbeat).
    void set_capture_ok(bool ok);
    /// Queue depth and the oldest event's age, read every few seconds.
    void set_backlog(long long depth, double oldest_age_s);

    /// What a queue maintenance pass did and the queue's health it read afterwards.
    void record_queue_maintenance(int truncated, bool rotated, const schema::queue_health& h);

    /// The counters written to the heartbeat row, with lag quantiles over the recent window.
    instance_counters counters() const;
    /// The Prometheus text exposition format, version 0.0.4.
    std::string render_prometheus() const;

    /// Lag samples kept for the quantiles: the most recent events only.
    static constexpr size_t lag_window = 4096;

  private:
    /// The queue's health families; the caller holds the lock.
    void render_queue_health(std::string& out) const;

    mutable std::mutex mutex_;
    std::string instance_;
    double started_at_;
    instance_counters counters_;
    long long lock_timeouts_ = 0, connects_ = 0, errors_retryable_ = 0, errors_fatal_ = 0;
    long long sync_failures_ = 0, set_aside_ = 0, without_legacy_row_ = 0, first_renders_ = 0;
    bool connected_ = false;
    bool capture_ok_ = true;
    bool notifications_ok_ = true;
    long long backlog_depth_ = 0;
    double backlog_age_s_ = 0;
    long long queue_truncations_ = 0, queue_rotations_ = 0;
    schema::queue_health queue_health_;
    std::deque<double> lags_ms_;
    double lag_sum_ms_ = 0;
    long long lag_count_ = 0;
};

/// Value `q` (0..1) of `samples` by the nearest-rank method; nullopt when there are none.
std::optional<double> quantile(std::vector<double> samples, double q);

/// Escapes a Prometheus label value: backslash, double quote and newline.
std::string escape_label_value(const std::string& value);

}  // namespace chatledger::daemon
