// src/alerting/promql/ast.h (internal): PromQL values and the syntax tree shared by the parser
// (parser.cc), the evaluator (eval.cc, functions.cc) and the rule engine.
//
// Semantics are Prometheus 2.42's (the version Debian 12 ships; see docs/alerting.md for where
// 3.x differs): range selectors include both ends of the window, the lookback delta is 5 m.
// Times are milliseconds since the Unix epoch, as in Prometheus' storage.
//
//   auto parsed = vigil::alerting::promql::parse("sum by (job) (rate(http_requests_total[5m]))");
//   if (!parsed) report(parsed.error);            // "1:12: unknown function 'rat'"
//   const Expr& e = **parsed;
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace re2 {
class RE2;
}

namespace vigil::alerting::promql {

// ---- Values --------------------------------------------------------------------------------

// A label set sorted by name, names unique. The metric name is the label "__name__".
using Labels = std::vector<std::pair<std::string, std::string>>;

// The value of `name` in `labels`, or empty when absent (PromQL treats both alike).
std::string_view label_value(const Labels& labels, std::string_view name) noexcept;

// Prometheus' staleness marker: a NaN with this exact bit pattern, written when a series
// disappears. Selectors never return it as a value.
inline constexpr uint64_t kStaleNaNBits = 0x7ff0000000000002ULL;
inline double stale_nan() noexcept {
  double d;
  std::memcpy(&d, &kStaleNaNBits, sizeof d);
  return d;
}
inline bool is_stale_nan(double v) noexcept {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  return bits == kStaleNaNBits;
}

// One sample: 16 bytes, the history's unit of memory.
struct Sample {
  int64_t t = 0;  // ms
  double v = 0;
};

// A series with its samples in increasing time order.
struct Series {
  Labels labels;
  std::vector<Sample> samples;
};

// One element of an instant vector.
struct VectorSample {
  Labels labels;
  double v = 0;
};

using Vector = std::vector<VectorSample>;
using Matrix = std::vector<Series>;

enum class ValueType : uint8_t { kScalar, kVector, kMatrix, kString };
std::string_view to_string(ValueType type) noexcept;  // "scalar", "vector", "matrix", "string"

// ---- Syntax tree -----------------------------------------------------------------------------

enum class MatchOp : uint8_t { kEqual, kNotEqual, kRegexMatch, kRegexNoMatch };  // = != =~ !~

struct Matcher {
  std::string name;
  MatchOp op = MatchOp::kEqual;
  std::string value;
  // For =~ and !~: the compiled, fully anchored RE2 pattern (^(?:value)$), as Prometheus does.
  // Set by the parser (make_matcher); null for = and !=.
  std::shared_ptr<const re2::RE2> regex;

  bool matches(std::string_view v) const;  // "" for an absent label
};

// Builds a matcher, compiling the regex; on a bad regex returns false and sets `error`.
bool make_matcher(std::string name, MatchOp op, std::string value, Matcher& out,
                  std::string& error);

enum class ExprKind : uint8_t {
  kNumber,          // 1, 1.5e3, Inf, NaN, 0x1f
  kString,          // "text" (only as a function argument: label_replace, label_join)
  kVectorSelector,  // metric{a="b"} offset 5m
  kMatrixSelector,  // metric{a="b"}[5m] offset 5m
  kCall,            // rate(x[5m])
  kAggregate,       // sum by (a) (x), topk(3, x)
  kBinary,          // a + on(x) group_left(y) b
  kUnary,           // -x
  kParen,           // (x)
};

enum class BinaryOp : uint8_t {
  kAdd,
  kSub,
  kMul,
  kDiv,
  kMod,
  kPow,
  kAtan2,  // arithmetic
  kEq,
  kNe,
  kGt,
  kLt,
  kGe,
  kLe,  // comparison
  kAnd,
  kOr,
  kUnless,  // set operators (vector/vector only)
};
bool is_comparison(BinaryOp op) noexcept;
bool is_set_operator(BinaryOp op) noexcept;
std::string_view to_string(BinaryOp op) noexcept;  // "+", "==", "and", "atan2", ...

enum class AggregateOp : uint8_t {
  kSum,
  kMin,
  kMax,
  kAvg,
  kCount,
  kGroup,
  kStddev,
  kStdvar,
  kTopk,
  kBottomk,
  kQuantile,
  kCountValues,
};
std::string_view to_string(AggregateOp op) noexcept;  // "sum", "count_values", ...

enum class Cardinality : uint8_t { kOneToOne, kManyToOne, kOneToMany, kManyToMany };

// `on(...)` / `ignoring(...)` and `group_left(...)` / `group_right(...)` of a binary operation
// between two vectors. Set operators are always kManyToMany.
struct VectorMatching {
  Cardinality card = Cardinality::kOneToOne;
  bool on = false;                   // true: `on(labels)`; false: `ignoring(labels)` (or none)
  std::vector<std::string> labels;   // the on/ignoring list
  std::vector<std::string> include;  // group_left/group_right's extra labels
};

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  ExprKind kind = ExprKind::kNumber;
  int position = 0;  // byte offset of the node in the source, for errors

  // kNumber
  double number = 0;
  // kString
  std::string string;

  // kVectorSelector / kMatrixSelector. `name` is the metric name if given outside the braces
  // (it is also among `matchers` as __name__="name").
  std::string name;
  std::vector<Matcher> matchers;
  int64_t offset_ms = 0;  // `offset 5m` (negative offsets allowed, as in 2.42)
  int64_t range_ms = 0;   // kMatrixSelector: the [range]

  // kCall: function name and arguments. kAggregate: `param` is args[0] when the operator takes
  // one (topk, bottomk, quantile, count_values), the vector expression is the last arg.
  std::string func;
  std::vector<ExprPtr> args;

  // kAggregate
  AggregateOp agg = AggregateOp::kSum;
  std::vector<std::string> grouping;  // by/without labels
  bool without = false;

  // kBinary: args[0] op args[1]
  BinaryOp op = BinaryOp::kAdd;
  bool return_bool = false;  // comparison with `bool`
  VectorMatching matching;   // when both sides are vectors

  // kUnary: `-args[0]` (unary plus is dropped by the parser). kParen: `(args[0])`.
  bool negate = false;

  // The type the expression evaluates to (set by the parser's type check).
  ValueType type = ValueType::kScalar;
};

// The expression printed back in canonical PromQL (as Prometheus' String() prints it), e.g. for
// /api/v1/rules and error messages.
std::string to_string(const Expr& expr);

// Calls `fn(const Expr& selector)` for every vector and matrix selector in `expr` (what a rule
// reads: the rule engine keeps history only for those series, as long as range + offset).
template <class Fn>
void for_each_selector(const Expr& expr, Fn&& fn) {
  if (expr.kind == ExprKind::kVectorSelector || expr.kind == ExprKind::kMatrixSelector) fn(expr);
  for (const ExprPtr& a : expr.args) for_each_selector(*a, fn);
}

}  // namespace vigil::alerting::promql
