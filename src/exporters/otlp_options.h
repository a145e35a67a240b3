// src/exporters/otlp_options.h (private): what the OTLP trace and metric exporters share about
// their options: the OTEL_EXPORTER_OTLP_[<SIGNAL>_]* variables, validation and the HttpSender
// configuration. One implementation (otlp_options.cc) for both signals.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/detail/http_sender.h"
#include "vigil/core/retry.h"
#include "vigil/exporters/otlp_trace_exporter.h"
#include "vigil/trace/environment.h"

namespace vigil::exporters::detail {

// The OTLP/HTTP settings of one exporter's options struct, by reference.
struct OtlpHttpSettings {
  std::string& endpoint;
  OtlpProtocol& protocol;
  OtlpCompression& compression;
  std::vector<std::pair<std::string, std::string>>& headers;
  std::chrono::milliseconds& timeout;
  std::string& certificate_file;
  std::string& client_certificate_file;
  std::string& client_key_file;
};

template <typename Options>
OtlpHttpSettings settings_of(Options& o) {
  return {o.endpoint,
          o.protocol,
          o.compression,
          o.headers,
          o.timeout,
          o.certificate_file,
          o.client_certificate_file,
          o.client_key_file};
}

// Reads OTEL_EXPORTER_OTLP_<signal>_* (signal "TRACES", "METRICS") over the generic
// OTEL_EXPORTER_OTLP_*: ENDPOINT (the signal's as is, the generic one with `path`, e.g.
// "v1/metrics", appended), HEADERS (merged, the signal's winning per name), PROTOCOL,
// COMPRESSION, TIMEOUT, CERTIFICATE, CLIENT_CERTIFICATE, CLIENT_KEY. Bad values: a warning
// through env.warn and the current value is kept. Never throws except std::bad_alloc.
void read_otlp_environment(const trace::Environment& env, std::string_view signal,
                           std::string_view path, const OtlpHttpSettings& out);

// Throws vigil::Error ("<who>: ...") naming the first invalid setting: endpoint, headers,
// timeout, retry.
void validate_otlp_settings(std::string_view who, std::string_view endpoint,
                            const std::vector<std::pair<std::string, std::string>>& headers,
                            std::chrono::milliseconds timeout, const RetryOptions& retry);

// `headers` without Content-Type and Content-Encoding, which the exporter owns (a user header of
// the same name would contradict the body).
std::vector<std::pair<std::string, std::string>> otlp_request_headers(
    const std::vector<std::pair<std::string, std::string>>& headers);

// The HttpSender configuration of an OTLP exporter (Content-Type from the protocol, gzip, the
// user's headers except Content-Type/Content-Encoding, TLS files).
template <typename Options>
vigil::detail::HttpConfig otlp_http_config(const Options& o) {
  vigil::detail::HttpConfig c;
  c.url = o.endpoint;
  c.content_type =
      o.protocol == OtlpProtocol::kHttpJson ? "application/json" : "application/x-protobuf";
  c.gzip = o.compression == OtlpCompression::kGzip;
  c.headers = otlp_request_headers(o.headers);
  c.certificate_file = o.certificate_file;
  c.client_certificate_file = o.client_certificate_file;
  c.client_key_file = o.client_key_file;
  c.max_response_bytes = o.max_response_bytes;
  c.user_agent = "vigil-otlp-exporter/0.1";
  return c;
}

}  // namespace vigil::exporters::detail
