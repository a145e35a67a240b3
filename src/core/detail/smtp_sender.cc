#include "core/detail/smtp_sender.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <new>

#include "core/detail/curl_transfer.h"
#include "vigil/core/error.h"

namespace vigil::detail {

struct SmtpSender::Curl {
  CURL* easy = nullptr;
  CURLM* multi = nullptr;
  std::string_view message;  // being uploaded
  size_t sent = 0;
  char error[CURL_ERROR_SIZE] = {};

  ~Curl() {
    if (multi != nullptr) curl_multi_cleanup(multi);
    if (easy != nullptr) curl_easy_cleanup(easy);
  }

  static size_t on_read(char* buffer, size_t size, size_t count, void* user) {
    auto* self = static_cast<Curl*>(user);
    const size_t n = std::min(size * count, self->message.size() - self->sent);
    std::memcpy(buffer, self->message.data() + self->sent, n);
    self->sent += n;
    return n;
  }
};

SmtpSender::SmtpSender(SmtpConfig config) : config_(std::move(config)), curl_(new Curl) {
  static std::once_flag once;
  static CURLcode rc = CURLE_OK;
  std::call_once(once, [] { rc = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (rc != CURLE_OK) {
    throw Error(std::string("vigil SMTP client: curl_global_init failed: ") +
                curl_easy_strerror(rc));
  }
  curl_->easy = curl_easy_init();
  curl_->multi = curl_multi_init();
  if (curl_->easy == nullptr || curl_->multi == nullptr)
    throw Error("vigil SMTP client: curl_easy_init failed");
  const bool v6 = config_.host.find(':') != std::string::npos;
  // libcurl takes the EHLO name from the URL's path.
  url_ = std::string(config_.implicit_tls ? "smtps://" : "smtp://") + (v6 ? "[" : "") +
         config_.host + (v6 ? "]" : "") + ":" + std::to_string(config_.port) + "/" + config_.hello;
}

SmtpSender::~SmtpSender() = default;

SmtpResult SmtpSender::send(std::string_view from, const std::vector<std::string>& to,
                            std::string_view message,
                            std::chrono::steady_clock::time_point deadline) {
  SmtpResult result;
  if (aborted()) {
    result.aborted = true;
    result.error = "aborted";
    return result;
  }
  const auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  if (remaining.count() <= 0) {
    result.timed_out = true;
    result.error = "deadline passed before the session started";
    return result;
  }
  Curl& c = *curl_;
  CURL* e = c.easy;
  curl_easy_reset(e);
  c.message = message;
  c.sent = 0;
  c.error[0] = '\0';

  curl_slist* rcpt = nullptr;
  for (const std::string& addr : to) {
    curl_slist* next = curl_slist_append(rcpt, ("<" + addr + ">").c_str());
    if (next == nullptr) {
      curl_slist_free_all(rcpt);
      throw std::bad_alloc();
    }
    rcpt = next;
  }
  const std::string mail_from = "<" + std::string(from) + ">";

  curl_easy_setopt(e, CURLOPT_URL, url_.c_str());
#if LIBCURL_VERSION_NUM >= 0x075500  // 7.85
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
#else
  curl_easy_setopt(e, CURLOPT_PROTOCOLS, static_cast<long>(CURLPROTO_SMTP | CURLPROTO_SMTPS));
#endif
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  // One session per message (as Alertmanager): no idle connection whose QUIT could block later.
  curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c.error);
  curl_easy_setopt(e, CURLOPT_MAIL_FROM, mail_from.c_str());
  curl_easy_setopt(e, CURLOPT_MAIL_RCPT, rcpt);
  curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(e, CURLOPT_READFUNCTION, &Curl::on_read);
  curl_easy_setopt(e, CURLOPT_READDATA, &c);
  curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(message.size()));
  if (!config_.implicit_tls) {
    curl_easy_setopt(e, CURLOPT_USE_SSL,
                     static_cast<long>(config_.require_tls ? CURLUSESSL_ALL : CURLUSESSL_TRY));
  }
  if (!config_.username.empty()) {
    curl_easy_setopt(e, CURLOPT_USERNAME, config_.username.c_str());
    curl_easy_setopt(e, CURLOPT_PASSWORD, config_.password.c_str());
  }
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, config_.verify_tls ? 1L : 0L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, config_.verify_tls ? 2L : 0L);
  if (!config_.ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, config_.ca_file.c_str());
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(remaining.count()));
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(remaining.count()));

  const CurlRun run = run_curl_transfer(c.multi, e, deadline, aborted_);
  curl_slist_free_all(rcpt);
  curl_easy_setopt(e, CURLOPT_MAIL_RCPT, nullptr);
  long reply = 0;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &reply);
  result.reply_code = reply;

  if (run.aborted) {
    result.aborted = true;
    result.error = "aborted by shutdown";
    return result;
  }
  if (!run.done) {
    result.timed_out = run.started;
    result.error = run.error.empty() ? "deadline exceeded" : run.error;
    return result;
  }
  if (run.code == CURLE_OK) {
    result.delivered = true;
    return result;
  }
  result.error = c.error[0] != '\0' ? std::string(c.error) : curl_easy_strerror(run.code);
  result.timed_out = run.code == CURLE_OPERATION_TIMEDOUT;
  switch (run.code) {
    case CURLE_LOGIN_DENIED:
    case CURLE_USE_SSL_FAILED:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      result.permanent = true;
      break;
    default:
      // A 5xx reply (a refused sender or recipient, a message too big) will be refused again;
      // 4xx replies and transport failures may pass later.
      result.permanent = reply >= 500 && reply < 600;
      break;
  }
  return result;
}

void SmtpSender::abort() noexcept {
  aborted_.store(true, std::memory_order_release);
  if (curl_ && curl_->multi != nullptr) curl_multi_wakeup(curl_->multi);
}

}  // namespace vigil::detail
