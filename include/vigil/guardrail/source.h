// vigil/guardrail/source.h: exact window counts from live instruments, without Prometheus.
//
// A LiveSource reads a request counter (with an outcome label, or a total and a success counter)
// and optionally a latency histogram from a registry, per cohort (the values of a label such as
// `version`), and keeps the cumulative values it read at each sample() in a ring. A window's counts
// are the latest sample minus the sample at (or just before) the window's start: exact at the
// sampling granularity, whatever the counters' absolute values. Series that disappear or restart (a
// cumulative value going down) are handled like Prometheus handles counter resets: the drop
// counts as a reset, never as negative requests.
//
//   vigil::guardrail::LiveSource source({
//       .requests = "agent_requests_total", .outcome_label = "status",
//       .success_values = {"success"}, .latency = "agent_request_duration_seconds",
//       .cohort_label = "version"});
//   source.sample(now);                                   // the monitor does this every check
//   auto canary = source.last("v2", std::chrono::seconds(60));  // WindowCounts of v2, last 60 s
//
// Families are looked up by name at each sample() (so they may be registered after the source is
// made); a missing family or one of the wrong type makes sample() return false with the reason.
// Series are summed over every label other than the cohort label (after `filter`). Cost: one
// pass over the series of the two families per sample (see bench/README.md, "Guardrails").
//
// Thread-safety: every member is safe from any thread (an internal lock); sample() may run
// concurrently with recording.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vigil/guardrail/snapshot.h"

namespace vigil::metrics {
class Registry;
}  // namespace vigil::metrics

namespace vigil::guardrail {

struct LiveSourceOptions {
  metrics::Registry* registry = nullptr;  // null: the global registry
  // The request counter family, by the name it was registered with (e.g. "agent_requests_total"
  // as in registry.counter("agent_requests_total", ...)). Required.
  std::string requests;
  // The label whose value says how a request ended. Required unless `successes` is given.
  std::string outcome_label;
  // Instead of an outcome label: a counter family of successful requests (same cohort and filter
  // labels), `requests` then counting every request; errors are requests - successes.
  std::string successes;
  // Outcome values counted as successes (at least one).
  std::vector<std::string> success_values = {"success"};
  // Outcome values counted as errors; empty: every value not in success_values.
  std::vector<std::string> error_values;
  // The latency histogram family (optional): its series are summed like the counter's.
  std::string latency;
  // The label that splits requests into cohorts (e.g. "version"); empty: one cohort named "".
  std::string cohort_label;
  // Only series with these label values count (e.g. {{"route", "/v1/chat"}}).
  std::vector<std::pair<std::string, std::string>> filter;
  // How far back windows may reach: samples older than this are dropped, except the newest one
  // at or before (latest - retention), so that a window of the whole retention stays exact (at
  // most max_samples kept per cohort). A cohort without series for longer than this is
  // forgotten.
  std::chrono::milliseconds retention{std::chrono::hours(1) + std::chrono::minutes(5)};
  size_t max_samples = 4096;
  size_t max_cohorts = 64;  // cohorts beyond this are not tracked (counted in dropped_cohorts())
};

class LiveSource {
 public:
  // Throws vigil::Error for options that cannot work (no requests family or outcome label, no
  // success value, a value in both success_values and error_values, retention <= 0,
  // max_samples < 2, max_cohorts < 1, a filter or cohort label that is the outcome label, a
  // filter asking one label for two values).
  explicit LiveSource(LiveSourceOptions options);
  ~LiveSource();
  LiveSource(const LiveSource&) = delete;
  LiveSource& operator=(const LiveSource&) = delete;

  // Reads the families now and keeps the cumulative counts of every cohort as the sample at
  // `now` (times must not go backwards; an earlier time is ignored and returns false; the same
  // time again replaces the latest sample). Returns false with `error` set when a family is
  // missing or has the wrong type or labels; a failed sample changes nothing. A cohort seen for
  // the first time counts from zero at the previous sample (a canary's first requests count);
  // requests made before the first sample never count. Cost: ~2 us for the shape (two
  // cohorts, 8 series), ~0.13 us more per series of the two families.
  bool sample(TimePoint now, std::string* error = nullptr);

  // Counts of `cohort` from the sample at or just before `from` (the oldest kept when none is
  // that old) to the latest sample at or before `to`. nullopt without two such samples or for an
  // unknown cohort.
  std::optional<WindowCounts> window(std::string_view cohort, TimePoint from, TimePoint to) const;
  // The last `length` up to the latest sample.
  std::optional<WindowCounts> last(std::string_view cohort, std::chrono::milliseconds length) const;
  // window(cohort, start, latest): the cumulative counts of a comparison that began at `start`.
  std::optional<WindowCounts> since(std::string_view cohort, TimePoint start) const;

  // Cohorts seen so far, sorted.
  std::vector<std::string> cohorts() const;
  uint64_t dropped_cohorts() const;
  const LiveSourceOptions& options() const noexcept { return options_; }

 private:
  struct Impl;
  LiveSourceOptions options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::guardrail
