#include "vigil/health/network_checks.h"

// http_check uses vigil's HTTP client (core/detail/http_sender.h, libcurl) unless the build turned
// it off (CMake option VIGIL_HEALTH_HTTP_CHECK).
#ifndef VIGIL_HEALTH_HTTP_CHECK
#define VIGIL_HEALTH_HTTP_CHECK 1
#endif

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#if VIGIL_HEALTH_HTTP_CHECK
#include "core/detail/http_sender.h"
#endif
#include "core/detail/text.h"
#include "format.h"
#include "vigil/core/error.h"

namespace vigil::health {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

std::string ms_text(double ms) { return detail::format_number(ms, ms < 10 ? 1 : 0) + " ms"; }

std::string errno_text(int err) { return std::strerror(err); }

// The numeric address of a socket address, e.g. "10.0.0.5" or "::1".
std::string numeric_host(const sockaddr* sa, socklen_t len) {
  char host[NI_MAXHOST];
  if (getnameinfo(sa, len, host, sizeof host, nullptr, 0, NI_NUMERICHOST) != 0) return "?";
  return host;
}

struct AddrInfoFree {
  void operator()(addrinfo* p) const noexcept { freeaddrinfo(p); }
};

class Fd {
 public:
  explicit Fd(int fd) noexcept : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const noexcept { return fd_; }

 private:
  int fd_;
};

// Connects to one address before `deadline`; "" on success, else the reason.
std::string connect_one(const addrinfo& ai, Clock::time_point deadline, const std::stop_token& st) {
  Fd fd(::socket(ai.ai_family, ai.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai.ai_protocol));
  if (fd.get() < 0) return errno_text(errno);
  if (::connect(fd.get(), ai.ai_addr, ai.ai_addrlen) == 0) return {};
  if (errno != EINPROGRESS) return errno_text(errno);
  while (true) {
    const auto remaining =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (remaining.count() <= 0) return "timed out";
    if (st.stop_requested()) return "abandoned (the check timed out)";
    pollfd p{fd.get(), POLLOUT, 0};
    const int n = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(remaining.count(), 50)));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_text(errno);
    }
    if (n == 0) continue;
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno_text(errno);
    return err == 0 ? std::string() : errno_text(err);
  }
}

// The URL with any user:password@ replaced by "***@", for outputs.
std::string redact_url(const std::string& url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  const size_t start = scheme + 3;
  const size_t end = url.find_first_of("/?#", start);
  const size_t at = url.rfind('@', end == std::string::npos ? url.size() : end);
  if (at == std::string::npos || at < start) return url;
  return url.substr(0, start) + "***" + url.substr(at);
}

bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

#if VIGIL_HEALTH_HTTP_CHECK
// The check reads at most this much of a response body (and keeps none of it): past it, the
// transfer stops and the status decides.
constexpr size_t kMaxBodyBytes = size_t{1} << 20;
#endif

}  // namespace

std::function<CheckResult(std::stop_token)> tcp_check(std::string host, int port,
                                                      TcpCheckOptions options) {
  if (host.empty()) throw Error("tcp_check: the host must not be empty");
  if (has_control(host) || host.find(' ') != std::string::npos) {
    throw Error("tcp_check: invalid host \"" + host + "\"");
  }
  if (port < 1 || port > 65535) {
    throw Error("tcp_check " + host + ": the port must be from 1 to 65535 (got " +
                std::to_string(port) + ")");
  }
  if (options.connect_timeout.count() <= 0) {
    throw Error("tcp_check " + host + ": connect_timeout must be greater than 0");
  }
  // "[::1]:5432" for IPv6 literals, "db:5432" otherwise.
  const std::string target =
      (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
  return [host = std::move(host), port, options, target](std::stop_token st) -> CheckResult {
    const Clock::time_point t0 = Clock::now();
    const Clock::time_point deadline = t0 + options.connect_timeout;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* raw = nullptr;
    const std::string service = std::to_string(port);
    const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &raw);
    if (rc != 0) {
      const std::string why = rc == EAI_SYSTEM ? errno_text(errno) : gai_strerror(rc);
      return CheckResult::fail("cannot resolve " + host + ": " + why).observe(ms_since(t0), "ms");
    }
    std::unique_ptr<addrinfo, AddrInfoFree> list(raw);
    std::string errors;
    for (const addrinfo* ai = list.get(); ai != nullptr; ai = ai->ai_next) {
      const std::string addr = numeric_host(ai->ai_addr, ai->ai_addrlen);
      const std::string why = connect_one(*ai, deadline, st);
      if (why.empty()) {
        const double ms = ms_since(t0);
        return CheckResult::pass("connected to " + target + " (" + addr + ") in " + ms_text(ms))
            .observe(ms, "ms");
      }
      if (!errors.empty()) errors += "; ";
      errors += addr + ": " + why;
      if (Clock::now() >= deadline || st.stop_requested()) break;
    }
    const double ms = ms_since(t0);
    return CheckResult::fail("connect to " + target + " failed after " + ms_text(ms) + " (" +
                             errors + ")")
        .observe(ms, "ms");
  };
}

std::function<CheckResult(std::stop_token)> http_check(std::string url, HttpCheckOptions options) {
  if (!vigil::detail::starts_with_icase(url, "http://") &&
      !vigil::detail::starts_with_icase(url, "https://")) {
    throw Error("http_check: the URL must start with http:// or https:// (got \"" +
                redact_url(url) + "\")");
  }
  const size_t scheme_end = url.find("://") + 3;
  if (url.size() <= scheme_end || url[scheme_end] == '/' || has_control(url) ||
      url.find(' ') != std::string::npos) {
    throw Error("http_check: invalid URL \"" + redact_url(url) + "\"");
  }
  if (options.timeout.count() <= 0) {
    throw Error("http_check " + redact_url(url) + ": the timeout must be greater than 0");
  }
  for (const auto& [name, value] : options.headers) {
    if (name.empty() || has_control(name) || has_control(value) ||
        name.find(':') != std::string::npos) {
      throw Error("http_check " + redact_url(url) + ": invalid request header \"" + name + "\"");
    }
  }
#if !VIGIL_HEALTH_HTTP_CHECK
  throw Error("http_check " + redact_url(url) +
              ": vigil::health was built without libcurl (VIGIL_HEALTH_HTTP_CHECK=OFF)");
#else
  vigil::detail::HttpConfig config;
  config.url = std::move(url);
  config.headers.assign(options.headers.begin(), options.headers.end());
  config.verify_tls = options.verify_tls;
  config.max_response_bytes = 0;  // only the status matters
  config.stop_after_response_bytes = kMaxBodyBytes;
  config.user_agent = "vigil-health-check/1";
  const std::string shown = redact_url(config.url);
  return [config = std::move(config), shown, options](std::stop_token st) -> CheckResult {
    const Clock::time_point t0 = Clock::now();
    // A sender (and so a connection) per run, as a probe should: nothing is reused.
    std::optional<vigil::detail::HttpSender> sender;
    try {
      sender.emplace(config);
    } catch (const Error& e) {
      return CheckResult::fail("GET " + shown + ": " + e.what());
    }
    // The monitor's stop token (the check timed out, shutdown) aborts the request at once.
    const std::stop_callback abort_on_stop(st, [&sender]() noexcept { sender->abort(); });
    const vigil::detail::HttpResult r = sender->get(t0 + options.timeout);
    const double ms = ms_since(t0);
    if (r.status == 0) {
      const std::string why = r.aborted ? "abandoned (the check timed out)" : r.error;
      return CheckResult::fail("GET " + shown + ": " + why + " after " + ms_text(ms))
          .observe(ms, "ms");
    }
    const std::string status = "HTTP " + std::to_string(r.status);
    if (r.status >= 200 && r.status < 400) {
      return CheckResult::pass("GET " + shown + ": " + status + " in " + ms_text(ms))
          .observe(ms, "ms");
    }
    return CheckResult::fail("GET " + shown + ": " + status + " (expected 2xx or 3xx) in " +
                             ms_text(ms))
        .observe(ms, "ms");
  };
#endif  // VIGIL_HEALTH_HTTP_CHECK
}

}  // namespace vigil::health
