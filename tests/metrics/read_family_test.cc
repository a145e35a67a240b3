// Registry::read_family: one family's current values, for in-process readers (guardrails).
#include <gtest/gtest.h>

#include <string>

#include "test_sink.h"
#include "vigil/metrics/exposition.h"
#include "vigil/metrics/registry.h"

namespace vigil::metrics {
namespace {

using testing::RecordingSink;

// Records whether the sink was offered exemplars.
class ExemplarSpy : public RecordingSink {
 public:
  explicit ExemplarSpy(bool wants) : wants_(wants) {}
  bool wants_exemplars() const override { return wants_; }
  void counter_with_exemplar(LabelValues labels, double value, double created,
                             const ExemplarPoint& exemplar) override {
    ++exemplars;
    RecordingSink::counter_with_exemplar(labels, value, created, exemplar);
  }
  void histogram(LabelValues labels, const HistogramPoint& p) override {
    if (!p.exemplars.empty()) ++exemplars;
    RecordingSink::histogram(labels, p);
  }
  int exemplars = 0;

 private:
  bool wants_;
};

TEST(ReadFamily, ReadsOneFamilyByRegisteredOrFamilyName) {
  Registry r;
  auto& requests = r.counter("requests_total", "Requests", {"version", "status"});
  requests.labels("v1", "success").inc(7);
  requests.labels("v1", "error").inc(2);
  r.gauge("other", "Another family").get().set(5);
  for (const char* name : {"requests_total", "requests"}) {
    RecordingSink sink;
    ASSERT_TRUE(r.read_family(name, sink)) << name;
    ASSERT_EQ(sink.order.size(), 1u);  // only that family, no self-metrics
    const auto* f = sink.family("requests");
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->type, MetricType::kCounter);
    EXPECT_EQ(f->label_names, (std::vector<std::string>{"version", "status"}));
    ASSERT_EQ(f->series.size(), 2u);
    EXPECT_EQ(f->find({"v1", "success"})->value, 7);
    EXPECT_EQ(f->find({"v1", "error"})->value, 2);
  }
  RecordingSink none;
  EXPECT_FALSE(r.read_family("missing_total", none));
  EXPECT_FALSE(r.read_family("", none));
  EXPECT_TRUE(none.order.empty());
  // An unlisted family is not read.
  ASSERT_TRUE(r.remove("other"));
  EXPECT_FALSE(r.read_family("other", none));
}

TEST(ReadFamily, EmptyFamiliesStillDescribeThemselves) {
  Registry r;
  r.histogram("latency_seconds", "Latency", {"version"}, {.buckets = {0.1, 1}});
  r.callback_counter_family("cb_total", "Callback counter", {"k"});
  RecordingSink sink;
  ASSERT_TRUE(r.read_family("latency_seconds", sink));
  ASSERT_TRUE(r.read_family("cb_total", sink));
  ASSERT_EQ(sink.order.size(), 2u);
  EXPECT_EQ(sink.family("latency_seconds")->type, MetricType::kHistogram);
  EXPECT_TRUE(sink.family("latency_seconds")->series.empty());
  EXPECT_EQ(sink.family("cb")->type, MetricType::kCounter);
  EXPECT_EQ(sink.family("cb")->label_names, std::vector<std::string>{"k"});
  // collect() still skips empty families.
  RecordingSink all;
  r.collect(all);
  EXPECT_EQ(all.family("latency_seconds"), nullptr);
}

TEST(ReadFamily, HistogramValuesAndCallbackSeries) {
  Registry r;
  auto& h = r.histogram("latency_seconds", "Latency", {"version"}, {.buckets = {0.1, 1}});
  h.labels("v1").observe(0.05);
  h.labels("v1").observe(0.5);
  h.labels("v1").observe(3);
  auto& cb = r.callback_counter_family("cb_total", "Callback counter", {"k"});
  cb.add({"a"}, [] { return 4.0; });
  RecordingSink sink;
  ASSERT_TRUE(r.read_family("latency_seconds", sink));
  ASSERT_TRUE(r.read_family("cb_total", sink));
  const auto* s = sink.family("latency_seconds")->find({"v1"});
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->cumulative, (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(sink.family("cb")->find({"a"})->value, 4);
}

TEST(ReadFamily, ExemplarsOnlyWhenWantedAndReadsDoNotAgeThem) {
  Registry r;
  Counter c = r.counter("errors_total", "Errors").get();
  c.inc(1, {{"trace_id", "abc"}});
  Histogram h = r.histogram("latency_seconds", "Latency", {}, {.buckets = {0.1}}).get();
  h.observe(0.05, {{"trace_id", "def"}});
  ExemplarSpy values_only(false);
  // Many reads: not collections, so the exemplars survive for the next scrape.
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(r.read_family("errors_total", values_only));
    ASSERT_TRUE(r.read_family("latency_seconds", values_only));
  }
  EXPECT_EQ(values_only.exemplars, 0);
  ExemplarSpy wants(true);
  ASSERT_TRUE(r.read_family("errors_total", wants));
  ASSERT_TRUE(r.read_family("latency_seconds", wants));
  EXPECT_EQ(wants.exemplars, 2);
  const std::string om = serialize(r, Format::kOpenMetrics);
  EXPECT_NE(om.find("trace_id=\"abc\""), std::string::npos);
  EXPECT_NE(om.find("trace_id=\"def\""), std::string::npos);
}

}  // namespace
}  // namespace vigil::metrics
