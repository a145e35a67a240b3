// Health probes in a few lines (the README's "Health checks" section), run for a moment:
//   example_health_checks   then watch its output: ready 503 (starting), 200, 503 (db down), 200
#include <atomic>
#include <chrono>
#include <iostream>
#include <thread>

#include "vigil/admin/health_endpoints.h"
#include "vigil/admin/server.h"
#include "vigil/core/error.h"
#include "vigil/health/heartbeat.h"
#include "vigil/health/monitor.h"
#include "vigil/health/resource_checks.h"
#include "vigil/metrics/registry.h"

int main() {
  using namespace std::chrono_literals;
  namespace health = vigil::health;
  vigil::metrics::Registry registry;
  std::atomic<bool> models_loaded{false};
  std::atomic<bool> db_up{true};

  health::HealthMonitor monitor({.service_id = "example",
                                 .version = "1.0.0",
                                 .startup_timeout = 60s,
                                 .self_metrics = &registry});
  health::Heartbeat loop(2s);
  monitor.add_liveness_check("main_loop", loop.check());
  monitor.add_liveness_check("memory", health::process_memory_check());
  monitor.add_readiness_check("db", [&] { return db_up.load(); },
                              {.timeout = 1s, .failure_threshold = 2});
  monitor.add_check("disk", health::disk_space_check({.path = "/"}), {.critical = false});
  monitor.add_startup_check("models", [&] { return models_loaded.load(); });

  vigil::admin::Server server({.listen = "127.0.0.1:0"});
  vigil::admin::add_health_endpoints(server, monitor);
  try {
    server.start();
  } catch (const vigil::Error& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  std::cout << "probes at " << server.url() << "/health/live, /health/ready, /health/startup\n";

  int expected = 0, seen = 0;
  for (int step = 0; step < 8; ++step) {
    loop.beat();
    if (step == 1) models_loaded = true;  // startup completes
    if (step == 3) db_up = false;         // the database goes away...
    if (step == 6) db_up = true;          // ...and comes back
    const health::HealthReport r = monitor.readiness();
    std::cout << "step " << step << ": ready " << health::http_status(r.status) << " "
              << health::to_string(r.status) << (r.output.empty() ? "" : " (" + r.output + ")")
              << ", live " << health::http_status(monitor.liveness().status) << "\n";
    // Readiness: 503 while starting (step 0), 200, then 503 after 2 failing runs (hysteresis)
    // of the database (steps 4 and 5), 200 again once it answers.
    const bool should_fail = step == 0 || step == 4 || step == 5;
    expected += should_fail ? 1 : 0;
    seen += r.status == health::Status::kFail && should_fail ? 1 : 0;
    std::this_thread::sleep_for(50ms);
  }
  server.stop();
  std::cout << (seen == expected ? "example_health_checks: ok\n" : "example_health_checks: FAIL\n");
  return seen == expected ? 0 : 1;
}
