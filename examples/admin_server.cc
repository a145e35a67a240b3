// An admin server with /metrics for a few seconds: the smallest real deployment of vigil.
//   example_admin_server [seconds]   then: curl http://127.0.0.1:9464/metrics
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <thread>

#include "vigil/admin/metrics_endpoint.h"
#include "vigil/admin/server.h"
#include "vigil/core/error.h"
#include "vigil/metrics/process_collector.h"
#include "vigil/metrics/registry.h"

int main(int argc, char** argv) {
  using namespace vigil;
  const int seconds = argc > 1 ? std::atoi(argv[1]) : 5;
  metrics::Registry& registry = metrics::Registry::global();
  registry.add_collector(std::make_shared<metrics::ProcessCollector>());
  metrics::Counter ticks = registry.counter("example_ticks_total", "Ticks of the example").get();

  admin::Server server({.listen = "127.0.0.1:0"});
  admin::add_metrics_endpoint(server, registry);
  try {
    server.start();
  } catch (const Error& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  std::cout << "metrics at " << server.url() << "/metrics for " << seconds << " s\n";
  for (int i = 0; i < seconds * 10; ++i) {
    ticks.inc();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  server.stop();
  return 0;
}
