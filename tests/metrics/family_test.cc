#include "vigil/metrics/family.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "test_sink.h"
#include "vigil/core/error.h"
#include "vigil/metrics/detail/cells.h"
#include "vigil/metrics/registry.h"

namespace vigil::metrics {
namespace {

// What only the library makes: instrument handles from series, families, callback families.
static_assert(!std::is_constructible_v<Counter, detail::SeriesRef, detail::RecordStats*>);
static_assert(!std::is_constructible_v<Gauge, detail::SeriesRef>);
static_assert(!std::is_constructible_v<Info, detail::SeriesRef>);
static_assert(!std::is_constructible_v<Summary, detail::SeriesRef, detail::RecordStats*>);
static_assert(!std::is_constructible_v<Histogram, detail::SeriesRef, const double*, uint32_t,
                                       detail::RecordStats*>);
static_assert(!std::is_constructible_v<Family<Counter>, std::string, std::string,
                                       std::vector<std::string>, MetricOptions>);
static_assert(!std::is_constructible_v<CallbackFamily, std::string, std::string, MetricType,
                                       std::vector<std::string>, MetricOptions>);
template <class F>
concept CanCollectCallbacks = requires(const F& f, MetricSink& sink,
                                       std::atomic<uint64_t>& errors) {
  f.collect(sink, errors);
};
static_assert(!CanCollectCallbacks<CallbackFamily>);

TEST(Family, SameLabelsGiveTheSameSeries) {
  Registry r;
  auto& f = r.counter("calls_total", "Calls", {"provider", "model"});
  f.labels("openai", "gpt-4o").inc();
  std::string p = "openai", m = "gpt-4o";
  f.labels(p, m).inc();
  f.labels({std::string_view("openai"), std::string_view("gpt-4o")}).inc();
  EXPECT_EQ(f.labels("openai", "gpt-4o").value(), 3);
  EXPECT_EQ(f.labels("anthropic", "claude").value(), 0);
  EXPECT_EQ(f.size(), 2u);
}

TEST(Family, LabelBoundariesMatter) {
  Registry r;
  auto& f = r.counter("pairs_total", "p", {"a", "b"});
  f.labels("ab", "c").inc();
  f.labels("a", "bc").inc(2);
  EXPECT_EQ(f.labels("ab", "c").value(), 1);
  EXPECT_EQ(f.labels("a", "bc").value(), 2);
}

TEST(Family, WrongNumberOfValuesThrows) {
  Registry r;
  auto& f = r.counter("x_total", "x", {"a", "b"});
  EXPECT_THROW(f.labels("only-one"), Error);
  EXPECT_THROW(f.get(), Error);
  EXPECT_EQ(f.size(), 0u);
}

TEST(Family, RemoveDropsTheSeriesButHandlesStayUsable) {
  Registry r;
  auto& f = r.gauge("temp_celsius", "t", {"room"});
  Gauge kitchen = f.labels("kitchen");
  kitchen.set(21);
  f.labels("hall").set(18);
  EXPECT_TRUE(f.remove("kitchen"));
  EXPECT_FALSE(f.remove("kitchen"));
  EXPECT_EQ(f.size(), 1u);
  kitchen.set(22);  // the detached series still works
  EXPECT_EQ(kitchen.value(), 22);
  EXPECT_EQ(f.labels("kitchen").value(), 0);  // a new series starts from zero
  testing::RecordingSink sink;
  r.collect(sink);
  EXPECT_EQ(sink.family("temp_celsius")->series.size(), 2u);
}

TEST(Family, CellsAreFreedWhenTheLastReferenceGoes) {
  Registry r;
  auto& f = r.histogram("cells_seconds", "c", {"k"});
  const uint64_t before = detail::cells_in_use();
  {
    Histogram h = f.labels("a");
    // The 11 default bounds: a sequence cell, the sum, 11 bucket counts and +Inf.
    EXPECT_EQ(detail::cells_in_use(), before + 14);
    EXPECT_TRUE(f.remove("a"));
    EXPECT_EQ(detail::cells_in_use(), before + 14);  // h holds it
    h.observe(1);
  }
  EXPECT_EQ(detail::cells_in_use(), before);
  // Reused cells start from zero.
  EXPECT_EQ(f.labels("b").count(), 0u);
}

TEST(Family, CardinalityLimitFoldsIntoOverflowAndCounts) {
  Registry r;
  auto& f = r.counter("requests_total", "r", {"user"}, {.cardinality_limit = 100});
  for (int i = 0; i < 1000; ++i) f.labels("user" + std::to_string(i)).inc();
  EXPECT_EQ(f.size(), 100u);
  EXPECT_EQ(f.overflow_count(), 900u);
  EXPECT_EQ(f.labels("user5").value(), 1);  // existing series still resolve
  testing::RecordingSink sink;
  r.collect(sink);
  const auto* fam = sink.family("requests");
  ASSERT_EQ(fam->series.size(), 101u);
  const auto* overflow = fam->find({"__overflow__"});
  ASSERT_NE(overflow, nullptr);
  EXPECT_EQ(overflow->value, 900);
  const auto* counted = sink.family("vigil_cardinality_overflow")->find({"requests"});
  ASSERT_NE(counted, nullptr);
  EXPECT_EQ(counted->value, 900);
}

TEST(Family, FloodOfUniqueValuesKeepsMemoryBounded) {
  Registry r;
  auto& f = r.counter("flood_total", "f", {"id"}, {.cardinality_limit = 1000});
  const uint64_t before = detail::cells_in_use();
  for (int i = 0; i < 200000; ++i) f.labels(std::to_string(i)).inc();
  EXPECT_EQ(f.size(), 1000u);
  // 1000 series plus one overflow series, two cells each (integer and fractional increments).
  EXPECT_EQ(detail::cells_in_use() - before, 1001u * 2u);
  EXPECT_EQ(f.overflow_count(), 199000u);
}

TEST(Family, InvalidUtf8AndLongValuesAreRepairedAndCounted) {
  Registry r;
  auto& f = r.counter("paths_total", "p", {"path"});
  f.labels("/ok\xff").inc();
  f.labels("/ok\xff").inc();
  f.labels(std::string(5000, 'x')).inc();
  EXPECT_EQ(f.size(), 2u);
  EXPECT_EQ(f.invalid_label_values(), 3u);
  testing::RecordingSink sink;
  r.collect(sink);
  const auto* fam = sink.family("paths");
  const auto* repaired = fam->find({"/ok\xEF\xBF\xBD"});
  ASSERT_NE(repaired, nullptr);
  EXPECT_EQ(repaired->value, 2);
  EXPECT_NE(fam->find({std::string(1024, 'x')}), nullptr);
}

TEST(Family, IdleSeriesExpireOnlyWhenNoHandleHoldsThem) {
  Registry r;
  auto& f = r.counter("sessions_total", "s", {"sid"}, {.idle_expiry = std::chrono::seconds(1)});
  f.labels("temp").inc();
  Counter held = f.labels("held");
  held.inc();
  EXPECT_EQ(f.expire_idle(), 0u);  // both were just used
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  EXPECT_EQ(f.expire_idle(), 1u);
  EXPECT_EQ(f.size(), 1u);
  EXPECT_EQ(held.value(), 1);
  testing::RecordingSink sink;
  r.collect(sink);
  EXPECT_EQ(sink.family("sessions")->series.size(), 1u);
  EXPECT_EQ(sink.family("sessions")->series[0].labels[0], "held");
}

TEST(Family, ConstLabelsAreReported) {
  Registry r;
  r.gauge("up", "Up", {}, {.const_labels = {{"region", "eu"}}}).get().set(1);
  testing::RecordingSink sink;
  r.collect(sink);
  const auto* fam = sink.family("up");
  ASSERT_EQ(fam->const_labels.size(), 1u);
  EXPECT_EQ(fam->const_labels[0], (LabelPair{"region", "eu"}));
}

TEST(Family, ClearRemovesEverything) {
  Registry r;
  auto& f = r.counter("c_total", "c", {"k"});
  for (int i = 0; i < 50; ++i) f.labels(std::to_string(i)).inc();
  f.clear();
  EXPECT_EQ(f.size(), 0u);
  f.labels("7").inc();
  EXPECT_EQ(f.labels("7").value(), 1);
}

TEST(Family, ManyInsertsAndRemovesKeepTheIndexConsistent) {
  Registry r;
  auto& f = r.counter("churn_total", "c", {"k"});
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 2000; ++i) f.labels(std::to_string(i)).inc();
    for (int i = 0; i < 2000; i += 2) ASSERT_TRUE(f.remove(std::to_string(i)));
    for (int i = 1; i < 2000; i += 2) ASSERT_EQ(f.labels(std::to_string(i)).value(), 1) << round;
    for (int i = 1; i < 2000; i += 2) ASSERT_TRUE(f.remove(std::to_string(i)));
    ASSERT_EQ(f.size(), 0u);
  }
}

}  // namespace
}  // namespace vigil::metrics
