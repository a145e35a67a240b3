// The registry sampler (see registry_sampler.h): moved here from query_engine.cc so the rule
// engine and the admin dashboard's query API share it.
#include "alerting/registry_sampler.h"

#include <cstring>
#include <string>
#include <utility>

#include "metrics/text_format.h"
#include "vigil/metrics/registry.h"

namespace vigil::alerting {
namespace {

namespace pq = promql;

// Collects a registry into the storage under Prometheus' sample names, only the names some rule
// may select.
class SampleSink final : public metrics::MetricSink {
 public:
  SampleSink(pq::MemoryStorage& storage, int64_t t,
             const std::function<bool(const std::string&)>& wanted, RegistrySampler::Map& sampled,
             uint64_t round, size_t max_series, std::vector<SampledFamily>* families)
      : storage_(storage),
        t_(t),
        wanted_(wanted),
        sampled_(sampled),
        round_(round),
        max_series_(max_series),
        families_(families) {}

  size_t dropped() const noexcept { return dropped_; }

  void begin_family(const metrics::FamilyDesc& f) override {
    // A copy: `f` may be a temporary (the process collector builds its descriptions per call);
    // the views inside it stay valid until end_family.
    family_copy_ = f;
    family_ = &family_copy_;
    base_ = std::string(f.name);
    if (families_ != nullptr) {
      families_->push_back({std::string(f.name), f.type, std::string(f.help), std::string(f.unit),
                            std::vector<std::string>(f.label_names.begin(), f.label_names.end())});
    }
    const auto w = [&](const std::string& n) { return !wanted_ || wanted_(n); };
    switch (f.type) {
      case metrics::MetricType::kCounter:
        names_ = {base_ + "_total"};
        break;
      case metrics::MetricType::kGauge:
        names_ = {base_};
        break;
      case metrics::MetricType::kHistogram:
        names_ = {base_ + "_bucket", base_ + "_sum", base_ + "_count"};
        break;
      case metrics::MetricType::kSummary:
        names_ = {base_, base_ + "_sum", base_ + "_count"};
        break;
      case metrics::MetricType::kInfo:
        names_ = {base_ + "_info"};
        break;
    }
    want_.clear();
    any_ = false;
    for (const std::string& n : names_) {
      want_.push_back(w(n));
      any_ = any_ || want_.back();
    }
  }
  void counter(metrics::LabelValues labels, double value, double) override {
    if (want_[0]) append(names_[0], labels, value);
  }
  void gauge(metrics::LabelValues labels, double value) override {
    if (want_[0]) append(names_[0], labels, value);
  }
  void histogram(metrics::LabelValues labels, const metrics::HistogramPoint& p) override {
    if (!any_) return;
    if (want_[0]) {
      // The key holds the bound's bits (or "+Inf"); the le text is formatted only for a new
      // series, not for every bucket of every round.
      char bits[sizeof(double)];
      for (size_t i = 0; i <= p.bounds.size(); ++i) {
        std::string_view key = "+Inf";
        if (i < p.bounds.size()) {
          std::memcpy(bits, &p.bounds[i], sizeof bits);
          key = std::string_view(bits, sizeof bits);
        }
        const double count = i < p.cumulative.size() ? static_cast<double>(p.cumulative[i]) : 0.0;
        append(names_[0], labels, count, "le", key, [&](std::string& le) {
          if (i < p.bounds.size()) {
            metrics::detail::append_label_number(le, p.bounds[i], false);
          } else {
            le = "+Inf";
          }
        });
      }
    }
    if (want_[1]) append(names_[1], labels, p.sum);
    if (want_[2]) append(names_[2], labels, static_cast<double>(p.count));
  }
  void summary(metrics::LabelValues labels, const metrics::SummaryPoint& p) override {
    if (!any_) return;
    if (want_[0]) {
      for (const auto& [q, v] : p.quantiles) {
        std::string qs;
        metrics::detail::append_label_number(qs, q, false);
        append(names_[0], labels, v, "quantile", qs, [&](std::string& out) { out = qs; });
      }
    }
    if (want_[1]) append(names_[1], labels, p.sum);
    if (want_[2]) append(names_[2], labels, static_cast<double>(p.count));
  }
  void info(metrics::LabelValues labels) override {
    if (want_[0]) append(names_[0], labels, 1.0);
  }
  void end_family() override { family_ = nullptr; }

 private:
  void append(const std::string& name, metrics::LabelValues values, double v) {
    append(name, values, v, {}, {}, [](std::string&) {});
  }
  // `extra_key` stands for the extra label's value in the series' key; `extra_value(out)`
  // writes that value, called only when the series is new.
  template <class ExtraValue>
  void append(const std::string& name, metrics::LabelValues values, double v,
              std::string_view extra_name, std::string_view extra_key,
              const ExtraValue& extra_value) {
    // The key: the sample name (unique per family, so it stands for the const labels too), the
    // label values and the extra label's key.
    key_.assign(name);
    for (size_t i = 0; i < values.size(); ++i) {
      key_ += '\xff';
      key_ += values[i];
    }
    key_ += '\xfe';
    key_ += extra_key;
    auto it = sampled_.find(std::string_view(key_));
    if (it == sampled_.end()) {
      if (max_series_ != 0 && sampled_.size() >= max_series_) {
        ++dropped_;
        return;
      }
      pq::Labels labels;
      labels.reserve(family_->const_labels.size() + values.size() + 2);
      labels.emplace_back("__name__", name);
      for (const auto& kv : family_->const_labels) labels.push_back(kv);
      for (size_t i = 0; i < values.size() && i < family_->label_names.size(); ++i) {
        labels.emplace_back(family_->label_names[i], std::string(values[i]));
      }
      if (!extra_name.empty()) {
        std::string value;
        extra_value(value);
        labels.emplace_back(std::string(extra_name), std::move(value));
      }
      pq::sort_labels(labels);
      it = sampled_.emplace(key_, RegistrySampler::Series{std::move(labels), round_, {}}).first;
    }
    it->second.round = round_;
    storage_.append(it->second.labels, t_, v, it->second.ref);
  }

  pq::MemoryStorage& storage_;
  const int64_t t_;
  const std::function<bool(const std::string&)>& wanted_;
  RegistrySampler::Map& sampled_;
  const uint64_t round_;
  const size_t max_series_;
  std::vector<SampledFamily>* families_;
  size_t dropped_ = 0;
  metrics::FamilyDesc family_copy_;
  const metrics::FamilyDesc* family_ = nullptr;
  std::string base_;
  std::vector<std::string> names_;
  std::vector<bool> want_;
  bool any_ = false;
  std::string key_;
};

}  // namespace

void RegistrySampler::sample(const metrics::Registry& registry, int64_t t,
                             promql::MemoryStorage& storage,
                             const std::function<bool(const std::string&)>& wanted) {
  const uint64_t round = ++round_;
  if (options_.record_families) families_.clear();
  SampleSink sink(storage, t, wanted ? wanted : options_.wanted, sampled_, round,
                  options_.max_series, options_.record_families ? &families_ : nullptr);
  registry.collect(sink);
  dropped_ = sink.dropped();
  // Series that disappeared from the registry: a stale marker, as a scrape would write.
  for (auto it = sampled_.begin(); it != sampled_.end();) {
    if (it->second.round == round) {
      ++it;
      continue;
    }
    storage.append(it->second.labels, t, pq::stale_nan(), it->second.ref);
    it = sampled_.erase(it);
  }
}

}  // namespace vigil::alerting
