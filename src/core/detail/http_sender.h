// src/core/detail/http_sender.h (internal, not installed): vigil's one HTTP client. HTTP POST and
// GET over libcurl with an enforced deadline, an abort that works from any thread (shutdown, a
// health check's stop token), a bound on the response body, retries with exponential backoff,
// jitter and Retry-After, and an outcome for every send so that callers can count them. For the
// OTLP exporters, health's http_check, alert notifiers and metric push exporters alike.
//
// Built as its own small target, vigil_core_http, linked PRIVATE by the targets that send (so
// libcurl stays out of vigil::core: a metrics-only user never needs it).
//
//   HttpSender sender({.url = "http://localhost:4318/v1/traces",
//                      .content_type = "application/x-protobuf"});
//   SendReport r = send_with_retry(sender, body, Clock::now() + 10s, RetryPolicy{}, random01);
//   if (r.outcome != SendOutcome::kDelivered) count_failure(r.outcome);
//   // from another thread, at shutdown: sender.abort();
//
//   // A probe: GET, keep no body, stop reading after 1 MiB (the status is known by then).
//   HttpSender probe({.url = "http://db:8080/healthz", .max_response_bytes = 0,
//                     .stop_after_response_bytes = 1u << 20});
//   HttpResult r = probe.get(Clock::now() + 2s);  // r.status, r.body_bytes, r.body_stopped
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vigil/core/retry.h"

namespace vigil::detail {

using Clock = std::chrono::steady_clock;

struct HttpConfig {
  std::string url;
  std::string content_type;  // of the request body (post())
  bool gzip = false;         // the body is gzipped: send Content-Encoding: gzip
  std::vector<std::pair<std::string, std::string>> headers;
  // HTTP basic authentication (Authorization: Basic) when either is set. Kept out of errors.
  std::string basic_auth_username;
  std::string basic_auth_password;
  std::string certificate_file;
  std::string client_certificate_file;
  std::string client_key_file;
  bool verify_tls = true;  // verify the server's certificate and host name (https)
  // The response body is kept in HttpResult::body up to this many bytes (0: none is kept); the
  // rest is read and dropped, so that the connection can be reused.
  std::size_t max_response_bytes = 64u << 10;
  // When not 0: once the response body passes this many bytes the transfer stops, and the
  // attempt still reports the response's status (HttpResult::body_stopped). For callers that
  // only need the status of an answer of unknown size (health checks).
  std::size_t stop_after_response_bytes = 0;
  std::string user_agent = "vigil/0.1";
  // The method post() sends its body with: "" is POST; "PUT", "DELETE" (an empty body for no
  // body), ... for APIs that want them (the Pushgateway). get() always sends GET.
  std::string method;
  // send_with_retry also retries 500, 501 and 505..599, not only 429/502/503/504: for receivers
  // whose 5xx answers are all transient (Prometheus remote write, the Pushgateway).
  bool retry_all_server_errors = false;
};

// When and how often send_with_retry tries again (see vigil/core/retry.h).
using RetryPolicy = vigil::RetryOptions;

// The outcome of one HTTP attempt.
struct HttpResult {
  long status = 0;             // HTTP status; 0 when no response arrived
  std::string body;            // response body, cut at max_response_bytes
  std::string content_type;    // response Content-Type ("" when none)
  std::string retry_after;     // Retry-After header value ("" when none)
  std::string error;           // transport error text when status == 0
  std::size_t body_bytes = 0;  // response body bytes received (kept or not)
  bool body_stopped = false;   // the transfer stopped at stop_after_response_bytes
  bool timed_out = false;      // the attempt hit its deadline
  bool aborted = false;        // HttpSender::abort() was called
};

// One libcurl easy handle (its connection is reused between requests) driven through a multi
// handle so that abort() wakes it at once. post(), get() and sleep_until() are called by one
// thread at a time; abort() from any thread.
class HttpSender {
 public:
  // Throws vigil::Error when libcurl cannot be initialised.
  explicit HttpSender(HttpConfig config);
  ~HttpSender();
  HttpSender(const HttpSender&) = delete;
  HttpSender& operator=(const HttpSender&) = delete;

  // POSTs `body`; returns by `deadline` (plus a few ms) or soon after abort(). Never throws
  // except std::bad_alloc.
  HttpResult post(std::string_view body, Clock::time_point deadline);

  // GETs the URL (no request body; Content-Type and Content-Encoding are not sent); otherwise
  // as post().
  HttpResult get(Clock::time_point deadline);

  // Waits until `until`; false when abort() was called (at once if it already was).
  bool sleep_until(Clock::time_point until);

  // Makes a running post() and sleep_until() return promptly, and every later one at once.
  // Thread-safe; never throws.
  void abort() noexcept;
  bool aborted() const noexcept { return aborted_.load(std::memory_order_acquire); }

  const HttpConfig& config() const noexcept { return config_; }

 private:
  struct Curl;
  // One attempt: a POST of *body, or a GET when body is null.
  HttpResult perform(const std::string_view* body, Clock::time_point deadline);

  HttpConfig config_;
  std::unique_ptr<Curl> curl_;
  std::atomic<bool> aborted_{false};
  std::mutex mu_;
  std::condition_variable cv_;
};

// 429, 502, 503 and 504: the statuses OTLP/HTTP (and most HTTP APIs) say to retry.
bool retryable_status(long status) noexcept;

// A Retry-After value: delay-seconds ("120") or an HTTP-date (IMF-fixdate, RFC 850 or asctime),
// relative to `now`; a date in the past gives 0. nullopt when malformed. Never throws.
std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now) noexcept;

// The wait before retry number `retry` (1 for the first retry): min(max_backoff,
// initial_backoff * multiplier^(retry-1)) scaled by (1 - jitter * random01), random01 in [0, 1).
std::chrono::milliseconds backoff_delay(const RetryPolicy& options, int retry,
                                        double random01) noexcept;

enum class SendOutcome : uint8_t {
  kDelivered,   // a 2xx response
  kHttpError,   // a status that is not retried (4xx but 429), or retried out of attempts/time
  kTimeout,     // the deadline passed before a response (or before a retry could start)
  kConnection,  // connection errors until attempts or time ran out
  kAborted,     // abort() was called
};

struct SendReport {
  SendOutcome outcome = SendOutcome::kTimeout;
  HttpResult last;     // the last attempt's result
  int attempts = 0;    // HTTP attempts made
  std::string detail;  // why it stopped, for messages ("retry after 30s exceeds the deadline")
};

// Whether send_with_retry retries an answer with `status` for a sender configured with `config`:
// retryable_status, and with retry_all_server_errors every 5xx. (Connection errors are always
// retried.)
bool retried_status(const HttpConfig& config, long status) noexcept;

// Posts `body` and retries as `retry` says (the statuses retried_status names), never past
// `deadline`. `random01` gives jitter draws in [0, 1). Never throws except std::bad_alloc.
SendReport send_with_retry(HttpSender& sender, std::string_view body, Clock::time_point deadline,
                           const RetryPolicy& retry, const std::function<double()>& random01);

}  // namespace vigil::detail
