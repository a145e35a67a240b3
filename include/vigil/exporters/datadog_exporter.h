// vigil/exporters/datadog_exporter.h: pushes metrics to the Datadog HTTP API (metrics
// submission, v2 series endpoint: POST {site}/api/v2/series), with the API key header, gzip,
// retries and payload splitting. For hosts without a Datadog agent (serverless, batch jobs); with
// an agent, prefer DogStatsD (statsd_exporter.h).
//
//   vigil::exporters::DatadogExporterOptions o;
//   o.api_key = std::getenv("DD_API_KEY");
//   o.site = "datadoghq.eu";                 // -> https://api.datadoghq.eu/api/v2/series
//   o.prefix = "myapp";                      // myapp.http_requests
//   o.tags = {"env:prod", "team:core"};
//   o.host = "web-1";
//   engine.add(std::make_unique<vigil::exporters::DatadogExporter>(o));
//
//   // Or from VIGIL_DATADOG_API_KEY / DD_API_KEY and friends (see from_environment):
//   if (auto o = vigil::exporters::DatadogExporterOptions::from_environment())
//     engine.add(std::make_unique<vigil::exporters::DatadogExporter>(*o));
//
// What is sent, per series of the cumulative snapshot (metric name = prefix + family name, with
// every character outside [A-Za-z0-9_.] replaced by '_', at most 200 characters; labels become
// tags "label:value", empty values omitted, tags cut at 200 characters):
//   counter    NAME         type count (1): the change since the previous export (DeltaTracker;
//                           a series seen for the first time sends its whole value), with
//                           interval = the delta window in whole seconds (at least 1)
//   gauge      NAME         type gauge (3)
//   info       NAME         type gauge (3), value 1
//   histogram  NAME.count   type count: observations since the previous export
//              NAME.sum     type count: their sum (carries the unit)
//              NAME.bucket  (only with histogram_buckets) type count per bucket, tag
//                           upper_bound:B (B = the bound, "inf" for the last): the change of the
//                           cumulative (le) bucket count, as Datadog's OpenMetrics check sends
//   summary    NAME.count, NAME.sum as for histograms; NAME.quantile type gauge per quantile,
//              tag quantile:Q
// Units map to Datadog units: seconds -> second, milliseconds -> millisecond, bytes -> byte,
// percent -> percent, ratio -> fraction; other units are not sent. Every point has the
// snapshot's timestamp (Unix seconds); `host`, when set, is sent as a resource of type host.
//
// Delivery: the series are written as JSON, gzipped (Content-Encoding: gzip) unless disabled,
// and split into as many requests as needed so that no request exceeds Datadog's payload limits
// (max_payload_bytes on the wire, max_uncompressed_bytes before compression). Each request is
// retried on 429 and every 5xx and on connection errors (backoff with jitter, Retry-After
// honoured), never on other 4xx (400 bad payload, 403 bad API key); retries never pass the
// export deadline. When a request fails, it and the requests after it are not sent: their
// points are counted as dropped (ExportOutcome, stats(), the engine's metrics). The API key
// travels only in the DD-API-KEY header: it never appears in errors or logs. Between exports the
// exporter keeps its last body's memory (about 260 bytes per series) to reuse it.
//
// Thread-safety: export_metrics is called by one thread at a time (the engine's); abort() and
// stats() from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/core/retry.h"
#include "vigil/exporters/metric_exporter.h"
#include "vigil/trace/environment.h"

namespace vigil::exporters {

struct DatadogExporterOptions {
  // The API key (DD-API-KEY header). Required: validate() throws when empty.
  std::string api_key;
  // The Datadog site: a domain ("datadoghq.com", "datadoghq.eu", "us3.datadoghq.com",
  // "ddog-gov.com", ...) gives https://api.<site>/api/v2/series; a URL (http:// or https://,
  // e.g. a proxy or a test receiver) gives <url>/api/v2/series.
  std::string site = "datadoghq.com";
  // When not empty, the full endpoint URL, used as is (site is then ignored).
  std::string url;
  // Prepended to every metric name, followed by '.' unless it already ends with '.' or '_'.
  std::string prefix;
  // Constant tags added to every series, "key:value" (or "key"); must be non-empty.
  std::vector<std::string> tags;
  // The host the series belong to (a resource of type host); "" sends none.
  std::string host;
  // Send histogram buckets as NAME.bucket (see above). Off by default: one series per bucket.
  bool histogram_buckets = false;
  // gzip the request bodies (Content-Encoding: gzip).
  bool gzip = true;
  // Datadog's limits per request: at most this many bytes on the wire (after compression) and
  // this many before it. Larger exports are split into several requests; a single series that
  // does not fit is dropped and counted.
  std::size_t max_payload_bytes = 512000;
  std::size_t max_uncompressed_bytes = 5242880;
  // Retries of one request (the engine's export deadline bounds them all).
  RetryOptions retry;
  // The most one HTTP attempt may take; the export deadline, when earlier, wins.
  std::chrono::milliseconds request_timeout{10000};
  // TLS: a CA bundle to verify the site with ("" : the system's).
  std::string certificate_file;

  // The endpoint the options describe (url, or the one site gives).
  std::string endpoint() const;

  // Throws vigil::Error naming the first invalid option: empty api_key (or with CR/LF), a site
  // that is neither a domain nor an http(s) URL, a url that is not http(s)://, an empty tag, a
  // tag or prefix or host with control characters, max_payload_bytes < 1024,
  // max_uncompressed_bytes < max_payload_bytes when gzip is off, request_timeout <= 0, retry
  // settings out of range.
  void validate() const;

  // Options from the environment; nullopt when no API key is set (the exporter is off):
  //   VIGIL_DATADOG_API_KEY (or DD_API_KEY)  the API key; either one turns the exporter on
  //   VIGIL_DATADOG_SITE (or DD_SITE)        the site, e.g. datadoghq.eu
  //   VIGIL_DATADOG_URL                      full endpoint override (tests, proxies)
  //   VIGIL_DATADOG_TAGS (or DD_TAGS)        constant tags, separated by commas or spaces
  //   VIGIL_DATADOG_PREFIX                   metric name prefix
  //   VIGIL_DATADOG_HOST (or DD_HOSTNAME)    the host resource
  //   VIGIL_DATADOG_HISTOGRAM_BUCKETS        true|false
  //   VIGIL_DATADOG_GZIP                     true|false
  // A bad value warns through env.warn (naming the variable, never the key's value) and keeps
  // the default; an invalid site or URL warns and returns nullopt. Never throws except
  // std::bad_alloc.
  static std::optional<DatadogExporterOptions> from_environment(
      const trace::Environment& env = trace::Environment());
};

// What the exporter has done since it was created. Counters only grow.
struct DatadogExporterStats {
  uint64_t exports = 0;          // export_metrics calls
  uint64_t failed_exports = 0;   // calls where some request failed
  uint64_t requests = 0;         // HTTP requests that got a 2xx
  uint64_t failed_requests = 0;  // requests that failed (after retries)
  uint64_t retries = 0;
  uint64_t points = 0;          // points delivered
  uint64_t dropped_points = 0;  // points not delivered
  uint64_t bytes = 0;           // request bytes on the wire (every attempt)
  std::string last_error;       // never carries the API key
};

class DatadogExporter final : public MetricExporter {
 public:
  // Throws vigil::Error for invalid options (validate()) or when libcurl cannot start.
  explicit DatadogExporter(DatadogExporterOptions options);
  ~DatadogExporter() override;
  DatadogExporter(const DatadogExporter&) = delete;
  DatadogExporter& operator=(const DatadogExporter&) = delete;

  std::string_view name() const noexcept override { return "datadog"; }
  ExportOutcome export_metrics(const MetricsSnapshot& snapshot, ExportDeadline deadline) override;
  void abort() noexcept override;
  DatadogExporterStats stats() const;
  const DatadogExporterOptions& options() const noexcept { return options_; }

 private:
  struct Impl;
  DatadogExporterOptions options_;
  std::unique_ptr<Impl> impl_;
};

namespace detail {
// The JSON body of the v2 series request for `deltas` (a DeltaTracker's output; counters,
// histograms and summaries are deltas), one string per request: each at most
// max_uncompressed_bytes and holding whole series. `points` receives the points of each body;
// series that alone exceed the limit are counted in *oversized. For the exporter, tests and
// benchmarks.
std::vector<std::string> encode_datadog_series(const MetricsSnapshot& deltas,
                                               const DatadogExporterOptions& options,
                                               std::size_t max_body_bytes,
                                               std::vector<uint64_t>& points,
                                               uint64_t* oversized = nullptr);
}  // namespace detail

}  // namespace vigil::exporters
