// `vigil rules test` (src/alerting/rule_test_runner.h): the expanding notation, promtool's
// formatting, and whole test files, with expectations computed by hand and checked against the
// real `promtool test rules` (Prometheus 2.42) when it is installed.
#include "alerting/rule_test_runner.h"

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "promtool_util.h"

namespace va = vigil::alerting;
namespace pq = vigil::alerting::promql;

namespace {

std::vector<std::optional<double>> values(std::string_view text) {
  auto r = va::parse_input_values(text);
  EXPECT_TRUE(r) << text << ": " << r.error;
  return r ? *r : std::vector<std::optional<double>>{};
}

TEST(RuleTestValues, ExpandingNotation) {
  using V = std::vector<std::optional<double>>;
  EXPECT_EQ(values("1 2 3"), (V{1, 2, 3}));
  EXPECT_EQ(values("0+10x3"), (V{0, 10, 20, 30}));  // N+1 values
  EXPECT_EQ(values("5-2x2"), (V{5, 3, 1}));
  EXPECT_EQ(values("-1+2x2"), (V{-1, 1, 3}));
  EXPECT_EQ(values("7x2"), (V{7, 7, 7}));
  EXPECT_EQ(values("1x0"), (V{1}));
  EXPECT_EQ(values("_ 1 _x2 2"), (V{std::nullopt, 1, std::nullopt, std::nullopt, 2}));
  EXPECT_EQ(values("1e3 2.5e-1 +4"), (V{1000, 0.25, 4}));
  EXPECT_EQ(values("1e-3x1"), (V{0.001, 0.001}));
  EXPECT_TRUE(values("").empty());
  // Accumulated as Prometheus does: 0.1 + 0.1 added 7 times, not 0.1 + 7 * 0.1.
  const V acc = values("0.1+0.1x7");
  ASSERT_EQ(acc.size(), 8u);
  EXPECT_EQ(*acc[7], 0.7999999999999999);

  const V special = values("Inf -Inf NaN stale");
  ASSERT_EQ(special.size(), 4u);
  EXPECT_EQ(*special[0], INFINITY);
  EXPECT_EQ(*special[1], -INFINITY);
  EXPECT_TRUE(std::isnan(*special[2]) && !pq::is_stale_nan(*special[2]));
  EXPECT_TRUE(pq::is_stale_nan(*special[3]));

  for (const char* bad : {"stalex2", "1+-1x2", "0x1f", "abc", "1+2", "_x", "1x-1"}) {
    EXPECT_FALSE(va::parse_input_values(bad)) << bad;
  }
}

TEST(RuleTestValues, SeriesLabels) {
  auto l = va::parse_series_labels("http_requests_total{job=\"api\", code=\"200\"}");
  ASSERT_TRUE(l) << l.error;
  EXPECT_EQ(*l, (pq::Labels{{"__name__", "http_requests_total"}, {"code", "200"}, {"job", "api"}}));
  auto n = va::parse_series_labels("{__name__=\"up\"}");
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, (pq::Labels{{"__name__", "up"}}));
  EXPECT_TRUE(va::parse_series_labels("")->empty());
  EXPECT_TRUE(va::parse_series_labels("{}")->empty());
  EXPECT_FALSE(va::parse_series_labels("x{a=~\"1\"}"));
  EXPECT_FALSE(va::parse_series_labels("rate(x[5m])"));
  EXPECT_FALSE(va::parse_series_labels("x{"));
}

TEST(RuleTestFormat, GoFormats) {
  EXPECT_EQ(va::format_float_e(0.3), "3E-01");
  EXPECT_EQ(va::format_float_e(1), "1E+00");
  EXPECT_EQ(va::format_float_e(0), "0E+00");
  EXPECT_EQ(va::format_float_e(1.08), "1.08E+00");
  EXPECT_EQ(va::format_float_e(0.30000000000000004), "3.0000000000000004E-01");
  EXPECT_EQ(va::format_float_e(1e21), "1E+21");
  EXPECT_EQ(va::format_float_e(-2.5e-7), "-2.5E-07");
  EXPECT_EQ(va::format_float_e(NAN), "NaN");
  EXPECT_EQ(va::format_float_e(INFINITY), "+Inf");
  EXPECT_EQ(va::format_float_e(-INFINITY), "-Inf");

  EXPECT_EQ(va::format_go_duration(0), "0s");
  EXPECT_EQ(va::format_go_duration(500), "500ms");
  EXPECT_EQ(va::format_go_duration(1500), "1.5s");
  EXPECT_EQ(va::format_go_duration(60'000), "1m0s");
  EXPECT_EQ(va::format_go_duration(90'000), "1m30s");
  EXPECT_EQ(va::format_go_duration(3'600'000), "1h0m0s");
  EXPECT_EQ(va::format_go_duration(3'723'000), "1h2m3s");

  EXPECT_EQ(va::format_series_labels({{"__name__", "x"}, {"a", "q\"\\"}}),
            "{__name__=\"x\", a=\"q\\\"\\\\\"}");
  EXPECT_EQ(va::format_series_labels({}), "{}");
}

// A test directory with a rule file; tests are written next to it.
class RuleTestFiles : public ::testing::Test {
 protected:
  RuleTestFiles() : dir_("rule_test_runner") {
    std::filesystem::create_directories(dir_.path() / "rules");
    dir_.write("rules/alerts.yml", R"(groups:
  - name: rec
    rules:
      - record: job:errors:rate1m
        expr: sum by (job) (rate(errors_total[1m]))
  - name: alerts
    rules:
      - alert: Errors
        expr: job:errors:rate1m > 0.5
        for: 2m
        labels:
          severity: page
        annotations:
          summary: "{{ $labels.job }} fails {{ $value | humanize }}/s"
)");
  }

  // Runs the test file `text`; returns the failures.
  std::vector<std::string> run(const std::string& text) {
    const std::string path = dir_.write("t" + std::to_string(++n_) + "_test.yml", text);
    last_path_ = path;
    return va::run_rule_test_file(path);
  }

  vigil_test::TempDir dir_;
  std::string last_path_;
  int n_ = 0;
};

// errors_total grows 60/min from 0 to 3m, then 0: the rate is 1/s from 1m to 3m (the
// recorded series exists from 1m), so Errors is pending at 1m, fires at 3m, and is gone when the
// rate over the last minute drops to 0 (at 4m the window [3m,4m] has 180 and 180).
constexpr const char* kHeader = R"(rule_files: [rules/*.yml]
evaluation_interval: 1m
group_eval_order: [rec, alerts]
tests:
  - interval: 1m
    input_series:
      - series: 'errors_total{job="api", instance="a"}'
        values: '0+60x3 180x5'
)";

TEST_F(RuleTestFiles, PassingAlertAndExpressionTests) {
  const auto errs = run(std::string(kHeader) + R"(    alert_rule_test:
      - eval_time: 2m
        alertname: Errors
      - eval_time: 3m
        alertname: Errors
        exp_alerts:
          - exp_labels: {job: api, severity: page}
            exp_annotations: {summary: api fails 1/s}
      - eval_time: 3m30s
        alertname: Errors
        exp_alerts:
          - exp_labels: {job: api, severity: page}
            exp_annotations: {summary: api fails 1/s}
      - eval_time: 4m
        alertname: Errors
    promql_expr_test:
      - expr: job:errors:rate1m
        eval_time: 2m
        exp_samples:
          - labels: 'job:errors:rate1m{job="api"}'
            value: 1
      - expr: ALERTS
        eval_time: 2m
        exp_samples:
          - labels: 'ALERTS{alertname="Errors", alertstate="pending", job="api", severity="page"}'
            value: 1
      - expr: ALERTS_FOR_STATE
        eval_time: 3m
        exp_samples:
          - labels: 'ALERTS_FOR_STATE{alertname="Errors", job="api", severity="page"}'
            value: 60
      - expr: '1 + 1'
        eval_time: 0s
        exp_samples:
          - labels: '{}'
            value: 2
)");
  EXPECT_TRUE(errs.empty()) << (errs.empty() ? "" : errs[0]);
}

TEST_F(RuleTestFiles, AlertDifferenceInPromtoolsWords) {
  const auto errs = run(std::string(kHeader) + R"(    name: errors
    alert_rule_test:
      - eval_time: 2m
        alertname: Errors
        exp_alerts:
          - exp_labels: {job: api}
)");
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0],
            "    name: errors,\n"
            "    alertname: Errors, time: 2m, \n"
            "        exp:[\n"
            "            0:\n"
            "              Labels:{alertname=\"Errors\", job=\"api\"}\n"
            "              Annotations:{}\n"
            "            ], \n"
            "        got:[]");
}

TEST_F(RuleTestFiles, ExpressionDifferences) {
  const auto errs = run(std::string(kHeader) + R"(    promql_expr_test:
      - expr: errors_total
        eval_time: 1m30s
        exp_samples:
          - labels: 'errors_total{job="api", instance="a"}'
            value: 61
      - expr: errors_total / 0 > 0
        eval_time: 1m
        exp_samples:
          - labels: '{job="api", instance="a"}'
            value: .inf
      - expr: rate(errors_total)
        eval_time: 1m
)");
  ASSERT_EQ(errs.size(), 2u);
  EXPECT_EQ(errs[0],
            "    expr: \"errors_total\", time: 1m30s,\n"
            "        exp: {__name__=\"errors_total\", instance=\"a\", job=\"api\"} 6.1E+01\n"
            "        got: {__name__=\"errors_total\", instance=\"a\", job=\"api\"} 6E+01");
  EXPECT_EQ(errs[1].rfind("    expr: \"rate(errors_total)\", time: 1m, err: ", 0), 0u) << errs[1];
}

TEST_F(RuleTestFiles, EvaluationErrorStopsTheGroup) {
  dir_.write("rules/dup.yml", R"(groups:
  - name: dup
    rules:
      - record: both
        expr: '{__name__=~"left|right"}'
)");
  const std::string path = dir_.write("dup_test.yml", R"(rule_files: [rules/dup.yml]
tests:
  - interval: 1m
    input_series:
      - series: 'left{a="1"}'
        values: '1 2'
      - series: 'right{a="1"}'
        values: '1 2'
    promql_expr_test:
      - expr: left
        eval_time: 1m
)");
  const auto errs = va::run_rule_test_file(path);
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0],
            "    rule: both, time: 0s, err: vector contains metrics with the same labelset after "
            "applying rule labels");
}

TEST_F(RuleTestFiles, FileErrors) {
  auto errs = run("rule_files: [rules/alerts.yml]\nevaluation_intervall: 1m\n");
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_NE(errs[0].find("field evaluation_intervall not found in type main.unitTestFile"),
            std::string::npos)
      << errs[0];
  errs = run("rule_files: []\ngroup_eval_order: [a, b, a]\n");
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0], "group name repeated in evaluation order: a");
  errs = run("rule_files: []\ntests:\n  - alert_rule_test:\n      - eval_time: 1m\n");
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0],
            "an item under alert_rule_test misses required attribute alertname at eval_time 1m");
  errs =
      run("rule_files: []\ntests:\n  - promql_expr_test:\n      - expr: x\n        exp_samples:\n"
          "          - labels: x\n            value: NaN\n");
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_NE(errs[0].find("cannot unmarshal !!str `NaN` into float64"), std::string::npos);
  errs = run("rule_files: []\ntests:\n  - input_series:\n      - series: x\n        values: 1+\n");
  ASSERT_EQ(errs.size(), 1u);
  errs = va::run_rule_test_file((dir_.path() / "missing.yml").string());
  ASSERT_EQ(errs.size(), 1u);

  std::vector<std::string> warnings;
  const std::string p = dir_.write("nomatch_test.yml", "rule_files: [nothing/*.yml]\n");
  EXPECT_TRUE(va::run_rule_test_file(p, &warnings).empty());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("no file match pattern"), std::string::npos);
}

TEST_F(RuleTestFiles, ToolOutputAndExitStatus) {
  const std::string ok = dir_.write("ok_test.yml", "rule_files: []\ntests: []\n");
  const std::string bad = dir_.write("bad_test.yml", std::string(kHeader) + R"(    promql_expr_test:
      - expr: errors_total
        eval_time: 1m
)");
  std::ostringstream out, err;
  EXPECT_EQ(va::run_rule_tests({ok}, out, err), 0);
  EXPECT_EQ(out.str(), "Unit Testing:  " + ok + "\n  SUCCESS\n\n");
  EXPECT_EQ(err.str(), "");
  std::ostringstream out2, err2;
  EXPECT_EQ(va::run_rule_tests({ok, bad}, out2, err2), 1);
  EXPECT_EQ(out2.str(), "Unit Testing:  " + ok + "\n  SUCCESS\n\nUnit Testing:  " + bad + "\n\n");
  EXPECT_EQ(err2.str(),
            "  FAILED:\n    expr: \"errors_total\", time: 1m,\n        exp: nil\n        got: "
            "{__name__=\"errors_total\", instance=\"a\", job=\"api\"} 6E+01\n\n");
}

// The same files through the real promtool: same verdicts and the same failure reports.
TEST_F(RuleTestFiles, SameReportsAsPromtool) {
  if (!vigil_test::have_promtool()) GTEST_SKIP() << "promtool not installed";
  const std::vector<std::string> bodies = {
      R"(    alert_rule_test:
      - eval_time: 3m
        alertname: Errors
        exp_alerts:
          - exp_labels: {job: api, severity: page}
            exp_annotations: {summary: api fails 1/s}
)",
      R"(    alert_rule_test:
      - eval_time: 2m
        alertname: Errors
        exp_alerts:
          - exp_labels: {job: api, severity: page}
      - eval_time: 5m
        alertname: Errors
        exp_alerts:
          - exp_labels: {job: api, severity: page}
            exp_annotations: {summary: api fails 1/s}
)",
      R"(    promql_expr_test:
      - expr: sum(errors_total) by (job)
        eval_time: 3m
        exp_samples:
          - labels: '{job="api"}'
            value: 180
      - expr: errors_total offset 1m
        eval_time: 3m
        exp_samples:
          - labels: 'errors_total{job="api", instance="a"}'
            value: 100
)"};
  for (const std::string& body : bodies) {
    const auto errs = run(std::string(kHeader) + body);
    std::string mine;
    for (const std::string& e : errs) mine += e + "\n";
    const auto p =
        vigil_test::run_command("cd " + dir_.path().string() + " && (promtool test rules " +
                                last_path_ + " 2>&1 >/dev/null)");
    std::string theirs = p.output;
    if (theirs.rfind("  FAILED:\n", 0) == 0) theirs = theirs.substr(10);
    EXPECT_EQ(errs.empty(), p.status == 0) << body;
    EXPECT_EQ(mine, theirs) << body;
  }
}

}  // namespace
