// The admin server's responses as they go on the wire, and the creation of sessions (session.h).
#include "session.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "core/detail/gzip.h"
#include "core/detail/text.h"

namespace vigil::admin {
namespace detail {
namespace {

using vigil::detail::iequals;

bool is_header_name(std::string_view name) noexcept {
  if (name.empty()) return false;
  constexpr std::string_view kTokenPunct = "!#$%&'*+-.^_`|~";
  return std::all_of(name.begin(), name.end(), [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           kTokenPunct.find(c) != std::string_view::npos;
  });
}

bool is_header_value(std::string_view value) noexcept {
  return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

// Headers the server computes itself; a handler's copies are dropped.
bool is_reserved_header(std::string_view name) noexcept {
  constexpr std::array<std::string_view, 7> kReserved = {
      "content-length", "transfer-encoding",      "connection",      "date",
      "content-type",   "x-content-type-options", "content-encoding"};
  return std::any_of(kReserved.begin(), kReserved.end(),
                     [&](std::string_view r) { return iequals(name, r); });
}

bool has_header(const Response& r, std::string_view name) noexcept {
  return std::any_of(r.headers.begin(), r.headers.end(),
                     [&](const auto& h) { return iequals(h.first, name); });
}

// The current time as an HTTP date (RFC 9110 IMF-fixdate), e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
std::string http_date_now() {
  static constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed",
                                                       "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  if (gmtime_r(&now, &tm) == nullptr || tm.tm_wday < 0 || tm.tm_wday > 6 || tm.tm_mon < 0 ||
      tm.tm_mon > 11) {
    return "Thu, 01 Jan 1970 00:00:00 GMT";
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT",
                kDays[static_cast<std::size_t>(tm.tm_wday)], tm.tm_mday,
                kMonths[static_cast<std::size_t>(tm.tm_mon)], tm.tm_year + 1900, tm.tm_hour,
                tm.tm_min, tm.tm_sec);
  return buf;
}

}  // namespace

// Constant-time comparison (the time depends on the lengths only).
bool secure_equals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Response text_response(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

// Builds the wire response for `r`: gzip when `req` accepts it (and the body is large enough),
// the server's own headers, the handler's valid headers. HEAD gets the headers of the GET
// response and no body.
std::shared_ptr<HttpResponse> build_response(const ServerOptions& options, const Request* req,
                                             Response r, bool head, bool keep_alive) {
  if (r.status < 100 || r.status > 999) r = text_response(500, "500 Internal Server Error\n");
  const bool bodyless = r.status < 200 || r.status == 204 || r.status == 304;
  auto res = std::make_shared<HttpResponse>();
  res->version(11);
  res->result(static_cast<unsigned>(r.status));
  std::string body = bodyless ? std::string() : std::move(r.body);
  bool gzipped = false;
  bool varies = false;
  if (options.enable_gzip && !bodyless && body.size() >= options.gzip_min_bytes &&
      !has_header(r, "Content-Encoding")) {
    varies = true;
    const std::optional<std::string_view> accept =
        req != nullptr ? req->header("Accept-Encoding") : std::nullopt;
    if (accept && vigil::detail::accepts_gzip(*accept)) {
      if (std::optional<std::string> z = vigil::detail::gzip_compress(body)) {
        body = std::move(*z);
        gzipped = true;
      }
    }
  }
  if (!bodyless) res->set(http::field::content_type, r.content_type);
  res->set("X-Content-Type-Options", "nosniff");
  res->set(http::field::date, http_date_now());
  if (gzipped) res->set(http::field::content_encoding, "gzip");
  if (varies) res->set(http::field::vary, "Accept-Encoding");
  for (const auto& [name, value] : r.headers) {
    if (!is_header_name(name) || !is_header_value(value) || is_reserved_header(name)) continue;
    res->insert(name, value);
  }
  if (!bodyless) res->set(http::field::content_length, std::to_string(body.size()));
  if (!head) res->body() = std::move(body);
  res->keep_alive(keep_alive);
  return res;
}

}  // namespace detail

void Server::Impl::start_session(std::string address, tcp::socket socket) {
  if (tls_) {
    start_tls_session(std::move(address), std::move(socket));
  } else {
    start_plain_session(std::move(address), std::move(socket));
  }
}

}  // namespace vigil::admin
