// The PromQL parser: a precedence-climbing recursive descent parser that accepts exactly the
// language of Prometheus 2.42's generated_parser.y, with the checks of parse.go (checkAST) and the
// function table of functions.go.
//
// Errors come in two kinds, as in Prometheus: syntax errors (and the checks Prometheus makes while
// parsing: durations, regexes, unknown functions, offsets) stop parsing; type errors (checkAST)
// are collected while the tree is built and the first one is reported only when the whole input
// parsed. Nesting is limited to kMaxDepth, counted both as recursion and as tree depth.
#include "alerting/promql/parser.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "alerting/promql/ast.h"
#include "alerting/promql/lexer.h"

namespace vigil::alerting::promql {
namespace {

using detail_lex::Tok;
using detail_lex::Token;
using VT = ValueType;

struct Function {
  std::string_view name;
  std::vector<VT> args;
  int variadic;  // 0: exactly args; n > 0: the last n may be left out... (functions.go); -1: any
  VT ret;
  bool supported;
};

const std::vector<Function>& functions() {
  static const std::vector<Function> table = [] {
    const VT s = VT::kScalar, v = VT::kVector, m = VT::kMatrix, str = VT::kString;
    std::vector<Function> t = {
        {"abs", {v}, 0, v, true},
        {"absent", {v}, 0, v, true},
        {"absent_over_time", {m}, 0, v, true},
        {"acos", {v}, 0, v, true},
        {"acosh", {v}, 0, v, true},
        {"asin", {v}, 0, v, true},
        {"asinh", {v}, 0, v, true},
        {"atan", {v}, 0, v, true},
        {"atanh", {v}, 0, v, true},
        {"avg_over_time", {m}, 0, v, true},
        {"ceil", {v}, 0, v, true},
        {"changes", {m}, 0, v, true},
        {"clamp", {v, s, s}, 0, v, true},
        {"clamp_max", {v, s}, 0, v, true},
        {"clamp_min", {v, s}, 0, v, true},
        {"cos", {v}, 0, v, true},
        {"cosh", {v}, 0, v, true},
        {"count_over_time", {m}, 0, v, true},
        {"days_in_month", {v}, 1, v, true},
        {"day_of_month", {v}, 1, v, true},
        {"day_of_week", {v}, 1, v, true},
        {"day_of_year", {v}, 1, v, true},
        {"deg", {v}, 0, v, true},
        {"delta", {m}, 0, v, true},
        {"deriv", {m}, 0, v, true},
        {"exp", {v}, 0, v, true},
        {"floor", {v}, 0, v, true},
        {"histogram_count", {v}, 0, v, false},
        {"histogram_sum", {v}, 0, v, false},
        {"histogram_fraction", {s, s, v}, 0, v, false},
        {"histogram_quantile", {s, v}, 0, v, true},
        {"holt_winters", {m, s, s}, 0, v, true},
        {"hour", {v}, 1, v, true},
        {"idelta", {m}, 0, v, true},
        {"increase", {m}, 0, v, true},
        {"irate", {m}, 0, v, true},
        {"label_replace", {v, str, str, str, str}, 0, v, true},
        {"label_join", {v, str, str, str}, -1, v, true},
        {"last_over_time", {m}, 0, v, true},
        {"ln", {v}, 0, v, true},
        {"log10", {v}, 0, v, true},
        {"log2", {v}, 0, v, true},
        {"max_over_time", {m}, 0, v, true},
        {"min_over_time", {m}, 0, v, true},
        {"minute", {v}, 1, v, true},
        {"month", {v}, 1, v, true},
        {"pi", {}, 0, s, true},
        {"predict_linear", {m, s}, 0, v, true},
        {"present_over_time", {m}, 0, v, true},
        {"quantile_over_time", {s, m}, 0, v, true},
        {"rad", {v}, 0, v, true},
        {"rate", {m}, 0, v, true},
        {"resets", {m}, 0, v, true},
        {"round", {v, s}, 1, v, true},
        {"scalar", {v}, 0, s, true},
        {"sgn", {v}, 0, v, true},
        {"sin", {v}, 0, v, true},
        {"sinh", {v}, 0, v, true},
        {"sort", {v}, 0, v, true},
        {"sort_desc", {v}, 0, v, true},
        {"sqrt", {v}, 0, v, true},
        {"stddev_over_time", {m}, 0, v, true},
        {"stdvar_over_time", {m}, 0, v, true},
        {"sum_over_time", {m}, 0, v, true},
        {"tan", {v}, 0, v, true},
        {"tanh", {v}, 0, v, true},
        {"time", {}, 0, s, true},
        {"timestamp", {v}, 0, v, true},
        {"vector", {s}, 0, v, true},
        {"year", {v}, 1, v, true},
    };
    return t;
  }();
  return table;
}

const Function* find_function(std::string_view name) {
  for (const Function& f : functions())
    if (f.name == name) return &f;
  return nullptr;
}

// Prometheus' DocumentedType.
std::string documented(VT t) {
  switch (t) {
    case VT::kVector:
      return "instant vector";
    case VT::kMatrix:
      return "range vector";
    case VT::kScalar:
      return "scalar";
    case VT::kString:
      return "string";
  }
  return "unknown";
}

std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// Binary operator precedence (lowest 1) for a token, 0 if it is not a binary operator.
int precedence(Tok t) {
  switch (t) {
    case Tok::kLor:
      return 1;
    case Tok::kLand:
    case Tok::kLunless:
      return 2;
    case Tok::kEqlc:
    case Tok::kNeq:
    case Tok::kLte:
    case Tok::kLss:
    case Tok::kGte:
    case Tok::kGtr:
      return 3;
    case Tok::kAdd:
    case Tok::kSub:
      return 4;
    case Tok::kMul:
    case Tok::kDiv:
    case Tok::kMod:
    case Tok::kAtan2:
      return 5;
    case Tok::kPow:
      return 6;
    default:
      return 0;
  }
}
constexpr int kPowPrecedence = 6;

BinaryOp binary_op(Tok t) {
  switch (t) {
    case Tok::kLor:
      return BinaryOp::kOr;
    case Tok::kLand:
      return BinaryOp::kAnd;
    case Tok::kLunless:
      return BinaryOp::kUnless;
    case Tok::kEqlc:
      return BinaryOp::kEq;
    case Tok::kNeq:
      return BinaryOp::kNe;
    case Tok::kLte:
      return BinaryOp::kLe;
    case Tok::kLss:
      return BinaryOp::kLt;
    case Tok::kGte:
      return BinaryOp::kGe;
    case Tok::kGtr:
      return BinaryOp::kGt;
    case Tok::kAdd:
      return BinaryOp::kAdd;
    case Tok::kSub:
      return BinaryOp::kSub;
    case Tok::kMul:
      return BinaryOp::kMul;
    case Tok::kDiv:
      return BinaryOp::kDiv;
    case Tok::kMod:
      return BinaryOp::kMod;
    case Tok::kAtan2:
      return BinaryOp::kAtan2;
    default:
      return BinaryOp::kPow;
  }
}

// Tokens that may name a metric (generated_parser.y's metric_identifier).
bool is_metric_identifier(Tok t) {
  switch (t) {
    case Tok::kIdentifier:
    case Tok::kMetricIdentifier:
    case Tok::kAggregator:
    case Tok::kBy:
    case Tok::kWithout:
    case Tok::kLand:
    case Tok::kLor:
    case Tok::kLunless:
    case Tok::kOffset:
    case Tok::kStart:
    case Tok::kEnd:
      return true;
    default:
      return false;
  }
}

// Tokens that may name a label in by/without/on/ignoring/group_x lists (maybe_label).
bool is_maybe_label(Tok t) {
  switch (t) {
    case Tok::kIdentifier:
    case Tok::kMetricIdentifier:
    case Tok::kAggregator:
    case Tok::kBy:
    case Tok::kWithout:
    case Tok::kLand:
    case Tok::kLor:
    case Tok::kLunless:
    case Tok::kAtan2:
    case Tok::kOffset:
    case Tok::kOn:
    case Tok::kIgnoring:
    case Tok::kGroupLeft:
    case Tok::kGroupRight:
    case Tok::kBool:
    case Tok::kStart:
    case Tok::kEnd:
      return true;
    default:
      return false;
  }
}

// Go's strconv.ParseInt(s, 0, 64) for the forms the lexer produces (decimal, 0x.., 0-octal).
bool parse_go_int(std::string_view s, double& out) {
  int base = 10;
  std::string_view digits = s;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    digits = s.substr(2);
  } else if (s.size() > 1 && s[0] == '0') {
    base = 8;
    digits = s.substr(1);
  }
  if (digits.empty()) return false;
  uint64_t v = 0;
  for (char c : digits) {
    unsigned d;
    if (c >= '0' && c <= '9') {
      d = static_cast<unsigned>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      d = static_cast<unsigned>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      d = static_cast<unsigned>(c - 'A' + 10);
    } else {
      return false;
    }
    if (d >= static_cast<unsigned>(base)) return false;
    if (v > (uint64_t{1} << 63) / static_cast<uint64_t>(base)) return false;
    v = v * static_cast<uint64_t>(base) + d;
    if (v > static_cast<uint64_t>(INT64_MAX)) return false;
  }
  out = static_cast<double>(v);
  return true;
}

// parse.go's number(): ParseInt(s, 0, 64), else ParseFloat(s, 64).
bool parse_number(std::string_view s, double& out, std::string& error) {
  if (parse_go_int(s, out)) return true;
  std::string lower(s);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "inf") {
    out = HUGE_VAL;
    return true;
  }
  if (lower == "nan") {
    out = std::nan("");
    return true;
  }
  const bool hex = lower.size() > 1 && lower[0] == '0' && lower[1] == 'x';
  if (!hex && !lower.empty()) {
    const std::string str(s);
    errno = 0;
    char* end = nullptr;
    const double v = std::strtod(str.c_str(), &end);
    if (end == str.c_str() + str.size()) {
      if (errno == ERANGE && std::isinf(v)) {
        error = "error parsing number: strconv.ParseFloat: parsing " + quoted(s) +
                ": value out of range";
        return false;
      }
      out = v;
      return true;
    }
  }
  error = "error parsing number: strconv.ParseFloat: parsing " + quoted(s) + ": invalid syntax";
  return false;
}

struct Node {
  ExprPtr e;
  int depth = 0;  // tree depth
};

class Parser {
 public:
  explicit Parser(std::string_view input) : input_(input), toks_(detail_lex::lex(input)) {}

  detail::ParseResult<ExprPtr> run() {
    using R = detail::ParseResult<ExprPtr>;
    if (cur().type == Tok::kEof) return R::fail(format_error(0, "no expression found in input"));
    Node n = parse_expr(0);
    if (n.e && cur().type != Tok::kEof) unexpected("");
    if (!n.e && error_.empty()) fail(cur().pos, "unexpected " + detail_lex::describe(cur()));
    if (!n.e || !error_.empty()) return R::fail(format_error(error_pos_, error_));
    check(*n.e);
    if (!type_error_.empty()) return R::fail(format_error(type_error_pos_, type_error_));
    return R::ok(std::move(n.e));
  }

 private:
  const Token& cur() const { return toks_[i_]; }
  const Token& peek_next() const { return toks_[i_ + 1 < toks_.size() ? i_ + 1 : i_]; }
  void advance() {
    if (i_ + 1 < toks_.size()) ++i_;
  }

  std::string format_error(int pos, const std::string& msg) const {
    int line = 1;
    int last_break = -1;
    for (int k = 0; k < pos && k < static_cast<int>(input_.size()); ++k) {
      if (input_[static_cast<size_t>(k)] == '\n') {
        ++line;
        last_break = k;
      }
    }
    return std::to_string(line) + ":" + std::to_string(pos - last_break) + ": " + msg;
  }

  // Records a syntax error (the first wins) and returns an empty node.
  Node fail(int pos, std::string msg) {
    if (error_.empty()) {
      error_ = std::move(msg);
      error_pos_ = pos;
    }
    return {};
  }
  Node unexpected(std::string_view context) {
    const Token& t = cur();
    if (t.type == Tok::kError) return fail(t.pos, t.value);
    std::string msg = "unexpected " + detail_lex::describe(t);
    msg += context;
    return fail(t.pos, std::move(msg));
  }
  void type_error(int pos, std::string msg) {
    if (type_error_.empty()) {
      type_error_ = std::move(msg);
      type_error_pos_ = pos;
    }
  }
  // Where the source text of `e` starts (a binary node's `position` is its operator's).
  int start_of(const Expr& e) const {
    const Expr* p = &e;
    while (true) {
      if (!unary_plus_.empty()) {
        auto it = unary_plus_.find(p);
        if (it != unary_plus_.end()) return it->second.second;
      }
      if (p->kind != ExprKind::kBinary || p->args.empty()) return p->position;
      p = p->args[0].get();
    }
  }

  // expr at or above `min_prec`; operators of equal precedence associate to the left except ^.
  Node parse_expr(int min_prec) {
    if (++recursion_ > kMaxDepth) {
      --recursion_;
      return fail(cur().pos, "expression nested too deeply (more than " +
                                 std::to_string(kMaxDepth) + " levels)");
    }
    Node lhs = parse_unary();
    while (lhs.e) {
      const Tok t = cur().type;
      const int prec = precedence(t);
      if (prec == 0 || prec < min_prec) break;
      lhs = parse_binary_rest(std::move(lhs), prec);
    }
    --recursion_;
    return lhs;
  }

  Node parse_binary_rest(Node lhs, int prec) {
    const Token& op_tok = cur();
    const int op_pos = op_tok.pos;
    auto e = std::make_unique<Expr>();
    e->kind = ExprKind::kBinary;
    e->position = op_pos;
    e->op = binary_op(op_tok.type);
    advance();
    // bool_modifier, then on/ignoring (labels), then group_left/group_right [(labels)].
    if (cur().type == Tok::kBool) {
      e->return_bool = true;
      advance();
    }
    if (cur().type == Tok::kOn || cur().type == Tok::kIgnoring) {
      e->matching.on = cur().type == Tok::kOn;
      advance();
      if (!parse_label_list(e->matching.labels)) return {};
      if (cur().type == Tok::kGroupLeft || cur().type == Tok::kGroupRight) {
        e->matching.card =
            cur().type == Tok::kGroupLeft ? Cardinality::kManyToOne : Cardinality::kOneToMany;
        advance();
        if (cur().type == Tok::kLeftParen && !parse_label_list(e->matching.include)) return {};
      }
    }
    Node rhs = parse_expr(prec == kPowPrecedence ? prec : prec + 1);
    if (!rhs.e) return {};
    const int depth = std::max(lhs.depth, rhs.depth) + 1;
    if (depth > kMaxDepth)
      return fail(op_pos, "expression nested too deeply (more than " + std::to_string(kMaxDepth) +
                              " levels)");
    e->args.push_back(std::move(lhs.e));
    e->args.push_back(std::move(rhs.e));
    return {std::move(e), depth};
  }

  // parse.go's checkAST for a BinaryExpr, after its operands.
  void check_binary(Expr& e, const Expr& lhs, const Expr& rhs) {
    const VT lt = lhs.type, rt = rhs.type;
    const std::string op(to_string(e.op));
    if (e.return_bool && !is_comparison(e.op))
      type_error(e.position, "bool modifier can only be used on comparison operators");
    if (is_comparison(e.op) && !e.return_bool && lt == VT::kScalar && rt == VT::kScalar)
      type_error(e.position, "comparisons between scalars must use BOOL modifier");
    if (is_set_operator(e.op) && e.matching.card == Cardinality::kOneToOne)
      e.matching.card = Cardinality::kManyToMany;
    if (e.matching.on) {
      for (const std::string& l1 : e.matching.labels)
        for (const std::string& l2 : e.matching.include)
          if (l1 == l2)
            type_error(e.position,
                       "label " + quoted(l1) + " must not occur in ON and GROUP clause at once");
    }
    if (lt != VT::kScalar && lt != VT::kVector)
      type_error(start_of(lhs),
                 "binary expression must contain only scalar and instant vector types");
    if (rt != VT::kScalar && rt != VT::kVector)
      type_error(start_of(rhs),
                 "binary expression must contain only scalar and instant vector types");
    if (lt != VT::kVector || rt != VT::kVector) {
      if (!e.matching.labels.empty())
        type_error(start_of(lhs), "vector matching only allowed between instant vectors");
      e.matching = VectorMatching{};
    } else if (is_set_operator(e.op)) {
      if (e.matching.card == Cardinality::kOneToMany || e.matching.card == Cardinality::kManyToOne)
        type_error(start_of(lhs), "no grouping allowed for " + quoted(op) + " operation");
    }
    if ((lt == VT::kScalar || rt == VT::kScalar) && is_set_operator(e.op))
      type_error(start_of(lhs),
                 "set operator " + quoted(op) + " not allowed in binary scalar expression");
    e.type = (lt == VT::kScalar && rt == VT::kScalar) ? VT::kScalar : VT::kVector;
  }

  // `(a, b, )`: grouping_labels.
  bool parse_label_list(std::vector<std::string>& out) {
    if (cur().type != Tok::kLeftParen) {
      unexpected(" in grouping opts, expected \"(\"");
      return false;
    }
    advance();
    while (true) {
      if (cur().type == Tok::kRightParen) {
        advance();
        return true;
      }
      if (!is_maybe_label(cur().type) || !detail_lex::is_label_name(cur().text)) {
        unexpected(" in grouping opts, expected label");
        return false;
      }
      out.emplace_back(cur().text);
      advance();
      if (cur().type == Tok::kComma) {
        advance();
      } else if (cur().type != Tok::kRightParen) {
        unexpected(" in grouping opts, expected \",\" or \")\"");
        return false;
      }
    }
  }

  Node parse_unary() {
    const Tok t = cur().type;
    if (t != Tok::kAdd && t != Tok::kSub) return parse_postfix(parse_primary());
    const int pos = cur().pos;
    advance();
    // `unary_op expr %prec MUL`: the operand takes only tighter operators (^).
    Node operand = parse_expr(kPowPrecedence);
    if (!operand.e) return {};
    const bool negate = t == Tok::kSub;
    if (operand.e->kind == ExprKind::kNumber) {
      if (negate) operand.e->number = -operand.e->number;
      operand.e->position = pos;
      return operand;
    }
    if (!negate) {  // unary plus is dropped, its type check done by check()
      auto [it, fresh] = unary_plus_.try_emplace(operand.e.get(), pos, pos);
      if (!fresh) it->second.second = pos;  // `+ +x`: remember the outermost too
      return operand;
    }
    auto e = std::make_unique<Expr>();
    e->kind = ExprKind::kUnary;
    e->position = pos;
    e->negate = true;
    e->type = operand.e->type;
    const int depth = operand.depth + 1;
    e->args.push_back(std::move(operand.e));
    return {std::move(e), depth};
  }

  // [range] and offset after a selector (they bind tighter than every operator).
  Node parse_postfix(Node n) {
    while (n.e) {
      const Tok t = cur().type;
      if (t == Tok::kLeftBracket) {
        n = parse_range(std::move(n));
      } else if (t == Tok::kOffset) {
        n = parse_offset(std::move(n));
      } else if (t == Tok::kAt) {
        return fail(cur().pos, "not supported in-process: @ modifier");
      } else {
        break;
      }
    }
    return n;
  }

  bool parse_duration_token(int64_t& ms) {
    const Token& t = cur();
    auto d = parse_duration(t.text);
    if (!d) {
      // Prometheus says only "duration out of range" for every overflow.
      fail(t.pos,
           d.error.find("out of range") != std::string::npos ? "duration out of range" : d.error);
      return false;
    }
    if (*d == 0) {
      fail(t.pos, "duration must be greater than 0");
      return false;
    }
    if (*d > INT64_MAX / 1000000) {  // Prometheus holds durations in int64 nanoseconds
      fail(t.pos, "duration out of range");
      return false;
    }
    ms = *d;
    advance();
    return true;
  }

  Node parse_range(Node n) {
    const int bracket_pos = cur().pos;
    advance();  // [
    if (cur().type != Tok::kDuration) return unexpected(" in subquery selector or range");
    const int dur_pos = cur().pos;
    if (peek_next().type == Tok::kColon) return fail(dur_pos, "not supported in-process: subquery");
    if (peek_next().type != Tok::kRightBracket) {
      advance();
      return unexpected(" in subquery selector or range, expected \"]\" or \":\"");
    }
    int64_t ms = 0;
    if (!parse_duration_token(ms)) return {};
    if (n.e->kind != ExprKind::kVectorSelector)
      return fail(bracket_pos, "ranges only allowed for vector selectors");
    if (n.e->offset_ms != 0) return fail(bracket_pos, "no offset modifiers allowed before range");
    advance();  // ]
    n.e->kind = ExprKind::kMatrixSelector;
    n.e->range_ms = ms;
    n.e->type = VT::kMatrix;
    return n;
  }

  Node parse_offset(Node n) {
    advance();  // offset
    bool negative = false;
    if (cur().type == Tok::kSub) {
      negative = true;
      advance();
    }
    if (cur().type != Tok::kDuration) return unexpected(" in offset, expected duration");
    int64_t ms = 0;
    if (!parse_duration_token(ms)) return {};
    if (n.e->kind != ExprKind::kVectorSelector && n.e->kind != ExprKind::kMatrixSelector)
      return fail(start_of(*n.e),
                  "offset modifier must be preceded by an instant vector selector or range "
                  "vector selector or a subquery");
    if (n.e->offset_ms != 0) return fail(start_of(*n.e), "offset may not be set multiple times");
    n.e->offset_ms = negative ? -ms : ms;
    return n;
  }

  Node parse_primary() {
    const Token& t = cur();
    switch (t.type) {
      case Tok::kNumber: {
        double v = 0;
        std::string err;
        if (!parse_number(t.text, v, err)) return fail(t.pos, std::move(err));
        auto e = std::make_unique<Expr>();
        e->kind = ExprKind::kNumber;
        e->position = t.pos;
        e->number = v;
        e->type = VT::kScalar;
        advance();
        return {std::move(e), 1};
      }
      case Tok::kString: {
        auto e = std::make_unique<Expr>();
        e->kind = ExprKind::kString;
        e->position = t.pos;
        e->string = t.value;
        e->type = VT::kString;
        advance();
        return {std::move(e), 1};
      }
      case Tok::kLeftParen: {
        const int pos = t.pos;
        advance();
        Node inner = parse_expr(0);
        if (!inner.e) return {};
        if (cur().type != Tok::kRightParen) return unexpected("");
        advance();
        auto e = std::make_unique<Expr>();
        e->kind = ExprKind::kParen;
        e->position = pos;
        e->type = inner.e->type;
        e->args.push_back(std::move(inner.e));
        return {std::move(e), inner.depth + 1};
      }
      case Tok::kLeftBrace:
        return parse_selector("", t.pos);
      case Tok::kIdentifier:
        if (peek_next().type == Tok::kLeftParen) return parse_call();
        break;
      case Tok::kAggregator:
        if (peek_next().type == Tok::kLeftParen || peek_next().type == Tok::kBy ||
            peek_next().type == Tok::kWithout)
          return parse_aggregate();
        break;
      default:
        break;
    }
    if (is_metric_identifier(t.type)) {
      const int pos = t.pos;
      std::string name(t.text);
      advance();
      return parse_selector(std::move(name), pos);
    }
    return unexpected("");
  }

  // function_call_body: `(` args `)`.
  bool parse_call_body(std::vector<Node>& args, std::string_view context) {
    advance();  // (
    if (cur().type == Tok::kRightParen) {
      advance();
      return true;
    }
    while (true) {
      Node a = parse_expr(0);
      if (!a.e) return false;
      args.push_back(std::move(a));
      if (cur().type == Tok::kComma) {
        advance();
        if (cur().type == Tok::kRightParen) {
          fail(cur().pos - 1, "trailing commas not allowed in function call args");
          return false;
        }
        continue;
      }
      if (cur().type == Tok::kRightParen) {
        advance();
        return true;
      }
      unexpected(context);
      return false;
    }
  }

  // parse.go's checkAST: the types of the whole tree, in Prometheus' order (the first error found
  // is the one reported). Sets Expr::type on every node it visits.
  VT check(Expr& e) {
    switch (e.kind) {
      case ExprKind::kNumber:
        e.type = VT::kScalar;
        break;
      case ExprKind::kString:
        e.type = VT::kString;
        break;
      case ExprKind::kVectorSelector:
      case ExprKind::kMatrixSelector:
        e.type = e.kind == ExprKind::kMatrixSelector ? VT::kMatrix : VT::kVector;
        if (!e.name.empty()) {
          // The last matcher is the name's own.
          for (size_t k = 0; k + 1 < e.matchers.size(); ++k)
            if (e.matchers[k].name == "__name__")
              type_error(e.position, "metric name must not be set twice: " + quoted(e.name) +
                                         " or " + quoted(e.matchers[k].value));
        } else {
          bool non_empty = false;
          for (const Matcher& m : e.matchers)
            if (!m.matches("")) non_empty = true;
          if (!non_empty)
            type_error(e.position, "vector selector must contain at least one non-empty matcher");
        }
        break;
      case ExprKind::kParen:
        e.type = check(*e.args[0]);
        break;
      case ExprKind::kUnary:
        e.type = check(*e.args[0]);
        check_unary_operand(e.position, e.type);
        break;
      case ExprKind::kCall:
        check_call(e);
        break;
      case ExprKind::kAggregate: {
        e.type = VT::kVector;
        expect_type(*e.args.back(), VT::kVector, "aggregation expression");
        if (e.agg == AggregateOp::kTopk || e.agg == AggregateOp::kBottomk ||
            e.agg == AggregateOp::kQuantile)
          expect_type(*e.args[0], VT::kScalar, "aggregation parameter");
        if (e.agg == AggregateOp::kCountValues)
          expect_type(*e.args[0], VT::kString, "aggregation parameter");
        break;
      }
      case ExprKind::kBinary:
        check(*e.args[0]);
        check(*e.args[1]);
        check_binary(e, *e.args[0], *e.args[1]);
        break;
    }
    if (!unary_plus_.empty()) {
      auto it = unary_plus_.find(&e);
      if (it != unary_plus_.end()) check_unary_operand(it->second.first, e.type);
    }
    return e.type;
  }

  void check_unary_operand(int pos, VT t) {
    if (t != VT::kScalar && t != VT::kVector)
      type_error(pos,
                 "unary expression only allowed on expressions of type scalar or instant vector, "
                 "got " +
                     quoted(documented(t)));
  }

  void check_call(Expr& e) {
    const Function* f = find_function(e.func);
    if (!f) return;  // refused while parsing
    e.type = f->ret;
    const int nargs = static_cast<int>(f->args.size());
    const int got = static_cast<int>(e.args.size());
    const std::string name = quoted(e.func);
    if (f->variadic == 0) {
      if (nargs != got)
        type_error(e.position, "expected " + std::to_string(nargs) + " argument(s) in call to " +
                                   name + ", got " + std::to_string(got));
    } else {
      const int na = nargs - 1;
      if (na > got) {
        type_error(e.position, "expected at least " + std::to_string(na) +
                                   " argument(s) in call to " + name + ", got " +
                                   std::to_string(got));
      } else if (f->variadic > 0 && na + f->variadic < got) {
        type_error(e.position, "expected at most " + std::to_string(na + f->variadic) +
                                   " argument(s) in call to " + name + ", got " +
                                   std::to_string(got));
      }
    }
    for (int k = 0; k < got; ++k) {
      int idx = k;
      if (idx >= nargs) {
        if (f->variadic == 0 || nargs == 0) break;  // not checked further, as in Prometheus
        idx = nargs - 1;
      }
      expect_type(*e.args[static_cast<size_t>(k)], f->args[static_cast<size_t>(idx)],
                  "call to function " + name);
    }
  }

  // Checks `arg` (and its subtree) and that it is of type `want` (parse.go's expectType).
  void expect_type(Expr& arg, VT want, const std::string& context) {
    check(arg);
    if (arg.type != want)
      type_error(start_of(arg), "expected type " + documented(want) + " in " + context + ", got " +
                                    documented(arg.type));
  }

  Node parse_call() {
    const int pos = cur().pos;
    const std::string name(cur().text);
    advance();  // name
    std::vector<Node> args;
    if (!parse_call_body(args, "")) return {};
    const Function* f = find_function(name);
    if (!f) return fail(pos, "unknown function with name " + quoted(name));
    if (!f->supported) return fail(pos, "not supported in-process: " + name);
    auto e = std::make_unique<Expr>();
    e->kind = ExprKind::kCall;
    e->position = pos;
    e->func = name;
    int depth = 1;
    for (Node& a : args) {
      depth = std::max(depth, a.depth + 1);
      e->args.push_back(std::move(a.e));
    }
    return {std::move(e), depth};
  }

  bool parse_aggregate_modifier(Expr& e) {
    e.without = cur().type == Tok::kWithout;
    advance();
    return parse_label_list(e.grouping);
  }

  Node parse_aggregate() {
    const int pos = cur().pos;
    auto e = std::make_unique<Expr>();
    e->kind = ExprKind::kAggregate;
    e->position = pos;
    e->agg = cur().agg;
    e->type = VT::kVector;
    advance();
    bool have_modifier = false;
    if (cur().type == Tok::kBy || cur().type == Tok::kWithout) {
      if (!parse_aggregate_modifier(*e)) return {};
      have_modifier = true;
    }
    if (cur().type != Tok::kLeftParen) return unexpected(" in aggregation, expected \"(\"");
    std::vector<Node> args;
    if (!parse_call_body(args, " in aggregation")) return {};
    if (!have_modifier && (cur().type == Tok::kBy || cur().type == Tok::kWithout)) {
      if (!parse_aggregate_modifier(*e)) return {};
    }
    if (args.empty()) return fail(pos, "no arguments for aggregate expression provided");
    const bool with_param = e->agg == AggregateOp::kTopk || e->agg == AggregateOp::kBottomk ||
                            e->agg == AggregateOp::kQuantile || e->agg == AggregateOp::kCountValues;
    const size_t want = with_param ? 2 : 1;
    if (args.size() != want)
      return fail(pos, "wrong number of arguments for aggregate expression provided, expected " +
                           std::to_string(want) + ", got " + std::to_string(args.size()));
    int depth = 1;
    for (Node& a : args) {
      depth = std::max(depth, a.depth + 1);
      e->args.push_back(std::move(a.e));
    }
    return {std::move(e), depth};
  }

  Node parse_selector(std::string name, int pos) {
    auto e = std::make_unique<Expr>();
    e->kind = ExprKind::kVectorSelector;
    e->position = pos;
    e->type = VT::kVector;
    if (cur().type == Tok::kLeftBrace) {
      advance();
      while (true) {
        if (cur().type == Tok::kRightBrace) {
          advance();
          break;
        }
        if (cur().type != Tok::kIdentifier)
          return unexpected(" in label matching, expected identifier or \"}\"");
        const int mpos = cur().pos;
        std::string label(cur().text);
        advance();
        MatchOp op;
        switch (cur().type) {
          case Tok::kEql:
            op = MatchOp::kEqual;
            break;
          case Tok::kNeq:
            op = MatchOp::kNotEqual;
            break;
          case Tok::kEqlRegex:
            op = MatchOp::kRegexMatch;
            break;
          case Tok::kNeqRegex:
            op = MatchOp::kRegexNoMatch;
            break;
          default:
            return unexpected(" in label matching, expected label matching operator");
        }
        advance();
        if (cur().type != Tok::kString) return unexpected(" in label matching, expected string");
        Matcher m;
        std::string err;
        if (!make_matcher(std::move(label), op, cur().value, m, err)) return fail(mpos, err);
        e->matchers.push_back(std::move(m));
        advance();
        if (cur().type == Tok::kComma) {
          advance();
        } else if (cur().type != Tok::kRightBrace) {
          return unexpected(" in label matching, expected \",\" or \"}\"");
        }
      }
    }
    if (!name.empty()) {
      Matcher m;
      std::string err;
      make_matcher("__name__", MatchOp::kEqual, name, m, err);
      e->matchers.push_back(std::move(m));
      e->name = std::move(name);
    }
    return {std::move(e), 1};
  }

  std::string_view input_;
  std::vector<Token> toks_;
  size_t i_ = 0;
  int recursion_ = 0;
  std::string error_;
  int error_pos_ = 0;
  std::string type_error_;
  int type_error_pos_ = 0;
  // operand -> positions of the innermost and outermost dropped unary `+` in front of it.
  std::unordered_map<const Expr*, std::pair<int, int>> unary_plus_;
};

}  // namespace

detail::ParseResult<ExprPtr> parse(std::string_view input) { return Parser(input).run(); }

bool is_supported_function(std::string_view name) noexcept {
  const Function* f = find_function(name);
  return f != nullptr && f->supported;
}

}  // namespace vigil::alerting::promql
