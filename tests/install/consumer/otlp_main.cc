// Consumer of an installed vigil::exporters. Built by tests/install/consumer/CMakeLists.txt
// (without VIGIL_CONSUMER_USE_EXPORTER: nothing names the OTLP exporter, so this checks that
// linking vigil::exporters alone registers the "otlp" factory) and by scripts/install-test.sh
// through pkg-config (with it).
#include <iostream>

#include "vigil/exporters/otlp_trace_exporter.h"
#include "vigil/trace/exporter.h"

int main() {
#ifdef VIGIL_CONSUMER_USE_EXPORTER
  vigil::exporters::OtlpTraceExporterOptions options;
  options.endpoint = "http://127.0.0.1:4318/v1/traces";  // nothing is sent
  vigil::exporters::OtlpTraceExporter exporter(options);
  if (exporter.name() != "otlp") return 1;
#endif
  if (!vigil::trace::has_exporter_factory("otlp")) {
    std::cerr << "consumer_otlp: the \"otlp\" exporter factory is not registered\n";
    return 1;
  }
  std::cout << "consumer_otlp: ok\n";
  return 0;
}
