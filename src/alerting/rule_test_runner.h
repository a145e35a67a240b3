// src/alerting/rule_test_runner.h (internal): `vigil rules test`, Prometheus' rule unit tests
// (the file format of `promtool test rules`, Prometheus 2.42 cmd/promtool/unittest.go) run with
// vigil's own engine: the input series go into a promql::MemoryStorage, the rule files are loaded
// with load_rule_file and evaluated by an AlertManager whose clock is the test's time.
//
//   std::ostringstream out, err;
//   int rc = vigil::alerting::run_rule_tests({"tests/alerts_test.yml"}, out, err);
//   // out: "Unit Testing:  tests/alerts_test.yml\n  SUCCESS\n\n", rc == 0
//   // or err: "  FAILED:\n    alertname: HighLatency, time: 10m, \n        exp:[...], ..." rc 1
//
// As promtool does: every test group gets fresh storage and rules; samples are at i * interval
// from 0; groups are evaluated (in group_eval_order) at 0, evaluation_interval, ... up to the
// largest eval_time, the input samples up to each evaluation time being visible at it; an
// alert_rule_test at eval_time is checked after the evaluation at the largest step <= eval_time
// (firing alerts only, labels with alertname, annotations expanded with Prometheus' templates);
// promql_expr_test expressions are evaluated after the last step, over the input samples up to
// the last step plus the recorded series and ALERTS; values compare exactly (NaN never equals).
// Differences from promtool: ALERTS of a round are written after the whole round (Prometheus:
// after each rule, so a later rule of the same group sees them at the same time); templates see
// as $labels the alert's labels without alertname and without the rule's labels (Prometheus: the
// result series' labels, which may include __name__ or a label the rule's labels override);
// rule evaluation error texts are vigil's; rule files with what vigil does not evaluate
// in-process (subqueries, ...) are errors.
//
// Thread-safety: the functions are reentrant (no shared state); they never throw except
// std::bad_alloc.
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "alerting/promql/ast.h"
#include "core/detail/parse_result.h"

namespace vigil::alerting {

// The expanding notation of input_series values ("1 2 _ stale 0+10x5 5-1x3 _x2 1e3 Inf"): one
// entry per interval step, nullopt for a missing sample (`_`), promql::stale_nan() for `stale`.
// Errors use Prometheus' words where it has them.
vigil::detail::ParseResult<std::vector<std::optional<double>>> parse_input_values(
    std::string_view text);

// A series as written in input_series / exp_samples: `metric{a="b"}`, `{__name__="m"}`,
// `{a="b"}`, `{}` or "" (Prometheus' parser.ParseMetric). Labels sorted by name.
vigil::detail::ParseResult<promql::Labels> parse_series_labels(std::string_view text);

// Go's labels.Labels.String(): {__name__="x", a="1"}.
std::string format_series_labels(const promql::Labels& labels);
// Go's strconv.FormatFloat(v, 'E', -1, 64): "3E-01", "1.5E+00", "NaN", "+Inf".
std::string format_float_e(double v);
// Go's time.Duration.String() of `ms`: "0s", "1m30s", "1h0m0s", "500ms".
std::string format_go_duration(int64_t ms);

// Runs one test file. Returns its failures in promtool's words (empty: passed). Warnings (a
// rule_files pattern matching nothing) go to `warnings` when given.
std::vector<std::string> run_rule_test_file(const std::string& path,
                                            std::vector<std::string>* warnings = nullptr);

// `vigil rules test FILE...`: promtool's output ("Unit Testing:  FILE", "  SUCCESS" on `out`;
// "  FAILED:" and the failures on `err`). Returns 0 when every file passes, else 1.
int run_rule_tests(const std::vector<std::string>& files, std::ostream& out, std::ostream& err);

}  // namespace vigil::alerting
