// The email notifier: one MIME message per notification (multipart/alternative text + HTML when
// both are set), sent over SMTP with vigil's SMTP client (core/detail/smtp_sender.h, libcurl).
// As Alertmanager's notify/email/email.go: Subject, From, To, Date, Message-Id and extra
// headers, bodies in quoted-printable, non-ASCII headers as RFC 2047 encoded words.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <ctime>
#include <random>
#include <utility>

#include "alerting/notify/http_channel.h"
#include "alerting/notify/notification_template.h"
#include "core/detail/base64.h"
#include "core/detail/smtp_sender.h"
#include "core/detail/text.h"
#include "vigil/alerting/notifiers.h"
#include "vigil/core/error.h"

namespace vigil::alerting {
namespace {

using notify_detail::TemplateField;
constexpr std::string_view kConfig = "email_configs";

bool is_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// A header value: as it is when ASCII, else RFC 2047 "B" encoded words of UTF-8 (each at most 75
// characters, split between code points), folded onto continuation lines.
std::string encode_header_value(std::string_view v) {
  if (is_ascii(v)) return std::string(v);
  std::string out;
  size_t i = 0;
  while (i < v.size()) {
    // 45 bytes of input make 60 characters of base64: "=?UTF-8?B?" + 60 + "?=" = 72 <= 75.
    size_t end = std::min(v.size(), i + 45);
    while (end < v.size() && end > i && (static_cast<unsigned char>(v[end]) & 0xC0) == 0x80) --end;
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?";
    vigil::detail::append_base64(out, v.substr(i, end - i));
    out += "?=";
    i = end;
  }
  return out;
}

// Quoted-printable (RFC 2045 6.7) with CRLF line ends and soft breaks before 76 characters.
std::string quoted_printable(std::string_view in) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  size_t line = 0;
  const auto put = [&](std::string_view piece) {
    if (line + piece.size() > 75) {
      out += "=\r\n";
      line = 0;
    }
    out += piece;
    line += piece.size();
  };
  for (size_t i = 0; i < in.size(); ++i) {
    const auto c = static_cast<unsigned char>(in[i]);
    if (c == '\n' || (c == '\r' && i + 1 < in.size() && in[i + 1] == '\n')) {
      if (c == '\r') ++i;
      out += "\r\n";
      line = 0;
      continue;
    }
    const bool at_line_end = i + 1 == in.size() || in[i + 1] == '\n' || in[i + 1] == '\r';
    const bool literal =
        (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !at_line_end);
    if (literal) {
      const char ch = static_cast<char>(c);
      put(std::string_view(&ch, 1));
    } else {
      const char enc[3] = {'=', kHex[c >> 4], kHex[c & 15]};
      put(std::string_view(enc, 3));
    }
  }
  return out;
}

// The address inside "Name <addr>", or the whole (trimmed) text.
std::string_view bare_address(std::string_view s) {
  s = vigil::detail::trim(s);
  const size_t lt = s.rfind('<');
  if (lt != std::string_view::npos && s.back() == '>') return s.substr(lt + 1, s.size() - lt - 2);
  return s;
}

// "Name <addr>" with the display name encoded when it is not ASCII.
std::string encode_address(std::string_view s) {
  s = vigil::detail::trim(s);
  const size_t lt = s.rfind('<');
  if (lt == std::string_view::npos || lt == 0 || is_ascii(s)) return std::string(s);
  std::string_view name = vigil::detail::trim(s.substr(0, lt));
  if (name.size() >= 2 && name.front() == '"' && name.back() == '"')
    name = name.substr(1, name.size() - 2);
  return encode_header_value(name) + " " + std::string(s.substr(lt));
}

void check_address(std::string_view field, std::string_view s) {
  const std::string_view a = bare_address(s);
  const size_t at = a.find('@');
  if (a.empty() || at == 0 || at == std::string_view::npos || at + 1 == a.size() ||
      a.find_first_of(" \t\r\n<>,") != std::string_view::npos) {
    throw Error(std::string(kConfig) + ": " + std::string(field) + ": \"" + std::string(s) +
                "\" is not an email address");
  }
}

std::string rfc5322_date(std::chrono::system_clock::time_point t) {
  const std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[tm.tm_wday % 7],
                tm.tm_mday, kMonths[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buf;
}

// Header values never carry a line break of their own (no header injection).
std::string one_line(std::string s) {
  std::replace_if(
      s.begin(), s.end(), [](char c) { return c == '\r' || c == '\n'; }, ' ');
  return s;
}

struct Smarthost {
  std::string host;
  uint16_t port = 0;
};

Smarthost parse_smarthost(std::string_view s) {
  const auto bad = [&](const std::string& why) {
    return Error(std::string(kConfig) + ": smarthost: \"" + std::string(s) + "\" " + why);
  };
  if (s.empty()) throw Error(std::string(kConfig) + ": smarthost: is empty (host:port required)");
  Smarthost h;
  std::string_view port;
  if (s.front() == '[') {
    const size_t close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':')
      throw bad("is not [ipv6]:port");
    h.host = std::string(s.substr(1, close - 1));
    port = s.substr(close + 2);
  } else {
    const size_t colon = s.rfind(':');
    if (colon == std::string_view::npos) throw bad("has no port (host:port)");
    h.host = std::string(s.substr(0, colon));
    if (h.host.find(':') != std::string::npos) throw bad("has an IPv6 address without [brackets]");
    port = s.substr(colon + 1);
  }
  if (h.host.empty()) throw bad("has no host");
  if (h.host.find_first_of(" \t\r\n/@?#") != std::string::npos) throw bad("has a bad host");
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value == 0 ||
      value > 65535) {
    throw bad("has a bad port (1-65535)");
  }
  h.port = static_cast<uint16_t>(value);
  return h;
}

EmailConfig validate(EmailConfig c) {
  if (c.to.empty()) throw Error(std::string(kConfig) + ": to: no recipient (one or more required)");
  for (const std::string& t : c.to) check_address("to", t);
  if (c.from.empty()) throw Error(std::string(kConfig) + ": from: is empty (required)");
  check_address("from", c.from);
  if (c.hello.empty() || c.hello.find_first_of(" \t\r\n/?#@") != std::string::npos) {
    throw Error(std::string(kConfig) + ": hello: \"" + c.hello + "\" is not a host name");
  }
  if (c.timeout.count() <= 0) throw Error(std::string(kConfig) + ": timeout: must be > 0");
  if (c.auth_username.empty() && !c.auth_password.empty()) {
    throw Error(std::string(kConfig) + ": auth_username: is empty but auth_password is set");
  }
  for (const auto& [name, value] : c.headers) {
    if (name.empty() || !std::all_of(name.begin(), name.end(),
                                     [](char ch) { return ch > 32 && ch < 127 && ch != ':'; })) {
      throw Error(std::string(kConfig) + ": headers: \"" + name + "\" is not a header name");
    }
  }
  return c;
}

class EmailNotifier final : public Notifier {
 public:
  explicit EmailNotifier(EmailConfig config)
      : config_(validate(std::move(config))),
        host_(parse_smarthost(config_.smarthost)),
        smtp_(make_smtp(config_, host_)),
        subject_(TemplateField::parse(
            kConfig, "subject",
            config_.subject.empty() ? kDefaultEmailSubject : std::string_view(config_.subject))),
        text_(TemplateField::parse(kConfig, "text",
                                   config_.text.empty() && config_.html.empty()
                                       ? kDefaultEmailText
                                       : std::string_view(config_.text))),
        html_(TemplateField::parse(
            kConfig, "html",
            config_.html.empty() ? kDefaultEmailHtml : std::string_view(config_.html))) {
    for (const auto& [name, value] : config_.headers) {
      headers_.emplace_back(name, TemplateField::parse(kConfig, "headers." + name, value));
    }
    const bool v6 = host_.host.find(':') != std::string::npos;
    shown_ = std::string(smtp_->config().implicit_tls ? "smtps://" : "smtp://") + (v6 ? "[" : "") +
             host_.host + (v6 ? "]" : "") + ":" + std::to_string(host_.port);
  }

  std::string_view integration() const noexcept override { return "email"; }
  bool send_resolved() const noexcept override { return config_.send_resolved; }
  void abort() noexcept override { smtp_->abort(); }

  DeliveryResult notify(const NotificationGroup& group, const DeliveryContext& ctx) override {
    auto subject = subject_.render(group);
    if (!subject) return DeliveryResult::failed("email: template: " + subject.error);
    auto text = text_.render(group);
    if (!text) return DeliveryResult::failed("email: template: " + text.error);
    auto html = html_.render(group);
    if (!html) return DeliveryResult::failed("email: template: " + html.error);
    std::vector<std::pair<std::string, std::string>> extra;
    for (const auto& [name, f] : headers_) {
      auto v = f.render(group);
      if (!v) return DeliveryResult::failed("email: template: " + v.error);
      extra.emplace_back(name, one_line(std::move(*v)));
    }
    const std::string message = build_message(*subject, *text, *html, extra);
    std::vector<std::string> rcpt;
    for (const std::string& t : config_.to) rcpt.emplace_back(bare_address(t));

    const vigil::detail::SmtpResult r =
        smtp_->send(bare_address(config_.from), rcpt, message,
                    notify_detail::attempt_deadline(ctx, config_.timeout));
    if (r.delivered) return DeliveryResult::delivered();
    std::string why = "email: SMTP " + shown_ + ": ";
    if (r.aborted) return DeliveryResult::retry(why + "aborted");
    why += r.timed_out ? "timed out: " + r.error : r.error;
    if (r.reply_code != 0) why += " (reply " + std::to_string(r.reply_code) + ")";
    if (config_.auth_password.size() >= 2) {
      for (size_t p = why.find(config_.auth_password); p != std::string::npos;
           p = why.find(config_.auth_password)) {
        why.replace(p, config_.auth_password.size(), "<secret>");
      }
    }
    return r.permanent ? DeliveryResult::failed(std::move(why))
                       : DeliveryResult::retry(std::move(why));
  }

 private:
  static std::unique_ptr<vigil::detail::SmtpSender> make_smtp(const EmailConfig& c,
                                                              const Smarthost& h) {
    vigil::detail::SmtpConfig s;
    s.host = h.host;
    s.port = h.port;
    s.implicit_tls = c.implicit_tls || h.port == 465;
    s.require_tls = c.require_tls;
    s.hello = c.hello;
    s.username = c.auth_username;
    s.password = c.auth_password;
    s.ca_file = c.ca_file;
    s.verify_tls = c.verify_tls;
    return std::make_unique<vigil::detail::SmtpSender>(std::move(s));
  }

  std::string build_message(const std::string& subject, const std::string& text,
                            const std::string& html,
                            const std::vector<std::pair<std::string, std::string>>& extra) {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    const auto now = std::chrono::system_clock::now();
    std::string to;
    for (const std::string& t : config_.to) {
      if (!to.empty()) to += ", ";
      to += encode_address(t);
    }
    // The defaults, which an extra header of the same name replaces (as Alertmanager's headers).
    std::vector<std::pair<std::string, std::string>> headers = {
        {"Date", rfc5322_date(now)},
        {"From", encode_address(config_.from)},
        {"To", to},
        {"Subject", encode_header_value(one_line(subject))},
        {"Message-Id", "<" + std::to_string(now.time_since_epoch().count()) + "." +
                           std::to_string(rng()) + "@" + config_.hello + ">"},
    };
    for (const auto& header : extra) {
      const std::string& name = header.first;
      const std::string& value = header.second;
      auto it = std::find_if(headers.begin(), headers.end(),
                             [&](const auto& h) { return vigil::detail::iequals(h.first, name); });
      std::string v = iequals_any(name) ? encode_address_list(value) : encode_header_value(value);
      if (it != headers.end()) {
        it->second = std::move(v);
      } else {
        headers.emplace_back(name, std::move(v));
      }
    }
    std::string m;
    for (const auto& [name, value] : headers) m += name + ": " + value + "\r\n";
    m += "MIME-Version: 1.0\r\n";
    const auto part_headers = [](std::string_view type) {
      return "Content-Type: " + std::string(type) +
             "; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n";
    };
    if (!text.empty() && !html.empty()) {
      std::string boundary = "vigil-";
      const uint64_t token = rng();
      for (int shift = 60; shift >= 0; shift -= 4)
        boundary += "0123456789abcdef"[(token >> shift) & 15];
      m += "Content-Type: multipart/alternative; boundary=\"" + boundary + "\"\r\n\r\n";
      m += "--" + boundary + "\r\n" + part_headers("text/plain") + quoted_printable(text) + "\r\n";
      m += "--" + boundary + "\r\n" + part_headers("text/html") + quoted_printable(html) + "\r\n";
      m += "--" + boundary + "--\r\n";
    } else if (!html.empty()) {
      m += part_headers("text/html") + quoted_printable(html) + "\r\n";
    } else {
      m += part_headers("text/plain") + quoted_printable(text) + "\r\n";
    }
    return m;
  }

  // From, To, Cc, Reply-To: address lists whose display names are encoded, not whole values.
  static bool iequals_any(std::string_view name) {
    for (std::string_view n : {"From", "To", "Cc", "Reply-To"}) {
      if (vigil::detail::iequals(n, name)) return true;
    }
    return false;
  }
  static std::string encode_address_list(std::string_view v) {
    std::string out;
    vigil::detail::for_each_list_member(v, ',', [&](std::string_view a) {
      if (!out.empty()) out += ", ";
      out += encode_address(a);
      return true;
    });
    return out;
  }

  EmailConfig config_;
  Smarthost host_;
  std::unique_ptr<vigil::detail::SmtpSender> smtp_;
  TemplateField subject_, text_, html_;
  std::vector<std::pair<std::string, TemplateField>> headers_;
  std::string shown_;
};

}  // namespace

std::unique_ptr<Notifier> make_email_notifier(EmailConfig config) {
  return std::make_unique<EmailNotifier>(std::move(config));
}

}  // namespace vigil::alerting
