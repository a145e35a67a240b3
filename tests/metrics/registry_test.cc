#include "vigil/metrics/registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <stdexcept>

#include "test_sink.h"
#include "vigil/core/error.h"
#include "vigil/metrics/names.h"

namespace vigil::metrics {
namespace {

using ::testing::HasSubstr;

TEST(Names, PrometheusRules) {
  EXPECT_TRUE(is_valid_metric_name("http_requests_total"));
  EXPECT_TRUE(is_valid_metric_name("ns:rule:rate5m"));
  EXPECT_FALSE(is_valid_metric_name(""));
  EXPECT_FALSE(is_valid_metric_name("1abc"));
  EXPECT_FALSE(is_valid_metric_name("a-b"));
  EXPECT_FALSE(is_valid_metric_name("a b"));
  EXPECT_TRUE(is_valid_label_name("method"));
  EXPECT_FALSE(is_valid_label_name("__name__"));
  EXPECT_FALSE(is_valid_label_name("a:b"));
  EXPECT_FALSE(is_valid_label_name("9a"));
  EXPECT_TRUE(is_valid_unit("seconds"));
  EXPECT_FALSE(is_valid_unit("sec onds"));
  EXPECT_TRUE(is_valid_utf8("h\xC3\xA9llo"));
  EXPECT_FALSE(is_valid_utf8("\xC0\x80"));      // overlong
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));  // surrogate
  EXPECT_FALSE(is_valid_utf8("\xE2\x82"));      // truncated
}

TEST(Registry, GetOrCreateReturnsTheSameFamily) {
  Registry r;
  auto& a = r.counter("pipeline_runs_total", "Runs", {"pipeline"});
  auto& b = r.counter("pipeline_runs_total", "Runs", {"pipeline"});
  auto& c = r.counter("pipeline_runs", "Runs", {"pipeline"});  // same family without _total
  EXPECT_EQ(&a, &b);
  EXPECT_EQ(&a, &c);
  EXPECT_EQ(a.name(), "pipeline_runs");
  EXPECT_EQ(r.family_count(), 1u);
}

TEST(Registry, ConflictingReRegistrationIsAClearErrorAndRegistersNothing) {
  Registry r;
  r.counter("jobs_total", "Jobs", {"queue"});
  try {
    r.gauge("jobs", "Jobs");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("jobs"));
  }
  EXPECT_THROW(r.counter("jobs_total", "Other help", {"queue"}), Error);
  EXPECT_THROW(r.counter("jobs_total", "Jobs", {"other"}), Error);
  EXPECT_THROW(r.counter("jobs_total", "Jobs", {"queue"}, {.unit = "seconds"}), Error);
  EXPECT_EQ(r.family_count(), 1u);
}

TEST(Registry, SampleNameClashesAreRefused) {
  Registry r;
  r.counter("a", "a");  // writes a_total, a_created
  EXPECT_THROW(r.gauge("a_total", "x"), Error);
  r.histogram("h_seconds", "h");
  EXPECT_THROW(r.gauge("h_seconds_bucket", "x"), Error);
  EXPECT_THROW(r.gauge("h_seconds_count", "x"), Error);
  r.gauge("g", "g");
  EXPECT_THROW(r.counter("g_total", "x"), Error);  // family "g" exists with another type
  EXPECT_THROW(r.gauge("vigil_cardinality_overflow_total", "reserved"), Error);
}

TEST(Registry, InvalidNamesAndLabelsAreRefused) {
  Registry r;
  EXPECT_THROW(r.counter("bad name", "x"), Error);
  EXPECT_THROW(r.counter("", "x"), Error);
  EXPECT_THROW(r.counter("ok_total", "x", {"bad-label"}), Error);
  EXPECT_THROW(r.counter("ok_total", "x", {"__reserved"}), Error);
  EXPECT_THROW(r.counter("ok_total", "x", {"dup", "dup"}), Error);
  EXPECT_THROW(r.counter("ok_total", "x", {"a"}, {.const_labels = {{"a", "1"}}}), Error);
  EXPECT_THROW(r.gauge("latency", "x", {}, {.unit = "seconds"}), Error);  // name lacks unit
  EXPECT_THROW(r.gauge("latency_seconds", "x", {}, {.unit = "sec-onds"}), Error);
  EXPECT_THROW(r.gauge("g", "x", {}, {.cardinality_limit = 0}), Error);
  EXPECT_THROW(r.gauge("g2", "bad help \xff"), Error);
  EXPECT_EQ(r.family_count(), 0u);
  EXPECT_NO_THROW(r.gauge("latency_seconds", "x", {}, {.unit = "seconds"}));
}

TEST(Registry, ListAndCount) {
  Registry r;
  auto& c = r.counter("c_total", "C", {"k"});
  c.labels("a").inc();
  c.labels("b").inc();
  r.gauge("g", "G").get().set(1);
  r.info("build", "Build", {"version"}).labels("1.0");
  auto list = r.list();
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0].name, "c");
  EXPECT_EQ(list[0].type, MetricType::kCounter);
  EXPECT_EQ(list[0].series, 2u);
  EXPECT_EQ(list[2].name, "build");
  EXPECT_EQ(r.family_count(), 3u);
  EXPECT_EQ(r.series_count(), 4u);
}

TEST(Registry, RemoveUnlistsAFamily) {
  Registry r;
  Counter c = r.counter("gone_total", "g").get();
  EXPECT_TRUE(r.remove("gone_total"));
  EXPECT_FALSE(r.remove("gone_total"));
  c.inc();  // still safe
  testing::RecordingSink sink;
  r.collect(sink);
  EXPECT_EQ(sink.family("gone"), nullptr);
  // The name can be registered again, with another type even.
  EXPECT_NO_THROW(r.gauge("gone", "now a gauge"));
}

TEST(Registry, CallbacksAreReadAtCollection) {
  Registry r;
  double depth = 3;
  r.callback_gauge("queue_depth", "Depth", [&] { return depth; });
  auto& per_queue = r.callback_counter_family("queue_processed_total", "Processed", {"queue"});
  per_queue.add({"high"}, [] { return 10.0; });
  per_queue.add({"low"}, []() -> double { throw std::runtime_error("broken"); });
  EXPECT_THROW(per_queue.add({}, [] { return 1.0; }), Error);
  testing::RecordingSink sink;
  r.collect(sink);
  EXPECT_EQ(sink.family("queue_depth")->series[0].value, 3);
  const auto* processed = sink.family("queue_processed");
  ASSERT_NE(processed, nullptr);
  EXPECT_EQ(processed->type, MetricType::kCounter);
  ASSERT_EQ(processed->series.size(), 1u);  // the throwing callback is skipped
  EXPECT_EQ(sink.family("vigil_collector_errors")->series[0].value, 1);
  depth = 5;
  testing::RecordingSink again;
  r.collect(again);
  EXPECT_EQ(again.family("queue_depth")->series[0].value, 5);
}

class FixedCollector : public Collector {
 public:
  std::vector<std::string> family_names() const override { return {"fixed_value"}; }
  void collect(MetricSink& sink) const override {
    FamilyDesc d;
    d.name = "fixed_value";
    d.help = "Fixed";
    d.type = MetricType::kGauge;
    sink.begin_family(d);
    sink.gauge({}, 42);
    sink.end_family();
  }
};

TEST(Registry, CollectorsAreCollectedAndClashesRefused) {
  Registry r;
  r.add_collector(std::make_shared<FixedCollector>());
  EXPECT_THROW(r.gauge("fixed_value", "x"), Error);
  EXPECT_THROW(r.add_collector(std::make_shared<FixedCollector>()), Error);
  testing::RecordingSink sink;
  r.collect(sink);
  EXPECT_EQ(sink.family("fixed_value")->series[0].value, 42);
}

TEST(Registry, GlobalRegistryAndFreeFunctions) {
  auto& f = counter("vigil_test_global_total", "g", {"k"});
  EXPECT_EQ(&f, &Registry::global().counter("vigil_test_global_total", "g", {"k"}));
  f.labels("x").inc();
  EXPECT_EQ(f.labels("x").value(), 1);
}

TEST(Registry, UnlabelledFamiliesExportZeroAtOnce) {
  Registry r;
  r.counter("started_total", "s");
  testing::RecordingSink sink;
  r.collect(sink);
  ASSERT_NE(sink.family("started"), nullptr);
  EXPECT_EQ(sink.family("started")->series[0].value, 0);
}

}  // namespace
}  // namespace vigil::metrics
