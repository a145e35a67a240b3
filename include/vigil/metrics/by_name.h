// vigil/metrics/by_name.h: one-call instrumentation by name, as guide 000's MetricsCollector.
//
//   namespace vm = vigil::metrics;
//   vm::increment("playbook.bullets.added", {{"domain", "arithmetic"}});
//   vm::increment("curator.dedup.hits");
//   vm::observe("llm.response.tokens", 812, {{"provider", "openai"}});
//   vm::set("queue.depth", 3);
//   {
//     auto t = vm::timer("curator.apply_delta");  // seconds into a histogram at scope end
//     curator.apply_delta(input);
//   }
//   std::string text = vm::serialize(vm::Registry::global(), vm::Format::kPrometheusText);
//   // playbook_bullets_added_total{domain="arithmetic"} 1
//   // curator_dedup_hits_total 1
//   // curator_apply_delta_seconds_bucket{le="0.005"} 1 ...
//
// The free functions work on NamedMetrics::global(), bound to Registry::global(); a
// NamedMetrics object does the same on any registry.
//
// Names. The name given is an OpenTelemetry-style name; the family's Prometheus name is
// prometheus_metric_name(name) (names.h: every character other than [a-zA-Z0-9_:] becomes '_',
// runs of '_' collapse, a leading digit gets a '_' prefix: the rule of OpenTelemetry's
// Prometheus exporters). Label names likewise, by prometheus_label_name. Then, as those
// exporters do:
//   increment -> a counter; its samples get "_total" ("a.b" -> a_b_total; "a.b.total" too)
//   observe   -> a histogram "a_b" (buckets: NamedMetricsOptions::buckets)
//   set, add  -> a gauge "a_b"
//   timer     -> a histogram of seconds, "_seconds" appended unless the name ends with it
//                ("curator.apply_delta" -> curator_apply_delta_seconds)
// The help text is the name as given. The same Prometheus name used with two kinds (increment
// and set of "x") is an error for the second kind.
//
// Label names are fixed at a name's first use (for that kind); a later call must give the same
// label names, in any order. Other label names, a name that translates to nothing valid, a
// clash with a family registered otherwise in the registry, or too many labels (more than 16)
// is an error, which:
//   * never throws from increment/observe/set/timer: the call records nothing, it is counted in
//     vigil_named_metric_errors_total{reason} (reason: "label_names", "invalid_name",
//     "registration", "too_many_labels") of the same registry, and the first error of each name
//     and reason is reported once through NamedMetricsOptions::warn (default: one line on
//     stderr, "vigil: warning: ...");
//   * throws vigil::Error (with the same message) from the checked variants increment_checked,
//     observe_checked, set_checked, timer_checked, for tests and start-up code.
// Label values are as Family::labels takes them (invalid UTF-8 repaired, long values cut).
//
// Cost: the first call for a name and label values registers/looks up (microseconds, a lock);
// later calls with the same name and label values hit a per-thread cache of 256 entries keyed
// by a hash of the name and label values: a hash, a compare and the record, ~22 ns without
// labels, ~31 ns with one, ~8-10 ns more per further label (bench/instrument_bench.cc; a held
// handle records in ~1-2 ns: resolve one with counter(), gauge(), histogram() for the hottest
// loops). No lock and no allocation on a hit.
//
// Thread-safety: every member is safe from any thread. A NamedMetrics must outlive its use and
// not outlive its registry; the global one is never destroyed. Series created here live as
// long as the NamedMetrics (a registry.remove() of the family unlists it, and recordings then go
// to the unlisted series).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/metrics/counter.h"
#include "vigil/metrics/gauge.h"
#include "vigil/metrics/histogram.h"
#include "vigil/metrics/registry.h"
#include "vigil/metrics/timer.h"

namespace vigil::metrics {

// One label of a by-name call: {"domain", "arithmetic"}.
struct Label {
  std::string_view name;
  std::string_view value;
};

// The labels of a by-name call: a braced list {{"a", "1"}, {"b", "2"}} or a span of Label.
// A view: the labels must live for the call (a braced list in the call does).
class LabelSet {
 public:
  constexpr LabelSet() noexcept = default;
// A view of the list's array, which lives until the end of the call's full expression.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winit-list-lifetime"
#endif
  constexpr LabelSet(std::initializer_list<Label> labels) noexcept  // NOLINT
      : data_(labels.begin()), size_(labels.size()) {}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
  constexpr LabelSet(std::span<const Label> labels) noexcept  // NOLINT
      : data_(labels.data()), size_(labels.size()) {}
  constexpr const Label* begin() const noexcept { return data_; }
  constexpr const Label* end() const noexcept { return data_ + size_; }
  constexpr size_t size() const noexcept { return size_; }
  constexpr bool empty() const noexcept { return size_ == 0; }

 private:
  const Label* data_ = nullptr;
  size_t size_ = 0;
};

struct NamedMetricsOptions {
  // Bucket bounds of the histograms observe() creates; empty: default_buckets().
  std::vector<double> buckets;
  // Bucket bounds (seconds) of the histograms timer() creates; empty: default_buckets().
  std::vector<double> timer_buckets;
  // Receives the first error message of each name and reason (not on the hot path: once).
  // Null: a line "vigil: warning: <message>" on stderr. Must be thread-safe and not throw.
  std::function<void(std::string_view)> warn;
};

class NamedMetrics {
 public:
  // Registers vigil_named_metric_errors_total in `registry` (throws vigil::Error if that name
  // is taken by another kind of metric). `registry` must outlive this object.
  explicit NamedMetrics(Registry& registry, NamedMetricsOptions options = {});
  ~NamedMetrics();
  NamedMetrics(const NamedMetrics&) = delete;
  NamedMetrics& operator=(const NamedMetrics&) = delete;

  // The one on Registry::global(), with default options; never destroyed.
  static NamedMetrics& global();

  // Adds `amount` (default 1) to counter `name` with `labels`. A negative or NaN amount is
  // rejected and counted as by Counter::inc. Never throws.
  void increment(std::string_view name, LabelSet labels = {}, double amount = 1) noexcept;
  // Observes `value` in histogram `name`. Never throws.
  void observe(std::string_view name, double value, LabelSet labels = {}) noexcept;
  // Sets gauge `name` to `value`. Never throws.
  void set(std::string_view name, double value, LabelSet labels = {}) noexcept;
  // Adds `delta` (may be negative) to gauge `name`, the one set() sets: OpenTelemetry's
  // UpDownCounter. Never throws.
  void add(std::string_view name, double delta, LabelSet labels = {}) noexcept;
  // A timer that observes the seconds until its destruction (or stop()) in histogram
  // `name`_seconds, also when an exception leaves the scope. Never throws (on an error the
  // timer records nothing).
  ScopedTimer<Histogram> timer(std::string_view name, LabelSet labels = {}) noexcept;
  // Observes `seconds` in the histogram timer(name) records into (`name`_seconds), for a
  // duration measured otherwise. Never throws.
  void observe_seconds(std::string_view name, double seconds, LabelSet labels = {}) noexcept;

  // The same, throwing vigil::Error (and recording nothing) on an error.
  void increment_checked(std::string_view name, LabelSet labels = {}, double amount = 1);
  void observe_checked(std::string_view name, double value, LabelSet labels = {});
  void set_checked(std::string_view name, double value, LabelSet labels = {});
  ScopedTimer<Histogram> timer_checked(std::string_view name, LabelSet labels = {});

  // The handle for `name` and `labels` (resolved as above; throws vigil::Error on an error),
  // to keep for a hot loop.
  Counter counter(std::string_view name, LabelSet labels = {});
  Gauge gauge(std::string_view name, LabelSet labels = {});
  Histogram histogram(std::string_view name, LabelSet labels = {});

  // Errors so far (the sum of vigil_named_metric_errors_total).
  uint64_t errors() const noexcept;
  Registry& registry() const noexcept;

  struct Entry;  // one (kind, name, labels) key and its handle; by_name.cc

 private:
  Entry* find(char kind, std::string_view name, LabelSet labels) noexcept;
  Entry* usable(char kind, std::string_view name, LabelSet labels) noexcept;  // null on errors
  Entry& checked(char kind, std::string_view name, LabelSet labels);

  struct Impl;
  std::unique_ptr<Impl> impl_;
  uint64_t id_;  // unique in the process, never reused: the per-thread cache's owner key
};

// NamedMetrics::global().increment(...) and friends.
inline void increment(std::string_view name, LabelSet labels = {}, double amount = 1) noexcept {
  NamedMetrics::global().increment(name, labels, amount);
}
inline void observe(std::string_view name, double value, LabelSet labels = {}) noexcept {
  NamedMetrics::global().observe(name, value, labels);
}
inline void set(std::string_view name, double value, LabelSet labels = {}) noexcept {
  NamedMetrics::global().set(name, value, labels);
}
inline ScopedTimer<Histogram> timer(std::string_view name, LabelSet labels = {}) noexcept {
  return NamedMetrics::global().timer(name, labels);
}
inline void add(std::string_view name, double delta, LabelSet labels = {}) noexcept {
  NamedMetrics::global().add(name, delta, labels);
}

}  // namespace vigil::metrics
