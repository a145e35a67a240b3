// Consumes an installed vigil::alerting: a PromQL rule over a registry, evaluated once (links the
// PromQL engine and its private dependencies: RE2, yaml-cpp, SQLite), and a rule file refused.
#include <chrono>
#include <cstdio>

#include "vigil/alerting/manager.h"
#include "vigil/alerting/rule_file.h"
#include "vigil/metrics/registry.h"

int main() {
  vigil::metrics::Registry registry;
  registry.gauge("queue_depth", "Jobs waiting").get().set(12);
  vigil::alerting::AlertManagerOptions options;
  options.registry = &registry;
  vigil::alerting::AlertManager manager(options);
  manager.add_rule(vigil::alerting::AlertRule::builder()
                       .name("QueueFull")
                       .expr("queue_depth{job=~\".*\"} > 10")
                       .build());
  manager.evaluate();
  const auto active = manager.active_alerts();
  if (active.size() != 1 || active[0].value != 12) {
    std::fprintf(stderr, "consumer_alerting: expected one alert with value 12\n");
    return 1;
  }
  const auto bad = vigil::alerting::parse_rule_file("groups: [{name: g, rules: [{alert: A}]}]");
  if (bad || bad.errors.empty()) {
    std::fprintf(stderr, "consumer_alerting: a rule without expr was accepted\n");
    return 1;
  }
  std::printf("consumer_alerting: ok (%s; rejected: %s)\n", active[0].id.c_str(),
              bad.errors[0].c_str());
  return 0;
}
