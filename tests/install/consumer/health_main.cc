// Consumer of an installed vigil::health. Built by tests/install/consumer/CMakeLists.txt and by
// scripts/install-test.sh through pkg-config (vigil-health): checks that the public headers stand
// alone and that the private dependencies (libcurl for http_check, nlohmann-json at build time
// only) are resolved for a static link.
#include <chrono>
#include <iostream>
#include <string>

#include "vigil/core/error.h"
#include "vigil/health/heartbeat.h"
#include "vigil/health/monitor.h"
#include "vigil/health/network_checks.h"
#include "vigil/health/report.h"
#include "vigil/health/resource_checks.h"

int main() {
  using namespace std::chrono_literals;
  namespace health = vigil::health;
  health::HealthMonitor monitor({.service_id = "consumer", .version = "1"});
  const health::Heartbeat heartbeat(10s);
  monitor.add_liveness_check("loop", heartbeat.check());
  monitor.add_readiness_check("fds", health::file_descriptor_check());
  // Port 9 on 127.0.0.1 (discard) is normally closed: the check fails, which is fine here.
  monitor.add_check("http", health::http_check("http://127.0.0.1:9/"),
                    {.groups = {"deps"}, .timeout = 2s, .critical = false});
  const health::HealthReport live = monitor.liveness();
  const std::string body = health::to_json(live);
  if (live.status != health::Status::kPass ||
      body.find("\"status\": \"pass\"") == std::string::npos) {
    std::cerr << "consumer_health: unexpected liveness report:\n" << body;
    return 1;
  }
  const health::HealthReport deps = monitor.evaluate("deps");
  if (deps.checks.size() != 1 || deps.status == health::Status::kFail) {
    std::cerr << "consumer_health: a non-critical check failed its group\n";
    return 1;
  }
  try {
    monitor.add_check("", [] { return true; });
    std::cerr << "consumer_health: an empty check name was accepted\n";
    return 1;
  } catch (const vigil::Error& e) {
    std::cout << "consumer_health: ok (" << deps.checks[0].output << "; rejected: " << e.what()
              << ")\n";
  }
  return 0;
}
