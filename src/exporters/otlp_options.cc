// OtlpTraceExporterOptions: validation, OTEL_EXPORTER_OTLP_* variables, header lists.
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

constexpr std::chrono::milliseconds kDefaultTimeout{10000};
constexpr std::string_view kDefaultEndpoint = "http://localhost:4318/v1/traces";

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
std::optional<Setting> lookup(const trace::Environment& env, std::string_view suffix, bool traces) {
  const std::string name =
      std::string(traces ? "OTEL_EXPORTER_OTLP_TRACES_" : "OTEL_EXPORTER_OTLP_") +
      std::string(suffix);
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

void OtlpTraceExporterOptions::validate() const {
  const std::string problem = check_http_url(endpoint);
  if (!problem.empty()) {
    throw Error("OTLP exporter: endpoint '" + endpoint + "' " + problem);
  }
  vigil::detail::validate_headers(headers, "OTLP exporter");
  if (timeout.count() <= 0) throw Error("OTLP exporter: timeout must be positive");
  vigil::detail::validate_retry(retry, "OTLP exporter");
}

OtlpTraceExporterOptions OtlpTraceExporterOptions::from_environment(const trace::Environment& env) {
  OtlpTraceExporterOptions o;

  // Endpoint: the traces variable as is; the generic one with v1/traces appended.
  bool have_endpoint = false;
  if (auto s = lookup(env, "ENDPOINT", true)) {
    const std::string problem = check_http_url(s->value);
    if (problem.empty()) {
      o.endpoint = s->value;
      have_endpoint = true;
    } else {
      warn_bad(env, *s, problem, "OTEL_EXPORTER_OTLP_ENDPOINT or the default");
    }
  }
  if (!have_endpoint) {
    if (auto s = lookup(env, "ENDPOINT", false)) {
      const std::string problem = check_http_url(s->value);
      if (problem.empty()) {
        std::string url = s->value;
        if (url.back() != '/') url += '/';
        o.endpoint = url + "v1/traces";
      } else {
        warn_bad(env, *s, problem, kDefaultEndpoint);
      }
    }
  }

  // Headers: generic first, the traces list wins per (case-insensitive) name.
  for (bool traces : {false, true}) {
    auto s = lookup(env, "HEADERS", traces);
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

  for (bool traces : {true, false}) {
    auto s = lookup(env, "PROTOCOL", traces);
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

  for (bool traces : {true, false}) {
    auto s = lookup(env, "COMPRESSION", traces);
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

  for (bool traces : {true, false}) {
    auto s = lookup(env, "TIMEOUT", traces);
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
               std::to_string(kDefaultTimeout.count()));
    }
    break;
  }

  const auto either = [&env](std::string_view suffix) {
    auto s = lookup(env, suffix, true);
    return s ? s : lookup(env, suffix, false);
  };
  if (auto s = either("CERTIFICATE")) o.certificate_file = s->value;
  if (auto s = either("CLIENT_CERTIFICATE")) o.client_certificate_file = s->value;
  if (auto s = either("CLIENT_KEY")) o.client_key_file = s->value;
  return o;
}

}  // namespace vigil::exporters
