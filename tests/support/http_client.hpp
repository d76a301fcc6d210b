// A blocking HTTP client for tests of the metrics endpoint: one request over a real TCP
// connection to the loopback interface, the whole response returned as text.
#pragma once

#include <string>

namespace chatledger::testing {

/// A TCP port on 127.0.0.1 that was free a moment ago.
int free_port();

/// Sends `request` (a whole request head) to 127.0.0.1:`port` and returns everything the
/// server sent until it closed; "" when the connection was refused.
std::string http_exchange(int port, const std::string& request);

/// A connection to 127.0.0.1:`port` that sends nothing (a stalled scraper); the caller
/// closes the returned descriptor; -1 when refused.
int connect_silently(int port);

/// GET `path` over HTTP/1.1 with Connection: close.
std::string http_get(int port, const std::string& path);

}  // namespace chatledger::testing
