// LiveSource against a real registry: exact window counts, cohorts, filter, resets, missing
// families, trimming and bounds. Times are injected (no sleeps).
#include "vigil/guardrail/source.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <string>
#include <vector>

#include "vigil/core/error.h"
#include "vigil/metrics/registry.h"

namespace vigil::guardrail {
namespace {

using std::chrono::seconds;

const TimePoint t0 = TimePoint(seconds(1'700'000'000));
TimePoint at(int s) { return t0 + seconds(s); }

LiveSourceOptions options_for(metrics::Registry& r) {
  LiveSourceOptions o;
  o.registry = &r;
  o.requests = "agent_requests_total";
  o.outcome_label = "status";
  o.success_values = {"success"};
  o.latency = "agent_request_duration_seconds";
  o.cohort_label = "version";
  return o;
}

struct Instruments {
  explicit Instruments(metrics::Registry& r)
      : requests(r.counter("agent_requests_total", "Requests", {"version", "status"})),
        latency(r.histogram("agent_request_duration_seconds", "Latency", {"version"},
                            {.buckets = {0.1, 0.5, 1.0}})) {}
  void record(const char* version, const char* status, int n) {
    requests.labels(version, status).inc(n);
  }
  void observe(const char* version, double v, int n) {
    auto h = latency.labels(version);
    for (int i = 0; i < n; ++i) h.observe(v);
  }
  metrics::Family<metrics::Counter>& requests;
  metrics::Family<metrics::Histogram>& latency;
};

void expect_counts(const std::optional<WindowCounts>& w, uint64_t requests, uint64_t successes,
                   uint64_t errors, const char* where) {
  ASSERT_TRUE(w.has_value()) << where;
  EXPECT_EQ(w->requests, requests) << where;
  EXPECT_EQ(w->successes, successes) << where;
  EXPECT_EQ(w->errors, errors) << where;
}

TEST(LiveSource, ExactWindowsPerCohort) {
  metrics::Registry r;
  Instruments in(r);
  LiveSource source(options_for(r));
  std::string error;
  ASSERT_TRUE(source.sample(at(0), &error)) << error;  // families registered, no series yet
  EXPECT_TRUE(source.cohorts().empty());

  in.record("v1", "success", 10);
  in.record("v1", "error", 2);
  in.record("v2", "success", 5);
  in.record("v2", "error", 5);
  in.observe("v1", 0.05, 10);
  in.observe("v1", 0.7, 2);
  in.observe("v2", 0.3, 10);
  ASSERT_TRUE(source.sample(at(10), &error)) << error;
  in.record("v1", "success", 20);
  in.record("v2", "error", 1);
  in.observe("v1", 0.05, 20);
  ASSERT_TRUE(source.sample(at(20)));
  in.record("v1", "success", 30);
  in.record("v1", "error", 3);
  in.observe("v1", 2.0, 1);  // +Inf bucket
  ASSERT_TRUE(source.sample(at(30)));

  EXPECT_EQ(source.cohorts(), (std::vector<std::string>{"v1", "v2"}));
  expect_counts(source.last("v1", seconds(10)), 33, 30, 3, "v1 last 10 s");
  expect_counts(source.last("v1", seconds(20)), 53, 50, 3, "v1 last 20 s");
  // Longer than kept: from the oldest sample, the zero point at t0 (v1 had nothing then).
  auto all = source.last("v1", seconds(60));
  expect_counts(all, 65, 60, 5, "v1 last 60 s");
  EXPECT_EQ(all->start, at(0));
  EXPECT_EQ(all->end, at(30));
  EXPECT_EQ(all->bounds, (std::vector<double>{0.1, 0.5, 1.0}));
  EXPECT_EQ(all->buckets, (std::vector<uint64_t>{30, 0, 2, 1}));
  EXPECT_EQ(all->latency_count(), 33u);

  auto middle = source.window("v1", at(10), at(20));
  expect_counts(middle, 20, 20, 0, "v1 [10, 20]");
  EXPECT_EQ(middle->buckets, (std::vector<uint64_t>{20, 0, 0, 0}));
  // `from` between samples: the sample just before it; `to` between samples: the one before.
  expect_counts(source.window("v1", at(15), at(29)), 20, 20, 0, "v1 [15, 29]");
  expect_counts(source.since("v1", at(15)), 53, 50, 3, "v1 since 15");
  expect_counts(source.since("v1", at(-100)), 65, 60, 5, "v1 since long ago");

  auto v2 = source.last("v2", seconds(30));
  expect_counts(v2, 11, 5, 6, "v2 last 30 s");
  EXPECT_EQ(v2->buckets, (std::vector<uint64_t>{0, 10, 0, 0}));
  const PerformanceSnapshot s = v2->snapshot();
  EXPECT_DOUBLE_EQ(s.success_rate, 5.0 / 11);
  EXPECT_DOUBLE_EQ(s.error_rate, 6.0 / 11);
  EXPECT_DOUBLE_EQ(s.p50_latency, 0.1 + 0.4 * 0.5);
  EXPECT_EQ(s.request_count, 11u);
  EXPECT_EQ(s.timestamp, at(30));
  expect_counts(source.last("v2", seconds(10)), 0, 0, 0, "v2 idle");

  // No two samples in reach, unknown cohorts: nullopt.
  EXPECT_FALSE(source.window("v1", at(20), at(20)));
  EXPECT_FALSE(source.window("v1", at(-50), at(-10)));
  EXPECT_FALSE(source.last("v1", seconds(0)));
  EXPECT_FALSE(source.last("v3", seconds(60)));
  EXPECT_FALSE(source.since("nope", at(0)));
}

TEST(LiveSource, NothingBeforeTheFirstSample) {
  metrics::Registry r;
  Instruments in(r);
  in.record("v1", "success", 1000);  // before the source existed: never counted
  LiveSource source(options_for(r));
  EXPECT_FALSE(source.last("v1", seconds(60)));
  ASSERT_TRUE(source.sample(at(0)));
  EXPECT_FALSE(source.last("v1", seconds(60)));  // one sample: no window
  in.record("v1", "success", 4);
  ASSERT_TRUE(source.sample(at(10)));
  expect_counts(source.last("v1", seconds(60)), 4, 4, 0, "after the first sample");
  // Latency: the histogram had no series at t0 (no bounds learnt yet): counts from zero.
  in.observe("v1", 0.05, 3);
  ASSERT_TRUE(source.sample(at(20)));
  auto w = source.last("v1", seconds(60));
  ASSERT_TRUE(w);
  EXPECT_EQ(w->buckets, (std::vector<uint64_t>{3, 0, 0, 0}));
}

TEST(LiveSource, CohortAppearingLaterCountsFromZero) {
  metrics::Registry r;
  Instruments in(r);
  LiveSource source(options_for(r));
  in.record("v1", "success", 5);
  ASSERT_TRUE(source.sample(at(0)));
  ASSERT_TRUE(source.sample(at(10)));
  in.record("v2", "success", 7);  // the canary starts between 10 and 20
  in.observe("v2", 0.2, 7);
  ASSERT_TRUE(source.sample(at(20)));
  auto canary = source.last("v2", seconds(60));
  expect_counts(canary, 7, 7, 0, "canary");
  EXPECT_EQ(canary->start, at(10));
  EXPECT_EQ(canary->buckets, (std::vector<uint64_t>{0, 7, 0, 0}));
  expect_counts(source.last("v1", seconds(60)), 0, 0, 0, "stable");
}

TEST(LiveSource, OutcomeClassesAndErrorValues) {
  metrics::Registry r;
  Instruments in(r);
  auto o = options_for(r);
  o.success_values = {"success", "cached"};
  o.error_values = {"error", "timeout"};
  LiveSource source(o);
  ASSERT_TRUE(source.sample(at(0)));
  in.record("v1", "success", 10);
  in.record("v1", "cached", 5);
  in.record("v1", "error", 2);
  in.record("v1", "timeout", 1);
  in.record("v1", "cancelled", 4);  // neither success nor error
  ASSERT_TRUE(source.sample(at(10)));
  expect_counts(source.last("v1", seconds(10)), 22, 15, 3, "classes");

  // Without error_values: every outcome that is not a success is an error.
  LiveSource plain(options_for(r));
  ASSERT_TRUE(plain.sample(at(0)));
  in.record("v1", "cached", 1);
  in.record("v1", "cancelled", 1);
  ASSERT_TRUE(plain.sample(at(10)));
  expect_counts(plain.last("v1", seconds(10)), 2, 0, 2, "default error values");
}

TEST(LiveSource, TotalAndSuccessCountersInsteadOfAnOutcomeLabel) {
  metrics::Registry r;
  auto& total = r.counter("jobs_total", "Jobs", {"version"});
  auto& ok = r.counter("jobs_succeeded_total", "Jobs that succeeded", {"version"});
  LiveSourceOptions o{.registry = &r,
                      .requests = "jobs_total",
                      .successes = "jobs_succeeded_total",
                      .cohort_label = "version"};
  LiveSource source(o);
  ASSERT_TRUE(source.sample(at(0)));
  total.labels("v1").inc(40);
  ok.labels("v1").inc(30);
  total.labels("v2").inc(10);
  ok.labels("v2").inc(4);
  ASSERT_TRUE(source.sample(at(10)));
  expect_counts(source.last("v1", seconds(10)), 40, 30, 10, "v1");
  expect_counts(source.last("v2", seconds(10)), 10, 4, 6, "v2");
  const PerformanceSnapshot snap = source.last("v2", seconds(10))->snapshot();
  EXPECT_DOUBLE_EQ(snap.success_rate, 0.4);
  EXPECT_DOUBLE_EQ(snap.error_rate, 0.6);

  // A success counter that is missing or of the wrong type fails the sample with the reason.
  LiveSource missing({.registry = &r, .requests = "jobs_total", .successes = "nope_total"});
  std::string error;
  EXPECT_FALSE(missing.sample(at(20), &error));
  EXPECT_NE(error.find("success counter 'nope_total' is not registered"), std::string::npos)
      << error;
  EXPECT_THROW(LiveSource({.registry = &r,
                           .requests = "jobs_total",
                           .outcome_label = "status",
                           .successes = "jobs_succeeded_total"}),
               Error);
  EXPECT_THROW(LiveSource({.registry = &r, .requests = "jobs_total", .successes = "jobs_total"}),
               Error);
}

TEST(LiveSource, FilterAndNoCohortLabel) {
  metrics::Registry r;
  auto& requests = r.counter("http_requests_total", "Requests", {"route", "version", "status"});
  auto& latency = r.histogram("http_request_duration_seconds", "Latency", {"route", "version"},
                              {.buckets = {0.1, 1}});
  LiveSourceOptions o;
  o.registry = &r;
  o.requests = "http_requests_total";
  o.outcome_label = "status";
  o.latency = "http_request_duration_seconds";
  o.cohort_label = "version";
  o.filter = {{"route", "/v1/chat"}};
  LiveSource filtered(o);
  o.cohort_label.clear();
  o.filter.clear();
  LiveSource everything(o);
  for (auto* s : {&filtered, &everything}) ASSERT_TRUE(s->sample(at(0)));
  requests.labels("/v1/chat", "v1", "success").inc(6);
  requests.labels("/v1/chat", "v1", "error").inc(1);
  requests.labels("/v1/chat", "v2", "success").inc(2);
  requests.labels("/health", "v1", "success").inc(100);
  latency.labels("/v1/chat", "v1").observe(0.05);
  latency.labels("/health", "v1").observe(0.5);
  for (auto* s : {&filtered, &everything}) ASSERT_TRUE(s->sample(at(10)));
  expect_counts(filtered.last("v1", seconds(10)), 7, 6, 1, "filtered v1");
  expect_counts(filtered.last("v2", seconds(10)), 2, 2, 0, "filtered v2");
  EXPECT_EQ(filtered.last("v1", seconds(10))->buckets, (std::vector<uint64_t>{1, 0, 0}));
  // No cohort label: one cohort named "" with every series.
  EXPECT_EQ(everything.cohorts(), std::vector<std::string>{""});
  expect_counts(everything.last("", seconds(10)), 109, 108, 1, "all series");
  EXPECT_EQ(everything.last("", seconds(10))->buckets, (std::vector<uint64_t>{1, 1, 0}));
}

TEST(LiveSource, ConstantLabelsCanNameTheCohort) {
  metrics::Registry r;
  metrics::MetricOptions mo;
  mo.const_labels = {{"version", "v9"}};
  auto& requests = r.counter("agent_requests_total", "Requests", {"status"}, mo);
  auto o = options_for(r);
  o.latency.clear();
  LiveSource source(o);
  ASSERT_TRUE(source.sample(at(0)));
  requests.labels("success").inc(3);
  ASSERT_TRUE(source.sample(at(10)));
  EXPECT_EQ(source.cohorts(), std::vector<std::string>{"v9"});
  auto w = source.last("v9", seconds(10));
  expect_counts(w, 3, 3, 0, "constant cohort");
  EXPECT_TRUE(w->bounds.empty());  // no latency family configured
  EXPECT_TRUE(w->buckets.empty());
  EXPECT_TRUE(std::isnan(w->snapshot().p95_latency));
}

TEST(LiveSource, SeriesResetsAndDisappearancesNeverCountNegative) {
  metrics::Registry r;
  Instruments in(r);
  LiveSource source(options_for(r));
  ASSERT_TRUE(source.sample(at(0)));
  in.record("v1", "success", 10);
  in.record("v1", "error", 2);
  in.observe("v1", 0.05, 10);
  ASSERT_TRUE(source.sample(at(10)));
  // The success series restarts (removed and made again) with 3; the error series disappears;
  // the histogram series restarts with 1 observation.
  ASSERT_TRUE(in.requests.remove("v1", "success"));
  ASSERT_TRUE(in.requests.remove("v1", "error"));
  ASSERT_TRUE(in.latency.remove("v1"));
  in.record("v1", "success", 3);
  in.observe("v1", 0.7, 1);
  ASSERT_TRUE(source.sample(at(20)));
  auto w = source.last("v1", seconds(10));
  expect_counts(w, 3, 3, 0, "after the reset");
  EXPECT_EQ(w->buckets, (std::vector<uint64_t>{0, 0, 1, 0}));
  expect_counts(source.last("v1", seconds(20)), 15, 13, 2, "across the reset");
  // The error series comes back from zero: its new requests count.
  in.record("v1", "error", 4);
  ASSERT_TRUE(source.sample(at(30)));
  expect_counts(source.last("v1", seconds(10)), 4, 0, 4, "error series back");
  expect_counts(source.last("v1", seconds(30)), 19, 13, 6, "whole run");
  EXPECT_EQ(source.last("v1", seconds(30))->buckets, (std::vector<uint64_t>{10, 0, 1, 0}));
}

TEST(LiveSource, MissingOrWrongFamiliesFailTheSampleWithTheReason) {
  metrics::Registry r;
  LiveSource source(options_for(r));
  std::string error;
  EXPECT_FALSE(source.sample(at(0), &error));
  EXPECT_EQ(error, "request counter 'agent_requests_total' is not registered");
  EXPECT_FALSE(source.sample(at(1)));  // no error pointer: fine

  auto& requests = r.counter("agent_requests_total", "Requests", {"version", "status"});
  requests.labels("v1", "success").inc();
  EXPECT_FALSE(source.sample(at(2), &error));
  EXPECT_EQ(error, "latency histogram 'agent_request_duration_seconds' is not registered");
  EXPECT_TRUE(source.cohorts().empty());  // a failed sample leaves nothing

  r.gauge("agent_request_duration_seconds", "Not a histogram");
  EXPECT_FALSE(source.sample(at(3), &error));
  EXPECT_EQ(error,
            "latency histogram 'agent_request_duration_seconds' is a gauge, not a histogram");

  metrics::Registry other;
  other.counter("agent_requests_total", "Requests", {"version", "code"});
  auto o = options_for(other);
  o.latency.clear();
  LiveSource wrong_labels(o);
  EXPECT_FALSE(wrong_labels.sample(at(0), &error));
  EXPECT_EQ(error,
            "request counter 'agent_requests_total' has no label 'status' (its labels: version, "
            "code)");
  other.histogram("lat_seconds", "Latency", {"region"});
  o.outcome_label = "code";
  o.latency = "lat_seconds";
  LiveSource no_cohort(o);
  EXPECT_FALSE(no_cohort.sample(at(0), &error));
  EXPECT_EQ(error, "latency histogram 'lat_seconds' has no label 'version' (its labels: region)");

  metrics::Registry gauges;
  gauges.gauge("agent_requests", "Not a counter", {"version", "status"});
  o = options_for(gauges);
  o.requests = "agent_requests";
  LiveSource not_counter(o);
  EXPECT_FALSE(not_counter.sample(at(0), &error));
  EXPECT_EQ(error, "request counter 'agent_requests' is a gauge, not a counter");
}

TEST(LiveSource, TimesNeverGoBackwardsAndTheSameTimeReplaces) {
  metrics::Registry r;
  Instruments in(r);
  LiveSource source(options_for(r));
  ASSERT_TRUE(source.sample(at(0)));
  in.record("v1", "success", 1);
  ASSERT_TRUE(source.sample(at(10)));
  std::string error;
  EXPECT_FALSE(source.sample(at(5), &error));
  EXPECT_NE(error.find("backwards"), std::string::npos) << error;
  in.record("v1", "success", 2);
  ASSERT_TRUE(source.sample(at(10)));  // the same time again: the newer counts replace
  auto w = source.last("v1", seconds(60));
  expect_counts(w, 3, 3, 0, "replaced");
  EXPECT_EQ(w->start, at(0));
  EXPECT_EQ(w->end, at(10));
}

TEST(LiveSource, RetentionAndMaxSamplesTrim) {
  metrics::Registry r;
  Instruments in(r);
  auto o = options_for(r);
  o.retention = seconds(30);
  LiveSource by_time(o);
  o.retention = std::chrono::hours(1);
  o.max_samples = 3;
  LiveSource by_count(o);
  for (int s = 0; s <= 100; s += 10) {
    in.record("v1", "success", 1);
    ASSERT_TRUE(by_time.sample(at(s)));
    ASSERT_TRUE(by_count.sample(at(s)));
  }
  // Retention 30 s: the samples 70..100 are kept (70 is the newest at or before 100 - 30).
  auto w = by_time.last("v1", seconds(60));
  expect_counts(w, 3, 3, 0, "retention");
  EXPECT_EQ(w->start, at(70));
  expect_counts(by_time.last("v1", seconds(30)), 3, 3, 0, "the whole retention, exact");
  expect_counts(by_time.last("v1", seconds(20)), 2, 2, 0, "inside the retention");
  // max_samples 3: 80, 90, 100.
  w = by_count.last("v1", seconds(60));
  expect_counts(w, 2, 2, 0, "max_samples");
  EXPECT_EQ(w->start, at(80));
}

TEST(LiveSource, MaxCohortsBoundsWhatIsTracked) {
  metrics::Registry r;
  Instruments in(r);
  auto o = options_for(r);
  o.max_cohorts = 2;
  o.retention = seconds(30);
  LiveSource source(o);
  ASSERT_TRUE(source.sample(at(0)));
  in.record("v1", "success", 1);
  in.record("v2", "success", 1);
  ASSERT_TRUE(source.sample(at(10)));
  in.record("v3", "success", 1);
  in.observe("v3", 0.05, 1);
  ASSERT_TRUE(source.sample(at(20)));
  ASSERT_TRUE(source.sample(at(30)));
  EXPECT_EQ(source.cohorts(), (std::vector<std::string>{"v1", "v2"}));
  EXPECT_EQ(source.dropped_cohorts(), 1u);  // v3, counted once
  EXPECT_FALSE(source.last("v3", seconds(60)));
  // v2's series go away; once idle for longer than the retention, v2 is forgotten and v3 gets
  // its place.
  ASSERT_TRUE(in.requests.remove("v2", "success"));
  for (int s = 40; s <= 90; s += 10) ASSERT_TRUE(source.sample(at(s)));
  EXPECT_EQ(source.cohorts(), (std::vector<std::string>{"v1", "v3"}));
  in.record("v3", "success", 2);
  ASSERT_TRUE(source.sample(at(100)));
  expect_counts(source.last("v3", seconds(10)), 2, 2, 0, "v3 tracked now");
}

TEST(LiveSource, RefusesOptionsThatCannotWork) {
  metrics::Registry r;
  auto refused = [&](auto change, std::string_view fragment) {
    auto o = options_for(r);
    change(o);
    try {
      LiveSource s(o);
      ADD_FAILURE() << "accepted; expected: " << fragment;
    } catch (const Error& e) {
      EXPECT_NE(std::string_view(e.what()).find(fragment), std::string_view::npos) << e.what();
    }
  };
  refused([](LiveSourceOptions& o) { o.requests.clear(); }, "`requests`");
  refused([](LiveSourceOptions& o) { o.outcome_label.clear(); }, "`outcome_label`");
  refused([](LiveSourceOptions& o) { o.success_values.clear(); }, "`success_values`");
  refused([](LiveSourceOptions& o) { o.error_values = {"success"}; },
          "'success' is in both success_values and error_values");
  refused([](LiveSourceOptions& o) { o.retention = seconds(0); }, "`retention` must be positive");
  refused([](LiveSourceOptions& o) { o.retention = seconds(-5); }, "`retention` must be positive");
  refused([](LiveSourceOptions& o) { o.max_samples = 1; }, "`max_samples`");
  refused([](LiveSourceOptions& o) { o.max_cohorts = 0; }, "`max_cohorts`");
  refused([](LiveSourceOptions& o) { o.cohort_label = "status"; }, "cohort label");
  refused([](LiveSourceOptions& o) { o.filter = {{"status", "success"}}; }, "outcome label");
  refused(
      [](LiveSourceOptions& o) {
        o.filter = {{"route", "/a"}, {"route", "/b"}};
      },
      "both '/a' and '/b'");
  refused([](LiveSourceOptions& o) { o.filter = {{"", "x"}}; }, "label name");
  EXPECT_NO_THROW({ LiveSource ok(options_for(r)); });
}

TEST(LiveSource, DefaultsToTheGlobalRegistry) {
  auto& requests =
      metrics::Registry::global().counter("gr_source_test_requests_total", "Requests", {"outcome"});
  LiveSourceOptions o;
  o.requests = "gr_source_test_requests_total";
  o.outcome_label = "outcome";
  LiveSource source(o);
  ASSERT_TRUE(source.sample(at(0)));
  requests.labels("success").inc(2);
  ASSERT_TRUE(source.sample(at(10)));
  expect_counts(source.last("", seconds(10)), 2, 2, 0, "global");
  EXPECT_EQ(source.options().requests, "gr_source_test_requests_total");
}

}  // namespace
}  // namespace vigil::guardrail
