#include "core/detail/http_sender.h"

#include <curl/curl.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>
#include <mutex>

#include "core/detail/curl_transfer.h"
#include "core/detail/text.h"
#include "vigil/core/error.h"

namespace vigil::detail {
namespace {

// curl_global_init is not thread-safe in every libcurl build: run it once, and never clean up
// (other parts of the process may use libcurl too).
void global_init() {
  static std::once_flag once;
  static CURLcode rc = CURLE_OK;
  std::call_once(once, [] { rc = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (rc != CURLE_OK) {
    throw Error(std::string("vigil HTTP client: curl_global_init failed: ") +
                curl_easy_strerror(rc));
  }
}

}  // namespace

CurlRun run_curl_transfer(CURLM* multi, CURL* easy, Clock::time_point deadline,
                          const std::atomic<bool>& aborted) {
  CurlRun run;
  if (curl_multi_add_handle(multi, easy) != CURLM_OK) {
    run.started = false;
    run.error = "curl_multi_add_handle failed";
    return run;
  }
  while (true) {
    int running = 0;
    const CURLMcode mc = curl_multi_perform(multi, &running);
    if (mc != CURLM_OK) {
      run.error = std::string("curl_multi_perform: ") + curl_multi_strerror(mc);
      break;
    }
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &queued)) {
      if (msg->msg == CURLMSG_DONE && msg->easy_handle == easy) {
        run.code = msg->data.result;
        run.done = true;
      }
    }
    if (run.done || running == 0) break;
    if (aborted.load(std::memory_order_acquire)) {
      run.aborted = true;
      break;
    }
    // libcurl enforces CURLOPT_TIMEOUT_MS; this is a backstop should a resolver ignore it.
    if (Clock::now() > deadline + std::chrono::milliseconds(200)) break;
    curl_multi_poll(multi, nullptr, 0, 100, nullptr);
  }
  // Removing an unfinished transfer closes its connection, and some protocols say goodbye
  // first, blocking while they wait (SMTP's QUIT): leave them no time for it.
  if (!run.done) curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 1L);
  curl_multi_remove_handle(multi, easy);
  return run;
}

struct HttpSender::Curl {
  CURL* easy = nullptr;
  CURLM* multi = nullptr;
  curl_slist* headers = nullptr;      // POST: Content-Type, Content-Encoding, Expect, the config's
  curl_slist* get_headers = nullptr;  // GET: the config's headers only
  HttpResult* current = nullptr;      // the result being filled by the callbacks
  std::size_t max_body = 0;
  std::size_t stop_after = 0;
  char error[CURL_ERROR_SIZE] = {};

  ~Curl() {
    if (multi != nullptr) curl_multi_cleanup(multi);
    if (easy != nullptr) curl_easy_cleanup(easy);
    if (headers != nullptr) curl_slist_free_all(headers);
    if (get_headers != nullptr) curl_slist_free_all(get_headers);
  }

  static size_t on_body(char* data, size_t size, size_t count, void* user) {
    auto* self = static_cast<Curl*>(user);
    const size_t n = size * count;
    if (self->current != nullptr) {
      HttpResult& r = *self->current;
      r.body_bytes += n;
      std::string& body = r.body;
      if (body.size() < self->max_body)
        body.append(data, std::min(n, self->max_body - body.size()));
      if (self->stop_after != 0 && r.body_bytes > self->stop_after) {
        r.body_stopped = true;
        return 0;  // stops the transfer (CURLE_WRITE_ERROR); the status is known by now
      }
    }
    return n;  // keep reading: a cut body still lets the connection be reused
  }

  static size_t on_header(char* data, size_t size, size_t count, void* user) {
    auto* self = static_cast<Curl*>(user);
    const size_t n = size * count;
    if (self->current == nullptr) return n;
    const std::string_view line(data, n);
    if (starts_with_icase(line, "http/")) {
      self->current->retry_after.clear();  // a new response (e.g. after 100 Continue)
    } else if (starts_with_icase(line, "retry-after:")) {
      self->current->retry_after = std::string(trim_line(line.substr(12)));
    }
    return n;
  }
};

HttpSender::HttpSender(HttpConfig config) : config_(std::move(config)), curl_(new Curl) {
  global_init();
  Curl& c = *curl_;
  c.easy = curl_easy_init();
  c.multi = curl_multi_init();
  if (c.easy == nullptr || c.multi == nullptr)
    throw Error("vigil HTTP client: curl_easy_init failed");
  c.max_body = config_.max_response_bytes;
  c.stop_after = config_.stop_after_response_bytes;

  const auto append = [](curl_slist*& list, const std::string& line) {
    curl_slist* next = curl_slist_append(list, line.c_str());
    if (next == nullptr) throw Error("vigil HTTP client: out of memory building headers");
    list = next;
  };
  append(c.headers, "Content-Type: " + config_.content_type);
  if (config_.gzip) append(c.headers, "Content-Encoding: gzip");
  append(c.headers, "Expect:");  // no 100-continue round trip
  for (const auto& [name, value] : config_.headers) {
    append(c.headers, name + ": " + value);
    append(c.get_headers, name + ": " + value);
  }

  CURL* e = c.easy;
  curl_easy_setopt(e, CURLOPT_URL, config_.url.c_str());
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_POST, 1L);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, c.headers);
  curl_easy_setopt(e, CURLOPT_USERAGENT, config_.user_agent.c_str());
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500  // 7.85
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
  curl_easy_setopt(e, CURLOPT_PROTOCOLS, static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Curl::on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &c);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &Curl::on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, &c);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c.error);
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, config_.verify_tls ? 1L : 0L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, config_.verify_tls ? 2L : 0L);
  if (!config_.basic_auth_username.empty() || !config_.basic_auth_password.empty()) {
    curl_easy_setopt(e, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
    curl_easy_setopt(e, CURLOPT_USERNAME, config_.basic_auth_username.c_str());
    curl_easy_setopt(e, CURLOPT_PASSWORD, config_.basic_auth_password.c_str());
  }
  if (!config_.certificate_file.empty()) {
    curl_easy_setopt(e, CURLOPT_CAINFO, config_.certificate_file.c_str());
  }
  if (!config_.client_certificate_file.empty()) {
    curl_easy_setopt(e, CURLOPT_SSLCERT, config_.client_certificate_file.c_str());
  }
  if (!config_.client_key_file.empty()) {
    curl_easy_setopt(e, CURLOPT_SSLKEY, config_.client_key_file.c_str());
  }
}

HttpSender::~HttpSender() = default;

HttpResult HttpSender::post(std::string_view body, Clock::time_point deadline) {
  return perform(&body, deadline);
}

HttpResult HttpSender::get(Clock::time_point deadline) { return perform(nullptr, deadline); }

HttpResult HttpSender::perform(const std::string_view* body, Clock::time_point deadline) {
  HttpResult result;
  if (aborted()) {
    result.aborted = true;
    result.error = "aborted";
    return result;
  }
  const auto remaining =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  if (remaining.count() <= 0) {
    result.timed_out = true;
    result.error = "deadline passed before the request was sent";
    return result;
  }

  Curl& c = *curl_;
  CURL* e = c.easy;
  c.current = &result;
  c.error[0] = '\0';
  if (body != nullptr) {
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, c.headers);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body->data());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST,
                     config_.method.empty() ? nullptr : config_.method.c_str());
  } else {
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, c.get_headers);
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, nullptr);
  }
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(remaining.count()));
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(remaining.count()));

  const CurlRun run = run_curl_transfer(c.multi, e, deadline, aborted_);
  c.current = nullptr;
  const CURLcode code = run.code;

  if (run.aborted) {
    result.aborted = true;
    result.error = "aborted by shutdown";
    result.body.clear();
    return result;
  }
  if (!run.done) {
    result.error = run.error.empty() ? "deadline exceeded" : run.error;
    result.timed_out = run.started;
    return result;
  }
  // A transfer stopped by on_body at stop_after_response_bytes still has its status.
  if (code != CURLE_OK && !(code == CURLE_WRITE_ERROR && result.body_stopped)) {
    result.status = 0;
    result.timed_out = code == CURLE_OPERATION_TIMEDOUT;
    result.error = c.error[0] != '\0' ? std::string(c.error) : curl_easy_strerror(code);
    result.body.clear();
    return result;
  }
  long status = 0;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
  result.status = status;
  const char* type = nullptr;
  if (curl_easy_getinfo(e, CURLINFO_CONTENT_TYPE, &type) == CURLE_OK && type != nullptr) {
    result.content_type = type;
  }
  return result;
}

bool HttpSender::sleep_until(Clock::time_point until) {
  std::unique_lock lock(mu_);
  return !cv_.wait_until(lock, until, [this] { return aborted(); });
}

void HttpSender::abort() noexcept {
  {
    std::lock_guard lock(mu_);
    aborted_.store(true, std::memory_order_release);
  }
  cv_.notify_all();
  if (curl_ && curl_->multi != nullptr) curl_multi_wakeup(curl_->multi);
}

bool retryable_status(long status) noexcept {
  return status == 429 || status == 502 || status == 503 || status == 504;
}

std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now) noexcept {
  value = trim_line(value);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
    uint64_t seconds = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (ec == std::errc::result_out_of_range)
      seconds = UINT64_MAX;
    else if (ec != std::errc() || end != value.data() + value.size())
      return std::nullopt;
    // Anything beyond a day is as good as "never" for an exporter with a deadline.
    seconds = std::min<uint64_t>(seconds, 86400);
    return std::chrono::milliseconds(static_cast<int64_t>(seconds) * 1000);
  }
  // An HTTP-date: it needs a letter (the day or month name); curl_getdate would also accept
  // plenty of other things, such as "-5" or "now".
  if (value.size() > 64 ||
      !std::any_of(value.begin(), value.end(), [](char ch) { return ch >= 'A' && ch <= 'Z'; })) {
    return std::nullopt;
  }
  const std::string text(value);
  const time_t when = curl_getdate(text.c_str(), nullptr);
  if (when == static_cast<time_t>(-1)) return std::nullopt;
  // Compare in seconds first: a date centuries ahead does not fit system_clock's nanoseconds
  // (found by fuzz_otlp_parsers: year ~7100 overflowed from_time_t).
  const time_t now_s = std::chrono::system_clock::to_time_t(now);
  if (when > now_s + 86400) return std::chrono::hours(24);
  if (when < now_s - 86400) return std::chrono::milliseconds(0);
  const auto target = std::chrono::system_clock::from_time_t(when);
  if (target <= now) return std::chrono::milliseconds(0);
  const auto delay = std::chrono::duration_cast<std::chrono::milliseconds>(target - now);
  return std::min<std::chrono::milliseconds>(delay, std::chrono::hours(24));
}

std::chrono::milliseconds backoff_delay(const RetryPolicy& options, int retry,
                                        double random01) noexcept {
  double base = static_cast<double>(options.initial_backoff.count()) *
                std::pow(options.multiplier, std::max(0, retry - 1));
  base = std::min(base, static_cast<double>(options.max_backoff.count()));
  const double r = std::clamp(random01, 0.0, 1.0);
  const double scaled = base * (1.0 - std::clamp(options.jitter, 0.0, 1.0) * r);
  return std::chrono::milliseconds(static_cast<int64_t>(std::max(0.0, scaled)));
}

bool retried_status(const HttpConfig& config, long status) noexcept {
  return retryable_status(status) ||
         (config.retry_all_server_errors && status >= 500 && status < 600);
}

SendReport send_with_retry(HttpSender& sender, std::string_view body, Clock::time_point deadline,
                           const RetryPolicy& retry, const std::function<double()>& random01) {
  SendReport report;
  const int max_attempts = std::max(1, retry.max_attempts);
  while (true) {
    if (report.attempts > 0 && Clock::now() >= deadline) {
      // The wait ended at the deadline: the last attempt's outcome stands.
      report.detail = "the export deadline was reached before the next attempt";
      return report;
    }
    report.last = sender.post(body, deadline);
    ++report.attempts;
    const HttpResult& r = report.last;
    if (r.aborted) {
      report.outcome = SendOutcome::kAborted;
      report.detail = "aborted by shutdown";
      return report;
    }
    if (r.status >= 200 && r.status < 300) {
      report.outcome = SendOutcome::kDelivered;
      return report;
    }
    bool retry_it = false;
    if (r.status != 0) {
      report.outcome = SendOutcome::kHttpError;
      retry_it = retried_status(sender.config(), r.status);
      if (!retry_it) {
        report.detail = "HTTP " + std::to_string(r.status) + " is not retried";
        return report;
      }
    } else if (r.timed_out) {
      report.outcome = SendOutcome::kTimeout;
      report.detail = "timed out: " + r.error;
      return report;  // the attempt used up the time left
    } else {
      report.outcome = SendOutcome::kConnection;
      retry_it = true;
    }
    if (report.attempts >= max_attempts) {
      report.detail = "gave up after " + std::to_string(report.attempts) + " attempts";
      return report;
    }
    std::chrono::milliseconds wait =
        backoff_delay(retry, report.attempts, random01 ? random01() : 0.5);
    if (!r.retry_after.empty()) {
      if (auto ra = parse_retry_after(r.retry_after, std::chrono::system_clock::now())) {
        wait = *ra;
      }
    }
    const auto now = Clock::now();
    if (now + wait >= deadline) {
      // Waiting would end past the deadline: give up now rather than block for nothing.
      report.detail =
          "next retry in " + std::to_string(wait.count()) + " ms would pass the export deadline";
      return report;
    }
    if (!sender.sleep_until(now + wait)) {
      report.outcome = SendOutcome::kAborted;
      report.detail = "aborted by shutdown";
      return report;
    }
  }
}

}  // namespace vigil::detail
