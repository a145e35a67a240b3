// Consumer of an installed vigil::ops. Built by tests/install/consumer/CMakeLists.txt: checks that
// the public header stands alone and that nlohmann-json (private, header-only) is not needed.
#include <iostream>

#include "vigil/metrics/registry.h"
#include "vigil/ops/grafana.h"

int main() {
  vigil::metrics::Registry registry;
  registry.counter("orders_total", "Orders", {"status"});
  const auto dashboards = vigil::ops::grafana_dashboards(registry, {.title = "consumer"});
  if (dashboards.empty() || dashboards[0].uid != "consumer-overview" ||
      dashboards[0].json.find("orders_total") == std::string::npos) {
    std::cerr << "consumer_ops: unexpected dashboards\n";
    return 1;
  }
  std::cout << "consumer_ops: " << dashboards.size() << " dashboards\n";
  return 0;
}
