// slow_clients_check: the admin server under 1,000 slowloris connections and 500 idle keep-alive
// connections keeps answering a normal client.
//
//   slow_clients_check [--slowloris N] [--idle N] [--seconds S] [--p99-ms MS] [--one-source 1]
//
// Starts an admin server in this process with the default options, /metrics over a registry of
// about 1,000 series and the health probes, on 127.0.0.1. Then:
//   * N slowloris connections (from 127.0.0.2..127.0.0.11, so that no per-client limit sheds
//     them) send a request header one byte every second; when the server closes one (408 after
//     header_timeout) it reconnects at once;
//   * N idle connections (from 127.0.0.12..) make one request each and then keep the
//     connection open without a word;
//   * a normal client (127.0.0.1) sends GET /health/live and GET /metrics over a keep-alive
//     connection, 200 requests each, spread over the run, and records each latency.
// With --one-source 1 every attacker connects from 127.0.0.1, like the normal client.
// Passes (exit 0) when every normal request got 200, the p99 latency of each endpoint is below
// --p99-ms (50), the attackers' connections were really open (the server saw them), and the
// process's resident memory grew by less than 64 MiB. Prints the figures either way. Local only.
#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "vigil/admin/health_endpoints.h"
#include "vigil/admin/metrics_endpoint.h"
#include "vigil/admin/server.h"
#include "vigil/health/monitor.h"
#include "vigil/metrics/registry.h"

namespace {

using Clock = std::chrono::steady_clock;

long rss_kib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return 0;
}

// A non-blocking TCP connection from `source` (a 127.0.0.x address) to 127.0.0.1:port; -1 on
// failure.
int connect_from(const char* source, uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  sockaddr_in src{};
  src.sin_family = AF_INET;
  inet_pton(AF_INET, source, &src.sin_addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) {
    ::close(fd);
    return -1;
  }
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(port);
  dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0 && errno != EINPROGRESS) {
    ::close(fd);
    return -1;
  }
  return fd;
}

struct Attacker {
  int fd = -1;
  std::size_t sent = 0;  // bytes of the slow request sent so far
  bool idle = false;     // an idle keep-alive client (else slowloris)
  std::string source;
};

constexpr std::string_view kSlowRequest =
    "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slowloris\r\nX-Padding: "
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
constexpr std::string_view kIdleRequest = "GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

size_t discard(char*, size_t size, size_t n, void*) { return size * n; }

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t i =
      std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())));
  return v[i];
}

}  // namespace

int main(int argc, char** argv) {
  int slowloris = 1000;
  int idle = 500;
  int seconds = 12;
  double p99_limit_ms = 50;
  bool one_source = false;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--slowloris") slowloris = std::atoi(argv[i + 1]);
    if (a == "--idle") idle = std::atoi(argv[i + 1]);
    if (a == "--seconds") seconds = std::atoi(argv[i + 1]);
    if (a == "--p99-ms") p99_limit_ms = std::atof(argv[i + 1]);
    if (a == "--one-source") one_source = std::atoi(argv[i + 1]) != 0;
  }
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);

  vigil::metrics::Registry registry;
  auto& requests = registry.counter("demo_requests", "Requests", {"route", "code"});
  auto& latency = registry.histogram("demo_latency_seconds", "Latency", {"route"});
  for (int r = 0; r < 40; ++r) {
    for (int c : {200, 404, 500}) {
      requests.labels("/route/" + std::to_string(r), std::to_string(c)).inc(r * c);
    }
    latency.labels("/route/" + std::to_string(r)).observe(0.01 * r);
  }
  vigil::health::HealthMonitor monitor;
  vigil::admin::Server server(vigil::admin::ServerOptions{.listen = "127.0.0.1:0"});
  vigil::admin::add_metrics_endpoint(server, registry);
  vigil::admin::add_health_endpoints(server, monitor);
  server.start();
  const uint16_t port = server.port();
  const long rss_before = rss_kib();

  // The attackers, driven by one thread with poll().
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> reconnects{0};
  std::thread attack([&] {
    std::vector<Attacker> conns(static_cast<std::size_t>(slowloris + idle));
    for (std::size_t i = 0; i < conns.size(); ++i) {
      const bool is_idle = i >= static_cast<std::size_t>(slowloris);
      conns[i].idle = is_idle;
      // 10 source addresses for each kind, at most ~100 connections per address.
      conns[i].source =
          one_source ? "127.0.0.1" : "127.0.0." + std::to_string((is_idle ? 12 : 2) + i % 10);
      conns[i].fd = connect_from(conns[i].source.c_str(), port);
    }
    auto last_drip = Clock::now();
    std::vector<pollfd> fds;
    while (!stop.load()) {
      fds.clear();
      for (const Attacker& c : conns) fds.push_back({c.fd, POLLIN, 0});
      ::poll(fds.data(), fds.size(), 100);
      for (std::size_t i = 0; i < conns.size(); ++i) {
        Attacker& c = conns[i];
        if (c.fd < 0 || (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
          // Read what the server says; on close, reconnect (a real attacker would).
          char buf[4096];
          const ssize_t n = c.fd < 0 ? 0 : ::recv(c.fd, buf, sizeof buf, 0);
          if (n <= 0 && (c.fd < 0 || errno != EAGAIN)) {
            if (c.fd >= 0) ::close(c.fd);
            c.fd = connect_from(c.source.c_str(), port);
            c.sent = 0;
            reconnects.fetch_add(1);
          }
        }
        if (c.idle && c.fd >= 0 && c.sent == 0) {
          if (::send(c.fd, kIdleRequest.data(), kIdleRequest.size(), MSG_NOSIGNAL) > 0) {
            c.sent = kIdleRequest.size();
          }
        }
      }
      if (Clock::now() - last_drip >= std::chrono::seconds(1)) {
        last_drip = Clock::now();
        for (Attacker& c : conns) {
          if (c.idle || c.fd < 0 || c.sent >= kSlowRequest.size()) continue;
          if (::send(c.fd, kSlowRequest.data() + c.sent, 1, MSG_NOSIGNAL) == 1) ++c.sent;
        }
      }
    }
    for (Attacker& c : conns) {
      if (c.fd >= 0) ::close(c.fd);
    }
  });

  // Let the attack build up before measuring.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const uint64_t open_under_attack = server.stats().connections_open;

  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &discard);
  std::vector<double> live_ms;
  std::vector<double> metrics_ms;
  int failures = 0;
  constexpr int kRequests = 200;
  const auto pace = std::chrono::milliseconds((seconds - 3) * 1000 / kRequests);
  for (int i = 0; i < kRequests; ++i) {
    for (const char* path : {"/health/live", "/metrics"}) {
      const std::string url = server.url() + path;
      curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
      const auto t0 = Clock::now();
      const CURLcode rc = curl_easy_perform(curl);
      const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
      long status = 0;
      curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
      if (rc != CURLE_OK || status != 200) {
        ++failures;
        std::printf("  request %d %s failed: %s, status %ld, after %.1f ms\n", i, path,
                    curl_easy_strerror(rc), status,
                    std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      }
      (path[1] == 'h' ? live_ms : metrics_ms).push_back(ms);
    }
    std::this_thread::sleep_for(pace);
  }
  const long rss_after = rss_kib();
  const vigil::admin::ServerStats st = server.stats();
  stop = true;
  attack.join();
  curl_easy_cleanup(curl);
  server.stop();

  const double live_p50 = percentile(live_ms, 0.5);
  const double live_p99 = percentile(live_ms, 0.99);
  const double metrics_p50 = percentile(metrics_ms, 0.5);
  const double metrics_p99 = percentile(metrics_ms, 0.99);
  const long rss_growth = rss_after - rss_before;
  std::printf(
      "slow_clients_check: %d slowloris + %d idle connections; server saw %llu open after 2 s "
      "(accepted %llu, header timeouts %llu, evicted %llu, refused %llu); attacker reconnects "
      "%llu\n"
      "  GET /health/live: p50 %.2f ms, p99 %.2f ms; GET /metrics: p50 %.2f ms, p99 %.2f ms; "
      "failures %d of %d\n"
      "  resident memory grew by %ld KiB (%.0f bytes per attacker connection, both ends)\n",
      slowloris, idle, static_cast<unsigned long long>(open_under_attack),
      static_cast<unsigned long long>(st.connections_accepted),
      static_cast<unsigned long long>(st.header_timeouts),
      static_cast<unsigned long long>(st.evicted),
      static_cast<unsigned long long>(st.refused_connections),
      static_cast<unsigned long long>(reconnects.load()), live_p50, live_p99, metrics_p50,
      metrics_p99, failures, 2 * kRequests, rss_growth,
      1024.0 * static_cast<double>(rss_growth) / std::max(1, slowloris + idle));
  bool ok = true;
  auto check = [&](bool cond, const char* what) {
    if (!cond) {
      std::printf("FAIL: %s\n", what);
      ok = false;
    }
  };
  check(failures == 0, "every normal request gets 200");
  check(live_p99 < p99_limit_ms, "GET /health/live p99 under the limit");
  check(metrics_p99 < p99_limit_ms, "GET /metrics p99 under the limit");
  check(open_under_attack + 50 >= static_cast<uint64_t>(slowloris + idle),
        "the attackers' connections are open on the server");
  check(rss_growth < 64 * 1024, "resident memory grows by less than 64 MiB");
  return ok ? 0 : 1;
}
