// vigil/exporters/pushgateway_exporter.h: pushes metrics to a Prometheus Pushgateway, for batch
// jobs and other processes that live too briefly (or too hidden) to be scraped.
//
//   // Periodic: the engine PUTs the whole registry every interval, replacing the group.
//   vigil::exporters::PushgatewayExporterOptions o;
//   o.url = "http://pushgateway:9091";
//   o.job = "nightly_backup";
//   o.grouping_key = {{"instance", "db-1"}};
//   o.delete_on_close = true;  // remove the group when the engine shuts down
//   engine.add(std::make_unique<vigil::exporters::PushgatewayExporter>(o));
//
//   // Once, at the end of a batch job (prometheus_client's push_to_gateway, pushadd_to_gateway
//   // and delete_from_gateway):
//   vigil::exporters::PushgatewayExporter gw(o);
//   vigil::exporters::ExportOutcome r = gw.push(vigil::metrics::Registry::global());
//   if (!r.ok) std::cerr << r.error << "\n";
//
// Protocol (the Pushgateway README). Requests go to `<url>/metrics/job/<job>{/<label>/<value>}`,
// the grouping key in the path:
//   push()         PUT:    the group then holds exactly the pushed metrics (others removed)
//   push_add()     POST:   replaces only the pushed metric names in the group, keeps the rest
//   delete_group() DELETE: removes the group
// Label values (and the job) that are empty, contain '/' or are "." or ".." are written
// `<label>@base64/<value>` in URL-safe base64 with padding (RFC 4648 section 5): an empty value
// is `<label>@base64/=`, "/var/tmp" is `<label>@base64/L3Zhci90bXA=`; other values are
// percent-encoded (every byte outside A-Z a-z 0-9 - . _ ~, so UTF-8 travels as %XX).
// The body is the Prometheus text format 0.0.4 written by vigil's exposition writer
// (vigil/metrics/exposition.h): counters as `<name>_total`, histograms as buckets/_sum/_count,
// summaries as quantiles/_sum/_count; exemplars and _created are not sent (0.0.4 has neither).
//
// Which method export_metrics uses: PUT by default, because the exporter always holds the whole
// registry (cumulative snapshots), so the group mirrors the process and series that vanished
// from the registry vanish from the group. POST (method = kPost) suits several processes that
// share one group, each pushing its own metric names.
//
// Grouping labels. A pushed metric must not carry a label of the grouping key (or `job`) itself:
// the Pushgateway (1.5) overwrites that label with the grouping key's value, so the metric's own
// value is silently lost, and rejects the whole push (400) when two series then collide.
// vigil refuses such metrics instead: constant labels that do are a configuration error (the
// constructor throws); a family that does is refused at export: it is not sent, its points are
// counted as dropped, and the export is a failure (reason "rejected") naming the family and the
// label, while the other families are still pushed.
//
// Delivery: vigil's HTTP client (libcurl), retried with backoff and Retry-After on 429 and every
// 5xx and on connection errors, never on other 4xx; each call ends by its deadline. Outcomes are
// counted (ExportOutcome, stats(), and the engine's metrics).
//
// Thread-safety: push(), push_add(), delete_group() and export_metrics() may be called from any
// thread; they run one at a time (a mutex). abort() may be called from any thread.
#pragma once

#include <chrono>
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

namespace vigil::metrics {
class Registry;
}  // namespace vigil::metrics

namespace vigil::exporters {

// What export_metrics() sends.
enum class PushgatewayMethod : uint8_t {
  kPut,   // "put": replace the whole group (push())
  kPost,  // "post": replace the pushed metric names only (push_add())
};
// "put" or "post".
std::string_view to_string(PushgatewayMethod method) noexcept;

struct PushgatewayExporterOptions {
  // The Pushgateway's base URL, http:// or https://, optionally with a path prefix
  // ("http://gw:9091", "https://gw.example.com/pushgateway"); "/metrics/job/..." is appended.
  // No user:password@ (use basic_auth_*), no query or fragment.
  std::string url = "http://localhost:9091";
  // The job label of the group. Not empty; any UTF-8 (base64 in the path when needed).
  std::string job;
  // Further grouping labels, in this order in the path, e.g. {{"instance", "host-1"}}. Names are
  // valid Prometheus label names other than "job", each once; values are UTF-8 (may be empty).
  std::vector<std::pair<std::string, std::string>> grouping_key;
  PushgatewayMethod method = PushgatewayMethod::kPut;
  // close() (the engine's shutdown) deletes the group, so that a finished process leaves no
  // stale metrics behind.
  bool delete_on_close = false;
  // Prepended to every metric name ("myapp_"): a valid start of a metric name, or empty.
  std::string prefix;
  // Added to every series, before its own labels. Valid label names, not "job" nor a grouping
  // label, each once.
  std::vector<std::pair<std::string, std::string>> const_labels;
  // Sent with every request. Names are HTTP tokens; values contain no CR, LF or NUL.
  std::vector<std::pair<std::string, std::string>> headers;
  // HTTP basic authentication when either is set (kept out of errors).
  std::string basic_auth_username;
  std::string basic_auth_password;
  // The most one push or delete may take, retries included (the engine's deadline, when
  // earlier, wins). > 0.
  std::chrono::milliseconds timeout{5000};
  vigil::RetryOptions retry{.max_attempts = 3};
  // TLS (https): a CA bundle (empty: the system's) and a client certificate and key in PEM.
  std::string certificate_file;
  std::string client_certificate_file;
  std::string client_key_file;

  // Throws vigil::Error naming the first invalid option and the rule it breaks.
  void validate() const;

  // The options the environment gives, or nullopt when VIGIL_PUSHGATEWAY_URL is unset:
  //   VIGIL_PUSHGATEWAY_URL       the base URL (required to enable the exporter)
  //   VIGIL_PUSHGATEWAY_JOB       the job; default OTEL_SERVICE_NAME, else the program's name
  //   VIGIL_PUSHGATEWAY_GROUPING  grouping labels "instance=host-1,k=v" (values %-decoded)
  //   VIGIL_PUSHGATEWAY_METHOD    put | post (default put)
  //   VIGIL_PUSHGATEWAY_DELETE_ON_SHUTDOWN  true | false (default false)
  //   VIGIL_PUSHGATEWAY_USERNAME, VIGIL_PUSHGATEWAY_PASSWORD  basic authentication
  //   VIGIL_PUSHGATEWAY_HEADERS   extra headers "k1=v1,k2=v2" (values %-decoded)
  //   VIGIL_PUSHGATEWAY_TIMEOUT   milliseconds per push (default 5000)
  // A bad value is reported through env.warn (naming the variable and the rule) and the default
  // is used (bad grouping or header entries are skipped); a URL or job that cannot work gives a
  // warning and nullopt. Never throws (except std::bad_alloc).
  static std::optional<PushgatewayExporterOptions> from_environment(
      const trace::Environment& env = trace::Environment());
};

// The path of a group: "/metrics/job/<job>{/<label>/<value>}" with the encoding described at
// the top of this header. No validation. Never throws except std::bad_alloc.
std::string pushgateway_group_path(
    std::string_view job, const std::vector<std::pair<std::string, std::string>>& grouping_key);

// A snapshot as the body of a push (Prometheus text format 0.0.4), with the options' prefix and
// constant labels, families carrying a grouping label (or "job", or a label twice) left out.
struct PushgatewayBody {
  std::string text;
  uint64_t points = 0;          // series written
  uint64_t refused_points = 0;  // series of the families left out
  uint64_t refused_families = 0;
  std::string error;  // why the first family was left out; "" when none was
};
// Cost: linear in the bytes written (see bench/README.md). Never throws except std::bad_alloc.
PushgatewayBody encode_pushgateway_body(const MetricsSnapshot& snapshot,
                                        const PushgatewayExporterOptions& options);
// The same into `body`, reusing its text's capacity (no allocation or page faults once it has
// grown: what the exporter does between exports).
void encode_pushgateway_body(const MetricsSnapshot& snapshot,
                             const PushgatewayExporterOptions& options, PushgatewayBody& body);

// What one exporter has done since it was created. Counters only grow.
struct PushgatewayExporterStats {
  uint64_t pushes = 0;          // PUT/POST requests the Pushgateway accepted
  uint64_t deletes = 0;         // DELETEs it accepted
  uint64_t failures = 0;        // calls that failed (not sent, refused or not delivered)
  uint64_t retries = 0;         // attempts after the first
  uint64_t refused_points = 0;  // series of families carrying a grouping label
  uint64_t sent_bytes = 0;      // request body bytes, every attempt counted
  std::string last_error;
};

class PushgatewayExporter final : public MetricExporter {
 public:
  // Validates `options` (throws vigil::Error, see validate()). Opens no connection.
  explicit PushgatewayExporter(PushgatewayExporterOptions options);
  ~PushgatewayExporter() override;
  PushgatewayExporter(const PushgatewayExporter&) = delete;
  PushgatewayExporter& operator=(const PushgatewayExporter&) = delete;

  std::string_view name() const noexcept override { return "pushgateway"; }
  // push() or push_add(), as options().method says. Never throws.
  ExportOutcome export_metrics(const MetricsSnapshot& snapshot, ExportDeadline deadline) override;

  // PUT: the group becomes exactly `snapshot`. Returns by the earlier of `deadline` and
  // options().timeout from now. Never throws (except std::bad_alloc).
  ExportOutcome push(const MetricsSnapshot& snapshot, ExportDeadline deadline);
  // POST: the pushed metric names are replaced in the group, the others kept.
  ExportOutcome push_add(const MetricsSnapshot& snapshot, ExportDeadline deadline);
  // DELETE: the group is removed.
  ExportOutcome delete_group(ExportDeadline deadline);
  // The same for a registry (collected now, without exemplars), within options().timeout.
  ExportOutcome push(const metrics::Registry& registry);
  ExportOutcome push_add(const metrics::Registry& registry);
  ExportOutcome delete_group();

  // Makes a call in flight return at once (reason "shutdown") and every later one fail.
  void abort() noexcept override;
  // Deletes the group when options().delete_on_close (within options().timeout; not after
  // abort()). Idempotent.
  void close() noexcept override;

  // The group's URL: options().url + pushgateway_group_path(...).
  const std::string& group_url() const noexcept;
  const PushgatewayExporterOptions& options() const noexcept;
  // A copy of the counters. Thread-safe.
  PushgatewayExporterStats stats() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::exporters
