// Consumer of an installed vigil (see tests/install/consumer/CMakeLists.txt and
// scripts/install-test.sh). Builds against installed headers and libraries only: registers a
// counter, exposes it in the Prometheus text format and checks a registration error surfaces as
// vigil::Error.
#include <cstdio>
#include <string>

#include "vigil/core/error.h"
#include "vigil/metrics/exposition.h"
#include "vigil/metrics/registry.h"

int main() {
  vigil::metrics::Registry registry;
  registry.counter("consumer_events_total", "Events").get().inc();

  const std::string text =
      vigil::metrics::serialize(registry, vigil::metrics::Format::kPrometheusText);
  if (text.find("consumer_events_total 1") == std::string::npos) {
    std::fprintf(stderr, "consumer: counter missing from exposition:\n%s", text.c_str());
    return 1;
  }

  try {
    registry.counter("bad name", "Not a valid metric name");
    std::fprintf(stderr, "consumer: an invalid metric name was accepted\n");
    return 1;
  } catch (const vigil::Error& e) {
    std::printf("consumer: ok (rejected as expected: %s)\n", e.what());
  }
  return 0;
}
