// tests/exporters/snapshot_builders.h: MetricsSnapshot pieces built by hand, for the exporters'
// encoding tests.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "vigil/exporters/metric_exporter.h"

namespace vigil::exporters::testing {

inline MetricFamily family(std::string name, metrics::MetricType type,
                           std::vector<std::string> labels = {}) {
  MetricFamily f;
  f.name = std::move(name);
  f.type = type;
  f.label_names = std::move(labels);
  return f;
}

inline MetricPoint point(std::vector<std::string> labels, double value) {
  MetricPoint p;
  p.label_values = std::move(labels);
  p.value = value;
  return p;
}

}  // namespace vigil::exporters::testing
