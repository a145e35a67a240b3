// PromQL syntax tree helpers and the canonical printer (Prometheus 2.42's printer.go String()).
#include "alerting/promql/ast.h"

#include <re2/re2.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "alerting/promql/parser.h"
#include "core/detail/json_escape.h"  // utf8_sequence_length
#include "core/detail/text.h"

namespace vigil::alerting::promql {

std::string_view label_value(const Labels& labels, std::string_view name) noexcept {
  auto it = std::lower_bound(labels.begin(), labels.end(), name,
                             [](const auto& l, std::string_view n) { return l.first < n; });
  if (it != labels.end() && it->first == name) return it->second;
  return {};
}

std::string_view to_string(ValueType type) noexcept {
  switch (type) {
    case ValueType::kScalar:
      return "scalar";
    case ValueType::kVector:
      return "vector";
    case ValueType::kMatrix:
      return "matrix";
    case ValueType::kString:
      return "string";
  }
  return "unknown";
}

bool is_comparison(BinaryOp op) noexcept {
  switch (op) {
    case BinaryOp::kEq:
    case BinaryOp::kNe:
    case BinaryOp::kGt:
    case BinaryOp::kLt:
    case BinaryOp::kGe:
    case BinaryOp::kLe:
      return true;
    default:
      return false;
  }
}

bool is_set_operator(BinaryOp op) noexcept {
  return op == BinaryOp::kAnd || op == BinaryOp::kOr || op == BinaryOp::kUnless;
}

std::string_view to_string(BinaryOp op) noexcept {
  switch (op) {
    case BinaryOp::kAdd:
      return "+";
    case BinaryOp::kSub:
      return "-";
    case BinaryOp::kMul:
      return "*";
    case BinaryOp::kDiv:
      return "/";
    case BinaryOp::kMod:
      return "%";
    case BinaryOp::kPow:
      return "^";
    case BinaryOp::kAtan2:
      return "atan2";
    case BinaryOp::kEq:
      return "==";
    case BinaryOp::kNe:
      return "!=";
    case BinaryOp::kGt:
      return ">";
    case BinaryOp::kLt:
      return "<";
    case BinaryOp::kGe:
      return ">=";
    case BinaryOp::kLe:
      return "<=";
    case BinaryOp::kAnd:
      return "and";
    case BinaryOp::kOr:
      return "or";
    case BinaryOp::kUnless:
      return "unless";
  }
  return "?";
}

std::string_view to_string(AggregateOp op) noexcept {
  switch (op) {
    case AggregateOp::kSum:
      return "sum";
    case AggregateOp::kMin:
      return "min";
    case AggregateOp::kMax:
      return "max";
    case AggregateOp::kAvg:
      return "avg";
    case AggregateOp::kCount:
      return "count";
    case AggregateOp::kGroup:
      return "group";
    case AggregateOp::kStddev:
      return "stddev";
    case AggregateOp::kStdvar:
      return "stdvar";
    case AggregateOp::kTopk:
      return "topk";
    case AggregateOp::kBottomk:
      return "bottomk";
    case AggregateOp::kQuantile:
      return "quantile";
    case AggregateOp::kCountValues:
      return "count_values";
  }
  return "?";
}

bool Matcher::matches(std::string_view v) const {
  switch (op) {
    case MatchOp::kEqual:
      return v == value;
    case MatchOp::kNotEqual:
      return v != value;
    case MatchOp::kRegexMatch:
      return regex && RE2::FullMatch(re2::StringPiece(v.data(), v.size()), *regex);
    case MatchOp::kRegexNoMatch:
      return regex && !RE2::FullMatch(re2::StringPiece(v.data(), v.size()), *regex);
  }
  return false;
}

namespace {

// The message Go's regexp/syntax gives for an RE2 error ("missing closing ): `^(?:(`").
std::string go_regexp_error(const RE2& re) {
  std::string_view what;
  switch (re.error_code()) {
    case RE2::ErrorBadEscape:
      what = "invalid escape sequence";
      break;
    case RE2::ErrorBadCharClass:
      what = "invalid character class";
      break;
    case RE2::ErrorBadCharRange:
      what = "invalid character class range";
      break;
    case RE2::ErrorMissingBracket:
      what = "missing closing ]";
      break;
    case RE2::ErrorMissingParen:
      what = "missing closing )";
      break;
    case RE2::ErrorTrailingBackslash:
      what = "trailing backslash at end of expression";
      break;
    case RE2::ErrorRepeatArgument:
      what = "missing argument to repetition operator";
      break;
    case RE2::ErrorRepeatSize:
      what = "invalid repeat count";
      break;
    case RE2::ErrorRepeatOp:
      what = "invalid nested repetition operator";
      break;
    case RE2::ErrorBadPerlOp:
      what = "invalid or unsupported Perl syntax";
      break;
    case RE2::ErrorBadUTF8:
      what = "invalid UTF-8";
      break;
    case RE2::ErrorBadNamedCapture:
      what = "invalid named capture";
      break;
    default:
      return re.error();
  }
  std::string out(what);
  if (!re.error_arg().empty()) out += ": `" + re.error_arg() + "`";
  return out;
}

}  // namespace

bool make_matcher(std::string name, MatchOp op, std::string value, Matcher& out,
                  std::string& error) {
  out.name = std::move(name);
  out.op = op;
  out.regex.reset();
  if (op == MatchOp::kRegexMatch || op == MatchOp::kRegexNoMatch) {
    // RE2 accepts \C (any byte); Go's regexp, which Prometheus uses, does not.
    for (size_t i = 0; i + 1 < value.size(); ++i) {
      if (value[i] != '\\') continue;
      if (value[i + 1] == 'C') {
        error = "error parsing regexp: invalid escape sequence: `\\C`";
        out.value = std::move(value);
        return false;
      }
      ++i;
    }
    RE2::Options options;
    options.set_log_errors(false);
    auto re = std::make_shared<const RE2>("^(?:" + value + ")$", options);
    if (!re->ok()) {
      error = "error parsing regexp: " + go_regexp_error(*re);
      out.value = std::move(value);
      return false;
    }
    out.regex = std::move(re);
  }
  out.value = std::move(value);
  return true;
}

namespace {

// Go's fmt %v of a float64 (strconv 'g' with the shortest representation).
std::string format_number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char sci[64];
  auto r = std::to_chars(sci, sci + sizeof sci, v, std::chars_format::scientific);
  std::string_view s(sci, static_cast<size_t>(r.ptr - sci));
  const size_t e = s.find('e');
  int exp = 0;
  if (e != std::string_view::npos) {
    std::from_chars(s.data() + e + 1 + (s[e + 1] == '+' ? 1 : 0), s.data() + s.size(), exp);
  }
  if (exp < -4 || exp >= 6) return std::string(s);
  char fixed[64];
  r = std::to_chars(fixed, fixed + sizeof fixed, v, std::chars_format::fixed);
  return std::string(fixed, static_cast<size_t>(r.ptr - fixed));
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += ", ";
    out += v[i];
  }
  return out;
}

std::string offset_string(int64_t offset_ms) {
  if (offset_ms > 0) return " offset " + format_duration(offset_ms);
  if (offset_ms < 0) return " offset -" + format_duration(-offset_ms);
  return {};
}

std::string_view match_op_string(MatchOp op) {
  switch (op) {
    case MatchOp::kEqual:
      return "=";
    case MatchOp::kNotEqual:
      return "!=";
    case MatchOp::kRegexMatch:
      return "=~";
    case MatchOp::kRegexNoMatch:
      return "!~";
  }
  return "=";
}

std::string selector_string(const Expr& e) {
  std::vector<std::string> parts;
  for (const Matcher& m : e.matchers) {
    if (m.name == "__name__" && m.op == MatchOp::kEqual && m.value == e.name) continue;
    std::string p = m.name;
    p += match_op_string(m.op);
    p += vigil::detail::go_quoted(m.value);
    parts.push_back(std::move(p));
  }
  std::string out = e.name;
  if (!parts.empty()) {
    std::sort(parts.begin(), parts.end());
    out += '{';
    for (size_t i = 0; i < parts.size(); ++i) {
      if (i) out += ',';
      out += parts[i];
    }
    out += '}';
  }
  return out;
}

void print(const Expr& e, std::string& out) {
  switch (e.kind) {
    case ExprKind::kNumber:
      out += format_number(e.number);
      return;
    case ExprKind::kString:
      out += vigil::detail::go_quoted(e.string);
      return;
    case ExprKind::kVectorSelector:
      out += selector_string(e);
      out += offset_string(e.offset_ms);
      return;
    case ExprKind::kMatrixSelector:
      out += selector_string(e);
      out += '[';
      out += format_duration(e.range_ms);
      out += ']';
      out += offset_string(e.offset_ms);
      return;
    case ExprKind::kCall:
      out += e.func;
      out += '(';
      for (size_t i = 0; i < e.args.size(); ++i) {
        if (i) out += ", ";
        print(*e.args[i], out);
      }
      out += ')';
      return;
    case ExprKind::kAggregate:
      out += to_string(e.agg);
      if (e.without) {
        out += " without (" + join(e.grouping) + ") ";
      } else if (!e.grouping.empty()) {
        out += " by (" + join(e.grouping) + ") ";
      }
      out += '(';
      for (size_t i = 0; i < e.args.size(); ++i) {
        if (i) out += ", ";
        print(*e.args[i], out);
      }
      out += ')';
      return;
    case ExprKind::kBinary: {
      if (e.args.size() != 2) return;
      print(*e.args[0], out);
      out += ' ';
      out += to_string(e.op);
      if (e.return_bool) out += " bool";
      const VectorMatching& vm = e.matching;
      const bool grouped = vm.card == Cardinality::kManyToOne || vm.card == Cardinality::kOneToMany;
      // Prometheus omits `ignoring () group_x (...)` entirely, which changes the meaning when
      // printed and parsed again; vigil keeps the modifiers whenever a group is given.
      if (!vm.labels.empty() || vm.on || grouped) {
        out += vm.on ? " on (" : " ignoring (";
        out += join(vm.labels);
        out += ')';
        if (grouped) {
          out += vm.card == Cardinality::kManyToOne ? " group_left (" : " group_right (";
          out += join(vm.include);
          out += ')';
        }
      }
      out += ' ';
      print(*e.args[1], out);
      return;
    }
    case ExprKind::kUnary:
      if (e.args.empty()) return;
      if (e.negate) out += '-';
      print(*e.args[0], out);
      return;
    case ExprKind::kParen:
      if (e.args.empty()) return;
      out += '(';
      print(*e.args[0], out);
      out += ')';
      return;
  }
}

}  // namespace

std::string to_string(const Expr& expr) {
  std::string out;
  print(expr, out);
  return out;
}

}  // namespace vigil::alerting::promql
