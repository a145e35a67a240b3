// demo/gateway.h: the simulated AI agent gateway as one object: its metrics, its dependencies
// and their health checks, its alert rules, the model release and its guardrail, alert delivery
// and the simulated traffic. main() sets up the telemetry with vigil::setup() and hands it here,
// as a service would hand its telemetry to its own components.
//
//   vigil::metrics::Registry registry;
//   vigil::Telemetry telemetry = vigil::setup({.registry = &registry, ...});
//   vigil::demo::AgentGateway gateway(options, telemetry);   // registers, adds admin endpoints
//   gateway.start();
//   ...
//   gateway.stop();          // delivery flushed, threads joined
//   telemetry.shutdown();    // server stopped, last metrics pushed, spans flushed
//
// Lifetime: `telemetry` (and the registry) must outlive nothing here, but the telemetry's server
// and health monitor call into this object: stop or destroy the telemetry first (declare the
// gateway before the telemetry). Thread-safety: one thread calls start(), stop() and the
// accessors.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "options.h"
#include "simulator.h"
#include "vigil/health/heartbeat.h"
#include "vigil/setup.h"

namespace vigil::exporters {
class StatsdExporter;
}

namespace vigil::demo {

class DemoAlerting;
class DemoDelivery;
class DemoGuardrail;
class Dependencies;
struct GatewayMetrics;

class AgentGateway {
 public:
  // Registers the gateway's metrics in telemetry.registry(), its checks in telemetry.health(),
  // loads its rules; when the telemetry serves (a running server), adds the alerting, guardrail
  // and notification endpoints and starts alert delivery. `dogstatsd` (may be nullptr) gets the
  // alerts as DogStatsD events and service checks. Throws vigil::Error (a bad rule file, a
  // metric clash); a guardrail that cannot run is a note on stderr, not an error.
  AgentGateway(const DemoOptions& options, Telemetry& telemetry,
               exporters::StatsdExporter* dogstatsd = nullptr);
  ~AgentGateway();  // stop()
  AgentGateway(const AgentGateway&) = delete;
  AgentGateway& operator=(const AgentGateway&) = delete;

  // Starts the dependencies' outages, the traffic, rule evaluation and the guardrail.
  void start();
  // Sends what delivery has queued (5 s at most), then stops everything. Idempotent.
  void stop();

  // --write-dashboards DIR: the Grafana dashboards generated from the registry (with the
  // delivery families registered as a run with --alertmanager and --webhook has them). Returns
  // the exit status; messages on stdout / stderr.
  int write_dashboards(const std::string& dir);

  // The start-up banner lines about the gateway (alerts, delivery, guardrail, outages), with
  // links under `url`.
  std::string banner(const std::string& url) const;
  // One line: what the simulation did in `seconds`.
  std::string summary_line(double seconds) const;

 private:
  DemoOptions options_;
  Telemetry& telemetry_;
  std::vector<std::string> rule_files_;
  std::unique_ptr<GatewayMetrics> metrics_;
  std::unique_ptr<Dependencies> dependencies_;
  health::Heartbeat dispatch_heartbeat_;
  std::unique_ptr<DemoAlerting> alerting_;
  std::unique_ptr<DemoGuardrail> guardrail_;
  std::unique_ptr<DemoDelivery> delivery_;
  std::unique_ptr<Simulator> simulator_;
  int alert_callback_ = -1;
  exporters::StatsdExporter* dogstatsd_ = nullptr;
  bool started_ = false;
  bool stopped_ = false;
};

// --write-slo-rules FILE: the demo SLO's Prometheus recording and alerting rules. Returns the
// exit status; messages on stdout / stderr.
int write_slo_rules(const std::string& path);

}  // namespace vigil::demo
