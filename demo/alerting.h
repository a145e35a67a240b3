// demo/alerting.h: the demo's alerting: an AlertManager over the demo's registry with the rules
// of deploy/prometheus/alert_rules.yml (and --rules files), C++ rules (high error rate, slow p95,
// LLM cost per hour, the vector-store outage) and an SLO on request success, with firing and
// resolved alerts printed to the console, one line each.
//
//   vigil::demo::DemoAlerting alerting(registry, dependencies, {.eval_interval = 2s,
//                                                               .rule_files = files});
//   alerting.start();   // evaluates every eval_interval on the manager's thread
//   ...
//   alerting.stop();
//
// Errors: the constructor throws vigil::Error when a rule file does not load (the message
// names file, line, group and rule) or a rule is refused.
// Thread-safety: start() and stop() from one thread; manager() is the thread-safe AlertManager.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "dependencies.h"
#include "vigil/alerting/manager.h"
#include "vigil/alerting/slo.h"
#include "vigil/metrics/registry.h"

namespace vigil::demo {

struct DemoAlertingOptions {
  std::chrono::milliseconds eval_interval{2000};
  // Prometheus rule files to load (deploy/prometheus/alert_rules.yml, then each --rules FILE).
  std::vector<std::string> rule_files;
  // Seconds since the demo started, for the console lines ("[t=12s]").
  std::function<double()> elapsed;
  // Where transitions are printed; null: stdout.
  std::function<void(const std::string&)> print;
  // SQLite file for alert state, silences and history ("" = memory only).
  std::string state_path;
};

class DemoAlerting {
 public:
  DemoAlerting(metrics::Registry& registry, const Dependencies& dependencies,
               DemoAlertingOptions options);
  ~DemoAlerting();
  DemoAlerting(const DemoAlerting&) = delete;
  DemoAlerting& operator=(const DemoAlerting&) = delete;

  alerting::AlertManager& manager() noexcept { return *manager_; }
  // Number of rules (recording and alerting) and what was loaded, for the banner.
  size_t rule_count() const;

  void start();
  void stop();

 private:
  void on_notification(const alerting::Notification& n);

  DemoAlertingOptions options_;
  std::unique_ptr<alerting::AlertManager> manager_;
  std::mutex mu_;
  std::map<uint64_t, alerting::AlertState> printed_;  // last state printed per alert
};

// The demo's SLO: 99% of agent_requests_total succeed over 30 days (status error or timeout
// count against it). deploy/prometheus/slo_rules.yml is its rule file (vigil-demo
// --write-slo-rules).
alerting::Slo demo_slo();

// One console line for an alert that fired or resolved, e.g.
// "vigil-demo: [t=7s] ALERT FIRING VectorStoreOutage [critical]: The vector store is down ..."
std::string alert_line(const alerting::Alert& alert, double t_seconds);

}  // namespace vigil::demo
