// OtlpTraceExporterOptions: validation, OTEL_EXPORTER_OTLP_* variables, header lists.
#include "otlp_options.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <string>
#include <string_view>

#include "core/detail/kv_list.h"
#include "core/detail/text.h"
#include "http_options.h"
#include "vigil/core/error.h"
#include "vigil/exporters/otlp_trace_exporter.h"

namespace vigil::exporters {
namespace {

using vigil::detail::ascii_lower;
using vigil::detail::trim;

using vigil::detail::check_http_url;
using vigil::detail::is_http_token;
using vigil::detail::sendable_header_value;

// The value of the signal-specific variable, else of the generic one.
struct Setting {
  std::string name;
  std::string value;
};
std::optional<Setting> lookup_setting(const trace::Environment& env, std::string_view suffix,
                                      std::string_view signal) {
  std::string name = "OTEL_EXPORTER_OTLP_";
  if (!signal.empty()) {
    name += signal;
    name += '_';
  }
  name += suffix;
  if (auto v = env.get(name)) return Setting{name, *v};
  return std::nullopt;
}

void warn_bad(const trace::Environment& env, const Setting& s, std::string_view rule,
              std::string_view fallback) {
  env.warn(s.name + "='" + s.value + "' " + std::string(rule) + "; using " + std::string(fallback));
}

}  // namespace

std::string_view to_string(OtlpProtocol protocol) noexcept {
  return protocol == OtlpProtocol::kHttpJson ? "http/json" : "http/protobuf";
}

std::string_view to_string(OtlpCompression compression) noexcept {
  return compression == OtlpCompression::kGzip ? "gzip" : "none";
}

std::vector<std::pair<std::string, std::string>> parse_otlp_headers(
    std::string_view text, std::vector<std::string>* errors) {
  vigil::detail::KvListOptions options;
  options.skip_bad_members = true;
  options.check_key = [](std::string_view key) -> std::string {
    return is_http_token(key) ? "" : "is not a valid header name";
  };
  options.check_value = [](std::string_view value) -> std::string {
    return sendable_header_value(value) ? "" : "decodes to CR, LF or NUL";
  };
  vigil::detail::ParseResult<vigil::detail::KvList> parsed =
      vigil::detail::parse_kv_list(text, options);
  std::vector<std::pair<std::string, std::string>> out;
  if (errors != nullptr) {
    for (std::string& e : parsed->skipped) errors->push_back("header entry " + std::move(e));
  }
  for (vigil::detail::KvPair& kv : parsed->pairs) {
    out.emplace_back(std::move(kv.key), std::move(kv.value));
  }
  return out;
}

namespace detail {

std::vector<std::pair<std::string, std::string>> otlp_request_headers(
    const std::vector<std::pair<std::string, std::string>>& headers) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [name, value] : headers) {
    if (vigil::detail::iequals(name, "content-type") ||
        vigil::detail::iequals(name, "content-encoding")) {
      continue;
    }
    out.emplace_back(name, value);
  }
  return out;
}

void validate_otlp_settings(std::string_view who, std::string_view endpoint,
                            const std::vector<std::pair<std::string, std::string>>& headers,
                            std::chrono::milliseconds timeout, const RetryOptions& retry) {
  const std::string w(who);
  const std::string problem = check_http_url(endpoint);
  if (!problem.empty()) {
    throw Error(w + ": endpoint '" + std::string(endpoint) + "' " + problem);
  }
  vigil::detail::validate_headers(headers, w);
  if (timeout.count() <= 0) throw Error(w + ": timeout must be positive");
  vigil::detail::validate_retry(retry, w);
}

void read_otlp_environment(const trace::Environment& env, std::string_view signal,
                           std::string_view path, const OtlpHttpSettings& o) {
  const auto lookup = [&env, signal](std::string_view suffix, bool specific) {
    return lookup_setting(env, suffix, specific ? signal : std::string_view());
  };

  // Endpoint: the signal's variable as is; the generic one with `path` appended.
  bool have_endpoint = false;
  if (auto s = lookup("ENDPOINT", true)) {
    const std::string problem = check_http_url(s->value);
    if (problem.empty()) {
      o.endpoint = s->value;
      have_endpoint = true;
    } else {
      warn_bad(env, *s, problem, "OTEL_EXPORTER_OTLP_ENDPOINT or the default");
    }
  }
  if (!have_endpoint) {
    if (auto s = lookup("ENDPOINT", false)) {
      const std::string problem = check_http_url(s->value);
      if (problem.empty()) {
        std::string url = s->value;
        if (url.back() != '/') url += '/';
        o.endpoint = url + std::string(path);
      } else {
        warn_bad(env, *s, problem, o.endpoint);
      }
    }
  }

  // Headers: generic first, the signal's list wins per (case-insensitive) name.
  for (bool specific : {false, true}) {
    auto s = lookup("HEADERS", specific);
    if (!s) continue;
    std::vector<std::string> errors;
    auto parsed = parse_otlp_headers(s->value, &errors);
    for (const std::string& e : errors) env.warn(s->name + ": " + e + "; entry ignored");
    for (auto& header : parsed) {
      auto it = std::find_if(o.headers.begin(), o.headers.end(), [&](const auto& h) {
        return vigil::detail::iequals(h.first, header.first);
      });
      if (it != o.headers.end()) {
        it->second = std::move(header.second);
      } else {
        o.headers.push_back(std::move(header));
      }
    }
  }

  for (bool specific : {true, false}) {
    auto s = lookup("PROTOCOL", specific);
    if (!s) continue;
    const std::string v = ascii_lower(trim(s->value));
    if (v == "http/protobuf") {
      o.protocol = OtlpProtocol::kHttpProtobuf;
    } else if (v == "http/json") {
      o.protocol = OtlpProtocol::kHttpJson;
    } else if (v == "grpc") {
      warn_bad(env, *s, "is not supported by vigil (OTLP/HTTP only)", "http/protobuf");
    } else {
      warn_bad(env, *s, "must be http/protobuf or http/json", "http/protobuf");
    }
    break;
  }

  for (bool specific : {true, false}) {
    auto s = lookup("COMPRESSION", specific);
    if (!s) continue;
    const std::string v = ascii_lower(trim(s->value));
    if (v == "gzip") {
      o.compression = OtlpCompression::kGzip;
    } else if (v == "none") {
      o.compression = OtlpCompression::kNone;
    } else {
      warn_bad(env, *s, "must be gzip or none", "none");
    }
    break;
  }

  for (bool specific : {true, false}) {
    auto s = lookup("TIMEOUT", specific);
    if (!s) continue;
    const std::string_view v = trim(s->value);
    int64_t ms = 0;
    bool ok = !v.empty() && v.size() <= 12 &&
              std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (ok) {
      for (char c : v) ms = ms * 10 + (c - '0');
      ok = ms > 0;
    }
    if (ok) {
      o.timeout = std::chrono::milliseconds(ms);
    } else {
      warn_bad(env, *s, "must be a positive number of milliseconds",
               std::to_string(o.timeout.count()));
    }
    break;
  }

  const auto either = [&lookup](std::string_view suffix) {
    auto s = lookup(suffix, true);
    return s ? s : lookup(suffix, false);
  };
  if (auto s = either("CERTIFICATE")) o.certificate_file = s->value;
  if (auto s = either("CLIENT_CERTIFICATE")) o.client_certificate_file = s->value;
  if (auto s = either("CLIENT_KEY")) o.client_key_file = s->value;
}

}  // namespace detail

void OtlpTraceExporterOptions::validate() const {
  detail::validate_otlp_settings("OTLP exporter", endpoint, headers, timeout, retry);
}

OtlpTraceExporterOptions OtlpTraceExporterOptions::from_environment(const trace::Environment& env) {
  OtlpTraceExporterOptions o;
  detail::read_otlp_environment(env, "TRACES", "v1/traces", detail::settings_of(o));
  return o;
}

}  // namespace vigil::exporters
