// Guide 004's ProductionMetricsCollector examples in C++, summaries against hand-computed
// values, label caps, the JSON forms (parsed with nlohmann-json) and the exposition.
#include "vigil/metrics/production_collector.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "vigil/core/error.h"
#include "vigil/metrics/exposition.h"

namespace vm = vigil::metrics;
using namespace std::chrono_literals;

namespace {

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos || text.rfind(line + "\n", 0) == 0;
}

// A manual clock in seconds.
struct FakeClock {
  std::shared_ptr<std::atomic<double>> now = std::make_shared<std::atomic<double>>(1000.0);
  std::function<double()> fn() const {
    auto n = now;
    return [n] { return n->load(); };
  }
  void advance(double s) const { now->store(now->load() + s); }
};

vm::ProductionCollectorOptions test_options(const FakeClock& clock) {
  vm::ProductionCollectorOptions o;
  o.register_process_collector = false;
  o.clock = clock.fn();
  return o;
}

TEST(ProductionCollector, GuideExample) {
  vm::Registry registry;
  FakeClock clock;
  vm::ProductionCollector collector(registry, test_options(clock));

  // Guide 004, section 1, in C++.
  collector.record_request("/chat", "anthropic", true, 123.4ms, {{"model", "claude-sonnet-4-5"}});
  collector.record_tool_execution("read_file", true, 45.2ms);
  collector.record_cache_hit("tool_cache");
  collector.record_cache_miss("tool_cache");
  clock.advance(12.5);

  const vm::ProductionSummary s = collector.summary();
  EXPECT_DOUBLE_EQ(s.uptime_seconds, 12.5);
  EXPECT_EQ(s.requests.total, 1u);
  EXPECT_EQ(s.requests.succeeded, 1u);
  EXPECT_DOUBLE_EQ(s.requests.success_rate, 1.0);
  EXPECT_DOUBLE_EQ(s.requests.error_rate, 0.0);
  EXPECT_NEAR(s.requests.avg_ms, 123.4, 1e-9);
  EXPECT_EQ(s.tools.calls, 1u);
  EXPECT_EQ(s.tools.errors, 0u);
  EXPECT_NEAR(s.tools.avg_ms, 45.2, 1e-9);
  EXPECT_EQ(s.cache.hits, 1u);
  EXPECT_EQ(s.cache.misses, 1u);
  EXPECT_DOUBLE_EQ(s.cache.hit_rate, 0.5);
  EXPECT_EQ(collector.errors(), 0u);

  const std::string text = collector.export_prometheus();
  EXPECT_TRUE(has_line(text,
                       "gen_ai_client_operation_duration_seconds_count{http_route=\"/chat\","
                       "gen_ai_system=\"anthropic\",gen_ai_request_model=\"claude-sonnet-4-5\","
                       "error_type=\"\"} 1"))
      << text;
  EXPECT_TRUE(has_line(text, "tool_executions_total{tool=\"read_file\",status=\"success\"} 1"));
  EXPECT_TRUE(has_line(text, "cache_hits_total{cache=\"tool_cache\"} 1"));
  EXPECT_TRUE(has_line(text, "cache_misses_total{cache=\"tool_cache\"} 1"));
  EXPECT_TRUE(has_line(text, "tool_execution_duration_seconds_count{tool=\"read_file\"} 1"));

  // export_json: the registry's JSON exposition.
  const nlohmann::json j = nlohmann::json::parse(collector.export_json());
  bool found = false;
  for (const auto& family : j.at("metrics")) {
    if (family.at("name") == "cache_hits") {
      found = true;
      EXPECT_EQ(family.at("series").at(0).at("value"), 1);
    }
  }
  EXPECT_TRUE(found);
}

TEST(ProductionCollector, SummaryHandComputed) {
  vm::Registry registry;
  FakeClock clock;
  vm::ProductionCollectorOptions o = test_options(clock);
  o.latency_buckets = {0.1, 0.2, 0.4};
  vm::ProductionCollector c(registry, o);
  // 4 x 50 ms, 4 x 150 ms, 2 x 300 ms; three failures.
  for (int i = 0; i < 4; ++i) c.record_request("/chat", "openai", i != 0, 50ms);
  for (int i = 0; i < 4; ++i) c.record_request("/chat", "openai", i != 0, 150ms);
  c.record_request("/embed", "local", true, 300ms);
  c.record_request_outcome("/embed", "local", "timeout", 300ms);

  const vm::ProductionSummary s = c.summary();
  EXPECT_EQ(s.requests.total, 10u);
  EXPECT_EQ(s.requests.failed, 3u);
  EXPECT_EQ(s.requests.succeeded, 7u);
  EXPECT_DOUBLE_EQ(s.requests.error_rate, 0.3);
  EXPECT_DOUBLE_EQ(s.requests.success_rate, 0.7);
  EXPECT_NEAR(s.requests.avg_ms, 140, 1e-9);  // (4*50 + 4*150 + 2*300) / 10
  // Cumulative buckets [4, 8, 10, 10]. p50: rank 5 in (0.1, 0.2]: 0.1 + 0.1 * 1/4.
  EXPECT_NEAR(s.requests.p50_ms, 125, 1e-9);
  // p95: rank 9.5 in (0.2, 0.4]: 0.2 + 0.2 * 1.5/2.  p99: 0.2 + 0.2 * 1.9/2.
  EXPECT_NEAR(s.requests.p95_ms, 350, 1e-9);
  EXPECT_NEAR(s.requests.p99_ms, 390, 1e-9);

  const std::string text = c.export_prometheus();
  EXPECT_TRUE(has_line(text,
                       "gen_ai_client_operation_duration_seconds_count{http_route=\"/embed\","
                       "gen_ai_system=\"local\",gen_ai_request_model=\"\",error_type=\"timeout\"} "
                       "1"))
      << text;
  EXPECT_TRUE(
      has_line(text,
               "gen_ai_client_operation_duration_seconds_count{http_route=\"/chat\","
               "gen_ai_system=\"openai\",gen_ai_request_model=\"\",error_type=\"error\"} 2"));
}

TEST(ProductionCollector, EmptySummary) {
  vm::Registry registry;
  FakeClock clock;
  vm::ProductionCollector c(registry, test_options(clock));
  const vm::ProductionSummary s = c.summary();
  EXPECT_EQ(s.requests.total, 0u);
  EXPECT_DOUBLE_EQ(s.requests.error_rate, 0);
  EXPECT_TRUE(std::isnan(s.requests.p50_ms));
  EXPECT_TRUE(std::isnan(s.requests.avg_ms));
  const nlohmann::json j = nlohmann::json::parse(vm::to_json(s));
  EXPECT_TRUE(j.at("requests").at("p99_ms").is_null());
  EXPECT_EQ(j.at("requests").at("total"), 0);
}

TEST(HistogramQuantile, PrometheusRule) {
  const std::vector<double> bounds = {1, 2, 4};
  // Prometheus: histogram_quantile(0.5, ...) over buckets le=1:2, le=2:4, le=4:4, +Inf:4
  // is 1 + (2-1) * (2-2)/2 = 1 (rank 2 reaches the first bucket): 0 + 1 * 2/2.
  const std::vector<uint64_t> a = {2, 4, 4, 4};
  EXPECT_DOUBLE_EQ(vm::histogram_quantile(0.5, bounds, a), 1.0);
  EXPECT_DOUBLE_EQ(vm::histogram_quantile(0.25, bounds, a), 0.5);  // 0 + 1 * 1/2
  EXPECT_DOUBLE_EQ(vm::histogram_quantile(0.75, bounds, a), 1.5);  // 1 + 1 * 1/2
  // Rank in the +Inf bucket: the largest finite bound.
  const std::vector<uint64_t> b = {0, 0, 1, 4};
  EXPECT_DOUBLE_EQ(vm::histogram_quantile(0.9, bounds, b), 4.0);
  EXPECT_DOUBLE_EQ(vm::histogram_quantile(0.25, bounds, b), 2 + 2 * 1.0);  // rank 1 in (2,4]
  const std::vector<uint64_t> empty = {0, 0, 0, 0};
  EXPECT_TRUE(std::isnan(vm::histogram_quantile(0.5, bounds, empty)));
  EXPECT_EQ(vm::histogram_quantile(-0.1, bounds, a), -std::numeric_limits<double>::infinity());
  EXPECT_EQ(vm::histogram_quantile(1.1, bounds, a), std::numeric_limits<double>::infinity());
  const std::vector<uint64_t> wrong = {1, 2};
  EXPECT_TRUE(std::isnan(vm::histogram_quantile(0.5, bounds, wrong)));
}

TEST(ProductionCollector, LabelCapsFoldIntoOther) {
  vm::Registry registry;
  FakeClock clock;
  vm::ProductionCollectorOptions o = test_options(clock);
  o.caps.endpoints = 2;
  o.caps.tools = 1;
  vm::ProductionCollector c(registry, o);
  c.record_request("/a", "p", true, 10ms);
  c.record_request("/b", "p", true, 10ms);
  c.record_request("/c", "p", true, 10ms);  // past the cap: "other"
  c.record_request("/d", "p", true, 10ms);  // "other" again
  c.record_request("/a", "p", true, 10ms);  // known: kept
  c.record_tool_execution("t1", true, 1ms);
  c.record_tool_execution("t2", false, 1ms);

  const std::string text = c.export_prometheus();
  EXPECT_TRUE(has_line(text,
                       "gen_ai_client_operation_duration_seconds_count{http_route=\"other\","
                       "gen_ai_system=\"p\",gen_ai_request_model=\"\",error_type=\"\"} 2"))
      << text;
  EXPECT_TRUE(has_line(text,
                       "gen_ai_client_operation_duration_seconds_count{http_route=\"/a\","
                       "gen_ai_system=\"p\",gen_ai_request_model=\"\",error_type=\"\"} 2"));
  EXPECT_TRUE(has_line(text, "vigil_label_values_folded_total{label=\"http_route\"} 2"));
  EXPECT_TRUE(has_line(text, "vigil_label_values_folded_total{label=\"tool\"} 1"));
  EXPECT_TRUE(has_line(text, "tool_executions_total{tool=\"other\",status=\"error\"} 1"));
  EXPECT_EQ(c.summary().folded_label_values, 3u);

  // 1000 distinct endpoints: the family holds 2 + "other" endpoint series, no more.
  for (int i = 0; i < 1000; ++i) c.record_request("/x" + std::to_string(i), "p", true, 1ms);
  EXPECT_EQ(c.summary().folded_label_values, 1003u);
  size_t series = 0;
  for (const auto& f : registry.list()) {
    if (f.name == "gen_ai_client_operation_duration_seconds") series = f.series;
  }
  EXPECT_EQ(series, 3u);
}

TEST(ProductionCollector, UndeclaredLabelIsIgnoredAndCounted) {
  vm::Registry registry;
  FakeClock clock;
  vm::ProductionCollectorOptions o = test_options(clock);
  o.request_labels = {"model", "tenant.tier"};
  vm::ProductionCollector c(registry, o);
  c.record_request("/chat", "openai", true, 5ms,
                   {{"tenant.tier", "gold"}, {"colour", "red"}, {"model", "gpt-4o"}});
  EXPECT_EQ(c.errors(), 1u);
  EXPECT_TRUE(has_line(c.export_prometheus(),
                       "gen_ai_client_operation_duration_seconds_count{http_route=\"/chat\","
                       "gen_ai_system=\"openai\",gen_ai_request_model=\"gpt-4o\","
                       "tenant_tier=\"gold\",error_type=\"\"} 1"));
}

TEST(ProductionCollector, BadOptionsThrow) {
  vm::Registry registry;
  vm::ProductionCollectorOptions o;
  o.register_process_collector = false;
  o.request_labels = {"model", "model"};
  EXPECT_THROW(vm::ProductionCollector(registry, o), vigil::Error);
  o.request_labels = {"error.type"};
  EXPECT_THROW(vm::ProductionCollector(registry, o), vigil::Error);
  o.request_labels = {"a", "b", "c", "d", "e", "f", "g", "h", "i"};
  EXPECT_THROW(vm::ProductionCollector(registry, o), vigil::Error);
  // A family name taken with another shape.
  vm::Registry taken;
  taken.counter("cache_hits_total", "x", {"region"});
  o.request_labels = {"model"};
  EXPECT_THROW(vm::ProductionCollector(taken, o), vigil::Error);
  // Nothing half-registered: the families registered before the clash are gone again.
  ASSERT_EQ(taken.list().size(), 1u);
  EXPECT_EQ(taken.list()[0].name, "cache_hits");
  EXPECT_EQ(vm::serialize(taken, vm::Format::kPrometheusText).find("gen_ai"), std::string::npos);
}

TEST(ProductionCollector, ToolExecutionScope) {
  vm::Registry registry;
  FakeClock clock;
  vm::ProductionCollector c(registry, test_options(clock));
  {
    auto run = c.start_tool_execution("web_fetch");
    auto second = c.start_tool_execution("web_fetch");
    EXPECT_EQ(c.summary().tools.active, 2);
    clock.advance(0.5);
    second.fail();
  }
  EXPECT_EQ(c.summary().tools.active, 0);
  try {
    auto run = c.start_tool_execution("code_exec");
    clock.advance(0.25);
    throw std::runtime_error("boom");
  } catch (const std::runtime_error&) {
  }
  const vm::ProductionSummary s = c.summary();
  EXPECT_EQ(s.tools.calls, 3u);
  EXPECT_EQ(s.tools.errors, 2u);
  EXPECT_NEAR(s.tools.error_rate, 2.0 / 3, 1e-12);
  EXPECT_NEAR(s.tools.avg_ms, (500 + 500 + 250) / 3.0, 1e-9);
  const std::string text = c.export_prometheus();
  EXPECT_TRUE(has_line(text, "tool_executions_total{tool=\"web_fetch\",status=\"success\"} 1"));
  EXPECT_TRUE(has_line(text, "tool_executions_total{tool=\"web_fetch\",status=\"error\"} 1"));
  EXPECT_TRUE(has_line(text, "tool_executions_total{tool=\"code_exec\",status=\"error\"} 1"));
  EXPECT_TRUE(has_line(text, "tool_execution_duration_seconds_sum{tool=\"code_exec\"} 0.25"));
  EXPECT_TRUE(has_line(text, "tool_executions_active{tool=\"web_fetch\"} 0"));
}

TEST(ProductionCollector, ToolSummaryOption) {
  vm::Registry registry;
  FakeClock clock;
  vm::ProductionCollectorOptions o = test_options(clock);
  o.tool_summary = vm::SummaryOptions{.quantiles = {0.5, 0.9}};
  vm::ProductionCollector c(registry, o);
  c.record_tool_execution("search", true, 200ms);
  c.record_tool_execution_outcome("search", "timeout", 400ms);
  const std::string text = c.export_prometheus();
  EXPECT_NE(text.find("# TYPE tool_execution_duration_seconds summary"), std::string::npos);
  EXPECT_TRUE(has_line(text, "tool_execution_duration_seconds_count{tool=\"search\"} 2"));
  EXPECT_NEAR(c.summary().tools.avg_ms, 300, 1e-9);
  EXPECT_EQ(c.summary().tools.errors, 1u);
  EXPECT_TRUE(has_line(text, "tool_executions_total{tool=\"search\",status=\"timeout\"} 1"));
  EXPECT_TRUE(has_line(text, "tool_executions_total{tool=\"search\",status=\"success\"} 1"));
}

TEST(ProductionCollector, BusinessRecords) {
  vm::Registry registry;
  FakeClock clock;
  vm::ProductionCollector c(registry, test_options(clock));
  c.record_task_completed();
  c.record_task_completed();
  c.record_task_failed();
  c.record_tokens("anthropic", "claude-sonnet-4-5", 812, 230);
  c.record_tokens("openai", "gpt-4o", 100, 0);
  c.record_cost("anthropic", "claude-sonnet-4-5", 0.25);
  c.record_cost("openai", "gpt-4o", 0.125);
  c.record_cost("openai", "gpt-4o", -1);  // rejected by the counter
  const vm::ProductionSummary s = c.summary();
  EXPECT_EQ(s.business.tasks_completed, 2u);
  EXPECT_EQ(s.business.tasks_failed, 1u);
  EXPECT_EQ(s.business.input_tokens, 912u);
  EXPECT_EQ(s.business.output_tokens, 230u);
  EXPECT_EQ(s.business.total_tokens, 1142u);
  EXPECT_DOUBLE_EQ(s.business.cost_dollars, 0.375);
  const std::string text = c.export_prometheus();
  EXPECT_TRUE(has_line(text, "tasks_total{status=\"completed\"} 2"));
  EXPECT_TRUE(has_line(text,
                       "gen_ai_client_token_usage_sum{gen_ai_system=\"anthropic\","
                       "gen_ai_request_model=\"claude-sonnet-4-5\",gen_ai_token_type=\"input\"} "
                       "812"));
  // 812 tokens fall in the bucket le=1024 of the semantic conventions' buckets.
  EXPECT_TRUE(has_line(text,
                       "gen_ai_client_token_usage_bucket{gen_ai_system=\"anthropic\","
                       "gen_ai_request_model=\"claude-sonnet-4-5\",gen_ai_token_type=\"input\","
                       "le=\"256\"} 0"));
  EXPECT_TRUE(has_line(text,
                       "gen_ai_client_token_usage_bucket{gen_ai_system=\"anthropic\","
                       "gen_ai_request_model=\"claude-sonnet-4-5\",gen_ai_token_type=\"input\","
                       "le=\"1024\"} 1"));
  EXPECT_TRUE(has_line(text,
                       "gen_ai_client_cost_dollars_total{gen_ai_system=\"openai\","
                       "gen_ai_request_model=\"gpt-4o\"} 0.125"));
}

TEST(ProductionCollector, SummaryJsonParses) {
  vm::Registry registry;
  FakeClock clock;
  vm::ProductionCollector c(registry, test_options(clock));
  c.record_request("/chat", "openai", false, 2s);
  c.record_cache_eviction("tool_cache", 3);
  clock.advance(3);
  const nlohmann::json j = nlohmann::json::parse(c.summary_json());
  EXPECT_DOUBLE_EQ(j.at("uptime_seconds").get<double>(), 3);
  EXPECT_EQ(j.at("requests").at("failed"), 1);
  EXPECT_DOUBLE_EQ(j.at("requests").at("error_rate").get<double>(), 1.0);
  // One request in (1, 2.5]: p50 = 1 + 1.5 * 0.5/1 s.
  EXPECT_DOUBLE_EQ(j.at("requests").at("p50_ms").get<double>(), 1750);
  EXPECT_EQ(j.at("cache").at("evictions"), 3);
  EXPECT_TRUE(j.at("system").contains("resident_memory_bytes"));
#ifdef __linux__
  EXPECT_TRUE(j.at("system").at("available").get<bool>());
  EXPECT_GT(j.at("system").at("resident_memory_bytes").get<double>(), 0);
  EXPECT_GT(j.at("system").at("open_fds").get<double>(), 0);
#endif
}

TEST(ProductionCollector, RegistersProcessCollector) {
  vm::Registry registry;
  vm::ProductionCollector c(registry);
  const std::string text = c.export_prometheus();
  EXPECT_NE(text.find("# TYPE process_resident_memory_bytes gauge"), std::string::npos);
  // A second collector on the same registry must not register the process collector again.
  EXPECT_THROW(vm::ProductionCollector second(registry), vigil::Error);
  vm::ProductionCollectorOptions o;
  o.register_process_collector = false;
  vm::ProductionCollector third(registry, o);  // shares the families
  third.record_cache_hit("x");
  EXPECT_EQ(c.summary().cache.hits, 1u);
}

TEST(ProductionCollector, CreateOnGlobalRegistry) {
  auto collector = vm::create_production_collector();
  collector->record_request("/chat", "anthropic", true, 123.4ms, {{"model", "claude"}});
  EXPECT_EQ(&collector->registry(), &vm::Registry::global());
  EXPECT_GE(collector->summary().requests.total, 1u);
  EXPECT_NE(vm::serialize(vm::Registry::global(), vm::Format::kPrometheusText)
                .find("gen_ai_client_operation_duration_seconds_bucket"),
            std::string::npos);
}

TEST(ProductionCollector, DeclaredSeriesStartAtZero) {
  vm::Registry registry;
  FakeClock clock;
  vm::ProductionCollector c(registry, test_options(clock));
  c.declare_tool("search");
  c.declare_cache("response");
  const std::string text = c.export_prometheus();
  EXPECT_TRUE(has_line(text, "tool_executions_active{tool=\"search\"} 0")) << text;
  EXPECT_TRUE(has_line(text, "tool_executions_total{tool=\"search\",status=\"success\"} 0"));
  EXPECT_TRUE(has_line(text, "cache_hits_total{cache=\"response\"} 0"));
  EXPECT_TRUE(has_line(text, "cache_misses_total{cache=\"response\"} 0"));
  EXPECT_TRUE(has_line(text, "cache_evictions_total{cache=\"response\"} 0"));
  EXPECT_EQ(c.summary().tools.calls, 0u);
}

// Threads record new and known values at once (the caps' slow path, the series cache's inserts)
// while another reads summaries: every request is counted once, the cap holds.
TEST(ProductionCollector, ConcurrentRecordsAndSummaries) {
  vm::Registry registry;
  FakeClock clock;
  vm::ProductionCollector c(registry, test_options(clock));  // 64 endpoints
  constexpr int kThreads = 4, kPerThread = 2000, kEndpoints = 100;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&c, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string endpoint = "/e" + std::to_string((i * 7 + t) % kEndpoints);
        c.record_request(endpoint, i % 2 == 0 ? "openai" : "anthropic", i % 10 != 0,
                         std::chrono::milliseconds(i % 50), {{"model", "m"}});
        c.record_cache_hit("c");
      }
    });
  }
  std::thread reader([&c] {
    for (int i = 0; i < 20; ++i) (void)c.summary();
  });
  for (std::thread& t : threads) t.join();
  reader.join();
  const vm::ProductionSummary s = c.summary();
  EXPECT_EQ(s.requests.total, uint64_t{kThreads} * kPerThread);
  EXPECT_EQ(s.requests.failed, uint64_t{kThreads} * kPerThread / 10);
  EXPECT_EQ(s.cache.hits, uint64_t{kThreads} * kPerThread);
  EXPECT_GT(s.folded_label_values, 0u);
  size_t series = 0;
  for (const auto& f : registry.list()) {
    if (f.name == "gen_ai_client_operation_duration_seconds") series = f.series;
  }
  EXPECT_LE(series, size_t{65} * 2 * 2);  // (64 endpoints + other) x 2 providers x 2 outcomes
}

TEST(ProductionCollector, FoldedCounterOutlivesCollector) {
  vm::Registry registry;
  {
    FakeClock clock;
    vm::ProductionCollectorOptions o = test_options(clock);
    o.caps.caches = 1;
    vm::ProductionCollector c(registry, o);
    c.record_cache_hit("a");
    c.record_cache_hit("b");
  }
  // The callback keeps the values it reads alive.
  EXPECT_TRUE(has_line(vm::serialize(registry, vm::Format::kPrometheusText),
                       "vigil_label_values_folded_total{label=\"cache\"} 1"));
}

}  // namespace
