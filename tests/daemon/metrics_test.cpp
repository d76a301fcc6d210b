// Unit tests of the daemon's metrics: counting, quantiles, the Prometheus text format and the
// HTTP endpoint answering real requests on the loopback interface. No database.
#include "daemon/metrics.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "config/error.hpp"
#include "daemon/metrics_server.hpp"
#include "tests/support/http_client.hpp"

namespace chatledger::daemon {
namespace {

/// Parses an exposition into sample name{labels} -> value, checking every line's form and
/// that each sample belongs to a family announced by # HELP and # TYPE before it.
std::map<std::string, double> parse_exposition(const std::string& text) {
    static const std::regex sample_line(
        R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*")*\})? (\S+))");
    std::map<std::string, double> out;
    std::set<std::string> helped, typed;
    std::istringstream in(text);
    std::string line;
    EXPECT_EQ(text.back(), '\n');
    while (std::getline(in, line)) {
        std::smatch m;
        if (line.rfind("# HELP ", 0) == 0) {
            helped.insert(line.substr(7, line.find(' ', 7) - 7));
        } else if (line.rfind("# TYPE ", 0) == 0) {
            std::string rest = line.substr(7);
            auto sp = rest.find(' ');
            std::string type = rest.substr(sp + 1);
            EXPECT_TRUE(type == "counter" || type == "gauge" || type == "summary") << line;
            typed.insert(rest.substr(0, sp));
        } else if (std::regex_match(line, m, sample_line)) {
            std::string family = m[1];
            for (const char* suffix : {"_sum", "_count"})
                if (!typed.count(family) && family.size() > std::strlen(suffix) &&
                    family.compare(family.size() - std::strlen(suffix), std::string::npos,
                                   suffix) == 0)
                    family.resize(family.size() - std::strlen(suffix));
            EXPECT_TRUE(helped.count(family) && typed.count(family)) << "no HELP/TYPE: " << line;
            const std::string v = m[3];
            out[std::string(m[1]) + std::string(m[2])] = v == "NaN" ? std::nan("") : std::stod(v);
        } else {
            ADD_FAILURE() << "not a valid exposition line: \"" << line << "\"";
        }
    }
    return out;
}

TEST(quantile, nearest_rank) {
    EXPECT_FALSE(quantile({}, 0.5));
    EXPECT_EQ(*quantile({7}, 0.99), 7);
    EXPECT_EQ(*quantile({5, 1, 4, 2, 3}, 0.5), 3);
    std::vector<double> hundred;
    for (int i = 100; i >= 1; --i) hundred.push_back(i);
    EXPECT_EQ(*quantile(hundred, 0.99), 99);
    EXPECT_EQ(*quantile(hundred, 0.5), 50);
    EXPECT_EQ(*quantile(hundred, 1.0), 100);
}

TEST(metrics, records_outcomes_and_keeps_a_bounded_lag_window) {
    metrics m("host:1", 1700000000.5);
    sync_outcome o;
    o.rewritten = true;
    o.drift = true;
    o.captured = 3;
    o.lags_ms = {10, 20, 30};
    m.record(o);
    m.record(sync_outcome{});
    auto c = m.counters();
    EXPECT_EQ(c.conversations, 2);
    EXPECT_EQ(c.rewrites, 1);
    EXPECT_EQ(c.drifts_healed, 1);
    EXPECT_EQ(c.messages_captured, 3);
    EXPECT_EQ(*c.lag_p50_ms, 20);
    EXPECT_EQ(*c.lag_p99_ms, 30);
    // Old samples leave the window, so the quantiles follow the present.
    sync_outcome slow;
    slow.lags_ms.assign(metrics::lag_window, 5000);
    m.record(slow);
    EXPECT_EQ(*m.counters().lag_p50_ms, 5000);
    EXPECT_EQ(m.started_at_iso(), "2023-11-14T22:13:20Z");
}

TEST(metrics, renders_valid_prometheus_text_with_every_counter) {
    metrics m("db\"host\\1\n:42", 1700000000);
    EXPECT_TRUE(std::isnan(parse_exposition(
        m.render_prometheus())["chatledger_syncd_sync_lag_seconds{quantile=\"0.5\"}"]));
    sync_outcome o;
    o.rewritten = true;
    o.captured = 2;
    o.lags_ms = {1500, 2500};
    m.record(o);
    m.record_lock_timeout();
    m.record_connected();
    m.record_disconnected(true);
    m.record_connected();
    m.set_backlog(17, 3.25);
    const std::string text = m.render_prometheus();
    auto v = parse_exposition(text);
    EXPECT_EQ(v["chatledger_syncd_conversations_synced_total"], 1) << text;
    EXPECT_EQ(v["chatledger_syncd_rewrites_total"], 1);
    EXPECT_EQ(v["chatledger_syncd_drifts_healed_total"], 0);
    EXPECT_EQ(v["chatledger_syncd_messages_captured_total"], 2);
    EXPECT_EQ(v["chatledger_syncd_lock_timeouts_total"], 1);
    EXPECT_EQ(v["chatledger_syncd_connects_total"], 2);
    EXPECT_EQ(v["chatledger_syncd_connection_errors_total{retryable=\"true\"}"], 1);
    EXPECT_EQ(v["chatledger_syncd_connection_errors_total{retryable=\"false\"}"], 0);
    EXPECT_EQ(v["chatledger_syncd_database_connected"], 1);
    EXPECT_EQ(v["chatledger_syncd_capture_trigger_ok"], 1);
    m.set_capture_ok(false);
    EXPECT_EQ(parse_exposition(m.render_prometheus())["chatledger_syncd_capture_trigger_ok"], 0);
    EXPECT_EQ(v["chatledger_syncd_queue_events"], 17);
    EXPECT_EQ(v["chatledger_syncd_queue_oldest_event_age_seconds"], 3.25);
    EXPECT_EQ(v["chatledger_syncd_sync_lag_seconds{quantile=\"0.5\"}"], 1.5);
    EXPECT_EQ(v["chatledger_syncd_sync_lag_seconds{quantile=\"0.99\"}"], 2.5);
    EXPECT_EQ(v["chatledger_syncd_sync_lag_seconds_sum"], 4);
    EXPECT_EQ(v["chatledger_syncd_sync_lag_seconds_count"], 2);
    EXPECT_EQ(v["chatledger_syncd_start_time_seconds"], 1700000000);
    // Whole numbers print as integers, fractions in their shortest exact form.
    for (int i = 0; i < 19; ++i) m.record(sync_outcome{});
    const std::string more = m.render_prometheus();
    EXPECT_NE(more.find("\nchatledger_syncd_conversations_synced_total 20\n"), std::string::npos)
        << more;
    EXPECT_NE(more.find("\nchatledger_syncd_queue_oldest_event_age_seconds 3.25\n"),
              std::string::npos);
    EXPECT_NE(more.find("\nchatledger_syncd_start_time_seconds 1700000000\n"), std::string::npos);
    // The instance label survives quotes, backslashes and newlines.
    EXPECT_NE(text.find("instance=\"db\\\"host\\\\1\\n:42\"} 1\n"), std::string::npos) << text;
}

const auto render_fixed = [] { return std::string("x_total 1\n"); };

TEST(metrics, renders_the_queue_health_and_who_holds_the_horizon) {
    metrics m("host:1", 1700000000);
    auto v = parse_exposition(m.render_prometheus());
    EXPECT_EQ(v["chatledger_syncd_oldest_transaction_age_seconds"], 0);
    EXPECT_EQ(v.count("chatledger_syncd_oldest_transaction_info"), 0u);
    schema::queue_health h;
    h.bytes = 8192;
    h.dead_rows = 297812;
    h.oldest = schema::open_transaction{4242, "psql \"night\"", "idle in transaction", 3600.5, 17};
    m.record_queue_maintenance(1, true, h);
    m.record_queue_maintenance(2, false, h);
    const std::string text = m.render_prometheus();
    v = parse_exposition(text);
    EXPECT_EQ(v["chatledger_syncd_queue_bytes"], 8192) << text;
    EXPECT_EQ(v["chatledger_syncd_queue_dead_rows"], 297812);
    EXPECT_EQ(v["chatledger_syncd_queue_truncations_total"], 3);
    EXPECT_EQ(v["chatledger_syncd_queue_rotations_total"], 1);
    EXPECT_EQ(v["chatledger_syncd_oldest_transaction_age_seconds"], 3600.5);
    EXPECT_EQ(v["chatledger_syncd_oldest_transaction_xid_age"], 17);
    EXPECT_EQ(v["chatledger_syncd_oldest_transaction_info{pid=\"4242\",application_name=\"psql "
                "\\\"night\\\"\",state=\"idle in transaction\"}"],
              1)
        << text;
    // Seen only in part (no pg_read_all_stats): the age is unknown, not zero.
    h.oldest->age_s.reset();
    m.record_queue_maintenance(0, false, h);
    EXPECT_TRUE(std::isnan(parse_exposition(
        m.render_prometheus())["chatledger_syncd_oldest_transaction_age_seconds"]));
}

TEST(http_response, answers_get_and_head_of_metrics_only) {
    auto r = http_response("GET /metrics HTTP/1.1\r\nHost: h\r\n\r\n", render_fixed);
    EXPECT_EQ(r.rfind("HTTP/1.0 200 OK\r\n", 0), 0u) << r;
    EXPECT_NE(r.find("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"),
              std::string::npos);
    EXPECT_NE(r.find("Content-Length: 10\r\n"), std::string::npos);
    EXPECT_EQ(r.substr(r.size() - 10), "x_total 1\n");
    EXPECT_NE(
        http_response("GET /metrics?name[]=x HTTP/1.0\r\n\r\n", render_fixed).find("x_total 1\n"),
        std::string::npos);
    r = http_response("HEAD /metrics HTTP/1.1\r\n\r\n", render_fixed);
    EXPECT_NE(r.find("Content-Length: 10\r\n"), std::string::npos);
    EXPECT_EQ(r.find("x_total"), std::string::npos) << r;
    EXPECT_EQ(http_response("GET /other HTTP/1.1\r\n\r\n", render_fixed).rfind("HTTP/1.0 404", 0),
              0u);
    r = http_response("POST /metrics HTTP/1.1\r\n\r\n", render_fixed);
    EXPECT_EQ(r.rfind("HTTP/1.0 405", 0), 0u);
    EXPECT_NE(r.find("Allow: GET, HEAD\r\n"), std::string::npos);
    EXPECT_EQ(http_response("garbage\r\n\r\n", render_fixed).rfind("HTTP/1.0 400", 0), 0u);
    EXPECT_EQ(http_response("GET /metrics\r\n\r\n", render_fixed).rfind("HTTP/1.0 400", 0), 0u);
}

TEST(metrics_server, serves_real_http_requests_on_loopback) {
    std::atomic<int> renders{0};
    const int port = testing::free_port();
    metrics_server server({"127.0.0.1", port}, [&] {
        ++renders;
        return std::string("chatledger_syncd_rewrites_total 7\n");
    });
    EXPECT_EQ(server.name(), "127.0.0.1:" + std::to_string(port));
    auto r = testing::http_get(port, "/metrics");
    EXPECT_EQ(r.rfind("HTTP/1.0 200 OK\r\n", 0), 0u) << r;
    EXPECT_NE(r.find("\r\n\r\nchatledger_syncd_rewrites_total 7\n"), std::string::npos) << r;
    EXPECT_EQ(testing::http_get(port, "/nope").rfind("HTTP/1.0 404", 0), 0u);
    // A client that connects and hangs up without a word does not stop the server.
    EXPECT_EQ(testing::http_exchange(port, ""), "");
    EXPECT_EQ(testing::http_get(port, "/metrics").rfind("HTTP/1.0 200", 0), 0u);
    EXPECT_EQ(renders.load(), 2);
}

TEST(metrics_server, a_silent_client_is_dropped_and_the_next_one_served) {
    const int port = testing::free_port();
    metrics_server server({"127.0.0.1", port}, render_fixed);
    // Connects and says nothing, holding the connection open.
    const int silent = testing::connect_silently(port);
    ASSERT_GE(silent, 0);
    const auto start = std::chrono::steady_clock::now();
    EXPECT_NE(testing::http_get(port, "/metrics").find("x_total 1"), std::string::npos);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4));
    ::close(silent);
}

TEST(metrics_server, a_port_in_use_is_a_config_error_with_a_hint) {
    const int port = testing::free_port();
    metrics_server first({"localhost", port}, render_fixed);
    try {
        metrics_server second({"127.0.0.1", port}, render_fixed);
        FAIL() << "bound a port already in use";
    } catch (const config_error& e) {
        const std::string line = e.line();
        EXPECT_NE(line.find("cannot listen on daemon.metrics_listen 127.0.0.1:" +
                            std::to_string(port) + ": Address already in use"),
                  std::string::npos)
            << line;
        EXPECT_NE(line.find("HINT: choose a free port"), std::string::npos) << line;
        EXPECT_EQ(e.status(), exit_status::usage);
    }
}

TEST(metrics_server, stops_promptly_and_frees_its_port) {
    const int port = testing::free_port();
    auto server = std::make_unique<metrics_server>(listen_address{"127.0.0.1", port}, render_fixed);
    // A stalled scraper, accepted and waiting out its 2 s request deadline when the stop comes.
    const int silent = testing::connect_silently(port);
    ASSERT_GE(silent, 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const auto start = std::chrono::steady_clock::now();
    server.reset();
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_LT(took, std::chrono::milliseconds(500))
        << "stopping took " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
        << " ms";
    EXPECT_EQ(testing::http_get(port, "/metrics"), "");
    metrics_server again({"127.0.0.1", port}, render_fixed);
    EXPECT_NE(testing::http_get(port, "/metrics").find("x_total 1"), std::string::npos);
    ::close(silent);
}

}  // namespace
}  // namespace chatledger::daemon
