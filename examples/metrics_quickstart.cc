// The guides' quick start in C++: a counter and a histogram with labels, a timer, and the
// registry printed in the Prometheus text format.
#include <iostream>
#include <thread>

#include "vigil/metrics/exposition.h"
#include "vigil/metrics/registry.h"
#include "vigil/metrics/timer.h"

int main() {
  using namespace vigil::metrics;
  Registry registry;

  auto& executions = registry.counter("pipeline_executions_total", "Total pipeline executions",
                                      {"pipeline_name", "status"});
  auto& duration = registry.histogram("pipeline_duration_seconds", "Pipeline execution duration",
                                      {"pipeline_name"});

  Counter ok = executions.labels("data_processor", "success");  // resolve once, keep
  ok.inc();
  ok.inc();
  duration.labels("data_processor").observe(1.25);
  {
    ScopedTimer timer(duration.labels("data_processor"));
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }

  std::cout << serialize(registry, Format::kPrometheusText);
  return 0;
}
