// Recording and looking up existing series must not allocate. This binary replaces the global
// operator new with a counting one, so it is a test executable of its own.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>

#include "vigil/metrics/by_name.h"
#include "vigil/metrics/registry.h"

namespace {
std::atomic<long> g_allocations{0};
}  // namespace

void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace vigil::metrics {
namespace {

TEST(NoAllocation, LookupOfExistingSeriesAndRecording) {
  Registry r;
  auto& requests = r.counter("requests_total", "r", {"method", "path"});
  auto& latency = r.histogram("latency_seconds", "l", {"path"});
  auto& tools = r.summary("tool_seconds", "t", {"tool"});
  auto& depth = r.gauge("depth", "d", {"queue"});
  const std::string method = "GET", path = "/api/v1/users";
  // Warm up: create the series, this thread's cells and lookup cache entries.
  requests.labels(method, path).inc();
  latency.labels(path).observe(0.1);
  tools.labels("search").observe(0.1);
  depth.labels("high").set(1);

  const long before = g_allocations.load();
  for (int i = 0; i < 1000; ++i) {
    requests.labels(method, path).inc();
    requests.labels(method, path).inc(0.5);
    latency.labels(path).observe(0.001 * i);
    tools.labels("search").observe(0.2);
    depth.labels("high").set(i);
  }
  EXPECT_EQ(g_allocations.load() - before, 0);
  EXPECT_EQ(requests.labels(method, path).value(), 1501);
}

// a by-name record of an existing series allocates nothing either.
TEST(NoAllocation, ByNameRecordOfExistingSeries) {
  Registry r;
  NamedMetrics m(r);
  const std::string domain = "arithmetic";
  m.increment("playbook.bullets.added", {{"domain", domain}});
  m.observe("llm.latency", 0.1, {{"provider", "openai"}});
  m.set("queue.depth", 1);
  { auto t = m.timer("curator.apply_delta"); }

  const long before = g_allocations.load();
  for (int i = 0; i < 1000; ++i) {
    m.increment("playbook.bullets.added", {{"domain", domain}});
    m.observe("llm.latency", 0.001 * i, {{"provider", "openai"}});
    m.set("queue.depth", i);
    auto t = m.timer("curator.apply_delta");
  }
  EXPECT_EQ(g_allocations.load() - before, 0);
  EXPECT_EQ(m.counter("playbook.bullets.added", {{"domain", domain}}).value(), 1001);
}

}  // namespace
}  // namespace vigil::metrics

#include <chrono>

#include "vigil/metrics/production_collector.h"

namespace vigil::metrics {
namespace {

// The production collector's records of known values and existing series allocate nothing,
// also when a value is folded into "other".
TEST(NoAllocation, ProductionCollectorRecords) {
  Registry r;
  ProductionCollectorOptions o;
  o.register_process_collector = false;
  o.caps.endpoints = 1;
  ProductionCollector c(r, o);
  const std::chrono::duration<double> latency(0.12);
  const auto record = [&] {
    c.record_request("/chat", "anthropic", true, latency, {{"model", "claude-sonnet-4-5"}});
    c.record_request("/other-endpoint", "anthropic", false, latency);  // folded: "other"
    c.record_tool_execution("read_file", true, latency);
    c.record_cache_hit("tool_cache");
    c.record_cache_miss("tool_cache");
    c.record_tokens("anthropic", "claude-sonnet-4-5", 812, 230);
    c.record_cost("anthropic", "claude-sonnet-4-5", 0.01);
    c.record_task_completed();
  };
  record();  // first use: interns the values, creates the series and this thread's cells
  const long before = g_allocations.load();
  for (int i = 0; i < 1000; ++i) record();
  EXPECT_EQ(g_allocations.load() - before, 0);
  EXPECT_EQ(c.summary().requests.total, 2002u);
}

}  // namespace
}  // namespace vigil::metrics
