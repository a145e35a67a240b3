// src/alerting/notify/http_channel.h (internal): what the built-in notifiers share. One HTTP
// attempt over vigil's HTTP client (core/detail/http_sender.h) turned into a DeliveryResult with
// errors that carry no secret; template fields parsed at construction and rendered per
// notification; Go's time.Time JSON form.
//
//   HttpChannel http("webhook", config.url, config.http);  // throws vigil::Error on a bad URL
//   DeliveryResult r = http.post_json(body, ctx);
//   // r.error: "webhook: POST http://127.0.0.1:5001: HTTP 500" (no path, query or user info)
//
//   TemplateField title = TemplateField::parse("slack_configs", "title", config.title);
//   auto text = title.render(group);  // a ParseResult: the error names the field
//
// Thread-safety: HttpChannel as HttpSender (one post at a time; abort() from any thread);
// TemplateField is immutable after construction.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "alerting/template.h"
#include "core/detail/http_sender.h"
#include "core/detail/parse_result.h"
#include "vigil/alerting/notifier.h"
#include "vigil/alerting/notifiers.h"

namespace vigil::alerting::notify_detail {

// time.Time as Go's encoding/json writes it in UTC: RFC 3339 with the nanoseconds, trailing zeros
// trimmed ("2026-01-02T03:04:05.12Z"); the zero time point is Go's zero time
// "0001-01-01T00:00:00Z".
std::string go_time(TimePoint t);

// Escapes "<", ">", "&", U+2028 and U+2029 in a JSON text as Go's encoding/json does by default
// (\u003c, \u003e, \u0026, \u2028, \u2029), so that bodies match Alertmanager's byte for
// byte. Safe on a whole document: these characters only occur inside strings.
void go_escape_html(std::string& json);

// The part of `url` an error may show: scheme "://" host [":" port]; user info, path, query and
// fragment (where webhook tokens live) are dropped. "<secret>" when `url` does not parse.
std::string redact_url(std::string_view url);

// The deadline of one attempt: now + timeout, capped at ctx.deadline unless that is unset.
std::chrono::steady_clock::time_point attempt_deadline(const DeliveryContext& ctx,
                                                       std::chrono::milliseconds timeout);

// One URL's HTTP channel: POSTs JSON once per call.
class HttpChannel {
 public:
  // Throws vigil::Error ("<config_name>: <url_field>: ...") when `url` is empty or not an
  // http(s) URL with a host; the message never repeats the URL's path or query.
  HttpChannel(std::string_view integration, std::string_view config_name,
              std::string_view url_field, std::string url, const HttpChannelOptions& http);

  // One POST of `body` (application/json). 2xx: delivered; no response, a timeout, 429 or 5xx:
  // kRetry (Retry-After honoured); other statuses: kFailed. http_status is set. The response
  // body (its first 4 KiB) goes to *response when given.
  DeliveryResult post_json(std::string_view body, const DeliveryContext& ctx,
                           std::string* response = nullptr);
  void abort() noexcept { sender_->abort(); }

  const std::string& shown_url() const noexcept { return shown_url_; }
  // Drops every secret this channel knows of (the URL's path and query) from `text`.
  std::string scrub(std::string text) const;

 private:
  std::string integration_;
  std::string url_;
  std::string shown_url_;
  std::string secret_part_;  // path + query + fragment of the URL, when longer than "/"
  std::chrono::milliseconds timeout_;
  std::unique_ptr<vigil::detail::HttpSender> sender_;
};

// A templated configuration field: a text without "{{" is used as it is; anything else is parsed
// as a notification template (notification_template.h).
class TemplateField {
 public:
  TemplateField() = default;
  // Throws vigil::Error "<config_name>: <field>: <parse error>" when the template does not parse.
  static TemplateField parse(std::string_view config_name, std::string_view field,
                             std::string_view text);
  // The expanded text; a failure's error is "<field>: <render error>".
  vigil::detail::ParseResult<std::string> render(const NotificationGroup& group) const;
  bool empty() const noexcept { return !tmpl_ && constant_.empty(); }

 private:
  std::string field_;
  std::string constant_;
  std::optional<tmpl::Template> tmpl_;
};

// Cuts `s` to at most `n` code points, the last being "…" when something was cut
// (Alertmanager's notify.Truncate).
std::string truncate_runes(std::string_view s, size_t n);

}  // namespace vigil::alerting::notify_detail
