// vigil/ops/grafana.h: Grafana dashboards generated from what a registry holds.
//
//   vigil::metrics::Registry& registry = ...;              // the families your service registers
//   vigil::ops::GrafanaOptions options;
//   options.title = "agent-gateway";                        // dashboards "agent-gateway /
//   Overview", ... for (const vigil::ops::GrafanaDashboard& d :
//   vigil::ops::grafana_dashboards(registry, options)) {
//     write_file(dir + "/" + d.file_name, d.json);          // classic dashboard JSON, for import
//     or
//   }                                                       // file provisioning
//
// The generator looks at the families (names, types, label names, units) and builds panels for
// what it finds, by the standard names:
//   overview  RED of every request family (http_server_requests_total{code},
//             <x>_requests_total{status} with <x>_request_duration_seconds and
//             <x>_active_requests), request-rate and error-rate stats, uptime, business figures;
//   llm       tokens, cost per hour, provider latency, tools (rate, errors, latency), caches (hit
//             ratio, entries, evictions), pipelines and steps, queues;
//   health    vigil's health checks, vigil's alerting engine, Prometheus' ALERTS, guardrails
//             (vigil_guardrail_*: state, checks by result, triggers, rollback action duration
//             and failures), notification delivery (vigil_notifications_*,
//             vigil_alertmanager_*), vigil's exporters and admin server;
//   system    process_* and system_* (the process collector): CPU, memory, threads, fds, network,
//             load, disk.
// Families no recipe takes get a generic panel (rate of a counter, a gauge's value, p95 of a
// histogram) in the overview's "Other metrics" row. A dashboard with no panel is not produced
// (the health dashboard always has Prometheus' ALERTS panels).
//
// Every dashboard: schemaVersion 39, a `datasource` variable (type datasource, Prometheus) that
// every panel and target uses, `job` and `instance` variables every query filters on,
// `$__rate_interval` in every rate()/increase(), a unit on every panel, ids and positions
// that depend only on the families, and a uid derived from the title (same title, same uid).
//
// Thread-safety: the functions are pure; grafana_dashboards(registry) collects the registry
// (safe from any thread, as Registry::collect is).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/metrics/collector.h"
#include "vigil/metrics/registry.h"

namespace vigil::ops {

// What the generator needs to know of a family.
struct FamilyInfo {
  std::string name;  // family name, without _total / _info (as in metrics::FamilyDesc)
  metrics::MetricType type = metrics::MetricType::kGauge;
  std::string unit;  // "seconds", "bytes", ... or empty
  std::string help;
  std::vector<std::string> label_names;
};

// The families of a registry, collectors (the process collector) included, in collection order.
std::vector<FamilyInfo> families_of(const metrics::Registry& registry);

// The families of a Prometheus text exposition (or OpenMetrics text), e.g. a service's /metrics
// saved to a file: from # TYPE, # UNIT and # HELP lines and the label names of the samples
// (le and quantile left out). A sample without a # TYPE line is an untyped gauge.
struct ExpositionFamilies {
  std::optional<std::vector<FamilyInfo>> families;  // set on success
  std::string error;                                // "line 3: ..." on failure
  explicit operator bool() const noexcept { return families.has_value(); }
};
// Never throws (except std::bad_alloc).
ExpositionFamilies parse_exposition_families(std::string_view text);

struct GrafanaOptions {
  std::string title = "vigil";  // dashboards are titled "<title> / Overview", ...
  std::string uid_prefix;       // empty: uids come from the titles alone
  std::vector<std::string> tags = {"vigil"};
  std::string datasource = "Prometheus";  // the datasource variable's default (a data source name)
  std::string job;                        // the job variable's default; empty: All
  std::string refresh = "30s";            // auto-refresh; empty: off
  std::string time_from = "now-1h";       // default time range: time_from to now
};

struct GrafanaDashboard {
  std::string kind;       // "overview", "llm", "health", "system"
  std::string title;      // "<title> / Overview"
  std::string uid;        // at most 40 characters of [a-z0-9-]
  std::string file_name;  // "<slug of title>.json"
  std::string json;       // the dashboard (classic JSON model), pretty-printed, newline-terminated
};

// The dashboards for these families (kinds without panels left out), in the order overview, llm,
// health, system. Throws vigil::Error on bad options (empty title, a uid_prefix that leaves no
// room or has characters Grafana refuses).
std::vector<GrafanaDashboard> grafana_dashboards(const std::vector<FamilyInfo>& families,
                                                 const GrafanaOptions& options = {});
std::vector<GrafanaDashboard> grafana_dashboards(const metrics::Registry& registry,
                                                 const GrafanaOptions& options = {});

// One dashboard of the set ("overview", "llm", "health" or "system"); empty string when that
// kind has no panels for this registry. Throws vigil::Error on an unknown kind or bad options.
std::string grafana_dashboard(const metrics::Registry& registry, const GrafanaOptions& options,
                              std::string_view kind = "overview");

}  // namespace vigil::ops
