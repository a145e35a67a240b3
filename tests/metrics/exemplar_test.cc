#include "vigil/metrics/exemplar.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "test_sink.h"
#include "vigil/metrics/exposition.h"
#include "vigil/metrics/registry.h"

namespace vigil::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;

std::string line_of(const std::string& text, const std::string& start) {
  const auto at = text.find(start);
  if (at == std::string::npos) return {};
  return text.substr(at, text.find('\n', at) - at);
}

TEST(Exemplars, CounterExemplarIsWrittenInOpenMetricsOnly) {
  Registry r;
  Counter c = r.counter("errors_total", "Errors", {"kind"}).labels("timeout");
  c.inc(2);
  c.inc(1, {{"trace_id", "4bf92f3577b34da6a3ce929d0e0e4736"}, {"span_id", "00f067aa0ba902b7"}});
  EXPECT_EQ(c.value(), 3);
  const std::string om = serialize(r, Format::kOpenMetrics);
  EXPECT_THAT(line_of(om, "errors_total{"),
              MatchesRegex("errors_total\\{kind=\"timeout\"\\} 3 # "
                           "\\{trace_id=\"4bf92f3577b34da6a3ce929d0e0e4736\",span_id=\""
                           "00f067aa0ba902b7\"\\} 1 [0-9]+\\.[0-9]+"));
  EXPECT_THAT(om, HasSubstr("errors_created{kind=\"timeout\"}"));
  const std::string text = serialize(r, Format::kPrometheusText);
  EXPECT_THAT(text, HasSubstr("errors_total{kind=\"timeout\"} 3\n"));
  EXPECT_THAT(text, Not(HasSubstr("trace_id")));
}

TEST(Exemplars, HistogramKeepsTheLatestExemplarPerBucket) {
  Registry r;
  Histogram h = r.histogram("latency_seconds", "Latency", {}, {.buckets = {0.1, 1}}).get();
  h.observe(0.05, {{"trace_id", "aaa"}});
  h.observe(0.07, {{"trace_id", "bbb"}});  // replaces aaa in the 0.1 bucket
  h.observe(0.5);                          // no exemplar for the 1 bucket
  h.observe(3, {{"trace_id", "ccc"}});     // +Inf bucket
  EXPECT_EQ(h.count(), 4u);
  const std::string om = serialize(r, Format::kOpenMetrics);
  EXPECT_THAT(line_of(om, "latency_seconds_bucket{le=\"0.1\"}"),
              MatchesRegex(".* 2 # \\{trace_id=\"bbb\"\\} 0\\.07 [0-9.]+"));
  EXPECT_EQ(line_of(om, "latency_seconds_bucket{le=\"1.0\"}"),
            "latency_seconds_bucket{le=\"1.0\"} 3");
  EXPECT_THAT(line_of(om, "latency_seconds_bucket{le=\"+Inf\"}"),
              MatchesRegex(".* 4 # \\{trace_id=\"ccc\"\\} 3 [0-9.]+"));
  EXPECT_THAT(om, Not(HasSubstr("aaa")));

  std::string json = serialize(r, Format::kJson);
  auto doc = nlohmann::json::parse(json);
  const auto& buckets = doc["metrics"][0]["series"][0]["buckets"];
  EXPECT_EQ(buckets[0]["exemplar"]["labels"]["trace_id"], "bbb");
  EXPECT_EQ(buckets[0]["exemplar"]["value"], 0.07);
  EXPECT_FALSE(buckets[1].contains("exemplar"));
  EXPECT_EQ(buckets[2]["exemplar"]["labels"]["trace_id"], "ccc");
}

// MetricOptions::exemplar_interval: within the interval a bucket keeps the exemplar it has
// (this thread stored it); other buckets, other series and other threads store theirs; bad
// labels are still counted; the observations all count.
TEST(Exemplars, AnIntervalSamplesExemplarsPerBucket) {
  Registry r;
  auto& f = r.histogram("sampled_seconds", "Sampled", {"route"}, {.buckets = {0.1, 1}},
                        {.exemplar_interval = std::chrono::hours(1)});
  Histogram a = f.labels("/a");
  a.observe(0.05, {{"trace_id", "first"}});
  a.observe(0.06, {{"trace_id", "again"}});  // same bucket, within the hour: not stored
  {
    const std::string om = serialize(r, Format::kOpenMetrics);
    EXPECT_THAT(line_of(om, "sampled_seconds_bucket{route=\"/a\",le=\"0.1\"}"),
                HasSubstr("# {trace_id=\"first\"} 0.05 "));
    EXPECT_THAT(om, Not(HasSubstr("again")));
  }
  a.observe(0.5, {{"trace_id", "other-bucket"}});
  a.observe(0.07, {{"trace_id", "bad\xff"}});  // counted as bad even though sampled out
  Histogram b = f.labels("/b");
  b.observe(0.05, {{"trace_id", "other-series"}});
  std::thread([&] { a.observe(0.08, {{"trace_id", "other-thread"}}); }).join();
  EXPECT_EQ(a.count(), 5u);
  EXPECT_EQ(f.record_stats().bad_exemplar.load(), 1u);
  const std::string om = serialize(r, Format::kOpenMetrics);
  EXPECT_THAT(line_of(om, "sampled_seconds_bucket{route=\"/a\",le=\"0.1\"}"),
              HasSubstr("# {trace_id=\"other-thread\"} 0.08 "));
  EXPECT_THAT(line_of(om, "sampled_seconds_bucket{route=\"/a\",le=\"1.0\"}"),
              HasSubstr("# {trace_id=\"other-bucket\"} 0.5 "));
  EXPECT_THAT(line_of(om, "sampled_seconds_bucket{route=\"/b\",le=\"0.1\"}"),
              HasSubstr("# {trace_id=\"other-series\"} 0.05 "));
  EXPECT_THAT(om, Not(HasSubstr("again")));

  // The same family made again in another registry (a series may reuse a freed address): its
  // first exemplar is stored.
  Registry r2;
  Histogram c = r2.histogram("sampled_seconds", "Sampled", {"route"}, {.buckets = {0.1, 1}},
                             {.exemplar_interval = std::chrono::hours(1)})
                    .labels("/a");
  c.observe(0.05, {{"trace_id", "new-registry"}});
  EXPECT_THAT(serialize(r2, Format::kOpenMetrics), HasSubstr("trace_id=\"new-registry\""));
}

TEST(Exemplars, InvalidExemplarsAreDroppedAndCountedButTheValueCounts) {
  Registry r;
  auto& f = r.counter("jobs_total", "Jobs");
  Counter c = f.get();
  c.inc(1, {{"bad-name", "x"}});
  c.inc(1, {{"trace_id", std::string(200, 'a')}});  // over 128 characters
  c.inc(1, {{"trace_id", "\xff"}});                 // not UTF-8
  EXPECT_EQ(c.value(), 3);
  EXPECT_EQ(f.record_stats().bad_exemplar.load(), 3u);
  testing::RecordingSink sink;
  r.collect(sink);
  const auto* invalid = sink.family("vigil_invalid_observations");
  ASSERT_NE(invalid, nullptr);
  EXPECT_EQ(invalid->find({"jobs", "invalid_exemplar"})->value, 3);
  EXPECT_THAT(serialize(r, Format::kOpenMetrics), Not(HasSubstr(" # {")));
}

// The 128-character limit counts characters, not bytes: 60 two-byte "é" plus "note" (64
// characters, 124 bytes) are kept; 125 of them are not; the boundary is exact at 128.
TEST(Exemplars, TheLimitCountsUtf8Characters) {
  Registry r;
  auto& f = r.counter("u_total", "u");
  Counter c = f.get();
  auto e = [](int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s += "\xc3\xa9";
    return s;
  };
  c.inc(1, {{"note", e(60)}});
  EXPECT_EQ(f.record_stats().bad_exemplar.load(), 0u);
  c.inc(1, {{"note", e(124)}});  // 4 + 124 = 128: at the limit
  EXPECT_EQ(f.record_stats().bad_exemplar.load(), 0u);
  c.inc(1, {{"note", e(125)}});  // 129
  EXPECT_EQ(f.record_stats().bad_exemplar.load(), 1u);
  c.inc(1, {{"note", e(61) + "x" + std::string(63, 'a')}});  // 4 + 61 + 1 + 63 = 129
  EXPECT_EQ(f.record_stats().bad_exemplar.load(), 2u);
  c.inc(1, {{"note", e(61) + std::string(63, 'a')}});  // 128, the ASCII tail after the words
  EXPECT_EQ(f.record_stats().bad_exemplar.load(), 2u);
}

TEST(Exemplars, EscapingAndRemovedSeries) {
  Registry r;
  auto& f = r.counter("q_total", "q", {"k"});
  f.labels("a").inc(1, {{"note", "say \"hi\"\n"}});
  EXPECT_THAT(serialize(r, Format::kOpenMetrics), HasSubstr("# {note=\"say \\\"hi\\\"\\n\"} 1 "));
  EXPECT_TRUE(f.remove("a"));
  f.labels("a").inc();  // a new series: the old exemplar must not come back
  EXPECT_THAT(serialize(r, Format::kOpenMetrics), Not(HasSubstr("note=")));
}

}  // namespace
}  // namespace vigil::metrics
