// Guide 002's BusinessMetricsCollector in C++: hand-computed summaries, the window, "no data",
// the history cap and its eviction, the JSON form parsed with nlohmann-json.
#include "vigil/metrics/business_metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "vigil/core/error.h"
#include "vigil/metrics/exposition.h"

namespace vm = vigil::metrics;

namespace {

struct FakeClock {
  std::shared_ptr<double> now = std::make_shared<double>(1'700'000'000.0);
  std::function<double()> fn() const {
    auto n = now;
    return [n] { return *n; };
  }
  void advance(double s) const { *now += s; }
};

TEST(BusinessMetrics, GuideExampleSummary) {
  FakeClock clock;
  vm::BusinessMetrics b({.clock = clock.fn()});
  b.record_causal_inference_result(0.9, 4, 0.8, 0.5, 100);
  clock.advance(60);
  b.record_causal_inference_result(0.7, 2, 0.6, 1.5, 300);
  clock.advance(60);
  b.record_causal_inference_result(0.8, 0, 1.0, 1.0, 200);

  const vm::PerformanceSummary s = b.performance_summary(24);
  ASSERT_TRUE(s.has_data);
  EXPECT_EQ(s.operation_count, 3u);
  EXPECT_NEAR(s.avg_accuracy, 0.8, 1e-12);             // (0.9 + 0.7 + 0.8) / 3
  EXPECT_EQ(s.total_interventions, 6);                 // 4 + 2 + 0
  EXPECT_NEAR(s.avg_prediction_accuracy, 0.8, 1e-12);  // (0.8 + 0.6 + 1.0) / 3
  EXPECT_NEAR(s.avg_computation_seconds, 1.0, 1e-12);  // (0.5 + 1.5 + 1.0) / 3
  EXPECT_EQ(s.peak_memory_bytes, 300);
  EXPECT_DOUBLE_EQ(s.hours, 24);

  const nlohmann::json j = nlohmann::json::parse(vm::to_json(s));
  EXPECT_NEAR(j.at("avg_accuracy").get<double>(), 0.8, 1e-12);
  EXPECT_EQ(j.at("total_interventions"), 6);
  EXPECT_NEAR(j.at("avg_computation_time").get<double>(), 1.0, 1e-12);
  EXPECT_EQ(j.at("peak_memory_usage"), 300);
  EXPECT_EQ(j.at("operation_count"), 3);
  EXPECT_EQ(j.at("time_period_hours"), 24);
}

TEST(BusinessMetrics, NoData) {
  FakeClock clock;
  vm::BusinessMetrics b({.clock = clock.fn()});
  const vm::PerformanceSummary s = b.performance_summary(24);
  EXPECT_FALSE(s.has_data);
  EXPECT_EQ(s.operation_count, 0u);
  const nlohmann::json j = nlohmann::json::parse(vm::to_json(s));
  EXPECT_EQ(j, nlohmann::json::parse(R"({"status":"no_data","hours":24})"));
}

TEST(BusinessMetrics, WindowCutoffIsExclusive) {
  FakeClock clock;
  vm::BusinessMetrics b({.clock = clock.fn()});
  b.record_causal_inference_result(0.2, 1, 0.2, 1, 10);  // t0
  clock.advance(1800);
  b.record_causal_inference_result(0.6, 3, 0.4, 3, 20);  // t0 + 30 min
  clock.advance(1800);                                   // now = t0 + 1 h
  // Last hour: the cutoff is t0 exactly; the result at t0 is not after it.
  vm::PerformanceSummary s = b.performance_summary(1);
  EXPECT_EQ(s.operation_count, 1u);
  EXPECT_DOUBLE_EQ(s.avg_accuracy, 0.6);
  EXPECT_EQ(s.peak_memory_bytes, 20);
  s = b.performance_summary(0.25);  // the last 15 minutes: nothing
  EXPECT_FALSE(s.has_data);
  s = b.performance_summary(2);
  EXPECT_EQ(s.operation_count, 2u);
  EXPECT_DOUBLE_EQ(s.avg_accuracy, 0.4);
  EXPECT_EQ(s.total_interventions, 4);
}

TEST(BusinessMetrics, HistoryCapDropsOldest) {
  FakeClock clock;
  vm::BusinessMetrics b(
      {.max_history_bytes = 3 * vm::BusinessMetrics::kBytesPerRecord + 47, .clock = clock.fn()});
  EXPECT_EQ(vm::BusinessMetrics::kBytesPerRecord, 48u);
  EXPECT_EQ(b.capacity(), 3u);
  for (int i = 1; i <= 5; ++i) {
    b.record_causal_inference_result(0.1 * i, i, 0.5, 1, i * 100);
    clock.advance(1);
  }
  EXPECT_EQ(b.size(), 3u);
  EXPECT_EQ(b.dropped(), 2u);
  const auto h = b.history();
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h[0].intervention_count, 3);  // oldest kept first
  EXPECT_EQ(h[1].intervention_count, 4);
  EXPECT_EQ(h[2].intervention_count, 5);
  EXPECT_LT(h[0].timestamp, h[2].timestamp);
  const vm::PerformanceSummary s = b.performance_summary(1);
  EXPECT_EQ(s.operation_count, 3u);
  EXPECT_EQ(s.total_interventions, 12);
  EXPECT_EQ(s.peak_memory_bytes, 500);
  // Many more: the history stays at its cap.
  for (int i = 0; i < 10'000; ++i) b.record({.accuracy = 1, .timestamp = *clock.now});
  EXPECT_EQ(b.size(), 3u);
  EXPECT_EQ(b.dropped(), 10'002u);
}

TEST(BusinessMetrics, DefaultCapIsOneMebibyte) {
  vm::BusinessMetrics b;
  EXPECT_EQ(b.capacity(), (size_t{1} << 20) / 48);
}

TEST(BusinessMetrics, RejectsBadResultsAndOptions) {
  FakeClock clock;
  vm::BusinessMetrics b({.clock = clock.fn()});
  b.record_causal_inference_result(std::numeric_limits<double>::quiet_NaN(), 1, 0.5, 1, 1);
  b.record_causal_inference_result(0.5, -1, 0.5, 1, 1);
  b.record_causal_inference_result(0.5, 1, 0.5, std::numeric_limits<double>::infinity(), 1);
  EXPECT_EQ(b.rejected(), 3u);
  EXPECT_EQ(b.size(), 0u);
  EXPECT_THROW((void)b.performance_summary(0), vigil::Error);
  EXPECT_THROW((void)b.performance_summary(-1), vigil::Error);
  EXPECT_THROW((void)b.performance_summary(std::numeric_limits<double>::quiet_NaN()), vigil::Error);
  EXPECT_THROW(vm::BusinessMetrics({.max_history_bytes = 47}), vigil::Error);
}

TEST(BusinessMetrics, ExportsTheGuidesInstruments) {
  FakeClock clock;
  vm::Registry registry;
  vm::BusinessMetrics b({.max_history_bytes = 48, .registry = &registry, .clock = clock.fn()});
  b.record_causal_inference_result(0.9, 4, 0.85, 0.5, 100);
  b.record_causal_inference_result(0.7, 2, 0.35, 0.5, 100);
  const std::string text = vm::serialize(registry, vm::Format::kPrometheusText);
  EXPECT_NE(text.find("\ncausal_accuracy_score{model_type=\"inference\"} 0.7\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("\ncausal_interventions_total 6\n"), std::string::npos);
  EXPECT_NE(text.find("\nmodel_prediction_accuracy_count{model_type=\"causal\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("\nvigil_business_history_dropped_total 1\n"), std::string::npos);
}

}  // namespace
