// src/alerting/promql/functions.cc: PromQL functions with Prometheus 2.42's semantics
// (promql/functions.go): range-vector functions (rate, *_over_time, ...) per series of a matrix
// selector, instant-vector functions, label_replace/label_join, histogram_quantile.
#include <re2/re2.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>
#include <numbers>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "alerting/promql/eval.h"
#include "alerting/promql/eval_internal.h"

namespace vigil::alerting::promql::eval_detail {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

const Expr& unwrap(const Expr& e) { return unwrap_parens(e); }

// Go's fmt "%f".
std::string go_f(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[512];
  std::snprintf(buf, sizeof buf, "%f", v);
  return buf;
}

// Kahan-Neumaier summation step (Prometheus' kahanSumInc).
inline void kahan_inc(double inc, double& sum, double& c) {
  double t = sum + inc;
  if (std::fabs(sum) >= std::fabs(inc)) {
    c += (sum - t) + inc;
  } else {
    c += (inc - t) + sum;
  }
  sum = t;
}

// ---- range-vector functions ----

struct RangeCtx {
  int64_t t = 0;
  int64_t range_start = 0;  // t - range - offset
  int64_t range_end = 0;    // t - offset
  int64_t range_ms = 0;
  double arg1 = 0, arg2 = 0;  // scalar arguments
};

using S = std::span<const Sample>;

bool extrapolated_rate(S s, const RangeCtx& c, bool is_counter, bool is_rate, double& out) {
  if (s.size() < 2) return false;
  double result = s.back().v - s.front().v;
  if (is_counter) {
    double prev = s[0].v;
    for (size_t i = 1; i < s.size(); ++i) {
      if (s[i].v < prev) result += prev;
      prev = s[i].v;
    }
  }
  double to_start = diff_seconds(s.front().t, c.range_start);
  double to_end = diff_seconds(c.range_end, s.back().t);
  double sampled = diff_seconds(s.back().t, s.front().t);
  double avg = sampled / static_cast<double>(s.size() - 1);
  if (is_counter && result > 0 && s.front().v >= 0) {
    double to_zero = sampled * (s.front().v / result);
    if (to_zero < to_start) to_start = to_zero;
  }
  double threshold = avg * 1.1;
  double interval = sampled;
  interval += to_start < threshold ? to_start : avg / 2;
  interval += to_end < threshold ? to_end : avg / 2;
  double factor = interval / sampled;
  if (is_rate) factor /= static_cast<double>(c.range_ms) / 1000;
  out = result * factor;
  return true;
}

bool instant_value(S s, bool is_rate, double& out) {
  if (s.size() < 2) return false;
  const Sample& last = s[s.size() - 1];
  const Sample& prev = s[s.size() - 2];
  double result = (is_rate && last.v < prev.v) ? last.v : last.v - prev.v;
  if (last.t == prev.t) return false;
  if (is_rate) result /= diff_seconds(last.t, prev.t);
  out = result;
  return true;
}

void linear_regression(S s, int64_t intercept_time, double& slope, double& intercept) {
  double n = 0, sum_x = 0, cx = 0, sum_y = 0, cy = 0, sum_xy = 0, cxy = 0, sum_x2 = 0, cx2 = 0;
  double init_y = s[0].v;
  bool const_y = true;
  for (size_t i = 0; i < s.size(); ++i) {
    if (const_y && i > 0 && s[i].v != init_y) const_y = false;
    n += 1;
    double x = diff_seconds(s[i].t, intercept_time);
    kahan_inc(x, sum_x, cx);
    kahan_inc(s[i].v, sum_y, cy);
    kahan_inc(x * s[i].v, sum_xy, cxy);
    kahan_inc(x * x, sum_x2, cx2);
  }
  if (const_y) {
    if (std::isinf(init_y)) {
      slope = intercept = kNaN;
    } else {
      slope = 0;
      intercept = init_y;
    }
    return;
  }
  sum_x += cx;
  sum_y += cy;
  sum_xy += cxy;
  sum_x2 += cx2;
  double cov_xy = sum_xy - sum_x * sum_y / n;
  double var_x = sum_x2 - sum_x * sum_x / n;
  slope = cov_xy / var_x;
  intercept = sum_y / n - slope * sum_x / n;
}

bool holt_winters(S s, const RangeCtx& c, double& out) {
  double sf = c.arg1, tf = c.arg2;
  if (sf <= 0 || sf >= 1) {
    fail("invalid smoothing factor. Expected: 0 < sf < 1, got: " + go_f(sf));
  }
  if (tf <= 0 || tf >= 1) fail("invalid trend factor. Expected: 0 < tf < 1, got: " + go_f(tf));
  if (s.size() < 2) return false;
  double s0 = 0, s1 = s[0].v, b = s[1].v - s[0].v;
  for (size_t i = 1; i < s.size(); ++i) {
    double x = sf * s[i].v;
    if (i - 1 != 0) b = tf * (s1 - s0) + (1 - tf) * b;
    double y = (1 - sf) * (s1 + b);
    s0 = s1;
    s1 = x + y;
  }
  out = s1;
  return true;
}

enum class RangeFn {
  kRate,
  kIncrease,
  kDelta,
  kIrate,
  kIdelta,
  kDeriv,
  kPredictLinear,
  kHoltWinters,
  kChanges,
  kResets,
  kAvg,
  kMin,
  kMax,
  kSum,
  kCount,
  kLast,
  kPresent,
  kStddev,
  kStdvar,
  kQuantile,
  kAbsent,
};

bool range_function(std::string_view name, RangeFn& fn) {
  static const std::unordered_map<std::string_view, RangeFn> kMap = {
      {"rate", RangeFn::kRate},
      {"increase", RangeFn::kIncrease},
      {"delta", RangeFn::kDelta},
      {"irate", RangeFn::kIrate},
      {"idelta", RangeFn::kIdelta},
      {"deriv", RangeFn::kDeriv},
      {"predict_linear", RangeFn::kPredictLinear},
      {"holt_winters", RangeFn::kHoltWinters},
      {"changes", RangeFn::kChanges},
      {"resets", RangeFn::kResets},
      {"avg_over_time", RangeFn::kAvg},
      {"min_over_time", RangeFn::kMin},
      {"max_over_time", RangeFn::kMax},
      {"sum_over_time", RangeFn::kSum},
      {"count_over_time", RangeFn::kCount},
      {"last_over_time", RangeFn::kLast},
      {"present_over_time", RangeFn::kPresent},
      {"stddev_over_time", RangeFn::kStddev},
      {"stdvar_over_time", RangeFn::kStdvar},
      {"quantile_over_time", RangeFn::kQuantile},
      {"absent_over_time", RangeFn::kAbsent},
  };
  auto it = kMap.find(name);
  if (it == kMap.end()) return false;
  fn = it->second;
  return true;
}

bool apply_range(RangeFn fn, S s, const RangeCtx& c, std::vector<double>& scratch, double& out) {
  switch (fn) {
    case RangeFn::kRate:
      return extrapolated_rate(s, c, true, true, out);
    case RangeFn::kIncrease:
      return extrapolated_rate(s, c, true, false, out);
    case RangeFn::kDelta:
      return extrapolated_rate(s, c, false, false, out);
    case RangeFn::kIrate:
      return instant_value(s, true, out);
    case RangeFn::kIdelta:
      return instant_value(s, false, out);
    case RangeFn::kDeriv: {
      if (s.size() < 2) return false;
      double slope, intercept;
      linear_regression(s, s[0].t, slope, intercept);
      out = slope;
      return true;
    }
    case RangeFn::kPredictLinear: {
      if (s.size() < 2) return false;
      double slope, intercept;
      linear_regression(s, c.t, slope, intercept);
      out = slope * c.arg1 + intercept;
      return true;
    }
    case RangeFn::kHoltWinters:
      return holt_winters(s, c, out);
    case RangeFn::kChanges: {
      double n = 0;
      for (size_t i = 1; i < s.size(); ++i) {
        double cur = s[i].v, prev = s[i - 1].v;
        if (cur != prev && !(std::isnan(cur) && std::isnan(prev))) n += 1;
      }
      out = n;
      return true;
    }
    case RangeFn::kResets: {
      double n = 0;
      for (size_t i = 1; i < s.size(); ++i) {
        if (s[i].v < s[i - 1].v) n += 1;
      }
      out = n;
      return true;
    }
    case RangeFn::kAvg: {
      double mean = 0, count = 0, comp = 0;
      for (const Sample& x : s) {
        count += 1;
        if (std::isinf(mean)) {
          if (std::isinf(x.v) && (mean > 0) == (x.v > 0)) continue;
          if (!std::isinf(x.v) && !std::isnan(x.v)) continue;
        }
        kahan_inc(x.v / count - mean / count, mean, comp);
      }
      out = std::isinf(mean) ? mean : mean + comp;
      return true;
    }
    case RangeFn::kMin: {
      double m = s[0].v;
      for (const Sample& x : s) {
        if (x.v < m || std::isnan(m)) m = x.v;
      }
      out = m;
      return true;
    }
    case RangeFn::kMax: {
      double m = s[0].v;
      for (const Sample& x : s) {
        if (x.v > m || std::isnan(m)) m = x.v;
      }
      out = m;
      return true;
    }
    case RangeFn::kSum: {
      double sum = 0, comp = 0;
      for (const Sample& x : s) kahan_inc(x.v, sum, comp);
      out = std::isinf(sum) ? sum : sum + comp;
      return true;
    }
    case RangeFn::kCount:
      out = static_cast<double>(s.size());
      return true;
    case RangeFn::kLast:
      out = s.back().v;
      return true;
    case RangeFn::kPresent:
    case RangeFn::kAbsent:
      out = 1;
      return true;
    case RangeFn::kStddev:
    case RangeFn::kStdvar: {
      double count = 0, mean = 0, cmean = 0, aux = 0, caux = 0;
      for (const Sample& x : s) {
        count += 1;
        double delta = x.v - (mean + cmean);
        kahan_inc(delta / count, mean, cmean);
        kahan_inc(delta * (x.v - (mean + cmean)), aux, caux);
      }
      double var = (aux + caux) / count;
      out = fn == RangeFn::kStddev ? std::sqrt(var) : var;
      return true;
    }
    case RangeFn::kQuantile:
      scratch.clear();
      for (const Sample& x : s) scratch.push_back(x.v);
      out = quantile(c.arg1, scratch);
      return true;
  }
  return false;
}

// absent()'s labels: the equality matchers of a selector argument, minus names also matched
// otherwise.
Labels absent_labels(const Expr& arg) {
  Labels m;
  if (arg.kind != ExprKind::kVectorSelector && arg.kind != ExprKind::kMatrixSelector) return m;
  std::vector<std::string_view> empty;
  for (const Matcher& ma : arg.matchers) {
    if (ma.name == "__name__") continue;
    if (ma.op == MatchOp::kEqual && label_value(m, ma.name).empty() &&
        std::none_of(m.begin(), m.end(), [&](const auto& l) { return l.first == ma.name; })) {
      set_label(m, ma.name, ma.value);
    } else {
      empty.push_back(ma.name);
    }
  }
  for (std::string_view n : empty) del_label(m, n);
  return m;
}

Value vector_value(Vector v) {
  Value out;
  out.type = ValueType::kVector;
  out.vector = std::move(v);
  return out;
}

// Series of one selector have distinct label sets; dropping __name__ can make two equal only
// when they had different names, which a `__name__="x"` matcher rules out.
bool one_name(const Expr& sel) {
  return std::any_of(sel.matchers.begin(), sel.matchers.end(), [](const Matcher& x) {
    return x.name == "__name__" && x.op == MatchOp::kEqual;
  });
}

// Evaluates the range function `fn` of `call` over the history in place: fn_out(labels, value)
// for each series with a value, in selector order, `labels` the storage's own (with __name__:
// every function but last_over_time drops it). The window of each series is read from the
// storage's chunks into one reused buffer: no copy of the series' labels, no vector per series.
template <class Out>
void range_values(Evaluator& ev, const Expr& call, RangeFn fn, Out&& fn_out) {
  size_t matrix_index = fn == RangeFn::kQuantile ? 1 : 0;
  if (call.args.size() <= matrix_index) fail("missing argument in call to " + call.func);
  const Expr& sel = unwrap(*call.args[matrix_index]);
  if (sel.kind != ExprKind::kMatrixSelector) {
    fail("expected type range vector in call to function \"" + call.func + "\"");
  }
  RangeCtx c;
  c.t = ev.time();
  c.range_end = sat_sub(c.t, sel.offset_ms);
  c.range_start = sat_sub(c.range_end, sel.range_ms);
  c.range_ms = sel.range_ms;
  if (fn == RangeFn::kQuantile) c.arg1 = ev.eval_scalar(*call.args[0]);
  if (fn == RangeFn::kPredictLinear || fn == RangeFn::kHoltWinters) {
    if (call.args.size() < 2) fail("missing argument in call to " + call.func);
    c.arg1 = ev.eval_scalar(*call.args[1]);
  }
  if (fn == RangeFn::kHoltWinters) {
    if (call.args.size() < 3) fail("missing argument in call to " + call.func);
    c.arg2 = ev.eval_scalar(*call.args[2]);
  }
  std::vector<double> scratch;
  ev.storage().visit(sel.matchers, c.range_start, c.range_end, Storage::Window::kNoStale,
                     [&](const Labels& labels, std::span<const Sample> samples) {
                       double v;
                       if (apply_range(fn, samples, c, scratch, v)) fn_out(labels, v);
                     });
}

Value eval_range_function(Evaluator& ev, const Expr& call, RangeFn fn) {
  if (fn == RangeFn::kAbsent) {
    // absent_over_time reads only whether anything matched.
    if (call.args.empty()) fail("missing argument in call to " + call.func);
    const Expr& sel = unwrap(*call.args[0]);
    if (sel.kind != ExprKind::kMatrixSelector) {
      fail("expected type range vector in call to function \"" + call.func + "\"");
    }
    const int64_t maxt = sat_sub(ev.time(), sel.offset_ms);
    bool any = false;
    ev.storage().visit(sel.matchers, sat_sub(maxt, sel.range_ms), maxt, Storage::Window::kNoStale,
                       [&](const Labels&, std::span<const Sample>) { any = true; });
    Vector out;
    if (!any) out.push_back(VectorSample{absent_labels(*call.args[0]), 1});
    return vector_value(std::move(out));
  }
  Vector out;
  // last_over_time keeps __name__; the others drop it (copied without it).
  const bool keep_name = fn == RangeFn::kLast;
  range_values(ev, call, fn, [&](const Labels& labels, double v) {
    VectorSample& o = out.emplace_back();
    o.v = v;
    if (keep_name) {
      o.labels = labels;
      return;
    }
    o.labels.reserve(labels.size());
    for (const auto& kv : labels) {
      if (kv.first != "__name__") o.labels.push_back(kv);
    }
  });
  const size_t matrix_index = fn == RangeFn::kQuantile ? 1 : 0;
  if (!keep_name && !one_name(unwrap(*call.args[matrix_index]))) check_unique_labelsets(out);
  return vector_value(std::move(out));
}

// ---- instant-vector functions ----

double go_log2(double x) {
  int exp;
  double frac = std::frexp(x, &exp);
  if (frac == 0.5) return static_cast<double>(exp - 1);
  return std::log(frac) * (1 / std::numbers::ln2) + static_cast<double>(exp);
}

double sgn(double v) {
  if (v < 0) return -1;
  if (v > 0) return 1;
  return v;
}

using MathFn = double (*)(double);

bool simple_function(std::string_view name, MathFn& fn) {
  static const std::unordered_map<std::string_view, MathFn> kMap = {
      {"abs", [](double v) { return std::fabs(v); }},
      {"ceil", [](double v) { return std::ceil(v); }},
      {"floor", [](double v) { return std::floor(v); }},
      {"exp", [](double v) { return std::exp(v); }},
      {"sqrt", [](double v) { return std::sqrt(v); }},
      {"ln", [](double v) { return std::log(v); }},
      {"log2", go_log2},
      {"log10", [](double v) { return std::log(v) * (1 / std::numbers::ln10); }},
      {"sgn", sgn},
      {"acos", [](double v) { return std::acos(v); }},
      {"acosh", [](double v) { return std::acosh(v); }},
      {"asin", [](double v) { return std::asin(v); }},
      {"asinh", [](double v) { return std::asinh(v); }},
      {"atan", [](double v) { return std::atan(v); }},
      {"atanh", [](double v) { return std::atanh(v); }},
      {"cos", [](double v) { return std::cos(v); }},
      {"cosh", [](double v) { return std::cosh(v); }},
      {"sin", [](double v) { return std::sin(v); }},
      {"sinh", [](double v) { return std::sinh(v); }},
      {"tan", [](double v) { return std::tan(v); }},
      {"tanh", [](double v) { return std::tanh(v); }},
      {"deg", [](double v) { return v * 180 / std::numbers::pi; }},
      {"rad", [](double v) { return v * std::numbers::pi / 180; }},
  };
  auto it = kMap.find(name);
  if (it == kMap.end()) return false;
  fn = it->second;
  return true;
}

// ---- dates (UTC) ----

struct Civil {
  int64_t year;
  int month;  // 1..12
  int day;    // 1..31
  int hour, minute;
  int weekday;  // 0 = Sunday
  int yday;     // 1..366
};

bool leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

// Go's int64(v) on amd64: NaN and values outside int64 become the minimum int64.
int64_t go_int64(double v) {
  if (!(v >= -9.223372036854775808e18 && v < 9.223372036854775808e18)) {
    return std::numeric_limits<int64_t>::min();
  }
  return static_cast<int64_t>(v);
}

// The UTC calendar fields of time.Unix(int64(v), 0) as Go computes them: seconds are counted
// (modulo 2^64, so extreme values wrap as in Go) from January 1 of year -292277022399, a
// Monday at the start of a 400-year Gregorian cycle.
Civil civil(double v) {
  constexpr uint64_t kUnixToAbsolute = 9223372028715321600ULL;
  constexpr int64_t kAbsoluteZeroYear = -292277022399LL;
  uint64_t abs = static_cast<uint64_t>(go_int64(v)) + kUnixToAbsolute;
  Civil c{};
  uint64_t sod = abs % 86400;
  c.hour = static_cast<int>(sod / 3600);
  c.minute = static_cast<int>(sod % 3600 / 60);
  c.weekday = static_cast<int>((abs + 86400) % (7 * 86400) / 86400);  // day 0 is a Monday
  uint64_t d = abs / 86400;
  uint64_t n400 = d / 146097;
  d %= 146097;
  uint64_t n100 = std::min<uint64_t>(d / 36524, 3);
  d -= n100 * 36524;
  uint64_t n4 = d / 1461;
  d %= 1461;
  uint64_t n1 = std::min<uint64_t>(d / 365, 3);
  d -= n1 * 365;
  c.year = kAbsoluteZeroYear + static_cast<int64_t>(400 * n400 + 100 * n100 + 4 * n4 + n1);
  c.yday = static_cast<int>(d) + 1;
  static constexpr int kCum[13] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365};
  int yd = c.yday;
  int extra = leap(c.year) ? 1 : 0;
  int month = 1;
  while (month < 12 && yd > kCum[month] + (month >= 2 ? extra : 0)) ++month;
  c.month = month;
  c.day = yd - kCum[month - 1] - (month > 2 ? extra : 0);
  return c;
}

int days_in_month(int64_t year, int month) {
  static constexpr int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month == 2 && leap(year)) return 29;
  return kDays[month - 1];
}

bool date_function(std::string_view name) {
  return name == "minute" || name == "hour" || name == "month" || name == "year" ||
         name == "day_of_month" || name == "day_of_week" || name == "day_of_year" ||
         name == "days_in_month";
}

double date_value(std::string_view name, double v) {
  Civil c = civil(v);
  if (name == "minute") return c.minute;
  if (name == "hour") return c.hour;
  if (name == "month") return c.month;
  if (name == "year") return static_cast<double>(c.year);
  if (name == "day_of_month") return c.day;
  if (name == "day_of_week") return c.weekday;
  if (name == "day_of_year") return c.yday;
  return days_in_month(c.year, c.month);
}

// ---- histogram_quantile ----

// Go's strconv.ParseFloat(s, 64) success (decimal, hex with p exponent, inf, nan).
bool go_parse_float(std::string_view s, double& out) {
  if (s.empty()) return false;
  bool neg = false;
  std::string_view body = s;
  if (body[0] == '+' || body[0] == '-') {
    neg = body[0] == '-';
    body.remove_prefix(1);
  }
  auto lower_eq = [](std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      char c = a[i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      if (c != b[i]) return false;
    }
    return true;
  };
  if (lower_eq(body, "inf") || lower_eq(body, "infinity")) {
    out = neg ? -kInf : kInf;
    return true;
  }
  if (lower_eq(body, "nan")) {
    out = kNaN;
    return true;
  }
  if (body.empty()) return false;
  for (char c : body) {
    bool ok = (c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-' ||
              c == 'x' || c == 'X' || c == 'p' || c == 'P' || (c >= 'a' && c <= 'f') ||
              (c >= 'A' && c <= 'F');
    if (!ok) return false;
  }
  if (body.size() > 2 && body[0] == '0' && (body[1] == 'x' || body[1] == 'X')) {
    if (body.find_first_of("pP") == std::string_view::npos) return false;
    auto r =
        std::from_chars(body.data() + 2, body.data() + body.size(), out, std::chars_format::hex);
    if (r.ec != std::errc() || r.ptr != body.data() + body.size()) return false;
  } else {
    auto r =
        std::from_chars(body.data(), body.data() + body.size(), out, std::chars_format::general);
    if (r.ec != std::errc() || r.ptr != body.data() + body.size()) return false;
  }
  if (neg) out = -out;
  return true;
}

struct Bucket {
  double upper;
  double count;
};

double bucket_quantile(double q, std::vector<Bucket>& b) {
  if (std::isnan(q)) return kNaN;
  if (q < 0) return -kInf;
  if (q > 1) return kInf;
  std::stable_sort(b.begin(), b.end(),
                   [](const Bucket& x, const Bucket& y) { return x.upper < y.upper; });
  if (!(std::isinf(b.back().upper) && b.back().upper > 0)) return kNaN;
  // Coalesce buckets with the same upper bound.
  size_t n = 0;
  for (size_t i = 1; i < b.size(); ++i) {
    if (b[i].upper == b[n].upper) {
      b[n].count += b[i].count;
    } else {
      b[++n] = b[i];
    }
  }
  b.resize(n + 1);
  // Force monotonic counts.
  double max = -kInf;
  for (Bucket& x : b) {
    if (x.count > max) {
      max = x.count;
    } else if (x.count < max) {
      x.count = max;
    }
  }
  if (b.size() < 2) return kNaN;
  double observations = b.back().count;
  if (observations == 0) return kNaN;
  double rank = q * observations;
  size_t i = 0;
  while (i < b.size() - 1 && !(b[i].count >= rank)) ++i;
  if (i == b.size() - 1) return b[b.size() - 2].upper;
  if (i == 0 && b[0].upper <= 0) return b[0].upper;
  double start = 0, end = b[i].upper, count = b[i].count;
  if (i > 0) {
    start = b[i - 1].upper;
    count -= b[i - 1].count;
    rank -= b[i - 1].count;
  }
  return start + (end - start) * (rank / count);
}

Vector histogram_quantile(double q, const Vector& in) {
  struct Group {
    Labels labels;
    std::vector<Bucket> buckets;
  };
  std::unordered_map<std::string, size_t> index;
  std::vector<Group> groups;
  std::string key;
  for (const VectorSample& s : in) {
    double upper;
    if (!go_parse_float(label_value(s.labels, "le"), upper)) continue;
    key.clear();
    for (const auto& [name, value] : s.labels) {
      if (name == "le") continue;
      key += name;
      key += '\xff';
      key += value;
      key += '\xff';
    }
    auto [it, inserted] = index.try_emplace(key, groups.size());
    if (inserted) {
      Group& g = groups.emplace_back();
      g.labels = s.labels;
      del_label(g.labels, "le");
      drop_metric_name(g.labels);
    }
    groups[it->second].buckets.push_back(Bucket{upper, s.v});
  }
  Vector out;
  for (Group& g : groups) {
    out.push_back(VectorSample{std::move(g.labels), bucket_quantile(q, g.buckets)});
  }
  return out;
}

// ---- label_replace / label_join ----

// The longest label value label_replace and label_join may produce. Prometheus has no limit, but
// nesting them doubles a value per level ("$1$1"), so without one an expression of a few hundred
// bytes exhausts memory; real label values are far shorter.
constexpr size_t kMaxLabelValue = 64 * 1024;

void check_label_value_size(size_t size, const std::string& func) {
  if (size > kMaxLabelValue) {
    fail(func + "(): label value longer than " + std::to_string(kMaxLabelValue) + " bytes");
  }
}

// Go's regexp.Expand of `templ` with the submatches of `re` in `src`.
std::string expand(const re2::RE2& re, std::string_view templ,
                   const std::vector<re2::StringPiece>& groups) {
  std::string out;
  auto is_name_char = [](unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c >= 0x80;
  };
  while (!templ.empty()) {
    size_t dollar = templ.find('$');
    if (dollar == std::string_view::npos) break;
    out.append(templ.substr(0, dollar));
    templ.remove_prefix(dollar + 1);
    if (!templ.empty() && templ[0] == '$') {
      out += '$';
      templ.remove_prefix(1);
      continue;
    }
    // extract(): a leading "name" or "{name}".
    std::string_view str = templ;
    bool brace = false;
    if (!str.empty() && str[0] == '{') {
      brace = true;
      str.remove_prefix(1);
    }
    size_t i = 0;
    while (i < str.size() && is_name_char(static_cast<unsigned char>(str[i]))) ++i;
    if (i == 0 || (brace && (i >= str.size() || str[i] != '}'))) {
      out += '$';  // malformed: the $ is raw text
      continue;
    }
    std::string_view name = str.substr(0, i);
    if (brace) ++i;
    templ = str.substr(i);
    long num = 0;
    for (char ch : name) {
      if (ch < '0' || ch > '9' || num >= 100000000) {
        num = -1;
        break;
      }
      num = num * 10 + (ch - '0');
    }
    if (name[0] == '0' && name.size() > 1) num = -1;
    if (num >= 0) {
      if (static_cast<size_t>(num) < groups.size() && groups[static_cast<size_t>(num)].data()) {
        const re2::StringPiece& g = groups[static_cast<size_t>(num)];
        out.append(g.data(), g.size());
        check_label_value_size(out.size(), "label_replace");
      }
    } else {
      const auto& named = re.NamedCapturingGroups();
      auto it = named.find(std::string(name));
      if (it != named.end() && static_cast<size_t>(it->second) < groups.size() &&
          groups[static_cast<size_t>(it->second)].data()) {
        const re2::StringPiece& g = groups[static_cast<size_t>(it->second)];
        out.append(g.data(), g.size());
        check_label_value_size(out.size(), "label_replace");
      }
    }
  }
  out.append(templ);
  check_label_value_size(out.size(), "label_replace");
  return out;
}

const std::string& string_arg(const Expr& call, size_t i) {
  if (call.args.size() <= i) fail("missing argument in call to " + call.func);
  const Expr& a = unwrap(*call.args[i]);
  if (a.kind != ExprKind::kString) fail("expected string argument in call to " + call.func);
  return a.string;
}

Vector label_replace(Vector in, const Expr& call) {
  const std::string& dst = string_arg(call, 1);
  const std::string& repl = string_arg(call, 2);
  const std::string& src = string_arg(call, 3);
  const std::string& regex = string_arg(call, 4);
  re2::RE2::Options opts;
  opts.set_log_errors(false);
  re2::RE2 re("^(?:" + regex + ")$", opts);
  if (!re.ok()) fail("invalid regular expression in label_replace(): " + regex);
  if (!valid_label_name(dst)) fail("invalid destination label name in label_replace(): " + dst);
  std::vector<re2::StringPiece> groups(static_cast<size_t>(re.NumberOfCapturingGroups()) + 1);
  for (VectorSample& s : in) {
    std::string_view value = label_value(s.labels, src);
    re2::StringPiece text(value.data(), value.size());
    if (!re.Match(text, 0, text.size(), re2::RE2::UNANCHORED, groups.data(),
                  static_cast<int>(groups.size()))) {
      continue;
    }
    std::string res = expand(re, repl, groups);
    set_label(s.labels, dst, res);  // empty deletes
  }
  return in;
}

Vector label_join(Vector in, const Expr& call) {
  const std::string& dst = string_arg(call, 1);
  const std::string& sep = string_arg(call, 2);
  std::vector<std::string> srcs;
  for (size_t i = 3; i < call.args.size(); ++i) {
    const std::string& src = string_arg(call, i);
    if (!valid_label_name(src)) fail("invalid source label name in label_join(): " + src);
    srcs.push_back(src);
  }
  if (!valid_label_name(dst)) fail("invalid destination label name in label_join(): " + dst);
  std::string joined;
  for (VectorSample& s : in) {
    joined.clear();
    for (size_t i = 0; i < srcs.size(); ++i) {
      if (i > 0) joined += sep;
      joined += label_value(s.labels, srcs[i]);
      check_label_value_size(joined.size(), "label_join");
    }
    set_label(s.labels, dst, joined);
  }
  return in;
}

}  // namespace

bool range_call_values(Evaluator& ev, const Expr& call, RangeValueFn fn, void* ctx,
                       bool& drops_name) {
  if (call.kind != ExprKind::kCall) return false;
  RangeFn rfn;
  if (!range_function(call.func, rfn) || rfn == RangeFn::kAbsent) return false;
  const size_t matrix_index = rfn == RangeFn::kQuantile ? 1 : 0;
  if (call.args.size() <= matrix_index) return false;
  const Expr& sel = unwrap(*call.args[matrix_index]);
  if (sel.kind != ExprKind::kMatrixSelector) return false;
  drops_name = rfn != RangeFn::kLast;
  // Without a single metric name, dropping it may make two results equal: an error the caller's
  // general path reports.
  if (drops_name && !one_name(sel)) return false;
  range_values(ev, call, rfn, [&](const Labels& labels, double v) { fn(ctx, labels, v); });
  return true;
}

Value call_function(Evaluator& ev, const Expr& call) {
  const std::string& name = call.func;
  RangeFn rfn;
  if (range_function(name, rfn)) return eval_range_function(ev, call, rfn);

  auto arg_vector = [&](size_t i) {
    if (call.args.size() <= i) fail("missing argument in call to " + name);
    return ev.eval_vector(*call.args[i]);
  };
  auto arg_scalar = [&](size_t i) {
    if (call.args.size() <= i) fail("missing argument in call to " + name);
    return ev.eval_scalar(*call.args[i]);
  };
  auto finish = [](Vector v) {
    check_unique_labelsets(v);
    return vector_value(std::move(v));
  };
  auto scalar_value = [](double d) {
    Value v;
    v.type = ValueType::kScalar;
    v.scalar = d;
    return v;
  };

  MathFn mfn;
  if (simple_function(name, mfn)) {
    Vector v = arg_vector(0);
    for (VectorSample& s : v) {
      s.v = mfn(s.v);
      drop_metric_name(s.labels);
    }
    return finish(std::move(v));
  }
  if (date_function(name)) {
    Vector v;
    if (call.args.empty()) {
      v.push_back(VectorSample{{}, static_cast<double>(ev.time()) / 1000});
    } else {
      v = arg_vector(0);
    }
    for (VectorSample& s : v) {
      s.v = date_value(name, s.v);
      drop_metric_name(s.labels);
    }
    return finish(std::move(v));
  }
  if (name == "time") return scalar_value(static_cast<double>(ev.time()) / 1000);
  if (name == "pi") return scalar_value(std::numbers::pi);
  if (name == "scalar") {
    Vector v = arg_vector(0);
    return scalar_value(v.size() == 1 ? v[0].v : kNaN);
  }
  if (name == "vector") {
    Vector v;
    v.push_back(VectorSample{{}, arg_scalar(0)});
    return vector_value(std::move(v));
  }
  if (name == "round") {
    Vector v = arg_vector(0);
    double to_nearest = call.args.size() > 1 ? arg_scalar(1) : 1;
    double inverse = 1.0 / to_nearest;
    for (VectorSample& s : v) {
      s.v = std::floor(s.v * inverse + 0.5) / inverse;
      drop_metric_name(s.labels);
    }
    return finish(std::move(v));
  }
  if (name == "clamp" || name == "clamp_min" || name == "clamp_max") {
    Vector v = arg_vector(0);
    double lo = -kInf, hi = kInf;
    if (name == "clamp") {
      lo = arg_scalar(1);
      hi = arg_scalar(2);
      if (hi < lo) return vector_value({});
    } else if (name == "clamp_min") {
      lo = arg_scalar(1);
    } else {
      hi = arg_scalar(1);
    }
    // Go's math.Max/math.Min: NaN in, NaN out.
    auto go_max = [](double a, double b) {
      if (std::isnan(a) || std::isnan(b)) return kNaN;
      return std::max(a, b);
    };
    auto go_min = [](double a, double b) {
      if (std::isnan(a) || std::isnan(b)) return kNaN;
      return std::min(a, b);
    };
    for (VectorSample& s : v) {
      if (name == "clamp") {
        s.v = go_max(lo, go_min(hi, s.v));
      } else if (name == "clamp_min") {
        s.v = go_max(s.v, lo);
      } else {
        s.v = go_min(s.v, hi);
      }
      drop_metric_name(s.labels);
    }
    return finish(std::move(v));
  }
  if (name == "timestamp") {
    if (call.args.empty()) fail("missing argument in call to timestamp");
    const Expr& arg = unwrap(*call.args[0]);
    Vector v;
    if (arg.kind == ExprKind::kVectorSelector) {
      std::vector<int64_t> times;
      ev.select_instant(arg, v, &times);
      for (size_t i = 0; i < v.size(); ++i) v[i].v = static_cast<double>(times[i]) / 1000;
    } else {
      v = ev.eval_vector(arg);
      for (VectorSample& s : v) s.v = static_cast<double>(ev.time()) / 1000;
    }
    for (VectorSample& s : v) drop_metric_name(s.labels);
    return finish(std::move(v));
  }
  if (name == "absent") {
    Vector v = arg_vector(0);
    Vector out;
    if (v.empty()) out.push_back(VectorSample{absent_labels(*call.args[0]), 1});
    return vector_value(std::move(out));
  }
  if (name == "sort" || name == "sort_desc") {
    // By value, NaN at the end either way (as Prometheus' reversed heap orders do).
    Vector v = arg_vector(0);
    bool desc = name == "sort_desc";
    std::stable_sort(v.begin(), v.end(), [desc](const VectorSample& a, const VectorSample& b) {
      if (std::isnan(a.v)) return false;
      if (std::isnan(b.v)) return true;
      return desc ? a.v > b.v : a.v < b.v;
    });
    return finish(std::move(v));
  }
  if (name == "label_replace") return finish(label_replace(arg_vector(0), call));
  if (name == "label_join") return finish(label_join(arg_vector(0), call));
  if (name == "histogram_quantile") {
    double q = arg_scalar(0);
    return finish(histogram_quantile(q, arg_vector(1)));
  }
  fail("function \"" + name + "\" is not supported");
}

}  // namespace vigil::alerting::promql::eval_detail
