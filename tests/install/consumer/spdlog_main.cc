// Consumes an installed vigil::trace_spdlog: a log line inside a span carries its trace id.
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <sstream>

#include "vigil/trace/spdlog.h"
#include "vigil/trace/tracer.h"

int main() {
  vigil::trace::TracerProvider provider;
  std::ostringstream out;
  auto logger = std::make_shared<spdlog::logger>(
      "consumer", std::make_shared<spdlog::sinks::ostream_sink_st>(out));
  vigil::trace::use_trace_pattern(*logger, "%* %v");
  vigil::trace::Span span = provider.tracer("consumer").start_span("main");
  logger->info("hello");
  const std::string want = span.trace_id().to_hex() + " hello\n";
  if (out.str() != want) {
    std::fprintf(stderr, "consumer_spdlog: got '%s', want '%s'\n", out.str().c_str(), want.c_str());
    return 1;
  }
  std::puts("consumer_spdlog: ok");
  return 0;
}
