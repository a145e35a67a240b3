// instrument_operation / OperationScope (operation.h): guide 002's
// @instrument_causal_operation(operation_type, record_duration, record_memory) in C++.
#include "vigil/trace/operation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "vigil/metrics/exposition.h"
#include "vigil/trace/exporters.h"

namespace vigil::trace {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

struct Fixture {
  ContextScope clean{Context()};
  std::shared_ptr<InMemorySpanStore> store = std::make_shared<InMemorySpanStore>();
  std::unique_ptr<TracerProvider> provider;
  metrics::Registry registry;
  metrics::NamedMetrics named{registry};
  Fixture() {
    TracerProviderOptions o;
    o.processors.push_back(
        std::make_unique<SimpleSpanProcessor>(std::make_unique<InMemoryExporter>(store)));
    provider = std::make_unique<TracerProvider>(std::move(o));
  }
  OperationOptions options(OperationOptions o = {}) {
    o.tracer = &provider->tracer("operation_test");
    o.metrics = &named;
    return o;
  }
  std::string text() { return metrics::serialize(registry, metrics::Format::kPrometheusText); }
  SpanData only(std::string_view name) {
    auto spans = store->find(name);
    EXPECT_EQ(spans.size(), 1u) << name;
    return spans.empty() ? SpanData() : spans.front();
  }
};

std::string attr(const SpanData& s, std::string_view key) {
  const AttributeValue* v = s.attributes.find(key);
  return v != nullptr ? to_string(*v) : std::string("<absent>");
}

TEST(Operation, Guide002SuccessAndError) {
  Fixture f;
  const OperationOptions o = f.options({.metric_prefix = "causal."});
  const int r = instrument_operation(
      "intervention", "do_intervention", [] { return 42; }, o);
  EXPECT_EQ(r, 42);
  EXPECT_THROW(instrument_operation(
                   "intervention", "do_intervention",
                   []() -> int { throw std::runtime_error("graph has a cycle"); }, o),
               std::runtime_error);

  const std::string out = f.text();
  EXPECT_THAT(out, HasSubstr("causal_operations_total{operation_type=\"intervention\","
                             "function=\"do_intervention\",outcome=\"success\"} 1\n"));
  EXPECT_THAT(out, HasSubstr("causal_operations_total{operation_type=\"intervention\","
                             "function=\"do_intervention\",outcome=\"error\"} 1\n"));
  EXPECT_THAT(out, HasSubstr("# TYPE causal_operation_duration_seconds histogram\n"));
  EXPECT_THAT(out, HasSubstr("causal_operation_duration_seconds_count{operation_type="
                             "\"intervention\",function=\"do_intervention\"} 2\n"));
  EXPECT_THAT(out, Not(HasSubstr("memory")));  // record_memory is off

  auto spans = f.store->find("intervention.do_intervention");
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[0].status.code, StatusCode::kOk);
  EXPECT_EQ(attr(spans[0], "operation.type"), "intervention");
  EXPECT_EQ(attr(spans[0], "code.function.name"), "do_intervention");
  EXPECT_EQ(spans[1].status.code, StatusCode::kError);
  EXPECT_EQ(spans[1].status.message, "graph has a cycle");
  ASSERT_EQ(spans[1].events.size(), 1u);  // one exception event, with its type
  EXPECT_EQ(to_string(*spans[1].events[0].attributes.find("exception.type")), "std::runtime_error");
}

TEST(Operation, NoDurationWhenNotAsked) {
  Fixture f;
  instrument_operation(
      "lookup", "find", [](Span& span) { span.set_attribute("k", 1); },
      f.options({.record_duration = false}));
  const std::string out = f.text();
  EXPECT_THAT(out, HasSubstr("operations_total{operation_type=\"lookup\",function=\"find\","
                             "outcome=\"success\"} 1\n"));
  EXPECT_THAT(out, Not(HasSubstr("operation_duration_seconds")));
  EXPECT_EQ(attr(f.only("lookup.find"), "k"), "1");
}

TEST(Operation, MemoryDelta) {
  Fixture f;
  constexpr size_t kBytes = size_t{64} << 20;
  std::unique_ptr<char[]> kept;
  instrument_operation(
      "load", "load_graph",
      [&] {
        kept.reset(new char[kBytes]);
        std::memset(kept.get(), 1, kBytes);  // touch every page: resident
      },
      f.options({.record_memory = true}));
  const SpanData s = f.only("load.load_graph");
  const AttributeValue* delta = s.attributes.find("vigil.memory.delta_bytes");
  ASSERT_NE(delta, nullptr);
  const double d = std::stod(to_string(*delta));
  EXPECT_GE(d, 48.0 * (1 << 20));  // 64 MiB touched (allow for the allocator's reuse)
  EXPECT_THAT(f.text(), HasSubstr("# TYPE operation_memory_delta_bytes gauge\n"));
  EXPECT_EQ(f.named.gauge("operation.memory.delta.bytes", {{"operation_type", "load"}}).value(), d);
}

void estimate(Fixture& f, bool fail) {
  OperationScope op("estimation", {}, f.options());
  if (fail) op.fail("no identifiable effect");
}

void estimate_throws(Fixture& f) {
  OperationScope op("estimation", "estimate_throws", f.options());
  throw std::logic_error("bug");
}

TEST(Operation, ScopeFormFunctionNameFailAndException) {
  Fixture f;
  estimate(f, false);
  estimate(f, true);
  EXPECT_THROW(estimate_throws(f), std::logic_error);
  const std::string out = f.text();
  // The function name comes from the caller (std::source_location).
  // (qualified with GCC, "estimate" alone with clang's fallback; see instrument.h).
  EXPECT_THAT(out, HasSubstr("estimate\",outcome=\"success\"} 1"));
  EXPECT_THAT(out, HasSubstr("estimate\",outcome=\"error\"} 1"));
  EXPECT_THAT(out, HasSubstr("function=\"estimate_throws\",outcome=\"error\"} 1"));
  const SpanData thrown = f.only("estimation.estimate_throws");
  EXPECT_EQ(thrown.status.code, StatusCode::kError);
  ASSERT_EQ(thrown.events.size(), 1u);
  EXPECT_EQ(thrown.events[0].name, "exception");
}

}  // namespace
}  // namespace vigil::trace
