// vigil::setup: a service's telemetry in one call (docs/setup.md).
//
//   build/release/examples/example_setup_quickstart          # sets up, records, stops
//   build/release/examples/example_setup_quickstart 30       # for 30 seconds
//   OTEL_SERVICE_NAME=checkout VIGIL_ADMIN_LISTEN=127.0.0.1:9500 example_setup_quickstart 30
//
// One call gives the resource, tracing (exported when OTEL_* says where), metric push export,
// log correlation, a health monitor, the process metrics and the admin server with /metrics,
// /health/*, /debug/tracez and the dashboard. The handle stops all of it when it goes away.
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "vigil/metrics/registry.h"
#include "vigil/setup.h"
#include "vigil/trace/exemplar.h"

int main(int argc, char** argv) {
  const double serve_seconds = argc > 1 ? std::atof(argv[1]) : 0;

  vigil::Telemetry telemetry = vigil::setup({.service_name = "setup-quickstart",
                                             .service_version = "1.0",
                                             .shutdown_timeout = std::chrono::seconds(2)});

  // Metrics: registered once, recorded anywhere. The latency histogram links to traces.
  auto& registry = telemetry.registry();
  auto& requests = registry.counter("app_requests", "Requests handled", {"route"});
  auto latency =
      registry
          .histogram("app_request_duration_seconds",
                     {.help = "Request latency", .buckets = {0.01, 0.1, 1}, .unit = "seconds"})
          .get();
  // Health: /health/ready fails while this returns false.
  telemetry.health().add_readiness_check("cache", [] { return true; });

  // Traces: the handle's tracer (a no-op one when OTEL_SDK_DISABLED=true).
  for (int i = 0; i < 3; ++i) {
    vigil::trace::Span span = telemetry.tracer().start_span("handle_request");
    requests.labels("/chat").inc();
    vigil::trace::observe_with_trace(latency, 0.05 * (i + 1));  // exemplar: this span's ids
  }

  std::cout << "setup_quickstart: service " << telemetry.resource().service_name()
            << (telemetry.enabled() ? "" : " (OTEL_SDK_DISABLED)") << "; admin server "
            << (telemetry.url().empty() ? std::string("off") : telemetry.url())
            << "; traces: " << telemetry.trace_export_description() << "\n";
  if (serve_seconds > 0) {
    std::cout << "setup_quickstart: try curl " << telemetry.url() << "/metrics\n" << std::flush;
    std::this_thread::sleep_for(std::chrono::duration<double>(serve_seconds));
  }
  const bool clean = telemetry.shutdown();  // also done by the destructor
  std::cout << "setup_quickstart: stopped" << (clean ? "" : " (deadline reached)") << "\n";
  return 0;
}
