#include "vigil/trace/spdlog.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>
#include <thread>

#include "vigil/trace/context.h"
#include "vigil/trace/exporters.h"
#include "vigil/trace/tracer.h"

namespace vigil::trace {
namespace {

struct Fixture {
  ContextScope clean{Context()};
  std::unique_ptr<TracerProvider> provider = std::make_unique<TracerProvider>();
  std::ostringstream out;
  std::shared_ptr<::spdlog::logger> logger = std::make_shared<::spdlog::logger>(
      "test", std::make_shared<::spdlog::sinks::ostream_sink_st>(out));
  Tracer& tracer() { return provider->tracer("spdlog_test"); }
  std::string take() {
    std::string s = out.str();
    out.str("");
    return s;
  }
};

TEST(SpdlogFlags, LineInsideSpanCarriesItsIds) {
  Fixture f;
  use_trace_pattern(*f.logger, "%l trace_id=%* span_id=%~ %v");
  Span span = f.tracer().start_span("request");
  f.logger->info("routing {}", 7);
  EXPECT_EQ(f.take(), "info trace_id=" + span.trace_id().to_hex() +
                          " span_id=" + span.span_id().to_hex() + " routing 7\n");
  {
    Span child = f.tracer().start_span("llm_call");
    f.logger->warn("slow");
    EXPECT_EQ(f.take(), "warning trace_id=" + span.trace_id().to_hex() +
                            " span_id=" + child.span_id().to_hex() + " slow\n");
  }
  span.end();
  f.logger->info("after");
  EXPECT_EQ(f.take(), "info trace_id= span_id= after\n");
}

TEST(SpdlogFlags, CustomCharactersNoneTextAndDefaultPattern) {
  Fixture f;
  f.logger->set_formatter(make_spdlog_formatter("[%q/%Q] %v", {'q', 'Q', "-"}));
  f.logger->info("outside");
  EXPECT_EQ(f.take(), "[-/-] outside\n");
  // A remote parent made current: its ids print (no local span needed).
  SpanContext remote{*TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736"),
                     *SpanId::from_hex("00f067aa0ba902b7"),
                     TraceFlags{1},
                     {},
                     true};
  {
    ContextScope scope(remote);
    f.logger->info("remote");
  }
  EXPECT_EQ(f.take(), "[4bf92f3577b34da6a3ce929d0e0e4736/00f067aa0ba902b7] remote\n");

  use_trace_pattern(*f.logger);  // kSpdlogTracePattern
  Span span = f.tracer().start_span("x");
  f.logger->error("e");
  std::string line = f.take();
  EXPECT_NE(line.find("[test] [error] [trace_id=" + span.trace_id().to_hex() +
                      " span_id=" + span.span_id().to_hex() + "] e"),
            std::string::npos)
      << line;
}

TEST(SpdlogFlags, ClonedFormatterAndOtherThreads) {
  Fixture f;
  auto formatter = make_spdlog_formatter("%* %v");
  auto copy = formatter->clone();  // spdlog clones formatters per sink
  f.logger->set_formatter(std::move(copy));
  Span span = f.tracer().start_span("request");
  std::thread([&, ctx = Context::current()] {
    f.logger->info("no context here");
    ContextScope scope(ctx);
    f.logger->info("carried");
  }).join();
  EXPECT_EQ(f.take(), " no context here\n" + span.trace_id().to_hex() + " carried\n");
}

}  // namespace
}  // namespace vigil::trace
