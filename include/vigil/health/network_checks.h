// vigil/health/network_checks.h: built-in checks that a dependency answers on the network.
//
//   monitor.add_readiness_check("postgres", vigil::health::tcp_check("db.internal", 5432),
//                               {.component_type = "datastore", .measurement = "connect"});
//   monitor.add_readiness_check("llm_api", vigil::health::http_check("http://llm:8080/healthz"),
//                               {.timeout = std::chrono::seconds(3), .failure_threshold = 2});
//
// tcp_check connects with a plain socket; http_check sends a GET with libcurl (a private
// dependency of vigil::health; in a build with VIGIL_HEALTH_HTTP_CHECK=OFF, without libcurl,
// http_check throws vigil::Error). Both report the time taken as the observed value in ms, and a
// failure with the reason: "connect to db.internal:5432 (10.0.0.5) failed: Connection refused",
// "GET http://llm:8080/healthz: HTTP 503 (expected 2xx or 3xx) in 4.1 ms".
//
// Cost per run: a name lookup (getaddrinfo; it cannot be interrupted, which is one reason the
// monitor bounds concurrent runs per check), a connection and for HTTP a request (~100 us on
// loopback). Thread-safe; the factories throw vigil::Error for a bad host, port or URL.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <stop_token>
#include <string>
#include <utility>
#include <vector>

#include "vigil/health/result.h"

namespace vigil::health {

struct TcpCheckOptions {
  // Give up connecting after this long (per run, over every address of the host). > 0.
  std::chrono::milliseconds connect_timeout{2000};
};
// Passes when a TCP connection to host:port opens: "connected to db:5432 (10.0.0.5) in 0.4 ms".
// `host` is a name or an IPv4/IPv6 address (not empty); `port` 1..65535.
std::function<CheckResult(std::stop_token)> tcp_check(std::string host, int port,
                                                      TcpCheckOptions options = {});

struct HttpCheckOptions {
  // Whole request (connect, send, receive). > 0.
  std::chrono::milliseconds timeout{3000};
  // Extra request headers, e.g. {"Authorization", "Bearer ..."}.
  std::vector<std::pair<std::string, std::string>> headers;
  // Verify the server's TLS certificate and host name (https URLs).
  bool verify_tls = true;
};
// GET `url` (http:// or https://): 2xx and 3xx pass (redirects are not followed), anything else
// and transport errors fail. The response body is read and discarded (at most 1 MiB).
std::function<CheckResult(std::stop_token)> http_check(std::string url,
                                                       HttpCheckOptions options = {});

}  // namespace vigil::health
