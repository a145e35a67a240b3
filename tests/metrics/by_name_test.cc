// One-call instrumentation by name (by_name.h), with guide 000's MetricsCollector example
// translated to C++, and the name translation rule (names.h).
#include "vigil/metrics/by_name.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "vigil/core/error.h"
#include "vigil/metrics/exposition.h"
#include "vigil/metrics/names.h"

namespace vigil::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string text(const Registry& r) { return serialize(r, Format::kPrometheusText); }

TEST(PrometheusName, OpenTelemetryRule) {
  EXPECT_EQ(prometheus_metric_name("playbook.bullets.added"), "playbook_bullets_added");
  EXPECT_EQ(prometheus_metric_name("curator.dedup.hits"), "curator_dedup_hits");
  EXPECT_EQ(prometheus_metric_name("http.server.request.duration"), "http_server_request_duration");
  EXPECT_EQ(prometheus_metric_name("a..b--c"), "a_b_c");         // runs collapse
  EXPECT_EQ(prometheus_metric_name("a__b"), "a_b");              // '_' runs too
  EXPECT_EQ(prometheus_metric_name("2xx.count"), "_2xx_count");  // leading digit
  EXPECT_EQ(prometheus_metric_name("ns:rule.x"), "ns:rule_x");   // ':' kept in metric names
  EXPECT_EQ(prometheus_metric_name("temp.\xC2\xB0"
                                   "C"),
            "temp_C");  // one '_' per character
  EXPECT_EQ(prometheus_metric_name("already_fine"), "already_fine");
  EXPECT_EQ(prometheus_metric_name(""), "");
  EXPECT_EQ(prometheus_label_name("http.request.method"), "http_request_method");
  EXPECT_EQ(prometheus_label_name("a:b"), "a_b");          // ':' not allowed in label names
  EXPECT_EQ(prometheus_label_name("__name__"), "_name_");  // never the reserved "__"
  EXPECT_EQ(prometheus_label_name("1st"), "_1st");
}

// Guide 000: metrics.increment(...), metrics.timer(...), metrics.export_prometheus().
TEST(ByName, Guide000) {
  Registry r;
  NamedMetrics metrics(r);
  metrics.increment("playbook.bullets.added", {{"domain", "arithmetic"}});
  metrics.increment("playbook.bullets.added", {{"domain", "arithmetic"}});
  metrics.increment("playbook.bullets.added", {{"domain", "geometry"}}, 3);
  metrics.increment("curator.dedup.hits");
  { auto t = metrics.timer("curator.apply_delta"); }
  const std::string out = text(r);
  EXPECT_THAT(out, HasSubstr("# HELP playbook_bullets_added_total playbook.bullets.added\n"));
  EXPECT_THAT(out, HasSubstr("# TYPE playbook_bullets_added_total counter\n"));
  EXPECT_THAT(out, HasSubstr("playbook_bullets_added_total{domain=\"arithmetic\"} 2\n"));
  EXPECT_THAT(out, HasSubstr("playbook_bullets_added_total{domain=\"geometry\"} 3\n"));
  EXPECT_THAT(out, HasSubstr("curator_dedup_hits_total 1\n"));
  EXPECT_THAT(out, HasSubstr("# TYPE curator_apply_delta_seconds histogram\n"));
  EXPECT_THAT(out, HasSubstr("curator_apply_delta_seconds_count 1\n"));
  EXPECT_EQ(metrics.errors(), 0u);
}

TEST(ByName, ObserveSetAndHandles) {
  Registry r;
  NamedMetrics m(r, {.buckets = {1, 10, 100}});
  m.observe("llm.response.tokens", 5, {{"provider", "openai"}});
  m.observe("llm.response.tokens", 50, {{"provider", "openai"}});
  m.observe("llm.response.tokens", 500, {{"provider", "openai"}});
  m.set("queue.depth", 3);
  m.set("queue.depth", 7);
  const std::string out = text(r);
  EXPECT_THAT(out, HasSubstr("llm_response_tokens_bucket{provider=\"openai\",le=\"1\"} 0\n"));
  EXPECT_THAT(out, HasSubstr("llm_response_tokens_bucket{provider=\"openai\",le=\"10\"} 1\n"));
  EXPECT_THAT(out, HasSubstr("llm_response_tokens_bucket{provider=\"openai\",le=\"100\"} 2\n"));
  EXPECT_THAT(out, HasSubstr("llm_response_tokens_bucket{provider=\"openai\",le=\"+Inf\"} 3\n"));
  EXPECT_THAT(out, HasSubstr("llm_response_tokens_sum{provider=\"openai\"} 555\n"));
  EXPECT_THAT(out, HasSubstr("queue_depth 7\n"));
  // The handles are the same series.
  EXPECT_EQ(m.gauge("queue.depth").value(), 7);
  m.counter("jobs.done").inc(2);
  m.increment("jobs.done");
  EXPECT_EQ(m.counter("jobs.done").value(), 3);
}

TEST(ByName, LabelOrderDoesNotMatterAndDottedLabelNames) {
  Registry r;
  NamedMetrics m(r);
  m.increment("http.requests", {{"http.method", "GET"}, {"code", "200"}});
  m.increment("http.requests", {{"code", "200"}, {"http.method", "GET"}});
  EXPECT_THAT(text(r), HasSubstr("http_requests_total{http_method=\"GET\",code=\"200\"} 2\n"));
  EXPECT_EQ(m.errors(), 0u);
}

TEST(ByName, DottedAndUnderscoredNamesShareTheFamily) {
  Registry r;
  NamedMetrics m(r);
  m.increment("a.b");
  m.increment("a_b");
  EXPECT_THAT(text(r), HasSubstr("a_b_total 2\n"));
}

TEST(ByName, OtherLabelNamesAreAnErrorCountedOnceWarnedAndThrownWhenChecked) {
  Registry r;
  std::vector<std::string> warnings;
  NamedMetrics m(r, {.warn = [&](std::string_view w) { warnings.emplace_back(w); }});
  m.increment("playbook.bullets.added", {{"domain", "arithmetic"}});
  m.increment("playbook.bullets.added", {{"region", "eu"}});  // error, not thrown
  m.increment("playbook.bullets.added", {{"region", "eu"}});  // error again (cached)
  m.increment("playbook.bullets.added");                      // no labels: error too
  EXPECT_EQ(m.errors(), 3u);
  ASSERT_EQ(warnings.size(), 1u);  // once per name and reason
  EXPECT_EQ(warnings[0],
            "metric \"playbook.bullets.added\": label names were fixed at first use as {domain}; "
            "this call gives {region}");
  const std::string out = text(r);
  EXPECT_THAT(out, HasSubstr("vigil_named_metric_errors_total{reason=\"label_names\"} 3\n"));
  EXPECT_THAT(out, HasSubstr("playbook_bullets_added_total{domain=\"arithmetic\"} 1\n"));
  EXPECT_THAT(out, Not(HasSubstr("region")));
  try {
    m.increment_checked("playbook.bullets.added", {{"region", "eu"}});
    FAIL() << "expected vigil::Error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("fixed at first use as {domain}"));
  }
  EXPECT_EQ(m.errors(), 4u);
  EXPECT_NO_THROW(m.increment_checked("playbook.bullets.added", {{"domain", "x"}}));
}

TEST(ByName, KindClashInvalidNameAndDuplicateLabels) {
  Registry r;
  std::vector<std::string> warnings;
  NamedMetrics m(r, {.warn = [&](std::string_view w) { warnings.emplace_back(w); }});
  m.increment("x");
  m.set("x", 1);  // x is a counter: registration error
  EXPECT_THROW(m.set_checked("x", 1), Error);
  m.increment("...");  // "_" is no name
  EXPECT_THROW(m.increment_checked(""), Error);
  m.increment("y", {{"a", "1"}, {"a", "2"}});
  EXPECT_EQ(m.errors(), 5u);
  const std::string out = text(r);
  EXPECT_THAT(out, HasSubstr("vigil_named_metric_errors_total{reason=\"registration\"} 2\n"));
  EXPECT_THAT(out, HasSubstr("vigil_named_metric_errors_total{reason=\"invalid_name\"} 2\n"));
  EXPECT_THAT(out, HasSubstr("vigil_named_metric_errors_total{reason=\"label_names\"} 1\n"));
  EXPECT_THAT(out, HasSubstr("x_total 1\n"));
  EXPECT_EQ(warnings.size(), 4u);  // x/registration, .../invalid, ""/invalid, y/label_names
}

TEST(ByName, TooManyLabels) {
  Registry r;
  NamedMetrics m(r, {.warn = [](std::string_view) {}});
  std::vector<Label> labels;
  std::vector<std::string> names;
  for (int i = 0; i < 17; ++i) names.push_back("l" + std::to_string(i));
  for (const std::string& n : names) labels.push_back({n, "v"});
  m.increment("many", std::span<const Label>(labels));
  EXPECT_EQ(m.errors(), 1u);
  EXPECT_THROW(m.increment_checked("many", std::span<const Label>(labels)), Error);
  labels.pop_back();  // 16 is fine
  EXPECT_NO_THROW(m.increment_checked("many", std::span<const Label>(labels)));
}

TEST(ByName, TimerRecordsWhenAnExceptionLeavesTheScope) {
  Registry r;
  NamedMetrics m(r);
  try {
    auto t = m.timer("risky.op", {{"kind", "a"}});
    throw std::runtime_error("boom");
  } catch (const std::runtime_error&) {
  }
  {
    auto t = m.timer("risky.op", {{"kind", "a"}});
    t.cancel();  // nothing recorded
  }
  EXPECT_THAT(text(r), HasSubstr("risky_op_seconds_count{kind=\"a\"} 1\n"));
  // A name that already ends with _seconds is not doubled.
  { auto t = m.timer("step_seconds"); }
  EXPECT_THAT(text(r), HasSubstr("step_seconds_count 1\n"));
}

TEST(ByName, TwoInstancesDoNotShareCacheEntries) {
  Registry r1, r2;
  auto* a = new NamedMetrics(r1);
  a->increment("n", {{"k", "v"}});
  delete a;  // its per-thread cache entries must not be used by the next instance
  NamedMetrics b(r2);
  b.increment("n", {{"k", "v"}});
  b.increment("n", {{"k", "v"}});
  EXPECT_THAT(text(r2), HasSubstr("n_total{k=\"v\"} 2\n"));
}

TEST(ByName, ManyThreadsManySeries) {
  Registry r;
  NamedMetrics m(r);
  constexpr int kThreads = 4, kPerThread = 20000, kSeries = 300;  // more series than cache slots
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string v = std::to_string(i % kSeries);
        m.increment("work.items", {{"shard", v}});
      }
    });
  }
  for (auto& t : threads) t.join();
  double total = 0;
  for (int s = 0; s < kSeries; ++s) {
    total += m.counter("work.items", {{"shard", std::to_string(s)}}).value();
  }
  EXPECT_EQ(total, kThreads * kPerThread);
  EXPECT_EQ(m.errors(), 0u);
}

TEST(ByName, GlobalFreeFunctions) {
  increment("vigil.test.by_name.calls", {{"domain", "arithmetic"}});
  set("vigil.test.by_name.depth", 4);
  observe("vigil.test.by_name.size", 2);
  { auto t = timer("vigil.test.by_name.step"); }
  const std::string out = text(Registry::global());
  EXPECT_THAT(out, HasSubstr("vigil_test_by_name_calls_total{domain=\"arithmetic\"} 1\n"));
  EXPECT_THAT(out, HasSubstr("vigil_test_by_name_depth 4\n"));
  EXPECT_THAT(out, HasSubstr("vigil_test_by_name_size_count 1\n"));
  EXPECT_THAT(out, HasSubstr("vigil_test_by_name_step_seconds_count 1\n"));
}

}  // namespace
}  // namespace vigil::metrics
