// collect_snapshot (a registry copied into a MetricsSnapshot: constant labels first, histogram
// bounds and buckets, summaries, infos, exemplars on and off) and DeltaTracker (first sight,
// deltas, the reset rule, histogram buckets, vanished series, window_start), against values
// computed by hand.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "vigil/core/clock.h"
#include "vigil/exporters/metric_exporter.h"
#include "vigil/metrics/registry.h"

namespace vigil::exporters {
namespace {

using metrics::MetricType;

const MetricFamily* find(const MetricsSnapshot& s, const std::string& name) {
  for (const auto& f : s.families) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

const MetricPoint* point(const MetricsSnapshot& s, const std::string& name,
                         const std::vector<std::string>& labels) {
  const MetricFamily* f = find(s, name);
  if (f == nullptr) return nullptr;
  for (const auto& p : f->points) {
    if (p.label_values == labels) return &p;
  }
  return nullptr;
}

// ---- collect_snapshot

TEST(CollectSnapshot, CounterWithConstantLabelsFirst) {
  metrics::Registry r;
  auto& fam = r.counter("requests_total", "Requests served", {"method"},
                        {.const_labels = {{"env", "prod"}, {"region", "eu"}}});
  fam.labels("GET").inc(3);
  fam.labels("POST").inc(2.5);
  const double before = unix_time_seconds();
  const MetricsSnapshot s = collect_snapshot(r);
  EXPECT_GE(s.timestamp, before);
  EXPECT_LE(s.timestamp, unix_time_seconds());

  const MetricFamily* f = find(s, "requests");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->type, MetricType::kCounter);
  EXPECT_EQ(f->help, "Requests served");
  EXPECT_EQ(f->label_names, (std::vector<std::string>{"env", "region", "method"}));
  ASSERT_EQ(f->points.size(), 2u);
  const MetricPoint* get = point(s, "requests", {"prod", "eu", "GET"});
  const MetricPoint* post = point(s, "requests", {"prod", "eu", "POST"});
  ASSERT_NE(get, nullptr);
  ASSERT_NE(post, nullptr);
  EXPECT_EQ(get->value, 3);
  EXPECT_EQ(post->value, 2.5);
  EXPECT_GT(get->start_time, 0);
  EXPECT_LE(get->start_time, s.timestamp);
  EXPECT_FALSE(get->exemplar.has_value());
}

TEST(CollectSnapshot, GaugeHistogramSummaryInfo) {
  metrics::Registry r;
  r.gauge("queue_depth", "Jobs waiting").get().set(-4);
  auto h =
      r.histogram("latency_seconds", "Latency", {"route"}, {.buckets = {1, 2}}, {.unit = "seconds"})
          .labels("/a");
  h.observe(0.5);
  h.observe(1.5);
  h.observe(3);
  h.observe(1);  // "less or equal": the first bucket
  auto sm = r.summary("size_bytes", "Sizes", {}, {.quantiles = {0.5}}).get();
  sm.observe(1);
  sm.observe(2);
  sm.observe(3);
  r.info("build", "Build information", {"version"}).labels("1.2.3");

  const MetricsSnapshot s = collect_snapshot(r);
  const MetricPoint* g = point(s, "queue_depth", {});
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(find(s, "queue_depth")->type, MetricType::kGauge);
  EXPECT_EQ(g->value, -4);

  const MetricFamily* hf = find(s, "latency_seconds");
  ASSERT_NE(hf, nullptr);
  EXPECT_EQ(hf->type, MetricType::kHistogram);
  EXPECT_EQ(hf->unit, "seconds");
  EXPECT_EQ(hf->label_names, std::vector<std::string>{"route"});
  EXPECT_EQ(hf->bounds, (std::vector<double>{1, 2}));
  const MetricPoint* hp = point(s, "latency_seconds", {"/a"});
  ASSERT_NE(hp, nullptr);
  EXPECT_EQ(hp->count, 4u);
  EXPECT_DOUBLE_EQ(hp->sum, 6.0);
  // Cumulative: <=1: 0.5 and 1; <=2: + 1.5; +Inf: + 3.
  EXPECT_EQ(hp->buckets, (std::vector<uint64_t>{2, 3, 4}));
  EXPECT_GT(hp->start_time, 0);
  EXPECT_TRUE(hp->bucket_exemplars.empty());

  const MetricFamily* sf = find(s, "size_bytes");
  ASSERT_NE(sf, nullptr);
  EXPECT_EQ(sf->type, MetricType::kSummary);
  const MetricPoint* sp = point(s, "size_bytes", {});
  ASSERT_NE(sp, nullptr);
  EXPECT_EQ(sp->count, 3u);
  EXPECT_DOUBLE_EQ(sp->sum, 6.0);
  ASSERT_EQ(sp->quantiles.size(), 1u);
  EXPECT_EQ(sp->quantiles[0].first, 0.5);
  EXPECT_NEAR(sp->quantiles[0].second, 2, 2.0 / 128 + 1e-9);  // the summary's bound: |x| / 128

  const MetricFamily* inf = find(s, "build");
  ASSERT_NE(inf, nullptr);
  EXPECT_EQ(inf->type, MetricType::kInfo);
  const MetricPoint* ip = point(s, "build", {"1.2.3"});
  ASSERT_NE(ip, nullptr);
  EXPECT_EQ(ip->value, 1);

  std::size_t n = 0;
  for (const auto& f : s.families) n += f.points.size();
  EXPECT_EQ(s.series(), n);
}

TEST(CollectSnapshot, ExemplarsOnAndOff) {
  metrics::Registry r;
  auto c = r.counter("errors_total", "Errors").get();
  c.inc(2, {{"trace_id", "4bf92f3577b34da6a3ce929d0e0e4736"}});
  auto h = r.histogram("work_seconds", "Work", {}, {.buckets = {1, 2}}).get();
  h.observe(1.5, {{"trace_id", "aaaa"}, {"span_id", "bbbb"}});
  h.observe(0.2);

  const MetricsSnapshot on = collect_snapshot(r, {.exemplars = true});
  const MetricPoint* cp = point(on, "errors", {});
  ASSERT_NE(cp, nullptr);
  ASSERT_TRUE(cp->exemplar.has_value());
  EXPECT_EQ(cp->exemplar->value, 2);
  EXPECT_GT(cp->exemplar->timestamp, 0);
  EXPECT_EQ(cp->exemplar->labels, (std::vector<std::pair<std::string, std::string>>{
                                      {"trace_id", "4bf92f3577b34da6a3ce929d0e0e4736"}}));
  const MetricPoint* hp = point(on, "work_seconds", {});
  ASSERT_NE(hp, nullptr);
  ASSERT_EQ(hp->bucket_exemplars.size(), 3u);
  EXPECT_FALSE(hp->bucket_exemplars[0].has_value());
  ASSERT_TRUE(hp->bucket_exemplars[1].has_value());
  EXPECT_FALSE(hp->bucket_exemplars[2].has_value());
  EXPECT_EQ(hp->bucket_exemplars[1]->value, 1.5);
  EXPECT_EQ(hp->bucket_exemplars[1]->labels, (std::vector<std::pair<std::string, std::string>>{
                                                 {"trace_id", "aaaa"}, {"span_id", "bbbb"}}));

  const MetricsSnapshot off = collect_snapshot(r, {.exemplars = false});
  cp = point(off, "errors", {});
  ASSERT_NE(cp, nullptr);
  EXPECT_EQ(cp->value, 2);
  EXPECT_FALSE(cp->exemplar.has_value());
  hp = point(off, "work_seconds", {});
  ASSERT_NE(hp, nullptr);
  EXPECT_TRUE(hp->bucket_exemplars.empty());
  EXPECT_EQ(hp->buckets, (std::vector<uint64_t>{1, 2, 2}));
}

// ---- DeltaTracker, on hand-made snapshots

MetricFamily counter_family(const std::string& name, std::vector<MetricPoint> points) {
  MetricFamily f;
  f.name = name;
  f.type = MetricType::kCounter;
  f.label_names = {"k"};
  f.points = std::move(points);
  return f;
}

MetricPoint counter_point(const std::string& label, double value, double start = 0) {
  MetricPoint p;
  p.label_values = {label};
  p.value = value;
  p.start_time = start;
  return p;
}

TEST(DeltaTracker, FirstSightThenDeltas) {
  DeltaTracker t;
  EXPECT_EQ(t.tracked_series(), 0u);
  EXPECT_EQ(t.window_start("c", {"a"}), 0);

  MetricsSnapshot s1;
  s1.timestamp = 110;
  s1.families = {counter_family("c", {counter_point("a", 5, 100), counter_point("b", 7)})};
  const MetricsSnapshot d1 = t.deltas(s1);
  // First sight: the whole value; the window starts at the series' start (or the snapshot's
  // time when unknown).
  EXPECT_EQ(d1.families[0].points[0].value, 5);
  EXPECT_EQ(d1.families[0].points[0].start_time, 100);
  EXPECT_EQ(d1.families[0].points[1].value, 7);
  EXPECT_EQ(d1.families[0].points[1].start_time, 110);
  EXPECT_EQ(d1.timestamp, 110);
  EXPECT_EQ(t.tracked_series(), 2u);
  EXPECT_TRUE(t.vanished().empty());
  // The next window starts at this snapshot.
  EXPECT_EQ(t.window_start("c", {"a"}), 110);

  MetricsSnapshot s2;
  s2.timestamp = 120;
  s2.families = {counter_family("c", {counter_point("a", 8, 100), counter_point("b", 7.5)})};
  const MetricsSnapshot d2 = t.deltas(s2);
  EXPECT_EQ(d2.families[0].points[0].value, 3);
  EXPECT_EQ(d2.families[0].points[0].start_time, 110);
  EXPECT_EQ(d2.families[0].points[1].value, 0.5);
  EXPECT_EQ(d2.families[0].points[1].start_time, 110);
  EXPECT_EQ(t.window_start("c", {"a"}), 120);

  // Unchanged: a zero delta.
  MetricsSnapshot s3 = s2;
  s3.timestamp = 130;
  const MetricsSnapshot d3 = t.deltas(s3);
  EXPECT_EQ(d3.families[0].points[0].value, 0);
  EXPECT_EQ(d3.families[0].points[0].start_time, 120);
}

TEST(DeltaTracker, ResetRule) {
  DeltaTracker t;
  MetricsSnapshot s;
  s.timestamp = 10;
  s.families = {counter_family("c", {counter_point("a", 8)})};
  t.deltas(s);
  s.timestamp = 20;
  s.families[0].points[0].value = 2;  // below 8: the series restarted
  MetricsSnapshot d = t.deltas(s);
  EXPECT_EQ(d.families[0].points[0].value, 2);
  s.timestamp = 30;
  s.families[0].points[0].value = 6;  // and counts on from its new value
  d = t.deltas(s);
  EXPECT_EQ(d.families[0].points[0].value, 4);
  EXPECT_EQ(d.families[0].points[0].start_time, 20);
}

MetricFamily histogram_family(uint64_t b0, uint64_t b1, uint64_t inf, double sum) {
  MetricFamily f;
  f.name = "h";
  f.type = MetricType::kHistogram;
  f.bounds = {1, 2};
  MetricPoint p;
  p.count = inf;
  p.sum = sum;
  p.buckets = {b0, b1, inf};
  p.start_time = 50;
  f.points = {p};
  return f;
}

TEST(DeltaTracker, HistogramBuckets) {
  DeltaTracker t;
  MetricsSnapshot s;
  s.timestamp = 60;
  s.families = {histogram_family(1, 3, 4, 2.5)};
  MetricsSnapshot d = t.deltas(s);
  EXPECT_EQ(d.families[0].points[0].buckets, (std::vector<uint64_t>{1, 3, 4}));
  EXPECT_EQ(d.families[0].points[0].count, 4u);
  EXPECT_EQ(d.families[0].points[0].start_time, 50);
  EXPECT_EQ(d.families[0].bounds, (std::vector<double>{1, 2}));

  s.timestamp = 70;
  s.families = {histogram_family(2, 5, 7, 4.0)};
  d = t.deltas(s);
  const MetricPoint& p = d.families[0].points[0];
  EXPECT_EQ(p.buckets, (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(p.count, 3u);
  EXPECT_DOUBLE_EQ(p.sum, 1.5);
  EXPECT_EQ(p.start_time, 60);

  // Reset (the count went down): the whole new histogram.
  s.timestamp = 80;
  s.families = {histogram_family(1, 1, 2, 0.75)};
  d = t.deltas(s);
  EXPECT_EQ(d.families[0].points[0].buckets, (std::vector<uint64_t>{1, 1, 2}));
  EXPECT_EQ(d.families[0].points[0].count, 2u);
  EXPECT_DOUBLE_EQ(d.families[0].points[0].sum, 0.75);
}

TEST(DeltaTracker, SummaryCountSumAndPassThrough) {
  DeltaTracker t;
  MetricsSnapshot s;
  s.timestamp = 5;
  MetricFamily sf;
  sf.name = "s";
  sf.type = MetricType::kSummary;
  MetricPoint sp;
  sp.count = 10;
  sp.sum = 20;
  sp.quantiles = {{0.5, 1.5}};
  sf.points = {sp};
  MetricFamily g;
  g.name = "g";
  g.type = MetricType::kGauge;
  MetricPoint gp;
  gp.value = 7;
  g.points = {gp};
  MetricFamily i;
  i.name = "i";
  i.type = MetricType::kInfo;
  i.label_names = {"v"};
  MetricPoint ip;
  ip.label_values = {"1"};
  ip.value = 1;
  i.points = {ip};
  s.families = {sf, g, i};
  t.deltas(s);
  EXPECT_EQ(t.tracked_series(), 1u);  // only the summary: gauges and infos are not tracked

  s.timestamp = 15;
  s.families[0].points[0].count = 14;
  s.families[0].points[0].sum = 29;
  s.families[0].points[0].quantiles = {{0.5, 2.5}};
  s.families[1].points[0].value = 3;
  const MetricsSnapshot d = t.deltas(s);
  EXPECT_EQ(d.families[0].points[0].count, 4u);
  EXPECT_DOUBLE_EQ(d.families[0].points[0].sum, 9);
  EXPECT_EQ(d.families[0].points[0].quantiles,
            (std::vector<std::pair<double, double>>{{0.5, 2.5}}));
  EXPECT_EQ(d.families[1].points[0].value, 3);  // the gauge as it is
  EXPECT_EQ(d.families[2].points[0].value, 1);
}

TEST(DeltaTracker, VanishedSeriesAreForgotten) {
  DeltaTracker t;
  MetricsSnapshot s;
  s.timestamp = 10;
  s.families = {counter_family("c", {counter_point("a", 4), counter_point("b", 9)}),
                counter_family("other", {counter_point("x", 1)})};
  t.deltas(s);
  EXPECT_EQ(t.tracked_series(), 3u);

  s.timestamp = 20;
  s.families = {counter_family("c", {counter_point("a", 6)})};
  MetricsSnapshot d = t.deltas(s);
  EXPECT_EQ(d.families[0].points[0].value, 2);
  EXPECT_EQ(t.tracked_series(), 1u);
  auto vanished = t.vanished();
  std::sort(vanished.begin(), vanished.end());
  EXPECT_EQ(vanished, (std::vector<std::pair<std::string, std::vector<std::string>>>{
                          {"c", {"b"}}, {"other", {"x"}}}));
  EXPECT_EQ(t.window_start("c", {"b"}), 0);

  // Back again: seen for the first time, so its whole value.
  s.timestamp = 30;
  s.families = {counter_family("c", {counter_point("a", 6), counter_point("b", 11)})};
  d = t.deltas(s);
  EXPECT_EQ(d.families[0].points[1].value, 11);
  EXPECT_EQ(d.families[0].points[1].start_time, 30);
  EXPECT_TRUE(t.vanished().empty());
}

TEST(DeltaTracker, SeriesKeysDoNotCollide) {
  // ("ab", {"c"}) and ("a", {"bc"}) are different series.
  DeltaTracker t;
  MetricsSnapshot s;
  s.timestamp = 1;
  s.families = {counter_family("ab", {counter_point("c", 1)}),
                counter_family("a", {counter_point("bc", 100)})};
  t.deltas(s);
  EXPECT_EQ(t.tracked_series(), 2u);
  s.timestamp = 2;
  s.families[0].points[0].value = 3;
  s.families[1].points[0].value = 150;
  const MetricsSnapshot d = t.deltas(s);
  EXPECT_EQ(d.families[0].points[0].value, 2);
  EXPECT_EQ(d.families[1].points[0].value, 50);
}

TEST(DeltaTracker, FromARealRegistry) {
  metrics::Registry r;
  auto c = r.counter("jobs_total", "Jobs").get();
  auto h = r.histogram("job_seconds", "Job time", {}, {.buckets = {1}}).get();
  c.inc(4);
  h.observe(0.5);
  DeltaTracker t;
  MetricsSnapshot d = t.deltas(collect_snapshot(r));
  EXPECT_EQ(point(d, "jobs", {})->value, 4);
  c.inc(6);
  h.observe(2);
  h.observe(0.25);
  d = t.deltas(collect_snapshot(r));
  EXPECT_EQ(point(d, "jobs", {})->value, 6);
  EXPECT_EQ(point(d, "job_seconds", {})->count, 2u);
  EXPECT_DOUBLE_EQ(point(d, "job_seconds", {})->sum, 2.25);
  EXPECT_EQ(point(d, "job_seconds", {})->buckets, (std::vector<uint64_t>{1, 2}));
}

// ---- deltas_into and the order fast path (series reordered, inserted, removed)

std::vector<double> values(const MetricsSnapshot& s) {
  std::vector<double> out;
  for (const auto& p : s.families[0].points) out.push_back(p.value);
  return out;
}

std::vector<double> starts(const MetricsSnapshot& s) {
  std::vector<double> out;
  for (const auto& p : s.families[0].points) out.push_back(p.start_time);
  return out;
}

TEST(DeltaTracker, DeltasIntoReusedOutputFollowsReorderedSeries) {
  DeltaTracker t;
  MetricsSnapshot out;
  MetricsSnapshot s;
  s.timestamp = 10;
  s.families = {
      counter_family("c", {counter_point("a", 1), counter_point("b", 2), counter_point("c", 3)})};
  t.deltas_into(s, out);
  EXPECT_EQ(values(out), (std::vector<double>{1, 2, 3}));
  EXPECT_EQ(out.timestamp, 10);

  // Another order: matched by labels, not by position.
  s.timestamp = 20;
  s.families = {
      counter_family("c", {counter_point("c", 6), counter_point("a", 2), counter_point("b", 2)})};
  t.deltas_into(s, out);
  EXPECT_EQ(values(out), (std::vector<double>{3, 1, 0}));
  EXPECT_EQ(starts(out), (std::vector<double>{10, 10, 10}));
  EXPECT_EQ(out.families[0].points[0].label_values, (std::vector<std::string>{"c"}));

  // A series inserted in the middle.
  s.timestamp = 30;
  s.families = {counter_family("c", {counter_point("c", 6), counter_point("x", 5),
                                     counter_point("a", 4), counter_point("b", 2)})};
  t.deltas_into(s, out);
  EXPECT_EQ(values(out), (std::vector<double>{0, 5, 2, 0}));
  EXPECT_EQ(starts(out), (std::vector<double>{20, 30, 20, 20}));
  EXPECT_EQ(t.tracked_series(), 4u);

  // Shrunk to one series (the output shrinks too); the others vanish.
  s.timestamp = 40;
  s.families = {counter_family("c", {counter_point("a", 5)})};
  t.deltas_into(s, out);
  EXPECT_EQ(values(out), (std::vector<double>{1}));
  EXPECT_EQ(t.tracked_series(), 1u);
  auto vanished = t.vanished();
  std::sort(vanished.begin(), vanished.end());
  EXPECT_EQ(vanished, (std::vector<std::pair<std::string, std::vector<std::string>>>{
                          {"c", {"b"}}, {"c", {"c"}}, {"c", {"x"}}}));

  // A vanished series back: first sight again.
  s.timestamp = 50;
  s.families = {counter_family("c", {counter_point("a", 5), counter_point("b", 1)})};
  t.deltas_into(s, out);
  EXPECT_EQ(values(out), (std::vector<double>{0, 1}));
  EXPECT_EQ(starts(out), (std::vector<double>{40, 50}));
  EXPECT_EQ(t.window_start("c", {"b"}), 50);
}

TEST(DeltaTracker, DeltasIntoInPlaceAndSameAsDeltas) {
  DeltaTracker a;
  DeltaTracker b;
  MetricsSnapshot s;
  s.timestamp = 10;
  s.families = {histogram_family(1, 3, 4, 2.5),
                counter_family("c", {counter_point("a", 4), counter_point("b", 9)})};
  MetricsSnapshot in_place = s;
  b.deltas_into(in_place, in_place);
  a.deltas(s);
  EXPECT_EQ(in_place.families[0].points[0].buckets, (std::vector<uint64_t>{1, 3, 4}));

  s.timestamp = 20;
  s.families = {histogram_family(2, 5, 7, 4.0),
                counter_family("c", {counter_point("b", 10), counter_point("a", 7)})};
  in_place = s;
  b.deltas_into(in_place, in_place);
  const MetricsSnapshot d2 = a.deltas(s);
  for (const MetricsSnapshot* d : {static_cast<const MetricsSnapshot*>(&in_place), &d2}) {
    const MetricPoint& h = d->families[0].points[0];
    EXPECT_EQ(h.buckets, (std::vector<uint64_t>{1, 2, 3}));
    EXPECT_EQ(h.count, 3u);
    EXPECT_DOUBLE_EQ(h.sum, 1.5);
    EXPECT_EQ(h.start_time, 10);
    EXPECT_EQ(d->families[1].points[0].value, 1);  // b: 9 -> 10
    EXPECT_EQ(d->families[1].points[1].value, 3);  // a: 4 -> 7
    EXPECT_EQ(d->timestamp, 20);
  }
}

TEST(DeltaTracker, SameFamilyNameTwiceInOneSnapshot) {
  // Two families of one name (a registry never emits that, hand-made snapshots may): their
  // series are one set, matched by labels.
  DeltaTracker t;
  MetricsSnapshot s;
  s.timestamp = 1;
  s.families = {counter_family("c", {counter_point("a", 1)}),
                counter_family("c", {counter_point("b", 2), counter_point("d", 3)})};
  t.deltas(s);
  EXPECT_EQ(t.tracked_series(), 3u);
  s.timestamp = 2;
  s.families[0].points[0].value = 4;
  s.families[1].points[1].value = 5;
  const MetricsSnapshot d = t.deltas(s);
  EXPECT_EQ(d.families[0].points[0].value, 3);
  EXPECT_EQ(d.families[1].points[0].value, 0);
  EXPECT_EQ(d.families[1].points[1].value, 2);
  EXPECT_TRUE(t.vanished().empty());
  EXPECT_EQ(t.tracked_series(), 3u);
}

}  // namespace
}  // namespace vigil::exporters
