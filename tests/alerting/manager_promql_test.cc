// PromQL rules in the rule engine: the registry sampled under Prometheus' series names, rate over
// the sampled history, recording rules feeding alerting rules, ALERTS series, stale markers for
// series that disappear, rule files and groups. Injected clock; values computed by hand.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>

#include "vigil/alerting/manager.h"
#include "vigil/alerting/rule_file.h"
#include "vigil/core/error.h"
#include "vigil/metrics/registry.h"

namespace vigil::alerting {
namespace {

using namespace std::chrono_literals;

struct PromqlRules : ::testing::Test {
  std::atomic<int64_t> ms{1'700'000'000'000};
  metrics::Registry registry;
  TimePoint now() const { return TimePoint(std::chrono::milliseconds(ms.load())); }
  void advance(std::chrono::milliseconds d) { ms += d.count(); }
  AlertManagerOptions options() {
    AlertManagerOptions o;
    o.clock = [this] { return now(); };
    o.registry = &registry;
    return o;
  }
  static AlertRule alert(std::string name, std::string expr) {
    return AlertRule::builder().name(std::move(name)).expr(std::move(expr)).build();
  }
  static const Alert* find(const std::vector<Alert>& alerts, std::string_view name) {
    for (const Alert& a : alerts) {
      if (a.name == name) return &a;
    }
    return nullptr;
  }
};

TEST_F(PromqlRules, SamplesEveryTypeUnderPrometheusNames) {
  auto& errors = registry.counter("errors_total", "Errors.", {"service"});
  errors.labels("api").inc(7);
  metrics::MetricOptions mo;
  mo.const_labels = {{"region", "eu"}};
  registry.gauge("temperature_celsius", "Temperature.", {}, mo).get().set(21.5);
  metrics::HistogramOptions ho;
  ho.buckets = {0.005, 1, 100000, 1e6};
  auto& lat = registry.histogram("latency_seconds", "Latency.", {}, ho);
  lat.get().observe(0.5);
  lat.get().observe(2);
  registry.info("build", "Build.", {"version"}).labels("1.2.3");
  metrics::SummaryOptions so;
  so.quantiles = {0.5};
  registry.summary("size_bytes", "Sizes.", {}, so).get().observe(42);

  AlertManager m(options());
  m.add_rule(alert("Counter", "errors_total{service=\"api\"} == 7"));
  m.add_rule(alert("Gauge", "temperature_celsius{region=\"eu\"} > 20"));
  m.add_rule(alert("BucketSmall", "latency_seconds_bucket{le=\"0.005\"} == 0"));
  m.add_rule(alert("BucketOne", "latency_seconds_bucket{le=\"1\"} == 1"));
  m.add_rule(alert("BucketBig", "latency_seconds_bucket{le=\"100000\"} == 2"));
  m.add_rule(alert("BucketExp", "latency_seconds_bucket{le=\"1e+06\"} == 2"));
  m.add_rule(alert("BucketInf", "latency_seconds_bucket{le=\"+Inf\"} == 2"));
  m.add_rule(alert("Sum", "latency_seconds_sum == 2.5"));
  m.add_rule(alert("Count", "latency_seconds_count == 2"));
  m.add_rule(alert("Info", "build_info{version=\"1.2.3\"} == 1"));
  // The summary's quantile sketch gives 42.25 for one observation of 42.
  m.add_rule(alert("Quantile", "size_bytes{quantile=\"0.5\"} == 42.25"));
  m.add_rule(alert("SummaryCount", "size_bytes_count == 1"));
  m.evaluate();
  const auto alerts = m.active_alerts();
  for (const char* name : {"Counter", "Gauge", "BucketSmall", "BucketOne", "BucketBig", "BucketExp",
                           "BucketInf", "Sum", "Count", "Info", "Quantile", "SummaryCount"}) {
    EXPECT_NE(find(alerts, name), nullptr) << name;
  }
  for (const auto& s : m.rule_status()) {
    EXPECT_EQ(s.health, RuleHealth::kOk) << s.name << ": " << s.last_error;
  }
  const Alert* c = find(alerts, "Counter");
  ASSERT_NE(c, nullptr);
  // __name__ dropped by the comparison; alertname added.
  EXPECT_EQ(c->labels, (LabelList{{"alertname", "Counter"}, {"service", "api"}}));
  EXPECT_EQ(c->value, 7);
  EXPECT_EQ(find(alerts, "Gauge")->labels, (LabelList{{"alertname", "Gauge"}, {"region", "eu"}}));
}

TEST_F(PromqlRules, RateOverTheSampledHistoryAndForState) {
  auto c = registry.counter("requests_total", "Requests.").get();
  AlertManager m(options());
  m.add_rule(AlertRule::builder()
                 .name("HighRate")
                 .expr("rate(requests_total[1m]) > 0.5")
                 .for_duration(30s)
                 .labels({{"severity", "page"}})
                 .annotations({{"summary", "rate is {{ $value }}"}})
                 .build());
  // One request per second, sampled every 15 s.
  for (int i = 0; i <= 6; ++i) {
    m.evaluate();
    c.inc(15);
    advance(15s);
  }
  // Samples 0, 15, 30, ... at t0, t0+15s, ... Prometheus' extrapolated rate (the counter's
  // zero bound stops extrapolation before the first sample): t0+15s 15/60, t0+30s 30/60 (not
  // > 0.5), t0+45s 45/60: pending; t0+60s on 60/60 = 1; fires at t0+75s (for 30s). Now t0+105s.
  auto alerts = m.active_alerts();
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].state, AlertState::kFiring);
  EXPECT_EQ(alerts[0].value, 1);
  EXPECT_EQ(alerts[0].active_at, now() - 60s);
  EXPECT_EQ(alerts[0].fired_at, now() - 30s);
  EXPECT_EQ(alerts[0].annotations, (LabelList{{"summary", "rate is 1"}}));
  EXPECT_EQ(alerts[0].label("severity"), "page");
}

TEST_F(PromqlRules, RecordingRuleFeedsAlertAndAlertsSeries) {
  auto& g = registry.gauge("queue_depth", "Jobs.", {"shard"});
  g.labels("a").set(5);
  g.labels("b").set(50);
  AlertManager m(options());
  RuleGroup group;
  group.name = "queues";
  group.labels = {{"team", "infra"}};
  group.rules.push_back(
      AlertRule::builder().record("shard:queue_depth:x2").expr("queue_depth * 2").build());
  group.rules.push_back(alert("QueueDeep", "shard:queue_depth:x2 > 20"));
  group.rules.push_back(alert("AlertsSeen", "ALERTS{alertname=\"QueueDeep\"} == 1"));
  group.rules.push_back(alert("ForState", "ALERTS_FOR_STATE{alertname=\"QueueDeep\"} > 0"));
  m.add_group(group);
  m.evaluate();
  auto alerts = m.active_alerts();
  const Alert* deep = find(alerts, "QueueDeep");
  ASSERT_NE(deep, nullptr);
  EXPECT_EQ(deep->labels,
            (LabelList{{"alertname", "QueueDeep"}, {"shard", "b"}, {"team", "infra"}}));
  EXPECT_EQ(deep->value, 100);
  EXPECT_EQ(deep->group, "queues");
  // ALERTS and ALERTS_FOR_STATE are written right after QueueDeep's evaluation: the rules
  // after it in the group see them at the same time (as under promtool 2.42).
  const Alert* seen = find(alerts, "AlertsSeen");
  ASSERT_NE(seen, nullptr);
  EXPECT_EQ(seen->labels, (LabelList{{"alertname", "AlertsSeen"},
                                     {"alertstate", "firing"},
                                     {"shard", "b"},
                                     {"team", "infra"}}));
  const Alert* fs = find(alerts, "ForState");
  ASSERT_NE(fs, nullptr);
  EXPECT_EQ(fs->value, static_cast<double>(ms.load() / 1000));
  // Shard b drained: QueueDeep resolves; ALERTS gets a stale marker, so AlertsSeen resolves in
  // the same evaluation instead of 5 min later.
  g.labels("b").set(1);
  advance(15s);
  auto ts = m.evaluate();
  ASSERT_EQ(ts.size(), 3u);
  for (const Transition& t : ts) EXPECT_EQ(t.to, AlertState::kResolved) << t.alert.name;
  auto rec = m.rule_status("shard:queue_depth:x2");
  ASSERT_TRUE(rec);
  EXPECT_TRUE(rec->recording);
  EXPECT_EQ(rec->health, RuleHealth::kOk);
}

TEST_F(PromqlRules, SeriesThatDisappearGoStale) {
  registry.gauge("worker_busy", "Busy.").get().set(1);
  AlertManager m(options());
  m.add_rule(alert("Busy", "worker_busy == 1"));
  m.evaluate();
  EXPECT_EQ(m.active_alerts().size(), 1u);
  ASSERT_TRUE(registry.remove("worker_busy"));
  advance(15s);
  // Without the stale marker the 5 min lookback would still return the old sample.
  auto ts = m.evaluate();
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].to, AlertState::kResolved);
}

TEST_F(PromqlRules, EvaluationErrorKeepsAlertsAndShowsInHealth) {
  auto& g = registry.gauge("dup", "Dup.", {"k"});
  g.labels("a").set(1);
  AlertManager m(options());
  // Both series map to the same label set after `ignoring(k)`-free aggregation-less division.
  m.add_rule(alert("Dup", "dup / ignoring(k) dup"));
  m.evaluate();
  EXPECT_EQ(m.rule_status("Dup")->health, RuleHealth::kOk);
  g.labels("b").set(1);
  advance(15s);
  m.evaluate();
  auto s = m.rule_status("Dup");
  EXPECT_EQ(s->health, RuleHealth::kError);
  EXPECT_FALSE(s->last_error.empty());
}

TEST_F(PromqlRules, RuleFilesAndBadExpressions) {
  registry.gauge("up_gauge", "Up.").get().set(0);
  RuleFile file;
  file.path = "rules.yml";
  RuleGroupSpec g;
  g.name = "availability";
  g.limit = 5;
  RuleSpec r;
  r.alert = "Down";
  r.expr = "up_gauge == 0";
  r.for_duration = 1min;
  r.labels = {{"severity", "critical"}};
  r.annotations = {{"summary", "{{ $labels.alertname }} is down"}};
  r.line = 4;
  g.rules.push_back(r);
  file.groups.push_back(g);
  AlertManager m(options());
  m.add_rule_file(file);
  m.evaluate();
  auto a = m.active_alerts(Severity::kCritical);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].state, AlertState::kPending);
  EXPECT_EQ(a[0].group, "availability");
  // $labels are the series' labels, as in Prometheus: alertname is not among them.
  EXPECT_EQ(a[0].annotations, (LabelList{{"summary", " is down"}}));
  // Reloading the same file keeps the alert's state.
  m.add_rule_file(file);
  advance(1min);
  m.evaluate();
  a = m.active_alerts();
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].state, AlertState::kFiring);

  RuleFile bad = file;
  bad.groups[0].rules[0].expr = "rate(up_gauge)";  // wrong argument type
  try {
    m.add_rule_file(bad);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("rules.yml:4: group \"availability\""), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(m.rules().size(), 1u);  // nothing changed
  EXPECT_THROW(AlertRule::builder().name("M").expr("up_gauge[5m]").build(), Error);
  EXPECT_THROW(AlertRule::builder().name("M").expr("up_gauge +").build(), Error);
  EXPECT_THROW(
      AlertRule::builder().name("M").expr("up_gauge").condition([] { return true; }).build(),
      Error);
}

TEST_F(PromqlRules, GoTemplatesAndTemplateErrors) {
  registry.gauge("error_ratio", "Errors per request.", {"job"}).labels("api").set(0.1234);
  AlertManagerOptions o = options();
  o.external_labels = {{"cluster", "eu1"}};
  AlertManager m(o);
  m.add_rule(AlertRule::builder()
                 .name("Errors")
                 .expr("error_ratio > 0.1")
                 .description("{{ $value | humanize }}")
                 .labels({{"job_copy", "{{ $labels.job }}"}})
                 .annotations({{"summary",
                                "{{ $labels.job }} at {{ $value | humanizePercentage }} "
                                "in {{ $externalLabels.cluster }}"}})
                 .build());
  m.add_rule(AlertRule::builder()
                 .name("Broken")
                 .expr("error_ratio > 0.1")
                 .annotations({{"when", "{{ 1e300 | humanizeTimestamp }}"}})
                 .build());
  m.evaluate();
  auto alerts = m.active_alerts();
  const Alert* e = find(alerts, "Errors");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->label("job_copy"), "api");
  EXPECT_EQ(e->annotations,
            (LabelList{{"description", "123.4m"}, {"summary", "api at 12.34% in eu1"}}));
  EXPECT_EQ(m.rule_status("Errors")->health, RuleHealth::kOk);
  const Alert* b = find(alerts, "Broken");
  ASSERT_NE(b, nullptr);  // evaluated all the same
  ASSERT_EQ(b->annotations.size(), 1u);
  EXPECT_EQ(b->annotations[0].second.rfind("<error expanding template: ", 0), 0u)
      << b->annotations[0].second;
  auto s = m.rule_status("Broken");
  EXPECT_EQ(s->health, RuleHealth::kError);
  EXPECT_FALSE(s->last_error.empty());
  // A template that does not parse is refused when the rule is built.
  EXPECT_THROW(AlertRule::builder().name("X").expr("up").annotation("a", "{{ $value").build(),
               Error);
}

}  // namespace
}  // namespace vigil::alerting

namespace vigil::alerting {
namespace {

TEST_F(PromqlRules, LoadedRuleFileRunsLikePromtool) {
  // The same rules and data as a promtool test (checked with promtool test rules: HighRate not
  // firing at 60s, firing at 75s; Sticky firing at 2m15s, resolved at 2m30s).
  auto r = parse_rule_file(R"(groups:
  - name: g
    interval: 15s
    rules:
      - record: job:requests:rate1m
        expr: rate(requests_total[1m])
      - alert: HighRate
        expr: job:requests:rate1m > 0.5
        for: 30s
      - alert: Sticky
        expr: flag == 1
        keep_firing_for: 2m
)",
                           "rules.yml");
  ASSERT_TRUE(r) << (r.errors.empty() ? "" : r.errors[0]);
  auto c = registry.counter("requests_total", "Requests.").get();
  auto& flag = registry.gauge("flag", "Flag.");
  AlertManager m(options());
  m.add_rule_file(*r.file);
  auto firing = [&](std::string_view name) {
    for (const Alert& a : m.active_alerts()) {
      if (a.name == name && a.state == AlertState::kFiring) return true;
    }
    return false;
  };
  for (int i = 0; i <= 10; ++i) {  // t = 0s .. 150s
    flag.get().set(i < 2 ? 1 : 0);
    m.evaluate();
    if (i * 15 == 60) {
      EXPECT_FALSE(firing("HighRate"));
    }
    if (i * 15 == 75) {
      EXPECT_TRUE(firing("HighRate"));
    }
    if (i * 15 == 135) {
      EXPECT_TRUE(firing("Sticky"));
    }
    if (i * 15 == 150) {
      EXPECT_FALSE(firing("Sticky"));
    }
    c.inc(15);
    advance(15s);
  }
}

}  // namespace
}  // namespace vigil::alerting
