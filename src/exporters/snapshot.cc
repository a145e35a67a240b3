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

// A series' identity within its family: its label values, hashed and compared as they are
// (no key string is built per lookup). Not noexcept on purpose: libstdc++ then caches each
// node's hash, so a bucket scan compares hashes instead of rehashing label vectors.
struct LabelsHash {
  std::size_t operator()(const std::vector<std::string>& labels) const {
    std::size_t h = 0x9e3779b97f4a7c15ULL ^ labels.size();
    for (const auto& l : labels) {
      h ^= std::hash<std::string_view>{}(l) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    }
    return h;
  }
};

struct DeltaTracker::State {
  struct Previous {
    double value = 0;
    uint64_t count = 0;
    double sum = 0;
    std::vector<uint64_t> buckets;
    double window_start = 0;  // start of the window the next delta covers
    uint64_t generation = 0;
  };
  // Per family name, then per label values.
  using Series = std::unordered_map<std::vector<std::string>, Previous, LabelsHash>;
  struct Family {
    Series series;
    // The previous call's points in order (nodes of `series`, stable until erased; all were
    // seen in that call, so none is erased before this call rebuilds the list): registries
    // emit series in the same order every time, so point i is usually order[i] and needs no
    // hash lookup, only a comparison of its label values.
    std::vector<Series::value_type*> order;
  };
  std::unordered_map<std::string, Family> families;
  std::size_t tracked = 0;
  uint64_t generation = 0;
};

MetricsSnapshot DeltaTracker::deltas(const MetricsSnapshot& cumulative) {
  MetricsSnapshot out;
  deltas_into(cumulative, out);
  return out;
}

void DeltaTracker::deltas_into(const MetricsSnapshot& cumulative, MetricsSnapshot& out) {
  if (!state_) state_ = std::make_shared<State>();
  State& st = *state_;
  const uint64_t gen = ++st.generation;
  if (&out != &cumulative) out = cumulative;  // copy-assignment reuses out's allocations
  for (auto& f : out.families) {
    if (!tracks(f.type)) continue;
    State::Family& fam = st.families[f.name];
    State::Series& series = fam.series;
    const bool histogram = f.type == metrics::MetricType::kHistogram;
    for (std::size_t i = 0; i < f.points.size(); ++i) {
      MetricPoint& p = f.points[i];
      State::Series::value_type* node = nullptr;
      bool inserted = false;
      if (i < fam.order.size() && fam.order[i]->first == p.label_values) {
        node = fam.order[i];
      } else {
        auto it = series.find(p.label_values);
        inserted = it == series.end();
        if (inserted) {
          it = series.emplace(p.label_values, State::Previous{}).first;
          ++st.tracked;
        }
        node = &*it;
        if (i < fam.order.size()) {
          fam.order[i] = node;
        } else {
          fam.order.push_back(node);
        }
      }
      State::Previous& prev = node->second;
      // The window this delta covers starts where the previous one ended (or at the series'
      // start); remembered before `prev` moves on.
      const double start =
          inserted ? (p.start_time > 0 ? p.start_time : cumulative.timestamp) : prev.window_start;
      const double value = p.value;
      const uint64_t count = p.count;
      const double sum = p.sum;
      // Prometheus' reset rule: a value below the previous one means the series restarted, and
      // the whole new value is the change.
      const bool reset = !inserted && (value < prev.value || count < prev.count);
      if (!inserted && !reset) {
        p.value = value - prev.value;
        p.count = count - prev.count;
        p.sum = sum - prev.sum;
      }
      if (histogram) {
        if (!inserted && !reset && prev.buckets.size() == p.buckets.size()) {
          // Delta and remember in one pass, without allocating.
          for (std::size_t k = 0; k < p.buckets.size(); ++k) {
            const uint64_t b = p.buckets[k];
            p.buckets[k] = b >= prev.buckets[k] ? b - prev.buckets[k] : b;
            prev.buckets[k] = b;
          }
        } else {
          prev.buckets.assign(p.buckets.begin(), p.buckets.end());
        }
      } else {
        prev.buckets.clear();
      }
      prev.value = value;
      prev.count = count;
      prev.sum = sum;
      prev.window_start = cumulative.timestamp;
      prev.generation = gen;
      p.start_time = start;
    }
    fam.order.resize(f.points.size());
  }
  vanished_.clear();
  for (auto fit = st.families.begin(); fit != st.families.end();) {
    State::Series& series = fit->second.series;
    for (auto it = series.begin(); it != series.end();) {
      if (it->second.generation != gen) {
        auto node = series.extract(it++);
        vanished_.emplace_back(fit->first, std::move(node.key()));
        --st.tracked;
      } else {
        ++it;
      }
    }
    if (series.empty()) {
      fit = st.families.erase(fit);
    } else {
      ++fit;
    }
  }
}

double DeltaTracker::window_start(std::string_view family,
                                  const std::vector<std::string>& labels) const {
  if (!state_) return 0;
  auto fit = state_->families.find(std::string(family));
  if (fit == state_->families.end()) return 0;
  auto it = fit->second.series.find(labels);
  return it == fit->second.series.end() ? 0 : it->second.window_start;
}

std::size_t DeltaTracker::tracked_series() const noexcept { return state_ ? state_->tracked : 0; }

}  // namespace vigil::exporters
