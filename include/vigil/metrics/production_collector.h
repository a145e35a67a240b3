// vigil/metrics/production_collector.h: guide 004's ProductionMetricsCollector, one call per
// thing a service cares about: requests, tool executions, caches, business figures (tasks,
// cost, tokens), system figures, and a summary of all of it.
//
//   using namespace std::chrono_literals;
//   auto collector = vigil::metrics::create_production_collector();  // on Registry::global()
//   collector->record_request("/chat", "anthropic", true, 123.4ms,
//                             {{"model", "claude-sonnet-4-5"}});
//   collector->record_tool_execution("read_file", true, 45.2ms);
//   {
//     auto run = collector->start_tool_execution("web_fetch");  // active while in scope
//     fetch();  // an exception leaving the scope records a failure; run.fail() does too
//   }
//   collector->record_cache_hit("tool_cache");
//   collector->record_cache_miss("tool_cache");
//   collector->record_tokens("anthropic", "claude-sonnet-4-5", 812, 230);
//   collector->record_cost("anthropic", "claude-sonnet-4-5", 0.0059);
//   collector->record_task_completed();
//   vigil::metrics::ProductionSummary s = collector->summary();  // s.requests.p95_ms, ...
//   std::string json = collector->summary_json();
//   std::string text = collector->export_prometheus();           // the whole registry
//
// Families (OpenTelemetry name -> Prometheus name by prometheus_metric_name() in names.h, unit
// suffix and `_total` as OpenTelemetry's Prometheus exporters add them; label names by
// prometheus_label_name(), e.g. gen_ai.system -> gen_ai_system):
//   gen_ai.client.operation.duration (s)  gen_ai_client_operation_duration_seconds  histogram
//       {http_route, gen_ai_system, <request labels>, error_type}; record_request. error_type is
//       "" for a success (Prometheus treats an empty label as absent, as OpenTelemetry leaves
//       error.type unset), "error" or the type given to record_request_outcome for a failure.
//       "model" in the request labels is gen_ai.request.model (gen_ai_request_model).
//   gen_ai.client.token.usage ({token})   gen_ai_client_token_usage  histogram
//       {gen_ai_system, gen_ai_request_model, gen_ai_token_type="input"|"output"}, the
//       semantic conventions' buckets 1, 4, 16, ... 4^13; totals are its _sum.
//   gen_ai.client.cost (dollars)          gen_ai_client_cost_dollars_total  counter
//       {gen_ai_system, gen_ai_request_model} (no semantic convention exists; vigil's name).
//   tool_executions_total{tool,status="success"|"error"|<type>},
//   tool_execution_duration_seconds{tool}
//       (histogram, or a summary when ProductionCollectorOptions::tool_summary is set),
//       tool_executions_active{tool} (gauge).
//   cache_hits_total, cache_misses_total, cache_evictions_total {cache}.
//   tasks_total{status="completed"|"failed"}.
//   vigil_label_values_folded_total{label}: label values folded into "other" (below).
//   System: the process_* and system_* families of ProcessCollector (process_collector.h),
//   registered unless ProductionCollectorOptions::register_process_collector is false.
//
// Bounded labels: each label takes at most a fixed number of distinct values
// (ProductionLabelCaps, e.g. 64 endpoints, 16 providers, 64 models); a value past the cap is
// recorded as "other" and counted in vigil_label_values_folded_total{label="<label>"}, so no
// caller input can grow the series without bound.
//
// Percentiles: summary()'s p50/p95/p99 are computed from the request histogram's buckets
// (merged over all its series) by linear interpolation inside the bucket that holds the rank,
// exactly as Prometheus' histogram_quantile() does (see histogram_quantile() below); their
// accuracy is the bucket width (ProductionCollectorOptions::latency_buckets).
//
// Errors: the constructor throws vigil::Error on a bad option or a family name already taken
// with another shape in the registry; the families it had registered before the error are
// removed again (nothing half-registered). Every record_* call is
// noexcept: a failure (out of memory for a new series) records nothing and is counted in
// errors().
//
// Cost: record_request ~75 ns on a loaded 2-core machine (bench/production_collector_bench.cc,
// target 100 ns): the label caps' lookups (a hash and a compare per label, lock-free), the
// series found by the addresses of the interned values (a table of up to 1024 series; beyond,
// Family::labels) and a histogram observation; no lock and no allocation once the values and
// the series exist (tests/metrics/no_alloc_test.cc). A value's first use takes a lock and
// allocates. Other records: a Family::labels lookup and the record (30-80 ns). summary() reads
// every family once and the process collector once (~200 us, mostly /proc). Memory: one
// series per label combination, bounded by the caps.
//
// Thread-safety: every member is safe from any thread. The registry must outlive the collector.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/metrics/by_name.h"
#include "vigil/metrics/registry.h"
#include "vigil/metrics/summary.h"

namespace vigil::metrics {

// Distinct values each label may take before further values fold into "other".
struct ProductionLabelCaps {
  size_t endpoints = 64;       // http_route
  size_t providers = 16;       // gen_ai_system
  size_t models = 64;          // gen_ai_request_model
  size_t request_labels = 64;  // each other declared request label
  size_t error_types = 16;     // error_type
  size_t tools = 128;          // tool
  size_t caches = 32;          // cache
};

struct ProductionCollectorOptions {
  // Extra label names record_request accepts (in its `labels`), in this order after
  // gen_ai_system; "model" becomes gen_ai_request_model, others go through
  // prometheus_label_name. A request without one of them records "". At most 8.
  std::vector<std::string> request_labels = {"model"};
  // Request latency buckets, in seconds (the percentiles' resolution).
  std::vector<double> latency_buckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                         1,     2.5,  5,     10,   20,  40,   80};
  // Tool duration buckets, in seconds (when tool_summary is not set).
  std::vector<double> tool_buckets = {0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5,
                                      1,     2.5,   5,    10,   30,  60};
  // Set: tool_execution_duration_seconds is a summary with these quantiles and window instead
  // of a histogram.
  std::optional<SummaryOptions> tool_summary;
  ProductionLabelCaps caps;
  // Registers a ProcessCollector (process_* and system_* families) in the registry. Off when
  // the registry has one already; summary() reads a private one either way.
  bool register_process_collector = true;
  // Monotonic seconds, for uptime and tool durations measured by start_tool_execution; null:
  // vigil::monotonic_nanos(). Must be thread-safe.
  std::function<double()> clock;
};

// What summary() returns. Rates are fractions (0.25 = 25 %), 0 when nothing was recorded;
// latencies in milliseconds, NaN when there is no request.
struct ProductionSummary {
  double uptime_seconds = 0;
  struct Requests {
    uint64_t total = 0, succeeded = 0, failed = 0;
    double success_rate = 0, error_rate = 0;
    double avg_ms = 0, p50_ms = 0, p95_ms = 0, p99_ms = 0;
  } requests;
  struct Tools {
    uint64_t calls = 0, errors = 0;
    double error_rate = 0, avg_ms = 0;
    int64_t active = 0;
  } tools;
  struct Caches {
    uint64_t hits = 0, misses = 0, evictions = 0;
    double hit_rate = 0;
  } cache;
  struct Business {
    uint64_t tasks_completed = 0, tasks_failed = 0;
    double cost_dollars = 0;
    uint64_t input_tokens = 0, output_tokens = 0, total_tokens = 0;
  } business;
  struct System {
    bool available = false;  // false where /proc cannot be read
    double resident_memory_bytes = 0, cpu_seconds = 0, open_fds = 0, max_fds = 0;
    double disk_free_bytes = 0;  // of the first disk path ("/")
  } system;
  uint64_t folded_label_values = 0;
  uint64_t errors = 0;
};

// The summary as a JSON object (the struct's members, nested: {"uptime_seconds":..,
// "requests":{"total":..,"p95_ms":..},"tools":{..},"cache":{..},"business":{..},
// "system":{..},"folded_label_values":..,"errors":..}). NaN is written as null.
std::string to_json(const ProductionSummary& summary);

// The q-quantile of a histogram by Prometheus' histogram_quantile() rule: `bounds` the finite
// upper bounds, `cumulative` one count per bound plus the +Inf bucket. The rank q*count falls
// in the first bucket whose cumulative count reaches it; the result interpolates linearly
// between that bucket's lower bound (the previous bound, or 0 for the first bucket) and its
// upper bound; a rank in the +Inf bucket returns the largest finite bound. NaN when the
// histogram is empty, -Inf for q < 0, +Inf for q > 1. Pure; no allocation.
double histogram_quantile(double q, std::span<const double> bounds,
                          std::span<const uint64_t> cumulative) noexcept;

class ProductionCollector;

// An active tool execution: counted in tool_executions_active{tool} from construction to
// destruction, then recorded with its duration (the collector's clock) as a success, unless
// fail() was called or an exception is leaving the scope. Move-only.
class ToolExecutionScope {
 public:
  ToolExecutionScope(ToolExecutionScope&& other) noexcept;
  ToolExecutionScope& operator=(ToolExecutionScope&&) = delete;
  ToolExecutionScope(const ToolExecutionScope&) = delete;
  ~ToolExecutionScope();
  void fail() noexcept { failed_ = true; }

 private:
  friend class ProductionCollector;
  ToolExecutionScope(ProductionCollector* owner, std::string_view tool, Gauge active,
                     double start) noexcept;
  ProductionCollector* owner_;
  std::string_view tool_;  // interned by the collector: lives as long as it
  Gauge active_;
  double start_;
  int exceptions_;
  bool failed_ = false;
};

class ProductionCollector {
 public:
  // Registers the families in `registry` (see above). Throws vigil::Error on a bad option or a
  // name clash. `registry` must outlive the collector.
  explicit ProductionCollector(Registry& registry, ProductionCollectorOptions options = {});
  ~ProductionCollector();
  ProductionCollector(const ProductionCollector&) = delete;
  ProductionCollector& operator=(const ProductionCollector&) = delete;

  // A request to `endpoint` served by `provider`, its outcome and latency. `labels` gives the
  // declared request labels by name (others are ignored and counted in errors()).
  void record_request(std::string_view endpoint, std::string_view provider, bool success,
                      std::chrono::duration<double> latency, LabelSet labels = {}) noexcept;
  // A string literal as the outcome would silently convert to `true`: use
  // record_request_outcome for an error type.
  void record_request(std::string_view endpoint, std::string_view provider, const char* outcome,
                      std::chrono::duration<double> latency, LabelSet labels = {}) = delete;
  // The same with the failure's type as the error_type label ("" means success), e.g.
  // "timeout", "rate_limited".
  void record_request_outcome(std::string_view endpoint, std::string_view provider,
                              std::string_view error_type, std::chrono::duration<double> latency,
                              LabelSet labels = {}) noexcept;

  // A finished tool execution.
  void record_tool_execution(std::string_view tool, bool success,
                             std::chrono::duration<double> duration) noexcept;
  // A string literal as the outcome would silently convert to `true`: use
  // record_tool_execution_outcome for an error type.
  void record_tool_execution(std::string_view tool, const char* outcome,
                             std::chrono::duration<double> duration) = delete;
  // The same with the failure's type as the status label ("" means "success"), e.g.
  // "timeout".
  void record_tool_execution_outcome(std::string_view tool, std::string_view error_type,
                                     std::chrono::duration<double> duration) noexcept;
  // A tool execution starting now (see ToolExecutionScope).
  ToolExecutionScope start_tool_execution(std::string_view tool) noexcept;

  // Creates the series of a tool (tool_executions_active at 0, tool_executions_total with
  // status "success" at 0) or a cache (hits, misses, evictions at 0) before its first record,
  // so dashboards and rate() see them from the first scrape. Optional; never throws.
  void declare_tool(std::string_view tool) noexcept;
  void declare_cache(std::string_view cache) noexcept;

  void record_cache_hit(std::string_view cache) noexcept;
  void record_cache_miss(std::string_view cache) noexcept;
  void record_cache_eviction(std::string_view cache, uint64_t count = 1) noexcept;

  void record_task_completed() noexcept;
  void record_task_failed() noexcept;
  // Spend in US dollars (negative or NaN amounts are rejected, as Counter::inc does).
  void record_cost(std::string_view provider, std::string_view model, double dollars) noexcept;
  // Tokens of one operation (a zero count is not observed).
  void record_tokens(std::string_view provider, std::string_view model, uint64_t input_tokens,
                     uint64_t output_tokens) noexcept;

  // Totals since construction (see ProductionSummary), read from the families.
  ProductionSummary summary() const;
  std::string summary_json() const { return to_json(summary()); }
  // The registry (all of it, not only this collector's families) as Prometheus text / JSON
  // (exposition.h).
  std::string export_prometheus() const;
  std::string export_json() const;

  // Record calls that failed (see Errors above).
  uint64_t errors() const noexcept;
  Registry& registry() const noexcept;

  struct Impl;

 private:
  friend class ToolExecutionScope;
  void finish_tool(std::string_view tool, std::string_view status, double seconds) noexcept;
  std::unique_ptr<Impl> impl_;
};

// Guide 004's create_production_collector(): a collector on Registry::global() (one per
// process: a second call throws vigil::Error because the process collector is registered
// already, unless options.register_process_collector is false).
std::unique_ptr<ProductionCollector> create_production_collector(
    ProductionCollectorOptions options = {});

}  // namespace vigil::metrics
