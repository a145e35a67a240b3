// collect_snapshot and DeltaTracker (vigil/exporters/metric_exporter.h).
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "vigil/core/clock.h"
#include "vigil/exporters/metric_exporter.h"
#include "vigil/metrics/registry.h"

namespace vigil::exporters {

std::size_t MetricsSnapshot::series() const noexcept {
  std::size_t n = 0;
  for (const auto& f : families) n += f.points.size();
  return n;
}

namespace {

ExemplarValue copy_exemplar(const metrics::ExemplarPoint& e) {
  ExemplarValue out;
  out.labels.reserve(e.labels.size());
  for (const auto& [k, v] : e.labels) out.labels.emplace_back(std::string(k), std::string(v));
  out.value = e.value;
  out.timestamp = e.timestamp;
  return out;
}

// Copies every family and series the registry emits.
class SnapshotSink final : public metrics::MetricSink {
 public:
  SnapshotSink(MetricsSnapshot& out, bool exemplars) : out_(out), exemplars_(exemplars) {}

  void begin_family(const metrics::FamilyDesc& d) override {
    MetricFamily& f = out_.families.emplace_back();
    f.name = d.name;
    f.help = d.help;
    f.unit = d.unit;
    f.type = d.type;
    f.label_names.reserve(d.const_labels.size() + d.label_names.size());
    consts_.clear();
    for (const auto& [k, v] : d.const_labels) {
      f.label_names.push_back(k);
      consts_.push_back(v);
    }
    for (const auto& n : d.label_names) f.label_names.push_back(n);
    family_ = &f;
  }
  void counter(metrics::LabelValues labels, double value, double created) override {
    MetricPoint& p = add(labels);
    p.value = value;
    p.start_time = created;
  }
  void counter_with_exemplar(metrics::LabelValues labels, double value, double created,
                             const metrics::ExemplarPoint& exemplar) override {
    MetricPoint& p = add(labels);
    p.value = value;
    p.start_time = created;
    p.exemplar = copy_exemplar(exemplar);
  }
  void gauge(metrics::LabelValues labels, double value) override { add(labels).value = value; }
  void histogram(metrics::LabelValues labels, const metrics::HistogramPoint& h) override {
    if (family_->points.empty() || family_->bounds.empty()) {
      family_->bounds.assign(h.bounds.begin(), h.bounds.end());
    }
    MetricPoint& p = add(labels);
    p.start_time = h.created;
    p.count = h.count;
    p.sum = h.sum;
    p.buckets.assign(h.cumulative.begin(), h.cumulative.end());
    if (exemplars_ && !h.exemplars.empty()) {
      p.bucket_exemplars.resize(h.exemplars.size());
      for (std::size_t i = 0; i < h.exemplars.size(); ++i) {
        if (h.exemplars[i] != nullptr) p.bucket_exemplars[i] = copy_exemplar(*h.exemplars[i]);
      }
    }
  }
  void summary(metrics::LabelValues labels, const metrics::SummaryPoint& s) override {
    MetricPoint& p = add(labels);
    p.start_time = s.created;
    p.count = s.count;
    p.sum = s.sum;
    p.quantiles.assign(s.quantiles.begin(), s.quantiles.end());
  }
  void info(metrics::LabelValues labels) override { add(labels).value = 1; }
  void end_family() override { family_ = nullptr; }
  bool wants_exemplars() const override { return exemplars_; }

 private:
  MetricPoint& add(metrics::LabelValues labels) {
    MetricPoint& p = family_->points.emplace_back();
    p.label_values.reserve(consts_.size() + labels.size());
    for (const auto& c : consts_) p.label_values.push_back(c);
    for (const auto& v : labels) p.label_values.emplace_back(v);
    return p;
  }

  MetricsSnapshot& out_;
  bool exemplars_;
  MetricFamily* family_ = nullptr;
  std::vector<std::string> consts_;
};

// A series' identity: the family name and its label values, each length-prefixed so that no
// value can imitate a separator.
void append_part(std::string& key, std::string_view part) {
  const auto n = static_cast<uint32_t>(part.size());
  key.append(reinterpret_cast<const char*>(&n), sizeof n);
  key.append(part);
}

std::string series_key(std::string_view family, const std::vector<std::string>& labels) {
  std::string key;
  std::size_t size = family.size() + 4;
  for (const auto& l : labels) size += l.size() + 4;
  key.reserve(size);
  append_part(key, family);
  for (const auto& l : labels) append_part(key, l);
  return key;
}

bool tracks(metrics::MetricType t) {
  return t == metrics::MetricType::kCounter || t == metrics::MetricType::kHistogram ||
         t == metrics::MetricType::kSummary;
}

}  // namespace

MetricsSnapshot collect_snapshot(const metrics::Registry& registry, SnapshotOptions options) {
  MetricsSnapshot out;
  out.timestamp = unix_time_seconds();
  SnapshotSink sink(out, options.exemplars);
  registry.collect(sink);
  return out;
}

struct DeltaTracker::State {
  struct Previous {
    double value = 0;
    uint64_t count = 0;
    double sum = 0;
    std::vector<uint64_t> buckets;
    double window_start = 0;  // start of the window the next delta covers
    uint64_t generation = 0;
    std::string family;
    std::vector<std::string> labels;
  };
  std::unordered_map<std::string, Previous> series;
  uint64_t generation = 0;
};

MetricsSnapshot DeltaTracker::deltas(const MetricsSnapshot& cumulative) {
  if (!state_) state_ = std::make_shared<State>();
  State& st = *state_;
  const uint64_t gen = ++st.generation;
  MetricsSnapshot out = cumulative;
  for (auto& f : out.families) {
    if (!tracks(f.type)) continue;
    for (auto& p : f.points) {
      auto [it, inserted] = st.series.try_emplace(series_key(f.name, p.label_values));
      State::Previous& prev = it->second;
      // The window this delta covers starts where the previous one ended (or at the series'
      // start); remembered before `prev` moves on.
      const double start =
          inserted ? (p.start_time > 0 ? p.start_time : cumulative.timestamp) : prev.window_start;
      if (inserted) {
        prev.family = f.name;
        prev.labels = p.label_values;
      }
      const double value = p.value;
      const uint64_t count = p.count;
      const double sum = p.sum;
      std::vector<uint64_t> buckets;
      if (f.type == metrics::MetricType::kHistogram) buckets = p.buckets;
      // Prometheus' reset rule: a value below the previous one means the series restarted, and
      // the whole new value is the change.
      const bool reset = !inserted && (value < prev.value || count < prev.count);
      if (!inserted && !reset) {
        p.value = value - prev.value;
        p.count = count - prev.count;
        p.sum = sum - prev.sum;
        if (prev.buckets.size() == p.buckets.size()) {
          for (std::size_t i = 0; i < p.buckets.size(); ++i) {
            const uint64_t b = p.buckets[i];
            p.buckets[i] = b >= prev.buckets[i] ? b - prev.buckets[i] : b;
          }
        }
      }
      prev.value = value;
      prev.count = count;
      prev.sum = sum;
      prev.buckets = std::move(buckets);
      prev.window_start = cumulative.timestamp;
      prev.generation = gen;
      p.start_time = start;
    }
  }
  vanished_.clear();
  for (auto it = st.series.begin(); it != st.series.end();) {
    if (it->second.generation != gen) {
      vanished_.emplace_back(std::move(it->second.family), std::move(it->second.labels));
      it = st.series.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

double DeltaTracker::window_start(std::string_view family,
                                  const std::vector<std::string>& labels) const {
  if (!state_) return 0;
  auto it = state_->series.find(series_key(family, labels));
  return it == state_->series.end() ? 0 : it->second.window_start;
}

std::size_t DeltaTracker::tracked_series() const noexcept {
  return state_ ? state_->series.size() : 0;
}

}  // namespace vigil::exporters
