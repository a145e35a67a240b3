// The parts the built-in notifiers share: one HTTP attempt as a DeliveryResult, secret-free
// errors, template fields, Go's time format.
#include "alerting/notify/http_channel.h"

#include <cstdio>
#include <ctime>
#include <utility>

#include "alerting/notify/notification_template.h"
#include "core/detail/rfc3339.h"
#include "core/detail/text.h"
#include "vigil/core/error.h"

namespace vigil::alerting::notify_detail {

std::string go_time(TimePoint t) { return vigil::detail::format_rfc3339(t); }

void go_escape_html(std::string& json) {
  size_t extra = 0;
  for (size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (c == '<' || c == '>' || c == '&') {
      extra += 5;
    } else if (c == '\xE2' && i + 2 < json.size() && json[i + 1] == '\x80' &&
               (json[i + 2] == '\xA8' || json[i + 2] == '\xA9')) {
      extra += 3;
    }
  }
  if (extra == 0) return;
  std::string out;
  out.reserve(json.size() + extra);
  for (size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (c == '<') {
      out += "\\u003c";
    } else if (c == '>') {
      out += "\\u003e";
    } else if (c == '&') {
      out += "\\u0026";
    } else if (c == '\xE2' && i + 2 < json.size() && json[i + 1] == '\x80' &&
               (json[i + 2] == '\xA8' || json[i + 2] == '\xA9')) {
      out += json[i + 2] == '\xA8' ? "\\u2028" : "\\u2029";
      i += 2;
    } else {
      out += c;
    }
  }
  json = std::move(out);
}

namespace {
struct UrlParts {
  std::string scheme;     // lower case
  std::string authority;  // host[:port], without user info
  std::string rest;       // path, query, fragment
};

std::optional<UrlParts> split_url(std::string_view url) {
  const size_t colon = url.find("://");
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  UrlParts p;
  p.scheme = vigil::detail::ascii_lower(url.substr(0, colon));
  std::string_view after = url.substr(colon + 3);
  const size_t end = after.find_first_of("/?#");
  std::string_view authority = after.substr(0, end);
  if (end != std::string_view::npos) p.rest = std::string(after.substr(end));
  const size_t at = authority.rfind('@');
  if (at != std::string_view::npos) authority = authority.substr(at + 1);
  if (authority.empty()) return std::nullopt;
  p.authority = std::string(authority);
  return p;
}
}  // namespace

std::string redact_url(std::string_view url) {
  const auto p = split_url(url);
  if (!p) return "<secret>";
  return p->scheme + "://" + p->authority;
}

std::chrono::steady_clock::time_point attempt_deadline(const DeliveryContext& ctx,
                                                       std::chrono::milliseconds timeout) {
  auto d = std::chrono::steady_clock::now() + timeout;
  if (ctx.deadline != std::chrono::steady_clock::time_point{} && ctx.deadline < d) d = ctx.deadline;
  return d;
}

HttpChannel::HttpChannel(std::string_view integration, std::string_view config_name,
                         std::string_view url_field, std::string url,
                         const HttpChannelOptions& http)
    : integration_(integration), url_(std::move(url)), timeout_(http.timeout) {
  const std::string where = std::string(config_name) + ": " + std::string(url_field);
  if (url_.empty()) throw Error(where + ": is empty (a URL is required)");
  const auto p = split_url(url_);
  if (!p) throw Error(where + ": not a URL with a scheme and a host");
  if (p->scheme != "http" && p->scheme != "https") {
    throw Error(where + ": scheme must be http or https, not \"" + p->scheme + "\"");
  }
  if (url_.find_first_of(" \t\r\n") != std::string::npos) {
    throw Error(where + ": contains white space");
  }
  if (http.timeout.count() <= 0) throw Error(std::string(config_name) + ": timeout must be > 0");
  if (!http.bearer_token.empty() &&
      (!http.basic_auth_username.empty() || !http.basic_auth_password.empty())) {
    throw Error(std::string(config_name) +
                ": bearer_token and basic_auth are exclusive (set one of them)");
  }
  shown_url_ = p->scheme + "://" + p->authority;
  if (p->rest.size() > 1) secret_part_ = p->rest;

  vigil::detail::HttpConfig hc;
  hc.url = url_;
  hc.content_type = "application/json";
  hc.headers = http.headers;
  if (!http.bearer_token.empty())
    hc.headers.emplace_back("Authorization", "Bearer " + http.bearer_token);
  hc.basic_auth_username = http.basic_auth_username;
  hc.basic_auth_password = http.basic_auth_password;
  hc.certificate_file = http.ca_file;
  hc.verify_tls = http.verify_tls;
  hc.max_response_bytes = 4096;
  sender_ = std::make_unique<vigil::detail::HttpSender>(std::move(hc));
}

std::string HttpChannel::scrub(std::string text) const {
  const auto replace_all = [&](std::string_view secret) {
    if (secret.size() < 2) return;
    for (size_t pos = text.find(secret); pos != std::string::npos;
         pos = text.find(secret, pos + 8)) {
      text.replace(pos, secret.size(), "<secret>");
    }
  };
  replace_all(url_);
  replace_all(secret_part_);
  return text;
}

DeliveryResult HttpChannel::post_json(std::string_view body, const DeliveryContext& ctx,
                                      std::string* response) {
  vigil::detail::HttpResult r = sender_->post(body, attempt_deadline(ctx, timeout_));
  if (response != nullptr) *response = r.body;
  const std::string prefix = integration_ + ": POST " + shown_url_ + ": ";
  if (r.aborted) return DeliveryResult::retry(prefix + "aborted");
  if (r.status == 0) {
    DeliveryResult out =
        DeliveryResult::retry(prefix + (r.timed_out ? "timed out: " : "") + scrub(r.error));
    return out;
  }
  if (r.status >= 200 && r.status < 300) {
    DeliveryResult out = DeliveryResult::delivered();
    out.http_status = r.status;
    return out;
  }
  std::string why = prefix + "HTTP " + std::to_string(r.status);
  std::string_view excerpt = vigil::detail::trim(r.body);
  if (!excerpt.empty()) {
    if (excerpt.size() > 200) excerpt = excerpt.substr(0, 200);
    why += ": " + scrub(std::string(excerpt));
  }
  DeliveryResult out;
  if (r.status == 429 || r.status >= 500) {
    std::optional<std::chrono::milliseconds> after;
    if (!r.retry_after.empty()) {
      after = vigil::detail::parse_retry_after(r.retry_after, std::chrono::system_clock::now());
    }
    out = DeliveryResult::retry(std::move(why), after);
  } else {
    out = DeliveryResult::failed(std::move(why));
  }
  out.http_status = r.status;
  return out;
}

TemplateField TemplateField::parse(std::string_view config_name, std::string_view field,
                                   std::string_view text) {
  TemplateField f;
  f.field_ = std::string(field);
  if (text.find("{{") == std::string_view::npos) {
    f.constant_ = std::string(text);
    return f;
  }
  auto t = parse_notification_template(text, std::string(config_name) + "." + std::string(field));
  if (!t) throw Error(std::string(config_name) + ": " + std::string(field) + ": " + t.error);
  f.tmpl_ = std::move(*t);
  return f;
}

vigil::detail::ParseResult<std::string> TemplateField::render(
    const NotificationGroup& group) const {
  if (!tmpl_) return vigil::detail::ParseResult<std::string>::ok(constant_);
  auto r = render_notification(*tmpl_, group);
  if (!r) return vigil::detail::ParseResult<std::string>::fail(field_ + ": " + r.error);
  return r;
}

std::string truncate_runes(std::string_view s, size_t n) {
  // Code point starts: bytes that are not UTF-8 continuation bytes.
  size_t runes = 0;
  for (char c : s) runes += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  if (runes <= n) return std::string(s);
  if (n <= 3) {
    size_t count = 0, i = 0;
    for (; i < s.size(); ++i) {
      if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80 && count++ == n) break;
    }
    return std::string(s.substr(0, i));
  }
  size_t count = 0, i = 0;
  for (; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80 && count++ == n - 1) break;
  }
  return std::string(s.substr(0, i)) + "\xE2\x80\xA6";
}

}  // namespace vigil::alerting::notify_detail
