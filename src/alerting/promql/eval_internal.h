// src/alerting/promql/eval_internal.h (internal to eval.cc and functions.cc): the evaluator's
// intermediate values, its error type and the label helpers both files use.
//
//   Evaluator ev(storage, t, options);
//   Value v = ev.eval(expr);        // throws EvalError on a runtime error
//
// Thread-safety: an Evaluator is used by one thread for one evaluation.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "alerting/promql/ast.h"
#include "alerting/promql/eval.h"

namespace vigil::alerting::promql::eval_detail {

// A runtime error of the evaluation ("vector cannot contain metrics with the same labelset");
// caught by evaluate() and returned as EvalResult::error.
struct EvalError {
  std::string message;
};
[[noreturn]] inline void fail(std::string message) { throw EvalError{std::move(message)}; }

struct Value {
  ValueType type = ValueType::kVector;
  double scalar = 0;
  Vector vector;
  Matrix matrix;
  std::string string;
};

// ---- label helpers (labels sorted by name) ----
void drop_metric_name(Labels& labels);
// Sets `name` to `value`; an empty value deletes the label (as Prometheus' labels.Builder).
void set_label(Labels& labels, std::string_view name, std::string_view value);
void del_label(Labels& labels, std::string_view name);
// A string identifying `labels` (for hash maps).
void labels_key(const Labels& labels, std::string& out);
// Throws "vector cannot contain metrics with the same labelset" when two elements share labels.
void check_unique_labelsets(const Vector& v);
// A valid label name: [a-zA-Z_][a-zA-Z0-9_]*.
bool valid_label_name(std::string_view name) noexcept;

// `e` without the parentheses around it.
inline const Expr& unwrap_parens(const Expr& e) noexcept {
  const Expr* p = &e;
  while (p->kind == ExprKind::kParen && !p->args.empty()) p = p->args[0].get();
  return *p;
}

// a - b clamped to the int64 range: evaluation times, offsets and ranges near the int64 limits
// must not overflow (a window past the limits is cut at them).
inline int64_t sat_sub(int64_t a, int64_t b) noexcept {
  int64_t r;
  if (__builtin_sub_overflow(a, b, &r)) return b < 0 ? INT64_MAX : INT64_MIN;
  return r;
}
// (a - b) / 1000 as a double: exact when a - b fits in int64 (as Prometheus computes it).
inline double diff_seconds(int64_t a, int64_t b) noexcept {
  int64_t r;
  if (__builtin_sub_overflow(a, b, &r)) {
    return (static_cast<double>(a) - static_cast<double>(b)) / 1000;
  }
  return static_cast<double>(r) / 1000;
}

class Evaluator {
 public:
  Evaluator(const Storage& storage, int64_t t, const EvalOptions& options)
      : storage_(storage), t_(t), options_(options) {}

  Value eval(const Expr& e);
  double eval_scalar(const Expr& e);
  Vector eval_vector(const Expr& e);
  // A vector selector's samples with their timestamps (for timestamp()).
  void select_instant(const Expr& selector, Vector& out, std::vector<int64_t>* times);
  // A matrix selector: series with their in-window samples, stale markers removed, series
  // without samples dropped.
  // `drop_name`: the series' labels without __name__ (range functions that drop it).
  Matrix select_range(const Expr& selector, bool drop_name = false);

  int64_t time() const noexcept { return t_; }
  const Storage& storage() const noexcept { return storage_; }

 private:
  Value eval_binary(const Expr& e);
  Value eval_aggregate(const Expr& e);

  const Storage& storage_;
  int64_t t_;
  EvalOptions options_;
};

// functions.cc: evaluates a kCall node.
Value call_function(Evaluator& ev, const Expr& call);

// functions.cc: when `call` is a range-vector function (rate, increase, *_over_time, ...; not
// absent_over_time) over a matrix selector whose results cannot collide (one metric name, or
// last_over_time), evaluates it series by series without building its vector: fn(ctx, labels,
// value) per result in order, `labels` the storage's (valid during the call), `drops_name` set
// when the function's results lose __name__. Returns false, having evaluated nothing, otherwise.
using RangeValueFn = void (*)(void* ctx, const Labels& labels, double value);
bool range_call_values(Evaluator& ev, const Expr& call, RangeValueFn fn, void* ctx,
                       bool& drops_name);

// quantile() of the aggregation and quantile_over_time(), Prometheus' interpolation.
double quantile(double q, std::vector<double>& values);

}  // namespace vigil::alerting::promql::eval_detail
