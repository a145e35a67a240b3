#include "vigil/health/network_checks.h"

// http_check uses libcurl unless the build turned it off (CMake option VIGIL_HEALTH_HTTP_CHECK).
#ifndef VIGIL_HEALTH_HTTP_CHECK
#define VIGIL_HEALTH_HTTP_CHECK 1
#endif

#include <arpa/inet.h>
#if VIGIL_HEALTH_HTTP_CHECK
#include <curl/curl.h>
#endif
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
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

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

bool istarts_with(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    const char c = s[i] >= 'A' && s[i] <= 'Z' ? static_cast<char>(s[i] - 'A' + 'a') : s[i];
    if (c != prefix[i]) return false;
  }
  return true;
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
constexpr size_t kMaxBodyBytes = size_t{1} << 20;

struct Transfer {
  size_t bytes = 0;
  const std::stop_token* stop = nullptr;
};

size_t discard_body(char*, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  t->bytes += size * n;
  return t->bytes > kMaxBodyBytes ? 0 : size * n;  // 0 aborts the transfer (status is known)
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto* t = static_cast<const Transfer*>(user);
  return t->stop->stop_requested() ? 1 : 0;  // non-zero aborts
}

struct CurlFree {
  void operator()(CURL* c) const noexcept { curl_easy_cleanup(c); }
};
struct SlistFree {
  void operator()(curl_slist* l) const noexcept { curl_slist_free_all(l); }
};
#endif  // VIGIL_HEALTH_HTTP_CHECK

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
  if (!istarts_with(url, "http://") && !istarts_with(url, "https://")) {
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
  std::vector<std::string> header_lines;
  for (const auto& [name, value] : options.headers) {
    if (name.empty() || has_control(name) || has_control(value) ||
        name.find(':') != std::string::npos) {
      throw Error("http_check " + redact_url(url) + ": invalid request header \"" + name + "\"");
    }
    header_lines.push_back(name + ": " + value);
  }
#if !VIGIL_HEALTH_HTTP_CHECK
  throw Error("http_check " + redact_url(url) +
              ": vigil::health was built without libcurl (VIGIL_HEALTH_HTTP_CHECK=OFF)");
#else
  static std::once_flag curl_once;
  std::call_once(curl_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });

  const std::string shown = redact_url(url);
  return [url = std::move(url), shown, options, header_lines](std::stop_token st) -> CheckResult {
    const Clock::time_point t0 = Clock::now();
    std::unique_ptr<CURL, CurlFree> curl(curl_easy_init());
    if (!curl) return CheckResult::fail("GET " + shown + ": cannot create a libcurl handle");
    curl_slist* list = nullptr;
    for (const std::string& line : header_lines) {
      curl_slist* next = curl_slist_append(list, line.c_str());
      if (next == nullptr) {
        curl_slist_free_all(list);
        return CheckResult::fail("GET " + shown + ": out of memory");
      }
      list = next;
    }
    const std::unique_ptr<curl_slist, SlistFree> headers(list);
    Transfer transfer;
    transfer.stop = &st;
    char error[CURL_ERROR_SIZE] = {0};
    CURL* h = curl.get();
    const long timeout_ms = static_cast<long>(options.timeout.count());
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "vigil-health-check/1");
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &discard_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &transfer);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, &on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &transfer);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, options.verify_tls ? 1L : 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, options.verify_tls ? 2L : 0L);
#if LIBCURL_VERSION_NUM >= 0x075500  // 7.85.0
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
    if (headers) curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
    const CURLcode rc = curl_easy_perform(h);
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    const double ms = ms_since(t0);
    if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && code > 0)) {
      std::string why = error[0] != '\0' ? std::string(error) : curl_easy_strerror(rc);
      if (rc == CURLE_ABORTED_BY_CALLBACK) why = "abandoned (the check timed out)";
      return CheckResult::fail("GET " + shown + ": " + why + " after " + ms_text(ms))
          .observe(ms, "ms");
    }
    const std::string status = "HTTP " + std::to_string(code);
    if (code >= 200 && code < 400) {
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
