// Family<Instrument> for each instrument type, and the instruments' read-side members.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "exemplars.h"
#include "vigil/core/error.h"
#include "vigil/metrics/family.h"

namespace vigil::metrics {
namespace {

std::string number(double v) {
  std::string s = std::to_string(v);
  return s;
}

std::vector<double> checked_buckets(const std::string& name, std::vector<double> b) {
  if (!b.empty() && std::isinf(b.back()) && b.back() > 0) b.pop_back();  // +Inf is implicit
  if (b.size() > detail::kCellChunkSize - 3) {
    throw Error("histogram '" + name + "': at most " + std::to_string(detail::kCellChunkSize - 3) +
                " buckets");
  }
  for (size_t i = 0; i < b.size(); ++i) {
    if (!std::isfinite(b[i])) {
      throw Error("histogram '" + name + "': bucket bounds must be finite, got " + number(b[i]));
    }
    if (i > 0 && !(b[i] > b[i - 1])) {
      throw Error("histogram '" + name + "': bucket bounds must be strictly increasing (" +
                  number(b[i - 1]) + " then " + number(b[i]) + ")");
    }
  }
  return b;
}

SummaryOptions checked_summary(const std::string& name, SummaryOptions o) {
  for (double q : o.quantiles) {
    if (!(q >= 0 && q <= 1)) {
      throw Error("summary '" + name + "': quantiles must be in [0, 1], got " + number(q));
    }
  }
  std::sort(o.quantiles.begin(), o.quantiles.end());
  o.quantiles.erase(std::unique(o.quantiles.begin(), o.quantiles.end()), o.quantiles.end());
  if (o.max_age.count() <= 0) throw Error("summary '" + name + "': max_age must be positive");
  if (o.age_buckets < 1 || o.age_buckets > 60) {
    throw Error("summary '" + name + "': age_buckets must be in [1, 60]");
  }
  return o;
}

}  // namespace

std::string_view to_string(MetricType type) noexcept {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
    case MetricType::kSummary:
      return "summary";
    case MetricType::kInfo:
      return "info";
  }
  return "unknown";
}

std::vector<double> default_buckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::vector<double> linear_buckets(double start, double width, int count) {
  if (count < 1 || !(width > 0) || !std::isfinite(start) || !std::isfinite(width)) {
    throw Error("linear_buckets: need count >= 1 and a finite width > 0");
  }
  std::vector<double> b(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) b[static_cast<size_t>(i)] = start + width * i;
  return b;
}

std::vector<double> exponential_buckets(double start, double factor, int count) {
  if (count < 1 || !(start > 0) || !(factor > 1) || !std::isfinite(start * factor)) {
    throw Error("exponential_buckets: need count >= 1, start > 0 and factor > 1");
  }
  std::vector<double> b(static_cast<size_t>(count));
  double v = start;
  for (int i = 0; i < count; ++i, v *= factor) b[static_cast<size_t>(i)] = v;
  return b;
}

std::vector<double> exponential_buckets_range(double min, double max, int count) {
  if (count < 2 || !(min > 0) || !(max > min) || !std::isfinite(max)) {
    throw Error("exponential_buckets_range: need count >= 2 and 0 < min < max");
  }
  const double factor = std::pow(max / min, 1.0 / (count - 1));
  std::vector<double> b = exponential_buckets(min, factor, count);
  b.back() = max;
  return b;
}

// ---- read side of the instruments ----

uint64_t Histogram::count() const noexcept {
  std::vector<uint64_t> counts(bound_count_ + 1, 0);
  double s = 0;
  detail::read_seq_run(cell_, s, counts);
  uint64_t total = 0;
  for (uint64_t c : counts) total += c;
  return total;
}

double Histogram::sum() const noexcept {
  std::vector<uint64_t> counts(bound_count_ + 1, 0);
  double s = 0;
  detail::read_seq_run(cell_, s, counts);
  return s;
}

std::vector<uint64_t> Histogram::cumulative_counts() const {
  std::vector<uint64_t> counts(bound_count_ + 1, 0);
  double s = 0;
  detail::read_seq_run(cell_, s, counts);
  for (size_t i = 1; i < counts.size(); ++i) counts[i] += counts[i - 1];
  return counts;
}

uint64_t Summary::count() const noexcept {
  uint64_t c[1] = {0};
  double s = 0;
  detail::read_seq_run(cell_, s, c);
  return c[0];
}

double Summary::sum() const noexcept {
  uint64_t c[1] = {0};
  double s = 0;
  detail::read_seq_run(cell_, s, c);
  return s;
}

double Summary::quantile(double q) const {
  if (window_ == nullptr) return std::numeric_limits<double>::quiet_NaN();
  const double qs[1] = {q};
  std::pair<double, double> out[1];
  window_->quantiles(qs, out);
  return out[0].second;
}

// ---- Family<Counter> ----

template <>
Family<Counter>::Family(std::string name, std::string help, std::vector<std::string> label_names,
                        MetricOptions options)
    : FamilyBase(std::move(name), std::move(help), MetricType::kCounter, std::move(label_names),
                 std::move(options), Counter::kCells) {}
template <>
void Family<Counter>::init_series(detail::SeriesNode&) {}
template <>
void Family<Counter>::emit(MetricSink& sink, LabelValues labels,
                           const detail::SeriesNode& node) const {
  const double value = detail::sum_counter_cells(node.cell);
  if (detail::ExemplarStore* store = detail::exemplar_store(stats_);
      store != nullptr && sink.wants_exemplars()) {
    thread_local detail::ExemplarStore::Snapshot snapshot;
    if (store->snapshot(node, 1, snapshot)) {
      sink.counter_with_exemplar(labels, value, node.created, snapshot.points.front());
      return;
    }
  }
  sink.counter(labels, value, node.created);
}

// ---- Family<Gauge> ----

template <>
Family<Gauge>::Family(std::string name, std::string help, std::vector<std::string> label_names,
                      MetricOptions options)
    : FamilyBase(std::move(name), std::move(help), MetricType::kGauge, std::move(label_names),
                 std::move(options), Gauge::kCells) {}
template <>
void Family<Gauge>::init_series(detail::SeriesNode&) {}
template <>
void Family<Gauge>::emit(MetricSink& sink, LabelValues labels,
                         const detail::SeriesNode& node) const {
  sink.gauge(labels, std::bit_cast<double>(node.word.load(std::memory_order_relaxed)));
}

// ---- Family<Info> ----

template <>
Family<Info>::Family(std::string name, std::string help, std::vector<std::string> label_names,
                     MetricOptions options)
    : FamilyBase(std::move(name), std::move(help), MetricType::kInfo, std::move(label_names),
                 std::move(options), Info::kCells) {}
template <>
void Family<Info>::init_series(detail::SeriesNode&) {}
template <>
void Family<Info>::emit(MetricSink& sink, LabelValues labels, const detail::SeriesNode&) const {
  sink.info(labels);
}

// ---- Family<Histogram> ----

template <>
Family<Histogram>::Family(std::string name, std::string help, std::vector<std::string> label_names,
                          MetricOptions options, HistogramOptions histogram)
    : FamilyBase(name, std::move(help), MetricType::kHistogram, std::move(label_names),
                 std::move(options), Histogram::cells_for(histogram.buckets.size())),
      bounds_(checked_buckets(name, std::move(histogram.buckets))) {}
template <>
void Family<Histogram>::init_series(detail::SeriesNode&) {}
template <>
void Family<Histogram>::emit(MetricSink& sink, LabelValues labels,
                             const detail::SeriesNode& node) const {
  constexpr size_t kStack = 64;
  uint64_t stack_counts[kStack];
  std::vector<uint64_t> heap_counts;
  std::span<uint64_t> counts;
  if (bounds_.size() + 1 <= kStack) {
    counts = std::span<uint64_t>(stack_counts, bounds_.size() + 1);
  } else {
    heap_counts.resize(bounds_.size() + 1);
    counts = heap_counts;
  }
  std::fill(counts.begin(), counts.end(), 0);
  HistogramPoint p;
  detail::read_seq_run(node.cell, p.sum, counts);
  for (size_t i = 1; i < counts.size(); ++i) counts[i] += counts[i - 1];
  p.bounds = bounds_;
  p.cumulative = counts;
  p.count = counts.back();
  p.created = node.created;
  if (detail::ExemplarStore* store = detail::exemplar_store(stats_);
      store != nullptr && sink.wants_exemplars()) {
    thread_local detail::ExemplarStore::Snapshot snapshot;
    if (store->snapshot(node, static_cast<uint32_t>(counts.size()), snapshot)) {
      p.exemplars = snapshot.by_slot;
    }
  }
  sink.histogram(labels, p);
}

// ---- Family<Summary> ----

template <>
Family<Summary>::Family(std::string name, std::string help, std::vector<std::string> label_names,
                        MetricOptions options, SummaryOptions summary)
    : FamilyBase(name, std::move(help), MetricType::kSummary, std::move(label_names),
                 std::move(options), Summary::kCells),
      summary_(checked_summary(name, std::move(summary))) {}
template <>
void Family<Summary>::init_series(detail::SeriesNode& node) {
  auto* window = new detail::SummaryWindow(summary_.max_age, summary_.age_buckets);
  node.word.store(reinterpret_cast<uint64_t>(window), std::memory_order_relaxed);
  node.owns_window = true;
}
template <>
void Family<Summary>::emit(MetricSink& sink, LabelValues labels,
                           const detail::SeriesNode& node) const {
  constexpr size_t kStack = 16;
  std::pair<double, double> stack_q[kStack];
  std::vector<std::pair<double, double>> heap_q;
  std::span<std::pair<double, double>> qs;
  if (summary_.quantiles.size() <= kStack) {
    qs = std::span<std::pair<double, double>>(stack_q, summary_.quantiles.size());
  } else {
    heap_q.resize(summary_.quantiles.size());
    qs = heap_q;
  }
  node.window()->quantiles(summary_.quantiles, qs);
  SummaryPoint p;
  uint64_t c[1] = {0};
  detail::read_seq_run(node.cell, p.sum, c);
  p.count = c[0];
  p.quantiles = qs;
  p.created = node.created;
  sink.summary(labels, p);
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;
template class Family<Summary>;
template class Family<Info>;

}  // namespace vigil::metrics
