// SLOs: burn-rate math over a real Registry on an injected clock (hand-computed ratios), the page
// on a fast burn, no page on a slow burn, the minimum-events guard, latency SLIs, the written
// rule file under promtool (check rules, test rules) and under vigil.
#include "vigil/alerting/slo.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <iostream>

#include "promtool_util.h"
#include "vigil/alerting/manager.h"
#include "vigil/alerting/rule_file.h"
#include "vigil/core/error.h"
#include "vigil/metrics/registry.h"

namespace vigil::alerting {
namespace {

using namespace std::chrono_literals;
using vigil_test::have_promtool;
using vigil_test::run_command;
using vigil_test::TempDir;

struct SloTest : ::testing::Test {
  std::atomic<int64_t> ms{1'700'000'000'000};
  metrics::Registry registry;
  metrics::Family<metrics::Counter>& requests = registry.counter("requests", "Requests.", {"code"});
  metrics::Counter ok = requests.labels("200");
  metrics::Counter failed = requests.labels("500");

  TimePoint now() const { return TimePoint(std::chrono::milliseconds(ms.load())); }
  AlertManagerOptions options() {
    AlertManagerOptions o;
    o.clock = [this] { return now(); };
    o.registry = &registry;
    return o;
  }
  // One minute of traffic, then an evaluation.
  void minute(AlertManager& m, double good, double bad) {
    ok.inc(good);
    failed.inc(bad);
    ms += 60'000;
    m.evaluate();
  }
  static Slo::Builder availability(double objective) {
    return std::move(Slo::builder()
                         .name("api")
                         .outcome_label("requests_total", "code", "5..")
                         .objective(objective));
  }
  // The description annotation as Prometheus expands it (`{{ $value | humanizePercentage }}`).
  static void expect_description(const Alert& a, const std::string& percentage) {
    ASSERT_EQ(a.annotations.size(), 2u);
    EXPECT_EQ(a.annotations[1].first, "description");
    const std::string& text = a.annotations[1].second;
    EXPECT_EQ(text, "Error ratio " + percentage +
                        " over the long window; objective 99.9% over 30d; burn rate above "
                        "14.4x over 1h and 5m or 6x over 6h and 30m.");
  }
  static const Alert* find(const std::vector<Alert>& alerts, std::string_view name) {
    for (const Alert& a : alerts) {
      if (a.name == name) return &a;
    }
    return nullptr;
  }
  // Probe: an alert rule whose value is the recorded series.
  static AlertRule probe(const std::string& record) {
    return AlertRule::builder().name("probe:" + record).expr(record + "{slo=\"api\"} >= 0").build();
  }
  static double probed(const AlertManager& m, const std::string& record) {
    const auto alerts = m.active_alerts();
    const Alert* a = find(alerts, "probe:" + record);
    return a == nullptr ? std::nan("") : a->value;
  }
};

TEST_F(SloTest, DefaultWindowsAreTheWorkbooks) {
  const auto w = default_slo_windows(30 * 24h);
  ASSERT_EQ(w.size(), 4u);
  EXPECT_EQ(w[0].long_window, 1h);
  EXPECT_EQ(w[0].short_window, 5min);
  EXPECT_EQ(w[0].burn_rate, 14.4);
  EXPECT_EQ(w[0].severity, Severity::kCritical);
  EXPECT_EQ(w[1].long_window, 6h);
  EXPECT_EQ(w[1].short_window, 30min);
  EXPECT_EQ(w[1].burn_rate, 6);
  EXPECT_EQ(w[2].long_window, 24h);
  EXPECT_EQ(w[2].short_window, 2h);
  EXPECT_EQ(w[2].burn_rate, 3);
  EXPECT_EQ(w[2].severity, Severity::kWarning);
  EXPECT_EQ(w[3].long_window, 72h);
  EXPECT_EQ(w[3].short_window, 6h);
  EXPECT_EQ(w[3].burn_rate, 1);
  // 28 days: the same budget fractions (2% in 1h: 0.02 * 672h / 1h).
  const auto w28 = default_slo_windows(28 * 24h);
  EXPECT_DOUBLE_EQ(w28[0].burn_rate, 13.44);
  EXPECT_DOUBLE_EQ(w28[1].burn_rate, 5.6);
  EXPECT_DOUBLE_EQ(w28[2].burn_rate, 2.8);
  EXPECT_DOUBLE_EQ(w28[3].burn_rate, 28.0 * 24 * 0.1 / 72);
}

TEST_F(SloTest, ExpressionsAndRecordNames) {
  const Slo slo = availability(0.999).filter("service", "api").build();
  EXPECT_EQ(Slo::error_ratio_record(5min), "slo:sli_error:ratio_rate5m");
  EXPECT_EQ(Slo::error_ratio_record(72h), "slo:sli_error:ratio_rate3d");
  EXPECT_EQ(Slo::total_record(24h), "slo:sli_total:increase1d");
  EXPECT_EQ(slo.error_ratio_expr(5min),
            "sum(rate(requests_total{service=\"api\", code=~\"5..\"}[5m])) / "
            "sum(rate(requests_total{service=\"api\"}[5m]))");
  EXPECT_EQ(slo.total_expr(1h), "sum(increase(requests_total{service=\"api\"}[1h]))");
  const Slo good = Slo::builder().name("g").good_total("ok_total", "all_total").build();
  EXPECT_EQ(good.error_ratio_expr(1h), "1 - (sum(rate(ok_total[1h])) / sum(rate(all_total[1h])))");
  const Slo err = Slo::builder().name("e").error_total("bad_total", "all_total").build();
  EXPECT_EQ(err.error_ratio_expr(1h), "sum(rate(bad_total[1h])) / sum(rate(all_total[1h]))");
  const RuleGroup g = slo.rules();
  EXPECT_EQ(g.name, "slo:api");
  // 7 error ratios (5m 30m 1h 2h 6h 1d 3d), 4 totals (1h 6h 1d 3d), page and ticket.
  ASSERT_EQ(g.rules.size(), 13u);
  EXPECT_EQ(g.rules[0].name(), "slo:sli_error:ratio_rate5m");
  EXPECT_TRUE(g.rules[0].is_recording());
  EXPECT_EQ(g.rules[11].name(), "SLOErrorBudgetBurnPage");
  EXPECT_EQ(g.rules[11].severity(), Severity::kCritical);
  EXPECT_EQ(g.rules[11].expr(),
            "(\n"
            "  slo:sli_error:ratio_rate1h{slo=\"api\"} > (14.4 * (1 - 0.999))\n"
            "and\n"
            "  slo:sli_error:ratio_rate5m{slo=\"api\"} > (14.4 * (1 - 0.999))\n"
            "and\n"
            "  slo:sli_total:increase1h{slo=\"api\"} >= 10\n"
            ")\n"
            "or\n"
            "(\n"
            "  slo:sli_error:ratio_rate6h{slo=\"api\"} > (6 * (1 - 0.999))\n"
            "and\n"
            "  slo:sli_error:ratio_rate30m{slo=\"api\"} > (6 * (1 - 0.999))\n"
            "and\n"
            "  slo:sli_total:increase6h{slo=\"api\"} >= 60\n"
            ")");
  EXPECT_EQ(g.rules[12].name(), "SLOErrorBudgetBurnTicket");
  EXPECT_EQ(g.rules[12].severity(), Severity::kWarning);
}

TEST_F(SloTest, BuildErrors) {
  EXPECT_THROW(Slo::builder().outcome_label("r_total", "code", "5..").build(), Error);
  EXPECT_THROW(Slo::builder().name("x").build(), Error);
  EXPECT_THROW(availability(1.0).build(), Error);
  EXPECT_THROW(availability(0).build(), Error);
  EXPECT_THROW(availability(0.99).good_total("a_total", "b_total").build(), Error);
  EXPECT_THROW(availability(0.99).period(0ms).build(), Error);
  EXPECT_THROW(availability(0.99).label("slo", "x").build(), Error);
  EXPECT_THROW(availability(0.99).matchers("code=~\"(\"").build(), Error);
  EXPECT_THROW(Slo::builder().name("x").error_total("bad-name", "t_total").build(), Error);
  try {
    availability(0.99).label("bad-label", "v").build();
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("slo \"api\""), std::string::npos) << e.what();
  }
}

TEST_F(SloTest, LatencyThresholdMustBeABucketBound) {
  metrics::HistogramOptions ho;
  ho.buckets = {0.1, 0.25, 0.5, 1};
  auto& latency = registry.histogram("latency_seconds", "Latency.", {}, ho);
  try {
    Slo::builder().name("lat").latency(latency, 0.3).build();
    FAIL() << "0.3 is not a bound";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "slo \"lat\": latency threshold 0.3 is not a bucket bound of histogram "
                 "\"latency_seconds\" (bounds: 0.1, 0.25, 0.5, 1)");
  }
  const Slo slo = Slo::builder().name("api").latency(latency, 0.25).objective(0.99).build();
  EXPECT_EQ(slo.error_ratio_expr(5min),
            "1 - (sum(rate(latency_seconds_bucket{le=\"0.25\"}[5m])) / "
            "sum(rate(latency_seconds_count[5m])))");
  // A bound written "1" in the text format and "1.0" in OpenMetrics (as Prometheus 2.x stores
  // it when scraping OpenMetrics): both match.
  EXPECT_EQ(Slo::builder().name("one").latency(latency, 1).build().error_ratio_expr(5min),
            "1 - (sum(rate(latency_seconds_bucket{le=~\"1|1\\\\.0\"}[5m])) / "
            "sum(rate(latency_seconds_count[5m])))");
  RuleGroup g = slo.rules();
  g.rules.push_back(probe("slo:sli_error:ratio_rate5m"));
  AlertManager m(options());
  m.add_group(g);
  auto h = latency.get();
  m.evaluate();  // all zero at the start: no extrapolation before it
  for (int i = 0; i < 5; ++i) {
    for (int k = 0; k < 7; ++k) h.observe(0.2);   // good (le 0.25)
    for (int k = 0; k < 3; ++k) h.observe(0.25);  // good: le is inclusive
    h.observe(0.3);                               // slow
    h.observe(2);                                 // slow
    ms += 60'000;
    m.evaluate();
  }
  // 10 good of 12 per minute: error ratio 2/12.
  EXPECT_NEAR(probed(m, "slo:sli_error:ratio_rate5m"), 2.0 / 12, 1e-12);
  // With the threshold 1 (le=~"1|1\.0"): 11 of 12 good (2 s is slow).
  {
    RuleGroup g1 = Slo::builder().name("api").latency(latency, 1).objective(0.99).build().rules();
    g1.rules.push_back(probe("slo:sli_error:ratio_rate5m"));
    AlertManager m1(options());
    m1.add_group(g1);
    m1.evaluate();
    for (int k = 0; k < 11; ++k) h.observe(1);
    h.observe(2);
    ms += 60'000;
    m1.evaluate();
    EXPECT_NEAR(probed(m1, "slo:sli_error:ratio_rate5m"), 1.0 / 12, 1e-12);
    ms -= 60'000;  // the clock as the rest of the test expects it
  }
  // Burn rate 0.1667 / 0.01 = 16.7 > 14.4 over 5m and 1h (all the history), 60 events >= 10.
  const auto alerts = m.active_alerts();
  const Alert* page = find(alerts, "SLOErrorBudgetBurnPage");
  ASSERT_NE(page, nullptr);
  EXPECT_EQ(page->state, AlertState::kFiring);
}

TEST_F(SloTest, BurnRateMathOverTheRegistry) {
  RuleGroup g = availability(0.99).build().rules();
  for (const char* r :
       {"slo:sli_error:ratio_rate5m", "slo:sli_error:ratio_rate30m", "slo:sli_error:ratio_rate1h",
        "slo:sli_error:ratio_rate3d", "slo:sli_total:increase1h", "slo:sli_total:increase3d"}) {
    g.rules.push_back(probe(r));
  }
  AlertManager m(options());
  m.add_group(g);
  m.evaluate();  // t0: every counter at 0
  for (int i = 0; i < 5; ++i) minute(m, 99, 1);
  // 5 errors of 500: the windows all start at or before t0, where the counters were 0, so
  // Prometheus' extrapolation stops at the zero: exact ratios.
  EXPECT_NEAR(probed(m, "slo:sli_error:ratio_rate5m"), 0.01, 1e-12);
  EXPECT_NEAR(probed(m, "slo:sli_error:ratio_rate1h"), 0.01, 1e-12);
  EXPECT_NEAR(probed(m, "slo:sli_total:increase1h"), 500, 1e-9);
  for (int i = 0; i < 5; ++i) minute(m, 90, 10);
  // Last 5 minutes: 50 of 500 (the window [t-5m, t] starts on the sample at t0+5m).
  EXPECT_NEAR(probed(m, "slo:sli_error:ratio_rate5m"), 0.1, 1e-12);
  // All 10 minutes: 55 of 1000.
  EXPECT_NEAR(probed(m, "slo:sli_error:ratio_rate30m"), 0.055, 1e-12);
  EXPECT_NEAR(probed(m, "slo:sli_error:ratio_rate1h"), 0.055, 1e-12);
  EXPECT_NEAR(probed(m, "slo:sli_error:ratio_rate3d"), 0.055, 1e-12);
  EXPECT_NEAR(probed(m, "slo:sli_total:increase1h"), 1000, 1e-9);
  EXPECT_NEAR(probed(m, "slo:sli_total:increase3d"), 1000, 1e-9);
  // Burn rate over 1h: 0.055 / 0.01 = 5.5 < 14.4 and < 6 (6h): no page. Over 1d (= all the
  // history): 5.5 > 3, and over 2h too, 1000 events >= 240: the ticket.
  const auto alerts = m.active_alerts();
  EXPECT_EQ(find(alerts, "SLOErrorBudgetBurnPage"), nullptr);
  const Alert* ticket = find(alerts, "SLOErrorBudgetBurnTicket");
  ASSERT_NE(ticket, nullptr);
  EXPECT_EQ(ticket->state, AlertState::kFiring);
  EXPECT_EQ(ticket->severity, Severity::kWarning);
  EXPECT_NEAR(ticket->value, 0.055, 1e-12);  // the 1d error ratio
  EXPECT_EQ(ticket->labels, (LabelList{{"alertname", "SLOErrorBudgetBurnTicket"},
                                       {"severity", "warning"},
                                       {"slo", "api"}}));
}

TEST_F(SloTest, FastBurnPagesWithinTheWindows) {
  AlertManager m(options());
  add_slo(m, availability(0.999).label("team", "core").build());
  m.evaluate();
  for (int i = 0; i < 10; ++i) minute(m, 100, 0);
  EXPECT_TRUE(m.active_alerts().empty());
  // 20% errors. After one minute: 5m 20/500 = 4%, 1h 20/1100 = 1.8% (> 14.4 * 0.1% = 1.44%).
  minute(m, 80, 20);
  const auto alerts = m.active_alerts();
  const Alert* page = find(alerts, "SLOErrorBudgetBurnPage");
  ASSERT_NE(page, nullptr);
  EXPECT_EQ(page->state, AlertState::kFiring);
  EXPECT_EQ(page->severity, Severity::kCritical);
  EXPECT_NEAR(page->value, 20.0 / 1100, 1e-12);
  EXPECT_EQ(page->labels, (LabelList{{"alertname", "SLOErrorBudgetBurnPage"},
                                     {"severity", "critical"},
                                     {"slo", "api"},
                                     {"team", "core"}}));
  EXPECT_EQ(page->annotations[0], (std::pair<std::string, std::string>{
                                      "summary", "SLO api: error budget burning fast (page)"}));
  expect_description(*page, "1.818%");
  // Errors stop. The 1h/5m pair clears after 5 minutes, but the 6h/30m pair holds the page
  // while 20 errors over the whole history (6h) are above 6 * 0.1%: 20/3300 at t0+33m, not
  // 20/3400 at t0+34m (the 30m window still holds the burn: 20/3000).
  for (int i = 12; i <= 33; ++i) minute(m, 100, 0);
  EXPECT_NE(find(m.active_alerts(), "SLOErrorBudgetBurnPage"), nullptr);
  minute(m, 100, 0);
  EXPECT_EQ(find(m.active_alerts(), "SLOErrorBudgetBurnPage"), nullptr);
  ASSERT_FALSE(m.history().empty());
  EXPECT_EQ(m.history()[0].name, "SLOErrorBudgetBurnPage");
}

TEST_F(SloTest, SlowBurnDoesNotPage) {
  AlertManager m(options());
  add_slo(m, availability(0.999).build());
  m.evaluate();
  // 0.5% errors for 7 hours (burn rate 5 < 6 < 14.4): one error every other minute.
  bool ticket = false;
  for (int i = 0; i < 7 * 60; ++i) {
    minute(m, i % 2 == 0 ? 100 : 99, i % 2 == 0 ? 0 : 1);
    EXPECT_EQ(find(m.active_alerts(), "SLOErrorBudgetBurnPage"), nullptr) << "minute " << i;
    ticket = ticket || find(m.active_alerts(), "SLOErrorBudgetBurnTicket") != nullptr;
  }
  // Burn rate 5 > 3 over 1d and 2h: a ticket.
  EXPECT_TRUE(ticket);
}

TEST_F(SloTest, MinimumEventsGuardKeepsAQuietServiceQuiet) {
  for (double guard : {10.0, 0.0}) {
    SCOPED_TRACE(guard);
    metrics::Registry reg;
    auto& fam = reg.counter("requests", "Requests.", {"code"});
    auto good = fam.labels("200");
    auto bad = fam.labels("500");
    AlertManagerOptions o = options();
    o.registry = &reg;
    AlertManager m(o);
    add_slo(m, availability(0.999).min_events_per_hour(guard).build());
    m.evaluate();
    // Two requests an hour; the second one fails.
    bool paged = false;
    for (int i = 1; i <= 60; ++i) {
      if (i == 20) good.inc();
      if (i == 50) bad.inc();
      ms += 60'000;
      m.evaluate();
      paged = paged || find(m.active_alerts(), "SLOErrorBudgetBurnPage") != nullptr;
    }
    // 1 of 2 failed: 50% over 1h, 100% over 5m; only 2 events in the hour (< 10).
    EXPECT_EQ(paged, guard == 0);
  }
}

std::string slo_test_file(const std::string& rules_path) {
  // 100 requests a minute; from 10m on, 20 of them fail (code 500).
  return "rule_files: [" + vigil_test::yaml_quote(rules_path) +
         "]\n"
         "evaluation_interval: 1m\n"
         "tests:\n"
         "  - interval: 1m\n"
         "    input_series:\n"
         "      - series: 'requests_total{code=\"200\"}'\n"
         "        values: '0+100x10 1080+80x20'\n"
         "      - series: 'requests_total{code=\"500\"}'\n"
         "        values: '0x10 20+20x19'\n"
         "    alert_rule_test:\n"
         "      - eval_time: 10m\n"
         "        alertname: SLOErrorBudgetBurnPage\n"
         "        exp_alerts: []\n"
         "      - eval_time: 15m\n"
         "        alertname: SLOErrorBudgetBurnPage\n"
         "        exp_alerts:\n"
         "          - exp_labels: {severity: critical, slo: api}\n"
         "            exp_annotations:\n"
         "              summary: 'SLO api: error budget burning fast (page)'\n"
         "              description: 'Error ratio 6.667% over the long window; objective 99.9% "
         "over 30d; burn rate above 14.4x over 1h and 5m or 6x over 6h and 30m.'\n"
         "    promql_expr_test:\n"
         "      - expr: slo:sli_error:ratio_rate5m\n"
         "        eval_time: 15m\n"
         "        exp_samples:\n"
         "          - labels: 'slo:sli_error:ratio_rate5m{slo=\"api\"}'\n"
         "            value: 0.19999999999999998\n";
}

TEST_F(SloTest, RuleFilePassesPromtoolAndLoadsInVigil) {
  const Slo slo = availability(0.999).build();
  TempDir dir("slo");
  const std::string path = (dir.path() / "slo.yml").string();
  slo.write_rule_file(path);

  // vigil loads it, without warnings, with the same rules.
  const RuleFileResult r = load_rule_file(path);
  ASSERT_TRUE(r) << (r.errors.empty() ? "" : r.errors[0]);
  EXPECT_TRUE(r.warnings.empty()) << r.warnings[0];
  ASSERT_EQ(r.file->groups.size(), 1u);
  const RuleGroup g = slo.rules();
  ASSERT_EQ(r.file->groups[0].rules.size(), g.rules.size());
  for (size_t i = 0; i < g.rules.size(); ++i) {
    EXPECT_EQ(r.file->groups[0].rules[i].expr, g.rules[i].expr()) << i;
  }

  // The same scenario as slo_test_file(), through vigil's manager over a registry.
  AlertManager m(options());
  m.add_rule_file(*r.file);
  m.evaluate();
  for (int i = 1; i <= 15; ++i) {
    if (i <= 10) {
      minute(m, 100, 0);
      if (i == 10) {
        EXPECT_EQ(find(m.active_alerts(), "SLOErrorBudgetBurnPage"), nullptr);
      }
    } else {
      minute(m, 80, 20);
    }
  }
  const auto alerts = m.active_alerts();
  const Alert* page = find(alerts, "SLOErrorBudgetBurnPage");
  ASSERT_NE(page, nullptr);
  EXPECT_EQ(page->label("severity"), "critical");
  EXPECT_EQ(page->annotations[0].second, "SLO api: error budget burning fast (page)");
  expect_description(*page, "6.667%");

  if (!have_promtool()) GTEST_SKIP() << "promtool not installed";
  const auto check = run_command("promtool check rules " + path);
  EXPECT_EQ(check.status, 0) << check.output;
  EXPECT_NE(check.output.find("SUCCESS: 13 rules found"), std::string::npos) << check.output;
  const std::string test = dir.write("slo_test.yml", slo_test_file(path));
  const auto unit = run_command("promtool test rules " + test);
  EXPECT_EQ(unit.status, 0) << unit.output;
}

// The same rule unit test through vigil's own runner (`vigil rules test`, Prometheus'
// test-file format evaluated by vigil's engine).
TEST_F(SloTest, RuleFileTestPassesUnderVigilRulesTest) {
#ifndef VIGIL_TOOL_PATH
  GTEST_SKIP() << "the vigil tool is not built";
#else
  TempDir dir("slo");
  const std::string path = (dir.path() / "slo.yml").string();
  availability(0.999).build().write_rule_file(path);
  const std::string test = dir.write("slo_test.yml", slo_test_file(path));
  const auto r = run_command(std::string(VIGIL_TOOL_PATH) + " rules test " + test);
  if (r.output.find("unknown command") != std::string::npos) {
    GTEST_SKIP() << "this vigil tool has no `rules test` yet";
  }
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("SUCCESS"), std::string::npos) << r.output;
#endif
}

TEST_F(SloTest, RuleFileWithFiltersLabelsAndIntervalPassesPromtool) {
  metrics::HistogramOptions ho;
  ho.buckets = {0.1, 0.25, 0.5, 1};
  auto& latency = registry.histogram("latency_seconds", "Latency.", {"route"}, ho);
  const Slo slo = Slo::builder()
                      .name("checkout latency")
                      .latency(latency, 0.5)
                      .filter("route", "/checkout \"v2\"")
                      .matchers("env=~\"prod|staging\"")
                      .objective(0.95)
                      .period(28 * 24h)
                      .labels({{"team", "payments"}})
                      .interval(30s)
                      .alert_names("CheckoutLatencyPage", "CheckoutLatencyTicket")
                      .annotation("runbook_url", "https://runbooks/checkout")
                      .build();
  TempDir dir("slo");
  const std::string path = (dir.path() / "latency.yml").string();
  slo.write_rule_file(path);
  const RuleFileResult r = load_rule_file(path);
  ASSERT_TRUE(r) << (r.errors.empty() ? "" : r.errors[0]);
  EXPECT_EQ(r.file->groups[0].name, "slo:checkout latency");
  EXPECT_EQ(r.file->groups[0].interval, 30s);
  EXPECT_EQ(r.file->groups[0].rules[0].labels,
            (LabelList{{"slo", "checkout latency"}, {"team", "payments"}}));
  if (!have_promtool()) GTEST_SKIP() << "promtool not installed";
  const auto check = run_command("promtool check rules " + path);
  EXPECT_EQ(check.status, 0) << check.output;
}

}  // namespace
}  // namespace vigil::alerting
