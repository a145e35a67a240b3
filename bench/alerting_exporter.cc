// The exporter of bench/prometheus_rules_compare.sh: serves the 10,000 series of
// bench/alerting_workload.h on vigil's admin server (/metrics) with the traffic advancing in real
// time, and writes the benchmark's rule file, so that a real Prometheus evaluates the same rules
// over the same series as bench/alerting_bench.cc's BM_RuleFile100.
//
//   build/release/bench/alerting_exporter --listen=127.0.0.1:0 --rules-out=/tmp/rules.yml
//   (prints "PORT <port>" once serving; runs until killed)
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>

#include "alerting_workload.h"
#include "vigil/admin/metrics_endpoint.h"
#include "vigil/admin/server.h"
#include "vigil/metrics/registry.h"

int main(int argc, char** argv) {
  std::string listen = "127.0.0.1:0", rules_out, interval = "5s";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](const char* flag) -> const char* {
      const size_t n = std::strlen(flag);
      return a.compare(0, n, flag) == 0 ? argv[i] + n : nullptr;
    };
    if (const char* v = value("--listen=")) {
      listen = v;
    } else if (const char* v2 = value("--rules-out=")) {
      rules_out = v2;
    } else if (const char* v3 = value("--interval=")) {
      interval = v3;
    } else {
      std::fprintf(stderr, "usage: %s [--listen=HOST:PORT] [--rules-out=FILE] [--interval=5s]\n",
                   argv[0]);
      return 2;
    }
  }
  if (!rules_out.empty()) {
    std::ofstream f(rules_out);
    f << vigil_bench::alerting_rule_file(interval);
    if (!f) {
      std::fprintf(stderr, "cannot write %s\n", rules_out.c_str());
      return 1;
    }
  }
  vigil::metrics::Registry registry;
  vigil_bench::AlertingWorkload workload(registry);
  workload.step(1);
  vigil::admin::ServerOptions options;
  options.listen = listen;
  vigil::admin::Server server(options);
  vigil::admin::add_metrics_endpoint(server, registry);
  server.start();
  std::printf("PORT %u\n", static_cast<unsigned>(server.port()));
  std::fflush(stdout);
  auto next = std::chrono::steady_clock::now();
  for (;;) {
    next += std::chrono::seconds(1);
    std::this_thread::sleep_until(next);
    workload.step(1);
  }
}
