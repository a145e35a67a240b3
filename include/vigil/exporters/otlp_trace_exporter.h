// vigil/exporters/otlp_trace_exporter.h: sends finished spans to an OpenTelemetry Collector (or
// Jaeger, Tempo, any OTLP/HTTP receiver) at /v1/traces, in protobuf or JSON, over libcurl.
//
//   // From the standard variables (OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT, _HEADERS, _PROTOCOL,
//   // _COMPRESSION, _TIMEOUT): what OTEL_TRACES_EXPORTER=otlp does.
//   auto exporter = std::make_unique<vigil::exporters::OtlpTraceExporter>(
//       vigil::exporters::OtlpTraceExporterOptions::from_environment());
//
//   // Or in code:
//   vigil::exporters::OtlpTraceExporterOptions o;
//   o.endpoint = "http://otel-collector:4318/v1/traces";
//   o.protocol = vigil::exporters::OtlpProtocol::kHttpJson;
//   o.compression = vigil::exporters::OtlpCompression::kGzip;
//   o.headers = {{"authorization", "Bearer abc"}};
//   auto exporter = std::make_unique<vigil::exporters::OtlpTraceExporter>(o);
//   // hand it to a BatchSpanProcessor (vigil/trace/...), which calls export_spans on its thread.
//
// Delivery. One export_spans call is one HTTP POST of the whole batch, retried on 429, 502, 503,
// 504 and on connection errors with exponential backoff and jitter, honouring Retry-After
// (seconds or an HTTP date); never on 400 or other 4xx. Every retry and wait ends by the
// earlier of the processor's deadline and `timeout` after the call started. A collector that
// accepts only part of a batch (OTLP partial success) is reported in the ExportResult and
// counted. Spans that are not delivered are counted, never dropped silently: see
// OtlpExporterStats and the metrics listed at OtlpTraceExporterOptions::metrics.
//
// Threading: export_spans is called by one thread at a time (the processor's); it blocks that
// thread only, for at most the deadline. shutdown() may be called from any thread and aborts an
// export in flight within about 100 ms. Never use this exporter with a simple (synchronous)
// processor on request threads: it would put network round trips on them.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vigil/core/retry.h"
#include "vigil/trace/environment.h"
#include "vigil/trace/exporter.h"
#include "vigil/trace/span_data.h"

namespace vigil::metrics {
class Registry;
}  // namespace vigil::metrics

namespace vigil::exporters {

// OTEL_EXPORTER_OTLP_PROTOCOL values. "grpc" is not supported (it falls back to http/protobuf
// with a warning).
enum class OtlpProtocol : uint8_t {
  kHttpProtobuf,  // "http/protobuf": Content-Type application/x-protobuf (the OTLP default)
  kHttpJson,      // "http/json": Content-Type application/json, OTLP/JSON encoding
};
// "http/protobuf" or "http/json".
std::string_view to_string(OtlpProtocol protocol) noexcept;

// OTEL_EXPORTER_OTLP_COMPRESSION values.
enum class OtlpCompression : uint8_t {
  kNone,  // "none"
  kGzip,  // "gzip": the body is gzipped and sent with Content-Encoding: gzip
};
std::string_view to_string(OtlpCompression compression) noexcept;

// Retries of one export call. The n-th wait (n = 1, 2, ...) is
// min(max_backoff, initial_backoff * multiplier^(n-1)), scaled by a random factor in
// [1 - jitter, 1]; a Retry-After header replaces it. No wait goes past the call's deadline:
// when the next attempt could not start in time the call gives up at once. vigil's one retry
// policy type (vigil/core/retry.h).
using OtlpRetryOptions = vigil::RetryOptions;

struct OtlpTraceExporterOptions {
  // The full URL spans are POSTed to, used as is (http:// or https://).
  std::string endpoint = "http://localhost:4318/v1/traces";
  OtlpProtocol protocol = OtlpProtocol::kHttpProtobuf;
  OtlpCompression compression = OtlpCompression::kNone;
  // Sent with every request, e.g. {"authorization", "Bearer ..."}. Names are HTTP tokens;
  // values contain no CR, LF or NUL. Content-Type and Content-Encoding are set by the exporter.
  std::vector<std::pair<std::string, std::string>> headers;
  // The most one export call may take, retries and waits included (OTEL_EXPORTER_OTLP_TIMEOUT).
  // The processor's deadline, when earlier, wins.
  std::chrono::milliseconds timeout{10000};
  OtlpRetryOptions retry;
  // TLS (https endpoints): a CA bundle to verify the collector with (empty: the system's), and
  // a client certificate and key in PEM for mutual TLS (OTEL_EXPORTER_OTLP_CERTIFICATE,
  // _CLIENT_CERTIFICATE, _CLIENT_KEY).
  std::string certificate_file;
  std::string client_certificate_file;
  std::string client_key_file;
  // Responses larger than this are cut (the partial-success message is then lost, not the spans).
  std::size_t max_response_bytes = std::size_t{64} << 10;
  // The registry the exporter counts itself in (get-or-create, shared by every OTLP exporter of
  // the registry); nullptr: nowhere, &vigil::metrics::Registry::global() for the global registry.
  // configure_from_environment passes EnvironmentConfigOptions::self_metrics. The registry must
  // outlive the exporter. Families:
  //   vigil_otlp_exported_spans_total             spans the collector accepted
  //   vigil_otlp_spans_dropped_total{reason}      spans not delivered: reason = rejected
  //                                               (partial success), http_error, timeout,
  //                                               connection, shutdown, encoding
  //   vigil_otlp_export_failures_total{reason}    export calls that delivered nothing, same
  //                                               reasons (rejected not included)
  //   vigil_otlp_export_retries_total             retried attempts
  //   vigil_otlp_export_sent_bytes_total          request bytes on the wire (after gzip)
  //   vigil_otlp_export_duration_seconds          duration of export calls, retries included
  metrics::Registry* self_metrics = nullptr;

  // The options OpenTelemetry's environment variables give, read through `env` (the process
  // environment by default). Signal-specific variables win over the generic ones:
  //   OTEL_EXPORTER_OTLP_TRACES_ENDPOINT  used as is
  //   OTEL_EXPORTER_OTLP_ENDPOINT         base URL; "v1/traces" is appended ("/v1/traces" when
  //                                       it does not end with '/')
  //   OTEL_EXPORTER_OTLP_[TRACES_]HEADERS "k1=v1,k2=v2", values percent-decoded; the generic
  //                                       and traces lists are merged, traces winning per key
  //   OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL     http/protobuf | http/json
  //   OTEL_EXPORTER_OTLP_[TRACES_]COMPRESSION  gzip | none
  //   OTEL_EXPORTER_OTLP_[TRACES_]TIMEOUT      milliseconds
  //   OTEL_EXPORTER_OTLP_[TRACES_]CERTIFICATE, _CLIENT_CERTIFICATE, _CLIENT_KEY  file paths
  // A bad value is reported through env.warn (naming the variable, the value and the rule) and
  // the default is used; for HEADERS, only the bad entries are skipped. Never throws (except
  // std::bad_alloc). Cost: a few getenv calls.
  static OtlpTraceExporterOptions from_environment(
      const trace::Environment& env = trace::Environment());

  // Throws vigil::Error naming the first invalid option (endpoint not http(s)://, a header name
  // or value that cannot be sent, timeout <= 0, retry settings out of range). The constructor
  // calls it.
  void validate() const;
};

// Parses an OTEL_EXPORTER_OTLP_HEADERS value: comma-separated "key=value" entries, spaces
// around keys and values trimmed, values percent-decoded (%XX). Entries that are malformed (no
// '=', an empty or non-token key, a bad %-escape, CR/LF/NUL after decoding) are skipped and
// described in `errors` (when given). Never throws except std::bad_alloc.
std::vector<std::pair<std::string, std::string>> parse_otlp_headers(
    std::string_view text, std::vector<std::string>* errors = nullptr);

// What one exporter has done since it was created. Counters only grow.
struct OtlpExporterStats {
  uint64_t export_calls = 0;       // export_spans calls
  uint64_t exported_spans = 0;     // spans the collector accepted
  uint64_t dropped_spans = 0;      // spans not delivered (failed calls and rejected spans)
  uint64_t rejected_spans = 0;     // of those, rejected by the collector (partial success)
  uint64_t failed_exports = 0;     // export calls that delivered nothing
  uint64_t partial_successes = 0;  // responses carrying a partial_success
  uint64_t retries = 0;            // attempts after the first
  uint64_t sent_bytes = 0;         // request bytes sent (after compression)
  std::string last_error;          // the last failure or partial-success message
};

class OtlpTraceExporter final : public trace::SpanExporter {
 public:
  // Validates `options` (throws vigil::Error, see OtlpTraceExporterOptions::validate) and
  // registers the metrics. Opens no connection: the first export does.
  explicit OtlpTraceExporter(OtlpTraceExporterOptions options = {});
  ~OtlpTraceExporter() override;
  OtlpTraceExporter(const OtlpTraceExporter&) = delete;
  OtlpTraceExporter& operator=(const OtlpTraceExporter&) = delete;

  // Encodes `spans` into one ExportTraceServiceRequest (grouped by resource and scope) and POSTs
  // it, retrying as described above, until the earlier of `deadline` and options().timeout from
  // now. Returns kSuccess (with rejected_spans and the collector's message on partial success),
  // kFailure (4xx other than 429, encoding error, after shutdown) or kRetryable (timeout,
  // connection error, 429/5xx after the last attempt). Never throws. Called by one thread at a
  // time. Cost: encoding ~0.5 µs per span (protobuf) plus the round trip.
  trace::ExportResult export_spans(std::span<const trace::SpanData* const> spans,
                                   Deadline deadline) override;

  // Nothing is buffered: returns true.
  bool force_flush(std::chrono::milliseconds timeout) override;

  // Aborts an export in flight (its spans are counted as dropped, reason shutdown) and makes
  // later exports fail at once. Returns false when an export was still running after `timeout`.
  // Idempotent; thread-safe.
  bool shutdown(std::chrono::milliseconds timeout) override;

  std::string_view name() const noexcept override { return "otlp"; }

  const OtlpTraceExporterOptions& options() const noexcept;
  // A snapshot of the counters. Thread-safe.
  OtlpExporterStats stats() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// Registers the "otlp" factory with vigil::trace::register_exporter_factory, so that
// OTEL_TRACES_EXPORTER=otlp creates an OtlpTraceExporter from the environment. Linking
// vigil::exporters does this before main() already; call it again after replacing the factory
// or when the library was linked in a way that skipped static initialisation. Thread-safe.
void register_otlp_trace_exporter();

}  // namespace vigil::exporters
