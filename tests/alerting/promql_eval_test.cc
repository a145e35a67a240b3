// Tests of the PromQL evaluator (eval.cc, functions.cc) and MemoryStorage (storage.cc):
// hand-computed values from Prometheus 2.42's formulas, and a differential check against the
// real Prometheus (`promtool test rules` with our values as the expected samples).
#include <gtest/gtest.h>
#include <re2/re2.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <span>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "alerting/promql/ast.h"
#include "alerting/promql/eval.h"
#include "alerting/promql/parser.h"

namespace vigil::alerting::promql {
namespace {

constexpr int64_t kMin = 60'000;
const double kNaN = std::numeric_limits<double>::quiet_NaN();

// ---- building syntax trees by hand ----

ExprPtr num(double v) {
  auto e = std::make_unique<Expr>();
  e->kind = ExprKind::kNumber;
  e->number = v;
  e->type = ValueType::kScalar;
  return e;
}

ExprPtr str(std::string s) {
  auto e = std::make_unique<Expr>();
  e->kind = ExprKind::kString;
  e->string = std::move(s);
  e->type = ValueType::kString;
  return e;
}

Matcher matcher(std::string name, MatchOp op, std::string value) {
  Matcher m;
  m.name = std::move(name);
  m.op = op;
  m.value = std::move(value);
  if (op == MatchOp::kRegexMatch || op == MatchOp::kRegexNoMatch) {
    m.regex = std::make_shared<RE2>("^(?:" + m.value + ")$");
  }
  return m;
}

// sel("up", {{"job", "=", "api"}}, offset)
struct M {
  std::string name, op, value;
};
ExprPtr sel(std::string name, std::vector<M> ms = {}, int64_t offset = 0) {
  auto e = std::make_unique<Expr>();
  e->kind = ExprKind::kVectorSelector;
  e->type = ValueType::kVector;
  e->offset_ms = offset;
  if (!name.empty()) {
    e->name = name;
    e->matchers.push_back(matcher("__name__", MatchOp::kEqual, name));
  }
  for (const M& m : ms) {
    MatchOp op = m.op == "="    ? MatchOp::kEqual
                 : m.op == "!=" ? MatchOp::kNotEqual
                 : m.op == "=~" ? MatchOp::kRegexMatch
                                : MatchOp::kRegexNoMatch;
    e->matchers.push_back(matcher(m.name, op, m.value));
  }
  return e;
}

ExprPtr range(ExprPtr vs, int64_t range_ms) {
  vs->kind = ExprKind::kMatrixSelector;
  vs->type = ValueType::kMatrix;
  vs->range_ms = range_ms;
  return vs;
}

template <class... A>
ExprPtr call(std::string f, A... a) {
  auto e = std::make_unique<Expr>();
  e->kind = ExprKind::kCall;
  e->func = std::move(f);
  (e->args.push_back(std::move(a)), ...);
  e->type = ValueType::kVector;
  return e;
}

ExprPtr agg(AggregateOp op, ExprPtr v, std::vector<std::string> grouping = {}, bool without = false,
            ExprPtr param = nullptr) {
  auto e = std::make_unique<Expr>();
  e->kind = ExprKind::kAggregate;
  e->agg = op;
  if (param) e->args.push_back(std::move(param));
  e->args.push_back(std::move(v));
  e->grouping = std::move(grouping);
  e->without = without;
  return e;
}

ExprPtr bin(BinaryOp op, ExprPtr l, ExprPtr r, VectorMatching m = {}, bool return_bool = false) {
  auto e = std::make_unique<Expr>();
  e->kind = ExprKind::kBinary;
  e->op = op;
  e->return_bool = return_bool;
  if (op == BinaryOp::kAnd || op == BinaryOp::kOr || op == BinaryOp::kUnless) {
    m.card = Cardinality::kManyToMany;
  }
  e->matching = std::move(m);
  e->args.push_back(std::move(l));
  e->args.push_back(std::move(r));
  return e;
}

VectorMatching on(std::vector<std::string> labels, Cardinality card = Cardinality::kOneToOne,
                  std::vector<std::string> include = {}) {
  VectorMatching m;
  m.on = true;
  m.labels = std::move(labels);
  m.card = card;
  m.include = std::move(include);
  return m;
}
VectorMatching ignoring(std::vector<std::string> labels, Cardinality card = Cardinality::kOneToOne,
                        std::vector<std::string> include = {}) {
  VectorMatching m = on(std::move(labels), card, std::move(include));
  m.on = false;
  return m;
}

ExprPtr neg(ExprPtr x) {
  auto e = std::make_unique<Expr>();
  e->kind = ExprKind::kUnary;
  e->negate = true;
  e->args.push_back(std::move(x));
  return e;
}

ExprPtr paren(ExprPtr x) {
  auto e = std::make_unique<Expr>();
  e->kind = ExprKind::kParen;
  e->args.push_back(std::move(x));
  return e;
}

Labels L(std::initializer_list<std::pair<std::string, std::string>> l) {
  Labels out(l.begin(), l.end());
  sort_labels(out);
  return out;
}

// ---- loading series in promtool's notation: "0+10x3 _ stale 5-1x2" at 0, 1m, 2m, ... ----

void load(MemoryStorage& s, const Labels& labels, const std::string& values,
          int64_t interval = kMin) {
  std::istringstream in(values);
  std::string tok;
  int64_t t = 0;
  while (in >> tok) {
    if (tok == "stale") {
      s.append(labels, t, stale_nan());
      t += interval;
      continue;
    }
    size_t x = tok.find('x');
    if (tok[0] == '_') {
      int n = x == std::string::npos ? 1 : std::atoi(tok.c_str() + x + 1);
      t += interval * n;
      continue;
    }
    if (x == std::string::npos) {
      s.append(labels, t, std::stod(tok));
      t += interval;
      continue;
    }
    int n = std::atoi(tok.c_str() + x + 1);
    std::string body = tok.substr(0, x);
    size_t op = body.find_first_of("+-", 1);
    double start = std::stod(body.substr(0, op));
    double step = op == std::string::npos ? 0 : std::stod(body.substr(op + 1));
    if (op != std::string::npos && body[op] == '-') step = -step;
    for (int i = 0; i <= n; ++i) {
      s.append(labels, t, start + step * i);
      t += interval;
    }
  }
}

std::string labels_text(const Labels& labels) {
  std::string s = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i) s += ", ";
    s += labels[i].first + "=\"" + labels[i].second + "\"";
  }
  return s + "}";
}

// The vector as "{a="b"} 1.5; ..." sorted by labels, for compact comparisons.
std::string text(const EvalResult& r) {
  if (!r.ok()) return "error: " + r.error;
  if (r.type == ValueType::kScalar) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "scalar %.10g", r.scalar);
    return buf;
  }
  std::vector<std::string> parts;
  for (const auto& s : r.vector) {
    char buf[64];
    std::snprintf(buf, sizeof buf, " %.10g", s.v);
    parts.push_back(labels_text(s.labels) + buf);
  }
  std::sort(parts.begin(), parts.end());
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "; ") + p;
  return out;
}

class EvalTest : public ::testing::Test {
 protected:
  std::string at(const ExprPtr& e, int64_t t) { return text(evaluate(*e, store, t)); }
  double value(const ExprPtr& e, int64_t t) {
    EvalResult r = evaluate(*e, store, t);
    EXPECT_TRUE(r.ok()) << r.error;
    if (r.type == ValueType::kScalar) return r.scalar;
    EXPECT_EQ(r.vector.size(), 1u) << text(r);
    return r.vector.empty() ? kNaN : r.vector[0].v;
  }
  MemoryStorage store;
};

// ---- MemoryStorage ----

TEST(MemoryStorageTest, AppendSelectTrim) {
  MemoryStorage s;
  Labels a = L({{"__name__", "up"}, {"job", "a"}});
  Labels b = L({{"__name__", "up"}, {"job", "b"}});
  Labels c = L({{"__name__", "other"}, {"job", "a"}});
  EXPECT_TRUE(s.append(a, 1000, 1));
  EXPECT_TRUE(s.append(a, 2000, 2));
  EXPECT_FALSE(s.append(a, 2000, 3));  // not newer: ignored
  EXPECT_FALSE(s.append(a, 1500, 3));
  EXPECT_TRUE(s.append(b, 1000, 10));
  EXPECT_TRUE(s.append(c, 3000, stale_nan()));
  EXPECT_EQ(s.series_count(), 3u);
  EXPECT_EQ(s.sample_count(), 4u);
  EXPECT_GE(s.memory_bytes(), 4 * sizeof(Sample));

  std::vector<Matcher> ms = {matcher("__name__", MatchOp::kEqual, "up")};
  Matrix out;
  s.select(ms, 1500, 2000, out);  // only a has a sample in the window; only it is copied
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].labels, a);
  ASSERT_EQ(out[0].samples.size(), 1u);
  EXPECT_EQ(out[0].samples[0].t, 2000);

  out.clear();
  s.select(ms, 1000, 1000, out);  // both ends inclusive; creation order
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].labels, a);
  EXPECT_EQ(out[1].labels, b);

  out.clear();
  std::vector<Matcher> rx = {matcher("__name__", MatchOp::kRegexMatch, "oth.*"),
                             matcher("job", MatchOp::kEqual, "a")};
  s.select(rx, 0, 5000, out);  // stale markers are stored and returned
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(is_stale_nan(out[0].samples[0].v));

  out.clear();
  std::vector<Matcher> nojob = {matcher("job", MatchOp::kNotEqual, "a")};
  s.select(nojob, 0, 5000, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].labels, b);

  EXPECT_EQ(s.trim_before(1500), 2u);  // a@1000 and b@1000; b is left empty and removed
  EXPECT_EQ(s.series_count(), 2u);
  EXPECT_EQ(s.sample_count(), 2u);
  out.clear();
  s.select(ms, 0, 5000, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].labels, a);
  out.clear();
  std::vector<Matcher> job_b = {matcher("job", MatchOp::kEqual, "b")};
  s.select(job_b, 0, 5000, out);  // the label index forgot b
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(s.append(b, 4000, 1));  // comes back as a new series
  EXPECT_EQ(s.series_count(), 3u);
  s.select(job_b, 0, 5000, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].samples[0].t, 4000);
  out.clear();
  // Equality matchers on other labels and empty-value matchers (label absent).
  std::vector<Matcher> job_a_no_x = {matcher("job", MatchOp::kEqual, "a"),
                                     matcher("x", MatchOp::kEqual, "")};
  s.select(job_a_no_x, 0, 5000, out);
  ASSERT_EQ(out.size(), 2u);  // up{job="a"} (2000) and other{job="a"} (stale at 3000)
  out.clear();
  std::vector<Matcher> missing = {matcher("job", MatchOp::kEqual, "zzz")};
  s.select(missing, 0, 5000, out);
  EXPECT_TRUE(out.empty());
  s.clear();
  EXPECT_EQ(s.series_count(), 0u);
  EXPECT_EQ(s.sample_count(), 0u);
}

TEST_F(EvalTest, ScalarStringMatrixResults) {
  EvalResult r = evaluate(*num(1.5), store, 0);
  EXPECT_EQ(r.type, ValueType::kScalar);
  EXPECT_EQ(r.scalar, 1.5);
  r = evaluate(*str("hello"), store, 0);
  EXPECT_EQ(r.type, ValueType::kString);
  EXPECT_EQ(r.string, "hello");
  r = evaluate(*range(sel("nope"), kMin), store, 0);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.type, ValueType::kMatrix);
  EXPECT_TRUE(r.matrix.empty());
  r = evaluate(*bin(BinaryOp::kAdd, range(sel("nope"), kMin), num(1)), store, 0);
  EXPECT_FALSE(r.ok());
}

TEST(MemoryStorageTest, SortLabels) {
  Labels l = {{"b", "1"}, {"__name__", "x"}, {"a", "2"}};
  sort_labels(l);
  EXPECT_EQ(l, (Labels{{"__name__", "x"}, {"a", "2"}, {"b", "1"}}));
}

// ---- selectors ----

TEST_F(EvalTest, InstantSelectorLookbackStalenessOffset) {
  load(store, L({{"__name__", "x"}, {"job", "a"}}), "1 2 stale 4");  // 0, 1m, 2m(stale), 3m
  load(store, L({{"__name__", "x"}, {"job", "b"}}), "7");            // only at 0
  EXPECT_EQ(at(sel("x"), 0), "{__name__=\"x\", job=\"a\"} 1; {__name__=\"x\", job=\"b\"} 7");
  EXPECT_EQ(at(sel("x"), 90'000), "{__name__=\"x\", job=\"a\"} 2; {__name__=\"x\", job=\"b\"} 7");
  // The stale marker at 2m ends job="a" until its next sample.
  EXPECT_EQ(at(sel("x"), 2 * kMin + 30'000), "{__name__=\"x\", job=\"b\"} 7");
  EXPECT_EQ(at(sel("x"), 3 * kMin), "{__name__=\"x\", job=\"a\"} 4; {__name__=\"x\", job=\"b\"} 7");
  // Lookback 5m, both ends inclusive.
  EXPECT_EQ(at(sel("x", {{"job", "=", "b"}}), 5 * kMin), "{__name__=\"x\", job=\"b\"} 7");
  EXPECT_EQ(at(sel("x", {{"job", "=", "b"}}), 5 * kMin + 1), "");
  // Offset moves the window back.
  EXPECT_EQ(at(sel("x", {{"job", "=", "a"}}, kMin), 2 * kMin), "{__name__=\"x\", job=\"a\"} 2");
  EXPECT_EQ(at(sel("x", {{"job", "=~", "a|c"}}), 3 * kMin), "{__name__=\"x\", job=\"a\"} 4");
  EvalOptions opts;
  opts.lookback_delta_ms = kMin;
  EXPECT_EQ(text(evaluate(*sel("x"), store, 2 * kMin, opts)), "");
}

TEST_F(EvalTest, RangeSelector) {
  load(store, L({{"__name__", "x"}}), "0 1 2 stale 4 5 6");
  EvalResult r = evaluate(*range(sel("x"), 3 * kMin), store, 5 * kMin);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r.type, ValueType::kMatrix);
  ASSERT_EQ(r.matrix.size(), 1u);
  // [2m, 5m] inclusive, the stale marker at 3m removed.
  ASSERT_EQ(r.matrix[0].samples.size(), 3u);
  EXPECT_EQ(r.matrix[0].samples[0].t, 2 * kMin);
  EXPECT_EQ(r.matrix[0].samples[2].t, 5 * kMin);
  EXPECT_EQ(r.matrix[0].labels, L({{"__name__", "x"}}));
  EXPECT_EQ(value(call("count_over_time", range(sel("x", {}, kMin), 3 * kMin)), 5 * kMin), 3);
  // Only a stale marker in the window: no series.
  EXPECT_EQ(at(call("count_over_time", range(sel("x"), 0)), 3 * kMin), "");
}

// ---- rate, increase, delta (extrapolatedRate of 2.42) ----

TEST_F(EvalTest, RateIncreaseDelta) {
  load(store, L({{"__name__", "c"}, {"job", "a"}}), "0+10x10");      // 0..100 at 0..10m
  load(store, L({{"__name__", "c"}, {"job", "b"}}), "_x3 100+7x7");  // starts at 3m
  auto c = [](const char* job) { return sel("c", {{"job", "=", job}}); };
  // Samples on both boundaries: 50 over exactly 300 s.
  EXPECT_DOUBLE_EQ(value(call("rate", range(c("a"), 5 * kMin)), 10 * kMin), 50.0 / 300);
  EXPECT_DOUBLE_EQ(value(call("rate", range(c("b"), 5 * kMin)), 10 * kMin), 35.0 / 300);
  // increase at 4m over [-1m, 4m]: job a: 40 over 240 s sampled; 60 s to the start would be
  // extrapolated, but the counter reaches zero at the first sample (value 0): no extension.
  EXPECT_DOUBLE_EQ(value(call("increase", range(c("a"), 5 * kMin)), 4 * kMin), 40);
  // job b: 2 samples (100, 107) 60 s apart; 240 s to the start >= 1.1 * 60: extend by 30 s.
  EXPECT_DOUBLE_EQ(value(call("increase", range(c("b"), 5 * kMin)), 4 * kMin), 7 * 90.0 / 60);
  // Single sample: no result.
  EXPECT_EQ(at(call("rate", range(c("b"), kMin)), 3 * kMin), "");
  // Output drops the metric name.
  EXPECT_EQ(at(call("rate", range(c("a"), 5 * kMin)), 10 * kMin), "{job=\"a\"} 0.1666666667");
}

TEST_F(EvalTest, RateCounterResetAndZeroClamp) {
  load(store, L({{"__name__", "r"}}), "0 10 20 5 15");  // reset at 3m
  EXPECT_DOUBLE_EQ(value(call("increase", range(sel("r"), 4 * kMin)), 4 * kMin), 35);
  EXPECT_DOUBLE_EQ(value(call("rate", range(sel("r"), 4 * kMin)), 4 * kMin), 35.0 / 240);
  // 50 60 70 at 2m..4m: zero point 300 s before the first sample, farther than the start
  // (180 s) which is beyond 1.1 * avg: extend by avg/2 = 30 s -> 20 * 150 / 120.
  load(store, L({{"__name__", "late"}}), "_x2 50 60 70");
  EXPECT_DOUBLE_EQ(value(call("increase", range(sel("late"), 5 * kMin)), 4 * kMin), 25);
  // 1 11 21: the zero point is 6 s before the first sample: extend by 6 s only.
  load(store, L({{"__name__", "late2"}}), "_x2 1 11 21");
  EXPECT_DOUBLE_EQ(value(call("increase", range(sel("late2"), 5 * kMin)), 4 * kMin),
                   20 * 126.0 / 120);
  // delta: a gauge, no reset correction, no zero clamp.
  load(store, L({{"__name__", "g"}}), "10 5 8");
  EXPECT_DOUBLE_EQ(value(call("delta", range(sel("g"), 2 * kMin)), 2 * kMin), -2);
  // End of range far from the last sample: extend by avg/2 at the end too.
  // g at 4m over [0, 4m]: samples 0..2m, 120 s to the end: (8-10) * (120+0+30)/120.
  EXPECT_DOUBLE_EQ(value(call("delta", range(sel("g"), 4 * kMin)), 4 * kMin), -2 * 150.0 / 120);
}

TEST_F(EvalTest, IrateIdeltaDerivPredictLinear) {
  load(store, L({{"__name__", "r"}}), "0 10 20 5");
  EXPECT_DOUBLE_EQ(value(call("irate", range(sel("r"), 5 * kMin)), 3 * kMin), 5.0 / 60);
  EXPECT_DOUBLE_EQ(value(call("idelta", range(sel("r"), 5 * kMin)), 3 * kMin), -15);
  EXPECT_DOUBLE_EQ(value(call("irate", range(sel("r"), 5 * kMin)), 2 * kMin), 10.0 / 60);
  load(store, L({{"__name__", "lin"}}), "0+10x10");
  EXPECT_NEAR(value(call("deriv", range(sel("lin"), 5 * kMin)), 10 * kMin), 10.0 / 60, 1e-12);
  EXPECT_NEAR(value(call("predict_linear", range(sel("lin"), 5 * kMin), num(60)), 10 * kMin), 110,
              1e-9);
  load(store, L({{"__name__", "flat"}}), "3 3 3");
  EXPECT_EQ(value(call("deriv", range(sel("flat"), 5 * kMin)), 2 * kMin), 0);
  EXPECT_EQ(value(call("predict_linear", range(sel("flat"), 5 * kMin), num(600)), 2 * kMin), 3);
}

TEST_F(EvalTest, OverTimeFunctions) {
  load(store, L({{"__name__", "v"}, {"a", "1"}}), "1 2 3 4");
  auto v = [] { return range(sel("v"), 3 * kMin); };
  int64_t t = 3 * kMin;
  EXPECT_DOUBLE_EQ(value(call("avg_over_time", v()), t), 2.5);
  EXPECT_DOUBLE_EQ(value(call("min_over_time", v()), t), 1);
  EXPECT_DOUBLE_EQ(value(call("max_over_time", v()), t), 4);
  EXPECT_DOUBLE_EQ(value(call("sum_over_time", v()), t), 10);
  EXPECT_DOUBLE_EQ(value(call("count_over_time", v()), t), 4);
  EXPECT_DOUBLE_EQ(value(call("last_over_time", v()), t), 4);
  EXPECT_DOUBLE_EQ(value(call("present_over_time", v()), t), 1);
  EXPECT_DOUBLE_EQ(value(call("stdvar_over_time", v()), t), 1.25);
  EXPECT_DOUBLE_EQ(value(call("stddev_over_time", v()), t), std::sqrt(1.25));
  EXPECT_DOUBLE_EQ(value(call("quantile_over_time", num(0.5), v()), t), 2.5);
  EXPECT_DOUBLE_EQ(value(call("quantile_over_time", num(0.25), v()), t), 1.75);
  EXPECT_EQ(value(call("quantile_over_time", num(2), v()), t),
            std::numeric_limits<double>::infinity());
  // last_over_time keeps the metric name; the others drop it.
  EXPECT_EQ(at(call("last_over_time", v()), t), "{__name__=\"v\", a=\"1\"} 4");
  EXPECT_EQ(at(call("max_over_time", v()), t), "{a=\"1\"} 4");
  load(store, L({{"__name__", "ch"}}), "1 1 2 2 3 1 2 0");
  EXPECT_EQ(value(call("changes", range(sel("ch"), 4 * kMin)), 4 * kMin), 2);
  EXPECT_EQ(value(call("resets", range(sel("ch"), 7 * kMin)), 7 * kMin), 2);
  EXPECT_EQ(
      at(call("absent_over_time", range(sel("nope", {{"job", "=", "x"}, {"i", "=~", "y"}}), kMin)),
         t),
      "{job=\"x\"} 1");
  EXPECT_EQ(at(call("absent_over_time", v()), t), "");
  EXPECT_EQ(at(call("absent_over_time", v()), 10 * kMin), "{} 1");
}

TEST_F(EvalTest, HoltWinters) {
  load(store, L({{"__name__", "h"}}), "1 2 4");
  EXPECT_DOUBLE_EQ(
      value(call("holt_winters", range(sel("h"), 5 * kMin), num(0.5), num(0.5)), 2 * kMin), 3.5);
  EXPECT_EQ(at(call("holt_winters", range(sel("h"), 5 * kMin), num(1), num(0.5)), 2 * kMin),
            "error: invalid smoothing factor. Expected: 0 < sf < 1, got: 1.000000");
}

// ---- instant-vector functions ----

TEST_F(EvalTest, MathFunctions) {
  load(store, L({{"__name__", "m"}, {"k", "a"}}), "-2.5");
  load(store, L({{"__name__", "p"}}), "8");
  EXPECT_EQ(at(call("abs", sel("m")), 0), "{k=\"a\"} 2.5");
  EXPECT_EQ(value(call("ceil", sel("m")), 0), -2);
  EXPECT_EQ(value(call("floor", sel("m")), 0), -3);
  EXPECT_EQ(value(call("round", sel("m")), 0), -2);  // floor(x + 0.5)
  EXPECT_EQ(value(call("round", sel("p"), num(5)), 0), 10);
  EXPECT_EQ(value(call("sgn", sel("m")), 0), -1);
  EXPECT_EQ(value(call("log2", sel("p")), 0), 3);
  EXPECT_DOUBLE_EQ(value(call("ln", sel("p")), 0), std::log(8));
  EXPECT_DOUBLE_EQ(value(call("sqrt", sel("p")), 0), std::sqrt(8));
  EXPECT_DOUBLE_EQ(value(call("exp", sel("p")), 0), std::exp(8));
  EXPECT_DOUBLE_EQ(value(call("deg", call("rad", sel("p"))), 0), 8);
  EXPECT_DOUBLE_EQ(value(call("cos", sel("p")), 0), std::cos(8));
  EXPECT_DOUBLE_EQ(value(call("pi"), 0), M_PI);
  EXPECT_EQ(value(call("clamp", sel("p"), num(0), num(5)), 0), 5);
  EXPECT_EQ(value(call("clamp_min", sel("p"), num(9)), 0), 9);
  EXPECT_EQ(value(call("clamp_max", sel("p"), num(3)), 0), 3);
  EXPECT_EQ(at(call("clamp", sel("p"), num(5), num(0)), 0), "");  // max < min
  EXPECT_EQ(value(call("scalar", sel("p")), 0), 8);
  EXPECT_TRUE(std::isnan(value(call("scalar", sel("nope")), 0)));
  EXPECT_EQ(at(call("vector", num(3)), 0), "{} 3");
  EXPECT_EQ(value(call("time"), 90'000), 90);
}

TEST_F(EvalTest, SortKeepsNamesNaNLast) {
  load(store, L({{"__name__", "s"}, {"i", "1"}}), "3");
  load(store, L({{"__name__", "s"}, {"i", "2"}}), "NaN");
  load(store, L({{"__name__", "s"}, {"i", "3"}}), "1");
  load(store, L({{"__name__", "s"}, {"i", "4"}}), "2");
  auto order = [&](const char* f) {
    EvalResult r = evaluate(*call(f, sel("s")), store, 0);
    std::string out;
    for (const auto& x : r.vector) out += std::string(label_value(x.labels, "i"));
    EXPECT_EQ(label_value(r.vector[0].labels, "__name__"), "s");
    return out;
  };
  EXPECT_EQ(order("sort"), "3412");
  EXPECT_EQ(order("sort_desc"), "1432");
}

TEST_F(EvalTest, TimestampAndDates) {
  load(store, L({{"__name__", "x"}}), "1 2");
  EXPECT_EQ(at(call("timestamp", sel("x")), 3 * kMin), "{} 60");              // the sample's time
  EXPECT_EQ(value(call("timestamp", call("abs", sel("x"))), 3 * kMin), 180);  // eval time
  int64_t t = 1709214300'000;  // 2024-02-29T13:45:00Z, a Thursday
  auto d = [&](const char* f) { return value(call(f, call("vector", call("time"))), 0 + t); };
  EXPECT_EQ(d("year"), 2024);
  EXPECT_EQ(d("month"), 2);
  EXPECT_EQ(d("day_of_month"), 29);
  EXPECT_EQ(d("day_of_week"), 4);
  EXPECT_EQ(d("day_of_year"), 60);
  EXPECT_EQ(d("days_in_month"), 29);
  EXPECT_EQ(d("hour"), 13);
  EXPECT_EQ(d("minute"), 45);
  EXPECT_EQ(value(call("hour"), t), 13);  // no argument: vector(time())
  EXPECT_EQ(value(call("year", call("vector", num(-60))), 0), 1969);
  EXPECT_EQ(value(call("minute", call("vector", num(-60))), 0), 59);
}

TEST_F(EvalTest, LabelReplaceAndJoin) {
  load(store, L({{"__name__", "up"}, {"job", "api-server"}, {"i", "h:9"}}), "1");
  auto lr = [](const char* dst, const char* repl, const char* src, const char* re) {
    return call("label_replace", sel("up"), str(dst), str(repl), str(src), str(re));
  };
  EXPECT_EQ(at(lr("svc", "$1", "job", "(.*)-server"), 0),
            "{__name__=\"up\", i=\"h:9\", job=\"api-server\", svc=\"api\"} 1");
  // Anchored: "server" alone does not match "api-server"; no match leaves the labels.
  EXPECT_EQ(at(lr("svc", "$1", "job", "server"), 0),
            "{__name__=\"up\", i=\"h:9\", job=\"api-server\"} 1");
  // $1x is the group named "1x" (empty); ${1}x is group 1 then x; $$ is a dollar.
  EXPECT_EQ(at(lr("svc", "$1x|${1}x|$$", "job", "(.*)-server"), 0),
            "{__name__=\"up\", i=\"h:9\", job=\"api-server\", svc=\"|apix|$\"} 1");
  EXPECT_EQ(at(lr("host", "$h", "i", "(?P<h>[^:]+):.*"), 0),
            "{__name__=\"up\", host=\"h\", i=\"h:9\", job=\"api-server\"} 1");
  // An empty result removes the label.
  EXPECT_EQ(at(lr("job", "", "job", ".*"), 0), "{__name__=\"up\", i=\"h:9\"} 1");
  EXPECT_EQ(at(lr("svc", "$1", "job", "(.*"), 0),
            "error: invalid regular expression in label_replace(): (.*");
  EXPECT_EQ(at(lr("1svc", "$1", "job", "(.*)"), 0),
            "error: invalid destination label name in label_replace(): 1svc");
  EXPECT_EQ(at(call("label_join", sel("up"), str("both"), str(","), str("job"), str("i")), 0),
            "{__name__=\"up\", both=\"api-server,h:9\", i=\"h:9\", job=\"api-server\"} 1");
  // Two series made equal by label_replace: duplicate label sets are an error.
  load(store, L({{"__name__", "up"}, {"job", "other"}, {"i", "h:9"}}), "1");
  EXPECT_EQ(at(lr("job", "x", "job", ".*"), 0),
            "error: vector cannot contain metrics with the same labelset");
}

TEST_F(EvalTest, HistogramQuantile) {
  auto b = [&](const char* le, const char* v) {
    load(store, L({{"__name__", "h_bucket"}, {"le", le}, {"job", "a"}}), v);
  };
  b("0.1", "10");
  b("0.5", "20");
  b("1", "30");
  b("+Inf", "40");
  auto hq = [](double q) { return call("histogram_quantile", num(q), sel("h_bucket")); };
  EXPECT_EQ(at(hq(0.5), 0), "{job=\"a\"} 0.5");
  EXPECT_DOUBLE_EQ(value(hq(0.25), 0), 0.1);
  EXPECT_DOUBLE_EQ(value(hq(0.6), 0), 0.7);
  EXPECT_DOUBLE_EQ(value(hq(0.9), 0), 1);  // in the +Inf bucket: the last finite bound
  EXPECT_EQ(value(hq(-1), 0), -std::numeric_limits<double>::infinity());
  EXPECT_EQ(value(hq(1.5), 0), std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::isnan(value(hq(kNaN), 0)));
  // Without a +Inf bucket: NaN. Malformed le: the bucket is skipped.
  auto c = [&](const char* le, const char* v) {
    load(store, L({{"__name__", "n_bucket"}, {"le", le}}), v);
  };
  c("0.1", "1");
  c("1", "2");
  c("abc", "5");
  EXPECT_TRUE(std::isnan(value(call("histogram_quantile", num(0.5), sel("n_bucket")), 0)));
  // Non-monotonic counts are forced monotonic: 10, 8 -> 10, 10.
  auto m = [&](const char* le, const char* v) {
    load(store, L({{"__name__", "m_bucket"}, {"le", le}}), v);
  };
  m("0.1", "10");
  m("0.5", "8");
  m("+Inf", "20");
  EXPECT_DOUBLE_EQ(value(call("histogram_quantile", num(0.5), sel("m_bucket")), 0), 0.1);
  EXPECT_DOUBLE_EQ(value(call("histogram_quantile", num(0.75), sel("m_bucket")), 0), 0.5);
  // Zero observations: NaN; first bucket with a non-positive bound returns it.
  auto z = [&](const char* le, const char* v) {
    load(store, L({{"__name__", "z_bucket"}, {"le", le}}), v);
  };
  z("-1", "0");
  z("+Inf", "0");
  EXPECT_TRUE(std::isnan(value(call("histogram_quantile", num(0.5), sel("z_bucket")), 0)));
}

TEST_F(EvalTest, Absent) {
  load(store, L({{"__name__", "up"}}), "1");
  EXPECT_EQ(at(call("absent", sel("up")), 0), "");
  EXPECT_EQ(at(call("absent", sel("nope", {{"job", "=", "api"}, {"i", "=~", "x"}})), 0),
            "{job=\"api\"} 1");
  // A label matched twice is left out; a non-selector argument gives no labels.
  EXPECT_EQ(at(call("absent", sel("nope", {{"job", "=", "a"}, {"job", "=", "b"}})), 0), "{} 1");
  EXPECT_EQ(at(call("absent", call("abs", sel("nope", {{"job", "=", "a"}}))), 0), "{} 1");
}

// ---- aggregations ----

class AggTest : public EvalTest {
 protected:
  void SetUp() override {
    load(store, L({{"__name__", "x"}, {"job", "a"}, {"i", "1"}}), "1");
    load(store, L({{"__name__", "x"}, {"job", "a"}, {"i", "2"}}), "3");
    load(store, L({{"__name__", "x"}, {"job", "b"}, {"i", "1"}}), "3");
    load(store, L({{"__name__", "x"}, {"job", "b"}, {"i", "2"}}), "3");
    load(store, L({{"__name__", "x"}, {"job", "b"}, {"i", "3"}}), "8");
  }
};

TEST_F(AggTest, Basic) {
  EXPECT_EQ(at(agg(AggregateOp::kSum, sel("x")), 0), "{} 18");
  EXPECT_EQ(at(agg(AggregateOp::kSum, sel("x"), {"job"}), 0), "{job=\"a\"} 4; {job=\"b\"} 14");
  EXPECT_EQ(at(agg(AggregateOp::kSum, sel("x"), {"i"}, true), 0), "{job=\"a\"} 4; {job=\"b\"} 14");
  EXPECT_EQ(at(agg(AggregateOp::kSum, sel("x"), {"__name__"}), 0), "{__name__=\"x\"} 18");
  EXPECT_EQ(at(agg(AggregateOp::kAvg, sel("x"), {"job"}), 0),
            "{job=\"a\"} 2; {job=\"b\"} 4.666666667");
  EXPECT_EQ(at(agg(AggregateOp::kCount, sel("x"), {"job"}), 0), "{job=\"a\"} 2; {job=\"b\"} 3");
  EXPECT_EQ(at(agg(AggregateOp::kMin, sel("x"), {"job"}), 0), "{job=\"a\"} 1; {job=\"b\"} 3");
  EXPECT_EQ(at(agg(AggregateOp::kMax, sel("x"), {"job"}), 0), "{job=\"a\"} 3; {job=\"b\"} 8");
  EXPECT_EQ(at(agg(AggregateOp::kGroup, sel("x"), {"job"}), 0), "{job=\"a\"} 1; {job=\"b\"} 1");
  // job b: 3 3 8, mean 14/3, variance ((4/3)^2 * 2 + (10/3)^2) / 3 = 50/9.
  EXPECT_EQ(at(agg(AggregateOp::kStdvar, sel("x"), {"job"}), 0),
            "{job=\"a\"} 1; {job=\"b\"} 5.555555556");
  EXPECT_EQ(at(agg(AggregateOp::kStddev, sel("x"), {"job"}), 0),
            "{job=\"a\"} 1; {job=\"b\"} 2.357022604");
  EXPECT_EQ(at(agg(AggregateOp::kQuantile, sel("x"), {}, false, num(0.5)), 0), "{} 3");
  EXPECT_EQ(at(agg(AggregateOp::kQuantile, sel("x"), {}, false, num(0.9)), 0), "{} 6");
  EXPECT_EQ(at(agg(AggregateOp::kCountValues, sel("x"), {"job"}, false, str("val")), 0),
            "{job=\"a\", val=\"1\"} 1; {job=\"a\", val=\"3\"} 1; {job=\"b\", val=\"3\"} 2; "
            "{job=\"b\", val=\"8\"} 1");
  EXPECT_EQ(at(agg(AggregateOp::kCountValues, sel("x"), {}, false, str("1bad")), 0),
            "error: invalid label name \"1bad\"");
  EXPECT_EQ(at(agg(AggregateOp::kSum, sel("nope")), 0), "");
}

TEST_F(AggTest, TopkBottomk) {
  // Ties: the first series seen stay (a/2, b/1 with 3 are seen before b/2).
  EXPECT_EQ(at(agg(AggregateOp::kTopk, sel("x"), {}, false, num(3)), 0),
            "{__name__=\"x\", i=\"1\", job=\"b\"} 3; {__name__=\"x\", i=\"2\", job=\"a\"} 3; "
            "{__name__=\"x\", i=\"3\", job=\"b\"} 8");
  EXPECT_EQ(at(agg(AggregateOp::kTopk, sel("x"), {"job"}, false, num(1)), 0),
            "{__name__=\"x\", i=\"2\", job=\"a\"} 3; {__name__=\"x\", i=\"3\", job=\"b\"} 8");
  EXPECT_EQ(at(agg(AggregateOp::kBottomk, sel("x"), {}, false, num(2)), 0),
            "{__name__=\"x\", i=\"1\", job=\"a\"} 1; {__name__=\"x\", i=\"2\", job=\"a\"} 3");
  EXPECT_EQ(at(agg(AggregateOp::kTopk, sel("x"), {}, false, num(0)), 0), "");
  EvalResult r = evaluate(*agg(AggregateOp::kTopk, sel("x"), {}, false, num(2)), store, 0);
  ASSERT_EQ(r.vector.size(), 2u);
  EXPECT_EQ(r.vector[0].v, 8);  // sorted by value, descending
}

// ---- binary operators ----

class BinTest : public EvalTest {
 protected:
  void SetUp() override {
    load(store, L({{"__name__", "a"}, {"job", "x"}, {"i", "1"}}), "10");
    load(store, L({{"__name__", "a"}, {"job", "x"}, {"i", "2"}}), "20");
    load(store, L({{"__name__", "a"}, {"job", "y"}, {"i", "1"}}), "30");
    load(store, L({{"__name__", "b"}, {"job", "x"}, {"i", "1"}}), "2");
    load(store, L({{"__name__", "b"}, {"job", "y"}, {"i", "1"}}), "3");
    load(store, L({{"__name__", "info"}, {"job", "x"}, {"team", "t1"}}), "1");
    load(store, L({{"__name__", "info"}, {"job", "y"}, {"team", "t2"}}), "1");
  }
};

TEST_F(BinTest, ScalarAndVector) {
  EXPECT_EQ(value(bin(BinaryOp::kAdd, num(1), num(2)), 0), 3);
  EXPECT_EQ(value(bin(BinaryOp::kMod, num(7), num(4)), 0), 3);
  EXPECT_EQ(value(bin(BinaryOp::kMod, num(-7), num(4)), 0), -3);  // fmod
  EXPECT_EQ(value(bin(BinaryOp::kPow, num(2), num(10)), 0), 1024);
  EXPECT_EQ(value(bin(BinaryOp::kGt, num(2), num(1), {}, true), 0), 1);
  EXPECT_EQ(at(bin(BinaryOp::kMul, sel("b"), num(2)), 0),
            "{i=\"1\", job=\"x\"} 4; {i=\"1\", job=\"y\"} 6");
  EXPECT_EQ(at(bin(BinaryOp::kSub, num(10), sel("b")), 0),
            "{i=\"1\", job=\"x\"} 8; {i=\"1\", job=\"y\"} 7");
  // Filtering comparisons keep the vector's value and name, from either side.
  EXPECT_EQ(at(bin(BinaryOp::kGt, sel("b"), num(2)), 0), "{__name__=\"b\", i=\"1\", job=\"y\"} 3");
  EXPECT_EQ(at(bin(BinaryOp::kLt, num(2), sel("b")), 0), "{__name__=\"b\", i=\"1\", job=\"y\"} 3");
  EXPECT_EQ(at(bin(BinaryOp::kGt, sel("b"), num(2), {}, true), 0),
            "{i=\"1\", job=\"x\"} 0; {i=\"1\", job=\"y\"} 1");
  EXPECT_EQ(at(neg(sel("b")), 0), "{i=\"1\", job=\"x\"} -2; {i=\"1\", job=\"y\"} -3");
  EXPECT_EQ(value(neg(num(2)), 0), -2);
  // atan2 keeps the metric name in 2.42.
  EXPECT_EQ(at(bin(BinaryOp::kAtan2, sel("b", {{"job", "=", "x"}}), num(0)), 0),
            "{__name__=\"b\", i=\"1\", job=\"x\"} 1.570796327");
}

TEST_F(BinTest, VectorMatching) {
  // One-to-one on all labels but the name.
  EXPECT_EQ(at(bin(BinaryOp::kDiv, sel("a"), sel("b")), 0),
            "{i=\"1\", job=\"x\"} 5; {i=\"1\", job=\"y\"} 10");
  EXPECT_EQ(at(bin(BinaryOp::kDiv, sel("a", {{"i", "=", "1"}}), sel("b"), on({"job"})), 0),
            "{job=\"x\"} 5; {job=\"y\"} 10");
  EXPECT_EQ(at(bin(BinaryOp::kGe, sel("a"), sel("b"), {}, true), 0),
            "{i=\"1\", job=\"x\"} 1; {i=\"1\", job=\"y\"} 1");
  EXPECT_EQ(at(bin(BinaryOp::kGt, sel("a"), paren(bin(BinaryOp::kMul, sel("b"), num(7)))), 0),
            "{__name__=\"a\", i=\"1\", job=\"y\"} 30");
  // Many-to-one with group_left and included labels from the one side.
  EXPECT_EQ(
      at(bin(BinaryOp::kMul, sel("a"), sel("info"), on({"job"}, Cardinality::kManyToOne, {"team"})),
         0),
      "{i=\"1\", job=\"x\", team=\"t1\"} 10; {i=\"1\", job=\"y\", team=\"t2\"} 30; "
      "{i=\"2\", job=\"x\", team=\"t1\"} 20");
  EXPECT_EQ(
      at(bin(BinaryOp::kMul, sel("info"), sel("a"), on({"job"}, Cardinality::kOneToMany, {"team"})),
         0),
      "{i=\"1\", job=\"x\", team=\"t1\"} 10; {i=\"1\", job=\"y\", team=\"t2\"} 30; "
      "{i=\"2\", job=\"x\", team=\"t1\"} 20");
  // Errors.
  EXPECT_EQ(at(bin(BinaryOp::kMul, sel("a"), sel("info"), on({"job"})), 0),
            "error: multiple matches for labels: many-to-one matching must be explicit "
            "(group_left/group_right)");
  EXPECT_EQ(at(bin(BinaryOp::kMul, sel("info"), sel("a"), on({"job"}, Cardinality::kManyToOne)), 0),
            "error: found duplicate series for the match group {job=\"x\"} on the right "
            "hand-side of the operation: [{__name__=\"a\", i=\"2\", job=\"x\"}, {__name__=\"a\", "
            "i=\"1\", job=\"x\"}];many-to-many matching not allowed: matching labels must be "
            "unique on one side");
  EXPECT_EQ(at(bin(BinaryOp::kMul, sel("a"), sel("info"),
                   ignoring({"i", "team"}, Cardinality::kManyToOne)),
               0),
            "{i=\"1\", job=\"x\"} 10; {i=\"1\", job=\"y\"} 30; {i=\"2\", job=\"x\"} 20");
}

TEST_F(BinTest, SetOperators) {
  EXPECT_EQ(at(bin(BinaryOp::kAnd, sel("a"), sel("b")), 0),
            "{__name__=\"a\", i=\"1\", job=\"x\"} 10; {__name__=\"a\", i=\"1\", job=\"y\"} 30");
  EXPECT_EQ(at(bin(BinaryOp::kUnless, sel("a"), sel("b")), 0),
            "{__name__=\"a\", i=\"2\", job=\"x\"} 20");
  EXPECT_EQ(at(bin(BinaryOp::kOr, sel("b"), sel("a")), 0),
            "{__name__=\"a\", i=\"2\", job=\"x\"} 20; {__name__=\"b\", i=\"1\", job=\"x\"} 2; "
            "{__name__=\"b\", i=\"1\", job=\"y\"} 3");
  EXPECT_EQ(at(bin(BinaryOp::kAnd, sel("a"), sel("info"), on({"job"})), 0),
            "{__name__=\"a\", i=\"1\", job=\"x\"} 10; {__name__=\"a\", i=\"1\", job=\"y\"} 30; "
            "{__name__=\"a\", i=\"2\", job=\"x\"} 20");
  // Dropping the name makes a and b collide.
  EXPECT_EQ(
      at(neg(bin(BinaryOp::kOr, sel("a", {{"i", "=", "1"}}), sel("b", {{"i", "=", "7"}}))), 0),
      "{i=\"1\", job=\"x\"} -10; {i=\"1\", job=\"y\"} -30");
  EXPECT_EQ(at(neg(sel("", {{"__name__", "=~", "a|b"}, {"i", "=", "1"}})), 0),
            "error: vector cannot contain metrics with the same labelset");
  EXPECT_EQ(at(call("rate", range(sel("", {{"__name__", "=~", "a|b"}}), kMin)), 0), "");
}

// ---- differential check against the real Prometheus 2.42 ----
//
// Loads the same input series into MemoryStorage and into `promtool test rules` (which fills a
// real TSDB), writes our results as the expected samples and lets promtool compare them exactly.

std::string yaml_value(double v) {
  if (std::isinf(v)) return v > 0 ? ".inf" : "-.inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string yaml_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

// Loads series (promtool's notation) into a MemoryStorage and into a promtool rule-test file,
// evaluates each case at each time, writes our results as the expected samples (or, for a case
// that fails, no samples: promtool then prints its own error) and runs `promtool test rules`.
class Differential {
 public:
  explicit Differential(std::vector<std::pair<std::string, std::string>> input)
      : input_(std::move(input)) {
    for (const auto& [series, values] : input_) {
      Labels labels;  // series: name{a="b", c="d"}
      size_t brace = series.find('{');
      labels.emplace_back("__name__", series.substr(0, brace));
      std::string rest = series.substr(brace + 1, series.size() - brace - 2);
      std::istringstream in(rest);
      std::string pair;
      while (std::getline(in, pair, ',')) {
        size_t b = pair.find_first_not_of(' ');
        size_t eq = pair.find('=');
        labels.emplace_back(pair.substr(b, eq - b), pair.substr(eq + 2, pair.size() - eq - 3));
      }
      sort_labels(labels);
      load(store_, labels, values);
    }
  }

  void add(std::string q, ExprPtr e) { cases_.emplace_back(std::move(q), std::move(e)); }
  // Transcendental functions: Go's math package and glibc may differ in the last bit (e.g.
  // cos(1/3)); compare them rounded to 10 decimals.
  void approx(const std::string& q, ExprPtr e) {
    add("round((" + q + ") * 1e10)",
        call("round", bin(BinaryOp::kMul, paren(std::move(e)), num(1e10))));
  }

  // Runs promtool; every value must agree and every error of ours must be promtool's error.
  void run(const std::vector<int64_t>& times, const std::string& name) {
    std::string yaml = "tests:\n  - interval: 1m\n    input_series:\n";
    for (const auto& [series, values] : input_) {
      yaml += "      - series: " + yaml_quote(series) + "\n        values: " + yaml_quote(values) +
              "\n";
    }
    yaml += "    promql_expr_test:\n";
    std::vector<std::string> errors;
    size_t compared = 0;
    for (const auto& [q, e] : cases_) {
      // The parser's tree of the query evaluates like the tree built by hand.
      auto parsed = parse(q);
      EXPECT_TRUE(parsed.has_value()) << q << ": " << parsed.error;
      for (int64_t t : times) {
        EvalResult r = evaluate(*e, store_, t);
        if (parsed) {
          EXPECT_EQ(text(evaluate(**parsed, store_, t)), text(r)) << q << " at " << t;
        }
        Vector v = r.vector;
        if (r.type == ValueType::kScalar) v = {VectorSample{{}, r.scalar}};
        bool has_nan = false;
        for (const auto& s : v) has_nan = has_nan || std::isnan(s.v);
        if (r.ok() && has_nan) continue;  // NaN never compares equal in promtool
        yaml += "      - expr: " + yaml_quote(q) +
                "\n        eval_time: " + std::to_string(t / 1000) + "s\n";
        ++compared;
        if (!r.ok()) {
          // The series named in a duplicate-series error come in promtool's (random) load order.
          errors.push_back("err: " + r.error.substr(0, r.error.find(": [")));
          continue;
        }
        if (v.empty()) continue;
        yaml += "        exp_samples:\n";
        for (const auto& s : v) {
          yaml += "          - labels: " + yaml_quote(labels_text(s.labels)) +
                  "\n            value: " + yaml_value(s.v) + "\n";
        }
      }
    }
    std::string dir = ::testing::TempDir();
    std::string path = dir + "/" + name + ".yml";
    {
      std::ofstream f(path);
      f << yaml;
    }
    std::string out_path = dir + "/" + name + ".out";
    int rc = std::system(("promtool test rules " + path + " > " + out_path + " 2>&1").c_str());
    std::ifstream f(out_path);
    std::stringstream buf;
    buf << f.rdbuf();
    std::string out = buf.str();
    EXPECT_GT(compared, 0u);
    if (errors.empty()) {
      EXPECT_EQ(rc, 0) << out << "\n(test file: " << path << ")";
      return;
    }
    // Failures are only the expected errors: no value mismatch ("got:"), each error printed.
    EXPECT_EQ(out.find("\n        got: "), std::string::npos)
        << out << "\n(test file: " << path << ")";
    size_t printed = 0;
    for (size_t pos = 0; (pos = out.find("err: ", pos)) != std::string::npos; ++pos) ++printed;
    EXPECT_EQ(printed, errors.size()) << out;
    std::string missing;
    for (const std::string& e : errors) {
      if (out.find(e) == std::string::npos) missing += e + "\n";
    }
    EXPECT_EQ(missing, "") << "promtool printed:\n" << out;
  }

 private:
  std::vector<std::pair<std::string, std::string>> input_;
  MemoryStorage store_;
  std::vector<std::pair<std::string, ExprPtr>> cases_;
};

TEST(PromtoolDifferentialTest, AgreesWithPrometheus) {
  if (std::system("promtool --version >/dev/null 2>&1") != 0) GTEST_SKIP() << "no promtool";
  Differential d({
      {"c{job=\"a\"}", "0+10x10 5+10x5"},
      {"c{job=\"b\"}", "_x3 100+7x10"},
      {"g{job=\"a\"}", "1 2 stale 3 -4 8 8 8 2.5 _ 7 7 1"},
      {"g{job=\"b\"}", "3 1 4 1 5 9 2 6 5 3 5 8 9 7"},
      {"h_bucket{job=\"a\", le=\"0.1\"}", "0+1x15"},
      {"h_bucket{job=\"a\", le=\"0.5\"}", "0+3x15"},
      {"h_bucket{job=\"a\", le=\"1\"}", "0+4x15"},
      {"h_bucket{job=\"a\", le=\"+Inf\"}", "0+5x15"},
      {"info{job=\"a\", team=\"t1\"}", "1x15"},
      {"info{job=\"b\", team=\"t2\"}", "1x15"},
  });
  auto c = [] { return sel("c"); };
  auto g = [] { return sel("g"); };
  auto cr = [](int64_t r) { return range(sel("c"), r); };
  auto gr = [](int64_t r) { return range(sel("g"), r); };
  auto add = [&](std::string q, ExprPtr e) { d.add(std::move(q), std::move(e)); };
  auto approx = [&](std::string q, ExprPtr e) { d.approx(std::move(q), std::move(e)); };
  add("c", c());
  add("g", g());
  add("g offset 2m", sel("g", {}, 2 * kMin));
  add("rate(c[5m])", call("rate", cr(5 * kMin)));
  add("rate(c[2m])", call("rate", cr(2 * kMin)));
  add("increase(c[5m])", call("increase", cr(5 * kMin)));
  add("increase(c[7m] offset 1m)", call("increase", range(sel("c", {}, kMin), 7 * kMin)));
  add("delta(g[5m])", call("delta", gr(5 * kMin)));
  add("irate(c[5m])", call("irate", cr(5 * kMin)));
  add("idelta(g[3m])", call("idelta", gr(3 * kMin)));
  add("deriv(g[5m])", call("deriv", gr(5 * kMin)));
  add("predict_linear(g[5m], 120)", call("predict_linear", gr(5 * kMin), num(120)));
  add("holt_winters(g[5m], 0.3, 0.6)", call("holt_winters", gr(5 * kMin), num(0.3), num(0.6)));
  add("changes(g[10m])", call("changes", gr(10 * kMin)));
  add("resets(c[15m])", call("resets", cr(15 * kMin)));
  add("resets(g[6m])", call("resets", gr(6 * kMin)));
  for (const char* f :
       {"avg_over_time", "min_over_time", "max_over_time", "sum_over_time", "count_over_time",
        "last_over_time", "present_over_time", "stddev_over_time", "stdvar_over_time"}) {
    add(std::string(f) + "(g[4m])", call(f, gr(4 * kMin)));
  }
  add("quantile_over_time(0.3, g[6m])", call("quantile_over_time", num(0.3), gr(6 * kMin)));
  add("absent_over_time(nope{job=\"x\"}[5m])",
      call("absent_over_time", range(sel("nope", {{"job", "=", "x"}}), 5 * kMin)));
  add("absent_over_time(g[1m])", call("absent_over_time", gr(kMin)));
  add("absent(nope{job=\"x\", a=~\"b\"})",
      call("absent", sel("nope", {{"job", "=", "x"}, {"a", "=~", "b"}})));
  add("absent(g)", call("absent", g()));
  for (const char* f : {"abs", "ceil", "floor", "round", "sgn", "deg", "rad"}) {
    add(std::string(f) + "(g / 3)", call(f, bin(BinaryOp::kDiv, g(), num(3))));
  }
  for (const char* f : {"exp", "sin", "cos", "tan", "atan", "sinh", "cosh", "tanh", "asinh"}) {
    approx(std::string(f) + "(g / 3)", call(f, bin(BinaryOp::kDiv, g(), num(3))));
  }
  add("sqrt(c + 1)", call("sqrt", bin(BinaryOp::kAdd, c(), num(1))));
  add("log2(c)", call("log2", c()));  // exact at 0 (-Inf) and where c is a power of two
  for (const char* f : {"ln", "log2", "log10", "acosh"}) {
    approx(std::string(f) + "(c + 1)", call(f, bin(BinaryOp::kAdd, c(), num(1))));
  }
  for (const char* f : {"asin", "acos", "atanh"}) {
    approx(std::string(f) + "(g / 10)", call(f, bin(BinaryOp::kDiv, g(), num(10))));
  }
  add("round(g / 3, 0.25)", call("round", bin(BinaryOp::kDiv, g(), num(3)), num(0.25)));
  add("clamp(g, 2, 5)", call("clamp", g(), num(2), num(5)));
  add("clamp_max(g, 4)", call("clamp_max", g(), num(4)));
  add("clamp_min(g, 4)", call("clamp_min", g(), num(4)));
  add("pi()", call("pi"));
  add("time()", call("time"));
  add("vector(time())", call("vector", call("time")));
  add("scalar(g{job=\"b\"})", call("scalar", sel("g", {{"job", "=", "b"}})));
  add("timestamp(g)", call("timestamp", g()));
  add("timestamp(abs(g))", call("timestamp", call("abs", g())));
  for (const char* f : {"minute", "hour", "day_of_month", "day_of_week", "day_of_year",
                        "days_in_month", "month", "year"}) {
    add(std::string(f) + "(c * 1234567)", call(f, bin(BinaryOp::kMul, c(), num(1234567))));
  }
  add("hour()", call("hour"));
  add("label_replace(g, \"x\", \"$1-${1}y$1y\", \"job\", \"(.*)\")",
      call("label_replace", g(), str("x"), str("$1-${1}y$1y"), str("job"), str("(.*)")));
  add("label_replace(g, \"job\", \"\", \"job\", \"a\")",
      call("label_replace", g(), str("job"), str(""), str("job"), str("a")));
  add("label_join(info, \"tj\", \"/\", \"team\", \"job\", \"none\")",
      call("label_join", sel("info"), str("tj"), str("/"), str("team"), str("job"), str("none")));
  add("histogram_quantile(0.5, rate(h_bucket[5m]))",
      call("histogram_quantile", num(0.5), call("rate", range(sel("h_bucket"), 5 * kMin))));
  add("histogram_quantile(0.9, h_bucket)", call("histogram_quantile", num(0.9), sel("h_bucket")));
  add("histogram_quantile(0.1, h_bucket)", call("histogram_quantile", num(0.1), sel("h_bucket")));
  add("histogram_quantile(0.99, sum by (le) (rate(h_bucket[5m])))",
      call("histogram_quantile", num(0.99),
           agg(AggregateOp::kSum, call("rate", range(sel("h_bucket"), 5 * kMin)), {"le"})));
  add("sum(g)", agg(AggregateOp::kSum, g()));
  add("sum by (job) (c)", agg(AggregateOp::kSum, c(), {"job"}));
  add("sum without (job) (g)", agg(AggregateOp::kSum, g(), {"job"}, true));
  add("avg(g)", agg(AggregateOp::kAvg, g()));
  add("count(g)", agg(AggregateOp::kCount, g()));
  add("min(g)", agg(AggregateOp::kMin, g()));
  add("max by (job) (g)", agg(AggregateOp::kMax, g(), {"job"}));
  add("group(g)", agg(AggregateOp::kGroup, g()));
  add("stddev(g)", agg(AggregateOp::kStddev, g()));
  add("stdvar(g)", agg(AggregateOp::kStdvar, g()));
  add("topk(1, g)", agg(AggregateOp::kTopk, g(), {}, false, num(1)));
  add("bottomk(1, g)", agg(AggregateOp::kBottomk, g(), {}, false, num(1)));
  add("topk(2, g or c)", agg(AggregateOp::kTopk, bin(BinaryOp::kOr, g(), c()), {}, false, num(2)));
  add("quantile(0.3, g)", agg(AggregateOp::kQuantile, g(), {}, false, num(0.3)));
  add("count_values(\"v\", g)", agg(AggregateOp::kCountValues, g(), {}, false, str("v")));
  add("count_values without (job) (\"v\", g / 3)",
      agg(AggregateOp::kCountValues, bin(BinaryOp::kDiv, g(), num(3)), {"job"}, true, str("v")));
  add("c + g", bin(BinaryOp::kAdd, c(), g()));
  add("c - on(job) g", bin(BinaryOp::kSub, c(), g(), on({"job"})));
  add("c * on(job) group_left(team) info",
      bin(BinaryOp::kMul, c(), sel("info"), on({"job"}, Cardinality::kManyToOne, {"team"})));
  add("info * on(job) group_right(team) c",
      bin(BinaryOp::kMul, sel("info"), c(), on({"job"}, Cardinality::kOneToMany, {"team"})));
  add("g > 2", bin(BinaryOp::kGt, g(), num(2)));
  add("g > bool 2", bin(BinaryOp::kGt, g(), num(2), {}, true));
  add("2 < g", bin(BinaryOp::kLt, num(2), g()));
  add("g == bool g", bin(BinaryOp::kEq, g(), g(), {}, true));
  add("g != 8", bin(BinaryOp::kNe, g(), num(8)));
  add("c >= g", bin(BinaryOp::kGe, c(), g()));
  add("c <= bool g", bin(BinaryOp::kLe, c(), g(), {}, true));
  add("c and g", bin(BinaryOp::kAnd, c(), g()));
  add("c or g", bin(BinaryOp::kOr, c(), g()));
  add("c unless g", bin(BinaryOp::kUnless, c(), g()));
  add("c unless on(job) g > 3",
      bin(BinaryOp::kUnless, c(), bin(BinaryOp::kGt, g(), num(3)), on({"job"})));
  add("g % 3", bin(BinaryOp::kMod, g(), num(3)));
  add("g ^ 2", bin(BinaryOp::kPow, g(), num(2)));
  approx("c atan2 g", bin(BinaryOp::kAtan2, c(), g()));
  add("-g", neg(g()));
  add("1 + 2 * 3", bin(BinaryOp::kAdd, num(1), bin(BinaryOp::kMul, num(2), num(3))));
  add("2 ^ 3 ^ 2", bin(BinaryOp::kPow, num(2), bin(BinaryOp::kPow, num(3), num(2))));
  add("5 % 3 > bool 1", bin(BinaryOp::kGt, bin(BinaryOp::kMod, num(5), num(3)), num(1), {}, true));

  add("timestamp(g offset 1m)", call("timestamp", sel("g", {}, kMin)));
  add("scalar(g{job=\"b\"}) * c",
      bin(BinaryOp::kMul, call("scalar", sel("g", {{"job", "=", "b"}})), c()));
  add("c / scalar(g)", bin(BinaryOp::kDiv, c(), call("scalar", g())));
  add("clamp(g, 2, scalar(g{job=\"b\"}))",
      call("clamp", g(), num(2), call("scalar", sel("g", {{"job", "=", "b"}}))));
  add("topk(scalar(g{job=\"b\"}), c or g)",
      agg(AggregateOp::kTopk, bin(BinaryOp::kOr, c(), g()), {}, false,
          call("scalar", sel("g", {{"job", "=", "b"}}))));
  add("quantile(-1, g)", agg(AggregateOp::kQuantile, g(), {}, false, num(-1)));
  add("quantile by (job) (2, g)", agg(AggregateOp::kQuantile, g(), {"job"}, false, num(2)));
  add("hour(g * -3600)", call("hour", bin(BinaryOp::kMul, g(), num(-3600))));
  add("days_in_month(g * 2600000)", call("days_in_month", bin(BinaryOp::kMul, g(), num(2600000))));
  add("day_of_year(c * 4000000)", call("day_of_year", bin(BinaryOp::kMul, c(), num(4000000))));
  add("vector(1) + on() group_left(team) info{job=\"a\"}",
      bin(BinaryOp::kAdd, call("vector", num(1)), sel("info", {{"job", "=", "a"}}),
          on({}, Cardinality::kManyToOne, {"team"})));
  add("g and on() vector(1)", bin(BinaryOp::kAnd, g(), call("vector", num(1)), on({})));
  add("sum without (job) (info)", agg(AggregateOp::kSum, sel("info"), {"job"}, true));
  add("count by (team, job) (info)", agg(AggregateOp::kCount, sel("info"), {"team", "job"}));
  add("round(g, 0.3)", call("round", g(), num(0.3)));
  add("sgn(-g)", call("sgn", neg(g())));
  d.run({0, 2 * kMin, 5 * kMin + 30'000, 10 * kMin, 13 * kMin}, "promql_eval_diff");
}

TEST(PromtoolDifferentialTest, EdgeCasesAndErrors) {
  if (std::system("promtool --version >/dev/null 2>&1") != 0) GTEST_SKIP() << "no promtool";
  Differential d({
      // No ties: promtool loads series in random order, so Prometheus' tie-breaking (the
      // first series seen stays) is only checked in the unit tests.
      {"t{i=\"1\"}", "5x12"},
      {"t{i=\"2\"}", "6x12"},
      {"t{i=\"3\"}", "4x12"},
      {"t{i=\"4\"}", "1x12"},
      {"t{i=\"5\"}", "NaN NaN NaN NaN NaN NaN NaN NaN NaN NaN NaN NaN"},
      {"iv{i=\"1\"}", "Inf -Inf 1 Inf Inf 2 3 -Inf"},
      {"r{job=\"a\"}", "0 5 3 10 2 2 8 _ _ 20 1 30"},
      {"hb_bucket{le=\"1\"}", "10x12"},
      {"hb_bucket{le=\"1.0\"}", "5x12"},
      {"hb_bucket{le=\"2\"}", "12x12"},
      {"hb_bucket{le=\"+inf\"}", "20x12"},
      {"hb_bucket{le=\"bad\"}", "3x12"},
      {"hn_bucket{le=\"0.5\"}", "4x12"},
      {"hn_bucket{le=\"1\"}", "2x12"},
      {"hn_bucket{le=\"Inf\"}", "10x12"},
      {"neg_bucket{le=\"-1\"}", "5x12"},
      {"neg_bucket{le=\"+Inf\"}", "10x12"},
      {"x{a=\"1\", b=\"1\"}", "1x12"},
      {"x{a=\"1\", b=\"2\"}", "2x12"},
      {"z{a=\"1\", b=\"1\"}", "3x12"},
      {"y{a=\"1\"}", "10x12"},
      {"y{a=\"2\"}", "20x12"},
      {"k{a=\"1\"}", "1e100 1 -1e100 3 1e-300 7 -2"},  // Kahan summation matters
  });
  auto t = [] { return sel("t"); };
  auto x = [] { return sel("x"); };
  auto y = [] { return sel("y"); };
  auto xz = [] { return sel("", {{"__name__", "=~", "x|z"}}); };
  d.add("topk(2, t)", agg(AggregateOp::kTopk, t(), {}, false, num(2)));
  d.add("topk(1, t)", agg(AggregateOp::kTopk, t(), {}, false, num(1)));
  d.add("topk(4, t)", agg(AggregateOp::kTopk, t(), {}, false, num(4)));
  d.add("bottomk(2, t)", agg(AggregateOp::kBottomk, t(), {}, false, num(2)));
  d.add("bottomk(3, t)", agg(AggregateOp::kBottomk, t(), {}, false, num(3)));
  d.add("topk by (i) (1, t)", agg(AggregateOp::kTopk, t(), {"i"}, false, num(1)));
  d.add("topk(2.9, t)", agg(AggregateOp::kTopk, t(), {}, false, num(2.9)));
  d.add("quantile(0.5, t)", agg(AggregateOp::kQuantile, t(), {}, false, num(0.5)));
  d.add("quantile(0.1, t)", agg(AggregateOp::kQuantile, t(), {}, false, num(0.1)));
  d.add("max(t)", agg(AggregateOp::kMax, t()));
  d.add("min(t)", agg(AggregateOp::kMin, t()));
  d.add("count_values(\"v\", t)", agg(AggregateOp::kCountValues, t(), {}, false, str("v")));
  d.add("avg(iv)", agg(AggregateOp::kAvg, sel("iv")));
  d.add("avg(iv or t)", agg(AggregateOp::kAvg, bin(BinaryOp::kOr, sel("iv"), t())));
  d.add("avg_over_time(iv[2m])", call("avg_over_time", range(sel("iv"), 2 * kMin)));
  d.add("sum_over_time(iv[1m])", call("sum_over_time", range(sel("iv"), kMin)));
  d.add("max_over_time(t[3m])", call("max_over_time", range(sel("t"), 3 * kMin)));
  d.add("rate(r[5m])", call("rate", range(sel("r"), 5 * kMin)));
  d.add("increase(r[10m])", call("increase", range(sel("r"), 10 * kMin)));
  d.add("increase(r[3m])", call("increase", range(sel("r"), 3 * kMin)));
  d.add("delta(r[4m])", call("delta", range(sel("r"), 4 * kMin)));
  d.add("resets(r[10m])", call("resets", range(sel("r"), 10 * kMin)));
  d.add("irate(r[5m])", call("irate", range(sel("r"), 5 * kMin)));
  d.add("rate(r[3m] offset 2m)", call("rate", range(sel("r", {}, 2 * kMin), 3 * kMin)));
  d.add("deriv(r[6m])", call("deriv", range(sel("r"), 6 * kMin)));
  d.add("r", sel("r"));
  d.add("timestamp(r)", call("timestamp", sel("r")));
  for (double q : {0.1, 0.5, 0.75, 0.95}) {
    char qs[16];
    std::snprintf(qs, sizeof qs, "%g", q);
    d.add(std::string("histogram_quantile(") + qs + ", hb_bucket)",
          call("histogram_quantile", num(q), sel("hb_bucket")));
    d.add(std::string("histogram_quantile(") + qs + ", hn_bucket)",
          call("histogram_quantile", num(q), sel("hn_bucket")));
  }
  d.add("histogram_quantile(0.2, neg_bucket)",
        call("histogram_quantile", num(0.2), sel("neg_bucket")));
  d.add("histogram_quantile(0.8, neg_bucket)",
        call("histogram_quantile", num(0.8), sel("neg_bucket")));
  d.add("x + on(a) group_left y",
        bin(BinaryOp::kAdd, x(), y(), on({"a"}, Cardinality::kManyToOne)));
  d.add("x - ignoring(b) group_left y",
        bin(BinaryOp::kSub, x(), y(), ignoring({"b"}, Cardinality::kManyToOne)));
  d.add("x > on(a) group_left y / 8", bin(BinaryOp::kGt, x(), bin(BinaryOp::kDiv, y(), num(8)),
                                          on({"a"}, Cardinality::kManyToOne)));
  d.add("x and on(a) y", bin(BinaryOp::kAnd, x(), y(), on({"a"})));
  d.add("y unless on(a) x", bin(BinaryOp::kUnless, y(), x(), on({"a"})));
  d.add("x or y", bin(BinaryOp::kOr, x(), y()));
  d.add("y > bool on(a) group_right x",
        bin(BinaryOp::kGt, y(), x(), on({"a"}, Cardinality::kOneToMany), true));
  // Errors: promtool must print the same message.
  d.add("x * on(a) y", bin(BinaryOp::kMul, x(), y(), on({"a"})));
  d.add("y * on(a) group_left x",
        bin(BinaryOp::kMul, y(), x(), on({"a"}, Cardinality::kManyToOne)));
  d.add("x * on(a) group_right y",
        bin(BinaryOp::kMul, x(), y(), on({"a"}, Cardinality::kOneToMany)));
  d.add("{__name__=~\"x|z\"} * on(a) group_left y",
        bin(BinaryOp::kMul, xz(), y(), on({"a"}, Cardinality::kManyToOne)));
  d.add("rate({__name__=~\"x|z\"}[5m])",
        call("rate", range(sel("", {{"__name__", "=~", "x|z"}}), 5 * kMin)));
  d.add("-{__name__=~\"x|z\"}", neg(xz()));
  d.add("{__name__=~\"x|z\"} > bool 1", bin(BinaryOp::kGt, xz(), num(1), {}, true));
  d.add("label_replace(t, \"i\", \"1\", \"i\", \".*\")",
        call("label_replace", t(), str("i"), str("1"), str("i"), str(".*")));
  d.add("holt_winters(t[5m], 1, 0.5)",
        call("holt_winters", range(sel("t"), 5 * kMin), num(1), num(0.5)));
  d.add("holt_winters(t[5m], 0.5, 0)",
        call("holt_winters", range(sel("t"), 5 * kMin), num(0.5), num(0)));
  d.add("count_values(\"1x\", t)", agg(AggregateOp::kCountValues, t(), {}, false, str("1x")));
  d.add("label_replace(t, \"1x\", \"a\", \"i\", \".*\")",
        call("label_replace", t(), str("1x"), str("a"), str("i"), str(".*")));
  d.add("label_replace(t, \"x\", \"a\", \"i\", \"(\")",
        call("label_replace", t(), str("x"), str("a"), str("i"), str("(")));
  d.add("label_join(t, \"d\", \",\", \"1x\")",
        call("label_join", t(), str("d"), str(","), str("1x")));
  d.add("label_join(t, \"1d\", \",\", \"i\")",
        call("label_join", t(), str("1d"), str(","), str("i")));
  for (const char* f :
       {"sum_over_time", "avg_over_time", "stdvar_over_time", "stddev_over_time", "deriv"}) {
    d.add(std::string(f) + "(k[3m])", call(f, range(sel("k"), 3 * kMin)));
  }
  d.add("predict_linear(k[4m], 60)", call("predict_linear", range(sel("k"), 4 * kMin), num(60)));
  d.add("topk(NaN, t)", agg(AggregateOp::kTopk, t(), {}, false, num(kNaN)));
  d.add("topk(1e300, t)", agg(AggregateOp::kTopk, t(), {}, false, num(1e300)));
  d.add("bottomk(-1e19, t)", agg(AggregateOp::kBottomk, t(), {}, false, num(-1e19)));
  d.add("bottomk(-2, t)", agg(AggregateOp::kBottomk, t(), {}, false, num(-2)));
  // Dates of NaN and huge values wrap around as in Go.
  d.add("year(vector(NaN))", call("year", call("vector", num(kNaN))));
  for (const char* f : {"year", "month", "day_of_month", "day_of_week", "day_of_year",
                        "days_in_month", "hour", "minute"}) {
    d.add(std::string(f) + "(vector(1e300))", call(f, call("vector", num(1e300))));
    d.add(std::string(f) + "(vector(-62135596801))", call(f, call("vector", num(-62135596801))));
    d.add(std::string(f) + "(vector(951782400))", call(f, call("vector", num(951782400))));
  }
  d.run({0, 3 * kMin, 5 * kMin, 8 * kMin, 9 * kMin, 11 * kMin}, "promql_eval_edges");
}

// Scale: 100 rules over 10,000 series with 15 min of 15 s samples. Prints the time taken (no
// timing assertion: machines differ); checks the results.
TEST(PerformanceTest, HundredRulesOverTenThousandSeries) {
  MemoryStorage store;
  constexpr int kSeries = 10'000;
  constexpr int64_t kStep = 15'000;
  constexpr int kSamples = 60;  // 15 min
  std::vector<Labels> labels;
  for (int i = 0; i < kSeries; ++i) {
    labels.push_back(L({{"__name__", "http_requests_total"},
                        {"job", "j" + std::to_string(i % 10)},
                        {"instance", "i" + std::to_string(i / 10)},
                        {"code", i % 3 == 0 ? "500" : "200"}}));
  }
  auto start = std::chrono::steady_clock::now();
  for (int k = 0; k < kSamples; ++k) {
    for (int i = 0; i < kSeries; ++i) store.append(labels[i], k * kStep, k * (i % 7 + 1));
  }
  auto loaded = std::chrono::steady_clock::now();
  std::vector<ExprPtr> rules;
  for (int r = 0; r < 100; ++r) {
    std::string job = "j" + std::to_string(r % 10);
    switch (r % 4) {
      case 0:
        rules.push_back(
            agg(AggregateOp::kSum,
                call("rate", range(sel("http_requests_total", {{"job", "=", job}}), 5 * kMin)),
                {"code"}));
        break;
      case 1:
        rules.push_back(
            bin(BinaryOp::kGt, sel("http_requests_total", {{"job", "=", job}}), num(100)));
        break;
      case 2:
        rules.push_back(bin(
            BinaryOp::kDiv,
            agg(AggregateOp::kSum,
                call("rate",
                     range(sel("http_requests_total", {{"job", "=", job}, {"code", "=~", "5.."}}),
                           5 * kMin)),
                {"job"}),
            agg(AggregateOp::kSum,
                call("rate", range(sel("http_requests_total", {{"job", "=", job}}), 5 * kMin)),
                {"job"})));
        break;
      default:
        rules.push_back(call(
            "histogram_quantile", num(0.9),
            agg(AggregateOp::kSum,
                call("increase", range(sel("http_requests_total", {{"job", "=", job}}), 10 * kMin)),
                {"code"})));
        break;
    }
  }
  int64_t t = (kSamples - 1) * kStep;
  size_t out = 0;
  for (const ExprPtr& r : rules) {
    EvalResult res = evaluate(*r, store, t);
    ASSERT_TRUE(res.ok()) << res.error;
    out += res.vector.size();
  }
  auto done = std::chrono::steady_clock::now();
  auto ms = [](auto d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); };
  std::printf("load %d samples: %lld ms; 100 rules: %lld ms; %zu output samples; %zu MB\n",
              kSeries * kSamples, static_cast<long long>(ms(loaded - start)),
              static_cast<long long>(ms(done - loaded)), out, store.memory_bytes() >> 20);
  // 25 sums by code (2 codes each) + 25 ratios + 25 filters + 25 histogram_quantile (no le
  // label: no output). The filter keeps series whose last value 59 * (i % 7 + 1) exceeds 100.
  size_t filtered = 0;
  for (int r = 1; r < 100; r += 4) {
    for (int i = r % 10; i < kSeries; i += 10) filtered += (i % 7 != 0) ? 1 : 0;
  }
  EXPECT_EQ(out, 50u + 25u + filtered);
}

// MemoryStorage keeps samples in chunks of 64 with 32-bit time offsets: windows, trims and gaps
// that cross chunk boundaries, and the bytes a sample costs.
TEST(MemoryStorageTest, ChunkBoundariesTrimAndLongGaps) {
  MemoryStorage store;
  const Labels a = L({{"__name__", "m"}, {"job", "a"}, {"zone", "x"}});
  const Labels b = L({{"__name__", "m"}, {"job", "b"}, {"zone", "x"}});
  for (int64_t k = 0; k < 200; ++k) {
    ASSERT_TRUE(store.append(a, k * 15'000, static_cast<double>(k)));
    ASSERT_TRUE(store.append(b, k * 15'000, static_cast<double>(-k)));
  }
  EXPECT_FALSE(store.append(a, 199 * 15'000, 1));              // not newer
  const int64_t far = 199 * 15'000 + 60LL * 24 * 3600 * 1000;  // 60 days: beyond 32-bit offsets
  ASSERT_TRUE(store.append(a, far, 1000));
  EXPECT_EQ(store.sample_count(), 401u);
  auto window = [&](std::vector<Matcher> ms, int64_t mint, int64_t maxt) {
    Matrix m;
    store.select(ms, mint, maxt, m);
    return m;
  };
  const std::vector<Matcher> job_a = {{"__name__", MatchOp::kEqual, "m", nullptr},
                                      {"job", MatchOp::kEqual, "a", nullptr},
                                      {"zone", MatchOp::kEqual, "x", nullptr}};
  // Samples 60..70 span the first chunk boundary (64).
  Matrix m = window(job_a, 60 * 15'000, 70 * 15'000);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].labels, a);
  ASSERT_EQ(m[0].samples.size(), 11u);
  for (int k = 0; k < 11; ++k) {
    EXPECT_EQ(m[0].samples[k].t, (60 + k) * 15'000);
    EXPECT_EQ(m[0].samples[k].v, 60 + k);
  }
  // Window ends between samples; the far sample only in a window that reaches it.
  m = window(job_a, 198 * 15'000 + 1, far - 1);
  ASSERT_EQ(m.size(), 1u);
  ASSERT_EQ(m[0].samples.size(), 1u);
  EXPECT_EQ(m[0].samples[0].v, 199);
  m = window(job_a, far, far);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].samples[0].t, far);
  EXPECT_EQ(m[0].samples[0].v, 1000);
  // Both series by name only, in creation order.
  m = window({{"__name__", MatchOp::kEqual, "m", nullptr}}, 0, 0);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].labels, a);
  EXPECT_EQ(m[1].labels, b);
  // Trim inside the third chunk: 130 samples of each series go.
  EXPECT_EQ(store.trim_before(130 * 15'000), 260u);
  EXPECT_EQ(store.sample_count(), 141u);
  m = window(job_a, 0, 135 * 15'000);
  ASSERT_EQ(m.size(), 1u);
  ASSERT_EQ(m[0].samples.size(), 6u);
  EXPECT_EQ(m[0].samples[0].t, 130 * 15'000);
  // Trim everything of b and all but the far sample of a: b is gone from the index.
  EXPECT_EQ(store.trim_before(far), 140u);
  EXPECT_EQ(store.series_count(), 1u);
  EXPECT_TRUE(window({{"job", MatchOp::kEqual, "b", nullptr}}, 0, far).empty());
  ASSERT_TRUE(store.append(b, far + 1, 5));
  m = window({{"job", MatchOp::kEqual, "b", nullptr}}, 0, far + 1);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].samples.size(), 1u);
}

TEST(MemoryStorageTest, TwelveBytesPerSampleInFullChunks) {
  MemoryStorage store;
  const Labels a = L({{"__name__", "m"}});
  for (int64_t k = 0; k < 64 * 100; ++k) store.append(a, k * 1000, 1);
  const size_t empty_series = [] {
    MemoryStorage s;
    s.append(L({{"__name__", "m"}}), 0, 1);
    return s.memory_bytes();
  }();
  const double per_sample =
      static_cast<double>(store.memory_bytes() - empty_series) / (64 * 100 - 1);
  EXPECT_LE(per_sample, 12.5);
  EXPECT_GE(per_sample, 12.0);
}

// ---- reading the history in place (Storage::visit, streamed aggregations, SeriesRef) ----

// visit() hands over what select() returns, in the same order, without copies: kAll is select's
// window, kNoStale the same without stale markers (series left empty skipped), kLast the last.
TEST(MemoryStorageTest, VisitMatchesSelect) {
  MemoryStorage s;
  const Labels a = L({{"__name__", "m"}, {"job", "a"}});
  const Labels b = L({{"__name__", "m"}, {"job", "b"}});
  const Labels c = L({{"__name__", "m"}, {"job", "c"}});
  for (int64_t k = 0; k < 200; ++k) s.append(a, k * 1000, static_cast<double>(k));  // 4 chunks
  s.append(b, 5000, 1);
  s.append(b, 6000, stale_nan());
  s.append(c, 7000, stale_nan());
  s.trim_before(3000);
  const std::vector<Matcher> ms = {matcher("__name__", MatchOp::kEqual, "m")};
  Matrix m;
  s.select(ms, 4000, 150'000, m);
  ASSERT_EQ(m.size(), 3u);
  std::vector<std::pair<Labels, std::vector<Sample>>> seen;
  auto record = [&](const Labels& l, std::span<const Sample> w) {
    seen.emplace_back(l, std::vector<Sample>(w.begin(), w.end()));
  };
  s.visit(ms, 4000, 150'000, Storage::Window::kAll, record);
  ASSERT_EQ(seen.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(seen[i].first, m[i].labels);
    ASSERT_EQ(seen[i].second.size(), m[i].samples.size());
    for (size_t j = 0; j < m[i].samples.size(); ++j) {
      EXPECT_EQ(seen[i].second[j].t, m[i].samples[j].t);
      EXPECT_EQ(std::memcmp(&seen[i].second[j].v, &m[i].samples[j].v, sizeof(double)), 0);
    }
  }
  EXPECT_EQ(seen[0].second.size(), 147u);  // 4000..150000 across chunk boundaries
  seen.clear();
  s.visit(ms, 4000, 150'000, Storage::Window::kNoStale, record);
  ASSERT_EQ(seen.size(), 2u);  // c holds only a stale marker
  EXPECT_EQ(seen[0].second.size(), 147u);
  ASSERT_EQ(seen[1].second.size(), 1u);  // b without its stale marker
  EXPECT_EQ(seen[1].second[0].t, 5000);
  seen.clear();
  s.visit(ms, 4000, 150'000, Storage::Window::kLast, record);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].second[0].t, 150'000);
  EXPECT_EQ(seen[0].second[0].v, 150);
  EXPECT_TRUE(is_stale_nan(seen[1].second[0].v));
  EXPECT_EQ(seen[1].second[0].t, 6000);
  seen.clear();
  s.visit(ms, 150'500, 150'900, Storage::Window::kLast, record);  // between two samples
  EXPECT_TRUE(seen.empty());
  s.visit(ms, 0, 2999, Storage::Window::kAll, record);  // trimmed away
  EXPECT_TRUE(seen.empty());
}

// A SeriesRef skips the label-set lookup while valid, and is looked up again after a series was
// removed (its series may be gone) or when it comes from another storage.
TEST(MemoryStorageTest, SeriesRefStaysCorrectAcrossRemovals) {
  MemoryStorage s, other;
  const Labels a = L({{"__name__", "m"}, {"job", "a"}});
  const Labels b = L({{"__name__", "m"}, {"job", "b"}});
  MemoryStorage::SeriesRef ra, rb;
  EXPECT_TRUE(s.append(a, 1000, 1, ra));
  EXPECT_TRUE(s.append(b, 1000, 1, rb));
  EXPECT_TRUE(s.append(a, 2000, 2, ra));
  EXPECT_FALSE(s.append(a, 2000, 9, ra));  // not newer, as without a ref
  EXPECT_EQ(s.series_count(), 2u);
  EXPECT_EQ(s.trim_before(1500), 2u);  // b removed: every ref is stale now
  EXPECT_EQ(s.series_count(), 1u);
  EXPECT_TRUE(s.append(b, 3000, 3, rb));  // b is created again, not written to freed memory
  EXPECT_TRUE(s.append(a, 3000, 3, ra));
  EXPECT_EQ(s.series_count(), 2u);
  EXPECT_EQ(s.sample_count(), 3u);
  // The same ref used with another storage goes to that storage's own series.
  EXPECT_TRUE(other.append(a, 500, 7, ra));
  EXPECT_EQ(other.sample_count(), 1u);
  EXPECT_EQ(s.sample_count(), 3u);
  EXPECT_TRUE(s.append(a, 4000, 4, ra));
  Matrix m;
  const std::vector<Matcher> ms = {matcher("__name__", MatchOp::kEqual, "m")};
  s.select(ms, 0, 10'000, m);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].labels, a);
  ASSERT_EQ(m[0].samples.size(), 3u);
  EXPECT_EQ(m[0].samples[2].v, 4);
  EXPECT_EQ(m[1].labels, b);
  s.clear();
  EXPECT_TRUE(s.append(a, 5000, 5, ra));  // after clear() too
  EXPECT_EQ(s.series_count(), 1u);
}

// Aggregations over a selector or a range function stream from the storage; the same
// aggregation over an expression the evaluator materialises (`x or x`, `rate(..) + 0` is not the
// same value; a parenthesised set operation keeps every element) gives identical results, and a
// range function whose results collide after dropping __name__ still fails.
TEST_F(EvalTest, StreamedAggregationsEqualMaterialised) {
  load(store, L({{"__name__", "req_total"}, {"job", "a"}, {"pod", "1"}}), "0+10x10");
  load(store, L({{"__name__", "req_total"}, {"job", "a"}, {"pod", "2"}}), "5+7x4 0+3x5");
  load(store, L({{"__name__", "req_total"}, {"job", "b"}, {"pod", "1"}}), "1+1x6 stale");
  load(store, L({{"__name__", "req_total"}, {"job", "b"}, {"pod", "3"}}), "_ _ 2+2x8");
  load(store, L({{"__name__", "other_total"}, {"job", "a"}, {"pod", "1"}}), "0+1x10");
  const int64_t t = 10 * kMin;
  auto run = [&](const std::string& q) {
    auto e = parse(q);
    EXPECT_TRUE(static_cast<bool>(e)) << q;
    return e ? text(evaluate(**e, store, t)) : std::string();
  };
  for (const char* op : {"sum", "avg", "count", "group", "min", "max", "stddev", "stdvar"}) {
    for (const char* grouping : {"by (job)", "by (pod, job)", "without (pod)", "by (__name__)",
                                 "without (job, pod)", "by ()"}) {
      const std::string agg = std::string(op) + " " + grouping;
      for (const char* fn :
           {"rate", "increase", "delta", "changes", "max_over_time", "last_over_time"}) {
        const std::string range = std::string(fn) + "(req_total[5m])";
        EXPECT_EQ(run(agg + " (" + range + ")"), run(agg + " (" + range + " or " + range + ")"))
            << agg << " " << range;
      }
      EXPECT_EQ(run(agg + " (req_total)"), run(agg + " (req_total or req_total)")) << agg;
      EXPECT_EQ(run(agg + " (req_total offset 3m)"),
                run(agg + " (req_total offset 3m or req_total offset 3m)"))
          << agg;
      EXPECT_EQ(run(agg + " ({job=\"a\"})"), run(agg + " ({job=\"a\"} or {job=\"a\"})")) << agg;
    }
  }
  // Hand-computed (window [5m, 10m]): a: pod 1 50/300 s, pod 2 15/300 s (reset before the
  // window); b: pod 1 two samples then stale, 1 * (60 + 0 + 30) / 60 / 300 s; pod 3 10/300 s.
  EXPECT_EQ(run("sum by (job) (rate(req_total[5m]))"),
            "{job=\"a\"} 0.2166666667; {job=\"b\"} 0.03833333333");
  EXPECT_EQ(run("quantile_over_time(0.5, req_total{pod=\"1\",job=\"a\"}[5m])"),
            "{job=\"a\", pod=\"1\"} 75");  // 50..100: between 70 and 80
  // Two metric names: rate() drops them and the label sets collide, streamed or not.
  EXPECT_EQ(run("sum by (job) (rate({__name__=~\".+_total\", job=\"a\", pod=\"1\"}[5m]))"),
            "error: vector cannot contain metrics with the same labelset");
  EXPECT_EQ(
      run("sum by (job) (last_over_time({__name__=~\".+_total\", job=\"a\", pod=\"1\"}[5m]))"),
      "{job=\"a\"} 110");
}

}  // namespace
}  // namespace vigil::alerting::promql
