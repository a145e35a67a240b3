// vigil/exporters/remote_write_exporter.h: pushes metrics to a Prometheus remote write 1.0
// receiver (Prometheus with --web.enable-remote-write-receiver, Mimir, Cortex, Thanos Receive,
// VictoriaMetrics, Grafana Cloud, Amazon Managed Prometheus behind a signing proxy, ...).
//
//   vigil::exporters::RemoteWriteOptions o;
//   o.url = "http://prometheus:9090/api/v1/write";
//   o.external_labels = {{"instance", "batch-7"}, {"job", "nightly"}};
//   o.basic_auth_username = "tenant";
//   o.basic_auth_password = "secret";
//   engine.add(std::make_unique<vigil::exporters::RemoteWriteExporter>(o));
//
//   // Or from VIGIL_REMOTE_WRITE_* (nullopt when VIGIL_REMOTE_WRITE_URL is unset):
//   if (auto o = vigil::exporters::RemoteWriteOptions::from_environment())
//     engine.add(std::make_unique<vigil::exporters::RemoteWriteExporter>(*o));
//
// The wire format (Prometheus Remote-Write 1.0 specification). Every export is one or more HTTP
// POSTs of a prometheus.WriteRequest protobuf, compressed with snappy's block format, with the
// headers Content-Type: application/x-protobuf, Content-Encoding: snappy,
// X-Prometheus-Remote-Write-Version: 0.1.0 and User-Agent: vigil-remote-write/0.1. The snapshot
// becomes the series Prometheus itself would scrape from vigil's /metrics:
//   counter    <prefix><name>_total
//   gauge      <prefix><name>
//   info       <prefix><name>_info (value 1)
//   histogram  <prefix><name>_bucket{le="..."} (cumulative, +Inf last), _count, _sum
//   summary    <prefix><name>{quantile="..."}, _count, _sum
// each with its labels (constant labels included) and the external labels, sorted by name with
// __name__ among them; a label with an empty value is left out (the specification forbids
// them; Prometheus treats an empty label as absent), and a series label wins over an external
// label of the same name (le and quantile included). Every series carries one sample per export, at
// the snapshot's timestamp in milliseconds; timestamps never go backwards between exports (an
// export within the same millisecond as the previous one, or after the wall clock stepped back, is
// sent 1 ms after the previous one), so samples are in time order per series.
//
// Staleness. A series that was in the previous export and is not in this one (a removed label
// child, an unregistered family) is sent once more with a staleness marker (the NaN whose bits
// are 0x7ff0000000000002), so that Prometheus ends it at once instead of five minutes later. A
// gauge whose value happens to have those bits is sent as an ordinary NaN.
//
// Batching and delivery. Series are packed into requests of at most max_samples_per_send
// samples (2000 by default, Prometheus' own max_samples_per_send since 2.26). A request is
// retried on 5xx and 429 statuses and on connection errors, with exponential backoff and
// jitter, honouring Retry-After; never on other 4xx (the receiver rejected the data: the
// request's samples are counted as dropped, reason "rejected", and the export goes on with the
// next request). When a request still fails after its retries (or the deadline passes, or the
// engine aborts at shutdown), it and the requests after it are counted as dropped and the
// export stops. Staleness markers of a failed request are not sent again.
//
// Metadata (type, help, unit of each family) goes in the WriteRequest's metadata field of the
// request that carries the family's first series (send_metadata). Exemplars (counter
// exemplars on the _total series, histogram bucket exemplars on their _bucket series) are sent
// when send_exemplars is set (off by default, as in Prometheus).
//
// Thread-safety: export_metrics is called by the engine on this exporter's thread, one call at
// a time; abort(), stats() and options() may be called from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vigil/core/retry.h"
#include "vigil/exporters/metric_exporter.h"
#include "vigil/trace/environment.h"

namespace vigil::exporters {

struct RemoteWriteOptions {
  // The receiver's URL (http:// or https://), used as is, e.g.
  // http://127.0.0.1:9090/api/v1/write. Required. VIGIL_REMOTE_WRITE_URL.
  std::string url;
  // Extra request headers, e.g. {"X-Scope-OrgID", "tenant-1"} or {"Authorization", "Bearer
  // ..."}. Names are HTTP tokens; values contain no CR, LF or NUL. Content-Type,
  // Content-Encoding, Content-Length and X-Prometheus-Remote-Write-Version belong to the
  // exporter and are refused. VIGIL_REMOTE_WRITE_HEADERS="k=v,k2=v2" (values percent-decoded).
  std::vector<std::pair<std::string, std::string>> headers;
  // HTTP basic authentication when the username is not empty (never with an Authorization
  // header). Never written to errors or logs. VIGIL_REMOTE_WRITE_BASIC_AUTH="user:password".
  std::string basic_auth_username;
  std::string basic_auth_password;
  // Labels added to every series (Prometheus' external_labels), e.g. {"cluster", "eu-1"}. Valid
  // label names not starting with "__", non-empty values, no name twice. A series label of the
  // same name wins. VIGIL_REMOTE_WRITE_LABELS="k=v,k2=v2" (values percent-decoded).
  std::vector<std::pair<std::string, std::string>> external_labels;
  // Prepended to every metric name ("" or a valid metric name start, e.g. "myapp_").
  std::string prefix;
  // The most samples (series values and staleness markers) in one request, >= 1.
  // VIGIL_REMOTE_WRITE_MAX_SAMPLES.
  std::size_t max_samples_per_send = 2000;
  bool send_metadata = true;
  bool send_exemplars = false;
  bool staleness_markers = true;
  // Retries of each request (see the top of this file). The engine's deadline bounds them all.
  vigil::RetryOptions retry{.max_attempts = 5,
                            .initial_backoff = std::chrono::milliseconds(100),
                            .max_backoff = std::chrono::milliseconds(5000)};
  // TLS (https): a CA bundle (empty: the system's), a client certificate and key in PEM.
  std::string certificate_file;
  std::string client_certificate_file;
  std::string client_key_file;

  // Throws vigil::Error naming the first invalid option (url not http(s)://, a header that
  // cannot be sent or is the exporter's own, basic auth together with an Authorization header,
  // an invalid or repeated external label, an invalid prefix, max_samples_per_send == 0, retry
  // settings out of range). The constructor calls it.
  void validate() const;

  // Options from the environment, read through `env`; nullopt when VIGIL_REMOTE_WRITE_URL is
  // unset or empty, or is not an http(s) URL (with a warning). Variables:
  //   VIGIL_REMOTE_WRITE_URL          the receiver's URL (enables the exporter)
  //   VIGIL_REMOTE_WRITE_HEADERS      "k=v,k2=v2": extra headers; bad entries are skipped with a
  //                                   warning
  //   VIGIL_REMOTE_WRITE_BASIC_AUTH   "user:password" (split at the first ':'); without ':' it
  //                                   is ignored with a warning (which never shows the value)
  //   VIGIL_REMOTE_WRITE_LABELS       "k=v,k2=v2": external labels; bad entries skipped with a
  //                                   warning
  //   VIGIL_REMOTE_WRITE_MAX_SAMPLES  samples per request, 1..1000000 (else a warning and 2000)
  // Never throws except std::bad_alloc.
  static std::optional<RemoteWriteOptions> from_environment(
      const vigil::trace::Environment& env = vigil::trace::Environment());
};

// What the exporter has done since it was created. Counters only grow.
struct RemoteWriteStats {
  uint64_t exports = 0;             // export_metrics calls
  uint64_t failed_exports = 0;      // calls that did not deliver everything
  uint64_t requests = 0;            // HTTP requests that were delivered (2xx)
  uint64_t failed_requests = 0;     // requests that were not
  uint64_t samples = 0;             // samples delivered (staleness markers included)
  uint64_t dropped_samples = 0;     // samples not delivered
  uint64_t stale_markers = 0;       // staleness markers delivered
  uint64_t retries = 0;             // attempts after the first
  uint64_t bytes = 0;               // request bytes sent (snappy-compressed, every attempt)
  uint64_t uncompressed_bytes = 0;  // protobuf bytes before compression (delivered requests)
  std::string last_error;           // "" when none yet
};

class RemoteWriteExporter final : public MetricExporter {
 public:
  // Validates `options` (throws vigil::Error, see RemoteWriteOptions::validate). Opens no
  // connection: the first export does.
  explicit RemoteWriteExporter(RemoteWriteOptions options);
  ~RemoteWriteExporter() override;
  RemoteWriteExporter(const RemoteWriteExporter&) = delete;
  RemoteWriteExporter& operator=(const RemoteWriteExporter&) = delete;

  std::string_view name() const noexcept override { return "remote_write"; }
  // Encodes `snapshot` (plus staleness markers) into requests and POSTs them as described at
  // the top of this file, returning by `deadline`. ExportOutcome::points counts samples
  // delivered, dropped_points samples not delivered, requests the requests delivered. Never
  // throws. Cost: ~0.3 µs per series to encode and compress, plus the round trips.
  ExportOutcome export_metrics(const MetricsSnapshot& snapshot, ExportDeadline deadline) override;
  // Makes a request in flight (and its retry waits) return at once, and later exports fail
  // (reason "shutdown"). Thread-safe; idempotent.
  void abort() noexcept override;

  const RemoteWriteOptions& options() const noexcept;
  // A copy of the counters. Thread-safe.
  RemoteWriteStats stats() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::exporters
