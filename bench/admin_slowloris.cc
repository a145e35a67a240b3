// admin_slowloris: does an HTTP server keep answering probes and scrapes while slow and idle
// connections pile up? (issue 8: the admin server must not be taken down by them.)
//
//   admin_slowloris --target=127.0.0.1:9464 [--pid=PID] [options]
//
// What it does, in order:
//   1. opens --idle connections (default 500) that each send one complete
//      `GET /health/live` and then stay open and silent (idle keep-alive connections);
//   2. opens --slowloris connections (default 1000) that send a request line and then header
//      bytes, one byte per connection every --interval-ms (default 1000), never ending the
//      header block; a connection the server closes is opened again (--reconnect=0: not);
//   3. waits --warmup-s (default 5), then a normal client sends --requests (default 200) GETs to
//      each of --paths (default /health/live,/metrics), one after the other on one keep-alive
//      connection (reopened when the server closes it or a request fails; --fresh=1: a new
//      connection per request, as the kubelet's probes do), each with a --timeout-ms (default
//      2000) deadline; after --max-failures (default 10) failed requests
//      it gives up on that path;
//   4. reports per path: ok/failed, p50/p99/max latency (of successful requests; connect time
//      included when a connection had to be opened), and the server's RSS (VmRSS of --pid)
//      before the attack and during it, plus how many attack connections were open and how
//      many the server closed.
//
// Exit status: 0 when every request succeeded (and, with --max-p99-ms, each path's p99 was
// within it), 1 otherwise, 2 on bad arguments. Output: one "key=value ..." line per finding,
// easy to grep in a ctest log.
//
// Local only: the target must be a loopback address (127.0.0.0/8 or localhost). Raises
// RLIMIT_NOFILE to its hard limit. Bounded: warmup + requests * timeout per path at most.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

struct Options {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  int pid = 0;
  int slowloris = 1000;
  int idle = 500;
  int interval_ms = 1000;
  double warmup_s = 5;
  int requests = 200;
  std::vector<std::string> paths = {"/health/live", "/metrics"};
  int timeout_ms = 2000;
  int max_failures = 10;
  double max_p99_ms = 0;  // 0: no latency bound
  bool reconnect = true;
  bool fresh = false;  // a new connection per probe request (as the kubelet does)
};

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "admin_slowloris: " << why << "\n"
            << "usage: admin_slowloris --target=127.0.0.1:PORT [--pid=PID] [--slowloris=1000]\n"
               "         [--idle=500] [--interval-ms=1000] [--warmup-s=5] [--requests=200]\n"
               "         [--paths=/health/live,/metrics] [--timeout-ms=2000] [--max-failures=10]\n"
               "         [--max-p99-ms=0] [--reconnect=1] [--fresh=0]\n";
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const size_t eq = a.find('=');
    if (a.rfind("--", 0) != 0 || eq == std::string::npos) usage("bad argument " + a);
    const std::string key = a.substr(2, eq - 2);
    const std::string v = a.substr(eq + 1);
    try {
      if (key == "target") {
        const size_t colon = v.rfind(':');
        if (colon == std::string::npos) usage("--target needs host:port");
        o.host = v.substr(0, colon);
        if (o.host == "localhost") o.host = "127.0.0.1";
        o.port = static_cast<uint16_t>(std::stoi(v.substr(colon + 1)));
      } else if (key == "pid") {
        o.pid = std::stoi(v);
      } else if (key == "slowloris") {
        o.slowloris = std::stoi(v);
      } else if (key == "idle") {
        o.idle = std::stoi(v);
      } else if (key == "interval-ms") {
        o.interval_ms = std::max(1, std::stoi(v));
      } else if (key == "warmup-s") {
        o.warmup_s = std::stod(v);
      } else if (key == "requests") {
        o.requests = std::stoi(v);
      } else if (key == "paths") {
        o.paths.clear();
        std::stringstream ss(v);
        for (std::string p; std::getline(ss, p, ',');) {
          if (!p.empty()) o.paths.push_back(p);
        }
      } else if (key == "timeout-ms") {
        o.timeout_ms = std::stoi(v);
      } else if (key == "max-failures") {
        o.max_failures = std::stoi(v);
      } else if (key == "max-p99-ms") {
        o.max_p99_ms = std::stod(v);
      } else if (key == "reconnect") {
        o.reconnect = v != "0";
      } else if (key == "fresh") {
        o.fresh = v != "0";
      } else {
        usage("unknown option --" + key);
      }
    } catch (const std::exception&) {
      usage("bad value in " + a);
    }
  }
  if (o.port == 0) usage("--target=127.0.0.1:PORT is required");
  in_addr a{};
  if (inet_pton(AF_INET, o.host.c_str(), &a) != 1 || (ntohl(a.s_addr) >> 24) != 127) {
    usage("the target must be a loopback IPv4 address (127.0.0.0/8 or localhost)");
  }
  return o;
}

long rss_kib(int pid) {
  if (pid <= 0) return -1;
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return -1;
}

// ---------------------------------------------------------------------------------------------
// The attack: non-blocking sockets on one epoll thread.

class Attack {
 public:
  explicit Attack(const Options& o) : o_(o) {
    addr_.sin_family = AF_INET;
    addr_.sin_port = htons(o.port);
    inet_pton(AF_INET, o.host.c_str(), &addr_.sin_addr);
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    conns_.resize(static_cast<size_t>(o.idle + o.slowloris));
    for (size_t i = 0; i < conns_.size(); ++i) {
      conns_[i].slow = static_cast<int>(i) >= o.idle;
    }
    slow_bytes_ = "GET /health/live HTTP/1.1\r\nHost: " + o.host + "\r\n";
    slow_prefix_ = slow_bytes_.size();
    for (int i = 0; i < 400; ++i) slow_bytes_ += "X-Slow-" + std::to_string(i) + ": y\r\n";
  }
  ~Attack() {
    stop();
    for (auto& c : conns_) {
      if (c.fd >= 0) ::close(c.fd);
    }
    ::close(ep_);
  }

  void start() {
    thread_ = std::thread([this] { loop(); });
  }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

  // Snapshot, from any thread.
  int open_idle() const { return open_idle_.load(); }
  int open_slow() const { return open_slow_.load(); }
  long closed_by_server() const { return closed_.load(); }
  long connect_failures() const { return connect_failures_.load(); }
  long bytes_sent() const { return bytes_sent_.load(); }
  bool all_attempted() const { return all_attempted_.load(); }

 private:
  struct Conn {
    int fd = -1;
    bool slow = false;
    bool connected = false;
    size_t sent = 0;  // slow: bytes of slow_bytes_ sent so far
    Clock::time_point next;
  };

  void open(size_t i) {
    Conn& c = conns_[i];
    c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) {
      ++connect_failures_;
      return;
    }
    c.connected = false;
    c.sent = 0;
    const int r = ::connect(c.fd, reinterpret_cast<const sockaddr*>(&addr_), sizeof addr_);
    if (r != 0 && errno != EINPROGRESS) {
      ++connect_failures_;
      ::close(c.fd);
      c.fd = -1;
      return;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP;
    ev.data.u64 = i;
    epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev);
  }

  void lost(size_t i, bool by_server) {
    Conn& c = conns_[i];
    if (c.fd < 0) return;
    if (c.connected) (c.slow ? open_slow_ : open_idle_)--;
    if (by_server && c.connected) ++closed_;
    if (!c.connected) ++connect_failures_;
    epoll_ctl(ep_, EPOLL_CTL_DEL, c.fd, nullptr);
    ::close(c.fd);
    c.fd = -1;
    c.connected = false;
  }

  void connected(size_t i) {
    Conn& c = conns_[i];
    c.connected = true;
    (c.slow ? open_slow_ : open_idle_)++;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.u64 = i;
    epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
    if (!c.slow) {
      const std::string req = "GET /health/live HTTP/1.1\r\nHost: " + o_.host + "\r\n\r\n";
      if (::send(c.fd, req.data(), req.size(), MSG_NOSIGNAL) < 0) lost(i, true);
    } else {
      // Spread the byte schedule over the interval.
      c.next = Clock::now() + std::chrono::milliseconds(static_cast<long>(i) % o_.interval_ms);
    }
  }

  void loop() {
    // Open everything, at most 200 connects in flight so a full accept queue does not stall us.
    size_t next_open = 0;
    std::vector<epoll_event> events(512);
    char buf[16384];
    while (!stop_) {
      int in_flight = 0;
      for (const auto& c : conns_) in_flight += (c.fd >= 0 && !c.connected) ? 1 : 0;
      while (next_open < conns_.size() && in_flight < 200) {
        open(next_open++);
        ++in_flight;
      }
      if (next_open == conns_.size()) all_attempted_ = true;

      const int n = epoll_wait(ep_, events.data(), static_cast<int>(events.size()), 10);
      for (int k = 0; k < n; ++k) {
        const size_t i = events[static_cast<size_t>(k)].data.u64;
        const uint32_t e = events[static_cast<size_t>(k)].events;
        Conn& c = conns_[i];
        if (c.fd < 0) continue;
        if (!c.connected) {
          int err = 0;
          socklen_t len = sizeof err;
          getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
          if (err != 0 || (e & (EPOLLERR | EPOLLHUP)) != 0) {
            lost(i, false);
            continue;
          }
          if ((e & EPOLLOUT) != 0) connected(i);
          if (c.fd < 0) continue;
        }
        if ((e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) {
          bool closed = (e & (EPOLLHUP | EPOLLERR)) != 0;
          for (;;) {
            const ssize_t r = ::recv(c.fd, buf, sizeof buf, MSG_DONTWAIT);
            if (r > 0) continue;  // a response (idle connections): drain it
            if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) closed = true;
            break;
          }
          if (closed) lost(i, true);
        }
      }

      // Slow bytes that are due.
      const Clock::time_point now = Clock::now();
      for (size_t i = 0; i < conns_.size(); ++i) {
        Conn& c = conns_[i];
        if (c.fd < 0 || !c.connected || !c.slow || c.next > now) continue;
        // The request line and Host, then header lines forever (cycling), never "\r\n\r\n".
        const size_t k =
            c.sent < slow_bytes_.size()
                ? c.sent
                : slow_prefix_ + (c.sent - slow_prefix_) % (slow_bytes_.size() - slow_prefix_);
        const char byte = slow_bytes_[k];
        if (::send(c.fd, &byte, 1, MSG_NOSIGNAL | MSG_DONTWAIT) == 1) {
          ++c.sent;
          ++bytes_sent_;
        } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
          lost(i, true);
          continue;
        }
        c.next = now + std::chrono::milliseconds(o_.interval_ms);
      }

      if (o_.reconnect && all_attempted_) {
        int budget = 50;  // reopen a few per round
        for (size_t i = 0; i < conns_.size() && budget > 0; ++i) {
          if (conns_[i].fd < 0) {
            open(i);
            --budget;
          }
        }
      }
    }
  }

  const Options& o_;
  sockaddr_in addr_{};
  int ep_ = -1;
  std::vector<Conn> conns_;
  std::string slow_bytes_;
  size_t slow_prefix_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> all_attempted_{false};
  std::atomic<int> open_idle_{0};
  std::atomic<int> open_slow_{0};
  std::atomic<long> closed_{0};
  std::atomic<long> connect_failures_{0};
  std::atomic<long> bytes_sent_{0};
};

// ---------------------------------------------------------------------------------------------
// The normal client: Boost.Beast with a deadline on every operation.

class Prober {
 public:
  Prober(const Options& o) : o_(o), endpoint_(asio::ip::make_address_v4(o.host), o.port) {}

  // One GET; returns "" on success (and the latency), else what went wrong.
  std::string get(const std::string& target, double& latency_ms) {
    const Clock::time_point t0 = Clock::now();
    const auto timeout = std::chrono::milliseconds(o_.timeout_ms);
    boost::system::error_code ec;
    if (!connected_) {
      stream_ = std::make_unique<beast::tcp_stream>(ioc_);
      stream_->expires_after(timeout);
      stream_->async_connect(endpoint_, [&](boost::system::error_code e) { ec = e; });
      run();
      if (ec) return fail("connect: " + ec.message());
      stream_->socket().set_option(tcp::no_delay(true), ec);
      buffer_.clear();
      connected_ = true;
    }
    http::request<http::empty_body> req{http::verb::get, target, 11};
    req.set(http::field::host, o_.host + ":" + std::to_string(o_.port));
    req.keep_alive(true);
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    stream_->expires_at(t0 + timeout);
    http::async_write(*stream_, req, [&](boost::system::error_code e, size_t) {
      ec = e;
      if (e) return;
      http::async_read(*stream_, buffer_, parser,
                       [&](boost::system::error_code e2, size_t) { ec = e2; });
    });
    run();
    if (ec) return fail(ec == beast::error::timeout ? "timeout" : ec.message());
    latency_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    const auto& res = parser.get();
    if (!res.keep_alive() || o_.fresh) close();
    if (res.result_int() != 200) return "status " + std::to_string(res.result_int());
    return "";
  }

 private:
  void run() {
    ioc_.restart();
    ioc_.run();
  }
  std::string fail(std::string why) {
    close();
    return why;
  }
  void close() {
    if (stream_) {
      boost::system::error_code ec;
      stream_->socket().close(ec);
    }
    connected_ = false;
  }

  const Options& o_;
  asio::io_context ioc_;
  tcp::endpoint endpoint_;
  std::unique_ptr<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
  bool connected_ = false;
};

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t k = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
  return v[k];
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  const Options o = parse(argc, argv);
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
  }
  const auto needed = static_cast<rlim_t>(o.idle + o.slowloris + 64);
  if (rl.rlim_cur < needed) {
    std::cerr << "admin_slowloris: RLIMIT_NOFILE is " << rl.rlim_cur << ", need " << needed << "\n";
    return 2;
  }
  std::cout << "target=" << o.host << ":" << o.port << " idle=" << o.idle
            << " slowloris=" << o.slowloris << " interval_ms=" << o.interval_ms
            << " warmup_s=" << o.warmup_s << " requests=" << o.requests
            << " timeout_ms=" << o.timeout_ms << "\n";

  // Baseline: the server answers, and its RSS before the attack.
  {
    Prober p(o);
    double ms = 0;
    for (const auto& path : o.paths) {
      const std::string err = p.get(path, ms);
      if (!err.empty()) {
        std::cout << "baseline path=" << path << " error=\"" << err << "\"\n";
        return 1;
      }
      std::cout << "baseline path=" << path << " latency_ms=" << ms << "\n";
    }
  }
  const long rss_before = rss_kib(o.pid);

  Attack attack(o);
  attack.start();
  const Clock::time_point started = Clock::now();
  while (!attack.all_attempted() && Clock::now() - started < 60s) std::this_thread::sleep_for(50ms);
  std::this_thread::sleep_for(std::chrono::duration<double>(o.warmup_s));
  const long rss_during = rss_kib(o.pid);
  std::cout << "attack open_idle=" << attack.open_idle() << " open_slowloris=" << attack.open_slow()
            << " closed_by_server=" << attack.closed_by_server()
            << " connect_failures=" << attack.connect_failures()
            << " slow_bytes_sent=" << attack.bytes_sent() << " rss_before_kib=" << rss_before
            << " rss_during_kib=" << rss_during;
  if (rss_before > 0 && rss_during > 0 && o.idle + o.slowloris > 0) {
    std::cout << " rss_per_attack_conn_b="
              << (rss_during - rss_before) * 1024 / (attack.open_idle() + attack.open_slow() + 1);
  }
  std::cout << "\n";

  bool ok = true;
  for (const auto& path : o.paths) {
    Prober p(o);
    std::vector<double> lat;
    int failures = 0;
    std::string first_error;
    const Clock::time_point t0 = Clock::now();
    for (int i = 0; i < o.requests && failures < o.max_failures; ++i) {
      double ms = 0;
      const std::string err = p.get(path, ms);
      if (err.empty()) {
        lat.push_back(ms);
      } else {
        ++failures;
        if (first_error.empty()) first_error = err;
      }
    }
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    const double p99 = percentile(lat, 0.99);
    std::cout << "probe path=" << path << " ok=" << lat.size() << " failed=" << failures
              << " p50_ms=" << percentile(lat, 0.5) << " p99_ms=" << p99
              << " max_ms=" << (lat.empty() ? 0 : *std::max_element(lat.begin(), lat.end()))
              << " seconds=" << secs;
    if (!first_error.empty()) std::cout << " first_error=\"" << first_error << "\"";
    if (failures >= o.max_failures) std::cout << " gave_up=1";
    std::cout << "\n";
    if (failures > 0 || static_cast<int>(lat.size()) < o.requests) ok = false;
    if (o.max_p99_ms > 0 && p99 > o.max_p99_ms) ok = false;
  }
  const long rss_after = rss_kib(o.pid);
  std::cout << "end open_idle=" << attack.open_idle() << " open_slowloris=" << attack.open_slow()
            << " closed_by_server=" << attack.closed_by_server() << " rss_kib=" << rss_after
            << " result=" << (ok ? "pass" : "fail") << "\n";
  attack.stop();
  return ok ? 0 : 1;
}
