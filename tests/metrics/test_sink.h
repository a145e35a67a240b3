// A MetricSink that records everything, for tests.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "vigil/metrics/collector.h"

namespace vigil::metrics::testing {

struct RecordedSeries {
  std::vector<std::string> labels;
  double value = 0;  // counter / gauge value; histogram / summary count
  double sum = 0;
  double created = 0;
  std::vector<uint64_t> cumulative;
  std::vector<std::pair<double, double>> quantiles;
};

struct RecordedFamily {
  std::string name, help, unit;
  MetricType type{};
  std::vector<std::string> label_names;
  std::vector<LabelPair> const_labels;
  std::vector<RecordedSeries> series;
  const RecordedSeries* find(const std::vector<std::string>& labels) const {
    for (const auto& s : series) {
      if (s.labels == labels) return &s;
    }
    return nullptr;
  }
};

class RecordingSink : public MetricSink {
 public:
  std::map<std::string, RecordedFamily> families;
  std::vector<std::string> order;

  void begin_family(const FamilyDesc& f) override {
    current_ = &families[std::string(f.name)];
    order.emplace_back(f.name);
    current_->name = f.name;
    current_->help = f.help;
    current_->unit = f.unit;
    current_->type = f.type;
    current_->label_names.assign(f.label_names.begin(), f.label_names.end());
    current_->const_labels.assign(f.const_labels.begin(), f.const_labels.end());
  }
  void counter(LabelValues labels, double value, double created) override {
    add(labels).value = value;
    current_->series.back().created = created;
  }
  void gauge(LabelValues labels, double value) override { add(labels).value = value; }
  void histogram(LabelValues labels, const HistogramPoint& p) override {
    auto& s = add(labels);
    s.value = static_cast<double>(p.count);
    s.sum = p.sum;
    s.created = p.created;
    s.cumulative.assign(p.cumulative.begin(), p.cumulative.end());
  }
  void summary(LabelValues labels, const SummaryPoint& p) override {
    auto& s = add(labels);
    s.value = static_cast<double>(p.count);
    s.sum = p.sum;
    s.created = p.created;
    s.quantiles.assign(p.quantiles.begin(), p.quantiles.end());
  }
  void info(LabelValues labels) override { add(labels).value = 1; }
  void end_family() override { current_ = nullptr; }

  const RecordedFamily* family(const std::string& name) const {
    auto it = families.find(name);
    return it == families.end() ? nullptr : &it->second;
  }

 private:
  RecordedSeries& add(LabelValues labels) {
    RecordedSeries s;
    for (auto v : labels) s.labels.emplace_back(v);
    current_->series.push_back(std::move(s));
    return current_->series.back();
  }
  RecordedFamily* current_ = nullptr;
};

}  // namespace vigil::metrics::testing
