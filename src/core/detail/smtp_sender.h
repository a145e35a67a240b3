// src/core/detail/smtp_sender.h (internal, not installed): vigil's one SMTP client, over libcurl's
// SMTP support, with the same deadline and abort as HttpSender (http_sender.h). Sends one
// prepared RFC 5322 message (the caller builds it) from one address to several: EHLO with the
// configured name, STARTTLS (required or opportunistic) or implicit TLS (smtps), AUTH with a user
// name and password (the mechanisms the server offers: PLAIN, LOGIN, ...), MAIL FROM, RCPT TO,
// DATA. Part of vigil_core_http (libcurl stays private to it).
//
//   SmtpSender smtp({.host = "mail.example.com", .port = 587, .hello = "vigil.example.com",
//                    .username = "alerts", .password = pw});
//   SmtpResult r = smtp.send("alerts@example.com", {"oncall@example.com"}, message,
//                            Clock::now() + 30s);
//   if (!r.delivered) log(r.error, r.permanent ? "give up" : "retry");
//   // from another thread, at shutdown: smtp.abort();
//
// Thread-safety: send() by one thread at a time; abort() from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::detail {

struct SmtpConfig {
  std::string host;  // a name, an IPv4 address or an IPv6 address (without brackets)
  uint16_t port = 25;
  bool implicit_tls = false;        // smtps: TLS from the first byte (port 465)
  bool require_tls = true;          // STARTTLS must succeed; false: use it when offered
  std::string hello = "localhost";  // the EHLO/HELO name
  std::string username;             // AUTH when not empty
  std::string password;
  std::string ca_file;  // PEM bundle to verify the server with ("" = the system's)
  bool verify_tls = true;
};

struct SmtpResult {
  bool delivered = false;
  long reply_code = 0;     // the server's last reply code (250, 535, 550...); 0 if none
  bool permanent = false;  // not worth retrying: a 5xx reply, AUTH refused, TLS refused/invalid
  bool timed_out = false;
  bool aborted = false;
  std::string error;  // libcurl's message; never holds the password
};

class SmtpSender {
 public:
  // Throws vigil::Error when libcurl cannot be initialised.
  explicit SmtpSender(SmtpConfig config);
  ~SmtpSender();
  SmtpSender(const SmtpSender&) = delete;
  SmtpSender& operator=(const SmtpSender&) = delete;

  // One SMTP session delivering `message` (headers and body, CRLF line ends) from `from` to
  // every address in `to`. Returns by `deadline` (plus a few ms) or soon after abort(). Never
  // throws except std::bad_alloc.
  SmtpResult send(std::string_view from, const std::vector<std::string>& to,
                  std::string_view message, std::chrono::steady_clock::time_point deadline);

  // Makes a running send() return promptly, and every later one at once. Thread-safe.
  void abort() noexcept;
  bool aborted() const noexcept { return aborted_.load(std::memory_order_acquire); }

  const SmtpConfig& config() const noexcept { return config_; }

 private:
  struct Curl;
  SmtpConfig config_;
  std::string url_;
  std::unique_ptr<Curl> curl_;
  std::atomic<bool> aborted_{false};
};

}  // namespace vigil::detail
