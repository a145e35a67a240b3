// The PromQL parser (alerting/promql/parser.h): lexing, precedence, type checking, errors,
// printing, depth limits, garbage, and a differential check of validity against the real
// Prometheus 2.42 (`promtool check rules`, skipped when promtool is not installed).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "alerting/promql/ast.h"
#include "alerting/promql/parser.h"
#include "core/detail/json_escape.h"

namespace vigil::alerting::promql {
namespace {

using ::testing::HasSubstr;

// The tree with its shape made explicit: binary (op l r), unary (- x), paren (( x)).
std::string shape(const Expr& e) {
  switch (e.kind) {
    case ExprKind::kBinary:
      return "(" + std::string(to_string(e.op)) + " " + shape(*e.args[0]) + " " +
             shape(*e.args[1]) + ")";
    case ExprKind::kUnary:
      return "(- " + shape(*e.args[0]) + ")";
    case ExprKind::kParen:
      return "[" + shape(*e.args[0]) + "]";
    default:
      return to_string(e);
  }
}

ExprPtr must_parse(const std::string& in) {
  auto r = parse(in);
  EXPECT_TRUE(r) << in << " -> " << r.error;
  if (!r) return nullptr;
  return std::move(*r);
}

std::string parse_error(const std::string& in) {
  auto r = parse(in);
  EXPECT_FALSE(r) << in << " parsed as " << (r ? to_string(**r) : "");
  return r ? "" : r.error;
}

double number_of(const std::string& in) {
  ExprPtr e = must_parse(in);
  if (!e) return -12345;
  EXPECT_EQ(e->kind, ExprKind::kNumber) << in;
  return e->number;
}

// ---- Lexing ----------------------------------------------------------------------------------

TEST(PromqlLexer, Numbers) {
  EXPECT_EQ(number_of("1"), 1);
  EXPECT_EQ(number_of("1.5"), 1.5);
  EXPECT_EQ(number_of(".5"), 0.5);
  EXPECT_EQ(number_of("5."), 5);
  EXPECT_EQ(number_of("1e3"), 1000);
  EXPECT_EQ(number_of("1E-3"), 0.001);
  EXPECT_EQ(number_of("1e+3"), 1000);
  EXPECT_EQ(number_of("0x1f"), 31);
  EXPECT_EQ(number_of("0X1F"), 31);
  EXPECT_EQ(number_of("0755"), 493);  // Go's ParseInt base 0: octal
  EXPECT_EQ(number_of("08"), 8);      // not octal: ParseFloat
  EXPECT_EQ(number_of("99999999999999999999"), 1e20);
  EXPECT_EQ(number_of("1e-400"), 0);
  EXPECT_EQ(number_of("-1"), -1);
  EXPECT_EQ(number_of("- -1"), 1);
  EXPECT_EQ(number_of("+1"), 1);
  EXPECT_TRUE(std::isinf(number_of("Inf")));
  EXPECT_TRUE(std::isinf(number_of("inf")));
  EXPECT_TRUE(std::isinf(number_of("INF")));
  EXPECT_LT(number_of("-Inf"), 0);
  EXPECT_TRUE(std::isnan(number_of("NaN")));
  EXPECT_TRUE(std::isnan(number_of("nan")));
  // "infinity", "nanx" are metric names.
  EXPECT_EQ(must_parse("infinity")->kind, ExprKind::kVectorSelector);
  EXPECT_EQ(must_parse("nanx")->kind, ExprKind::kVectorSelector);
  EXPECT_THAT(parse_error("0x"), HasSubstr("error parsing number"));
  EXPECT_THAT(parse_error("1e"), HasSubstr("error parsing number"));
  EXPECT_THAT(parse_error("0x1.5"), HasSubstr("error parsing number"));
  EXPECT_THAT(parse_error("1e400"), HasSubstr("value out of range"));
  EXPECT_THAT(parse_error("1_000"), HasSubstr("bad number or duration syntax"));
  EXPECT_EQ(parse_error("1.5.5"), "1:4: unexpected number \".5\"");
  EXPECT_EQ(parse_error("5m"), "1:1: unexpected duration \"5m\"");
  EXPECT_EQ(parse_error("1 + 5m"), "1:5: unexpected duration \"5m\"");
}

TEST(PromqlLexer, Strings) {
  auto str = [](const std::string& in) {
    ExprPtr e = must_parse(in);
    if (!e) return std::string("<error>");
    EXPECT_EQ(e->kind, ExprKind::kString);
    EXPECT_EQ(e->type, ValueType::kString);
    return e->string;
  };
  EXPECT_EQ(str(R"("abc")"), "abc");
  EXPECT_EQ(str(R"('abc')"), "abc");
  EXPECT_EQ(str(R"(`a\nb`)"), "a\\nb");  // raw: no escapes
  EXPECT_EQ(str("`a\r\nb`"), "a\nb");    // raw: \r dropped, as Go's Unquote does
  EXPECT_EQ(str(R"("\a\b\f\n\r\t\v\\\"")"), "\a\b\f\n\r\t\v\\\"");
  EXPECT_EQ(str(R"('\'"')"), "'\"");
  EXPECT_EQ(str(R"("\x41\101\u00e9\U0001F600")"), "AA\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_EQ(str(R"("\xff")"), "\xff");  // \x is a byte
  EXPECT_EQ(str("\"\xc3\xa9\""), "\xc3\xa9");
  EXPECT_EQ(parse_error(R"("\q")"), "1:1: unknown escape sequence U+0071 'q'");
  EXPECT_EQ(parse_error(R"("\'")"), "1:1: unknown escape sequence U+0027 '''");
  EXPECT_THAT(parse_error(R"('\"')"), HasSubstr("unknown escape sequence"));
  EXPECT_THAT(parse_error(R"("\x4")"), HasSubstr("illegal character U+0022 '\"' in escape"));
  EXPECT_THAT(parse_error(R"("\400")"), HasSubstr("invalid Unicode code point"));
  EXPECT_THAT(parse_error(R"("\ud800")"), HasSubstr("invalid Unicode code point"));
  EXPECT_THAT(parse_error(R"("\U00110000")"), HasSubstr("invalid Unicode code point"));
  EXPECT_THAT(parse_error("\"a"), HasSubstr("unterminated quoted string"));
  EXPECT_THAT(parse_error("\"a\nb\""), HasSubstr("unterminated quoted string"));
  EXPECT_THAT(parse_error("`a"), HasSubstr("unterminated raw string"));
  EXPECT_THAT(parse_error("\"\xff\""), HasSubstr("invalid UTF-8 rune"));
  EXPECT_THAT(parse_error("\"\\"), HasSubstr("escape sequence not terminated"));
}

TEST(PromqlLexer, IdentifiersKeywordsComments) {
  ExprPtr e = must_parse("a:b:c{d=\"e\"}");
  EXPECT_EQ(e->name, "a:b:c");
  EXPECT_EQ(must_parse(":x")->name, ":x");
  // Keywords that may name metrics (generated_parser.y's metric_identifier).
  for (const char* name : {"sum", "by", "without", "offset", "and", "or", "unless", "start", "end",
                           "count_values", "SUM"}) {
    ExprPtr m = must_parse(name);
    ASSERT_TRUE(m) << name;
    EXPECT_EQ(m->kind, ExprKind::kVectorSelector);
    EXPECT_EQ(m->name, name);
  }
  EXPECT_EQ(to_string(*must_parse("x and and")), "x and and");
  for (const char* kw : {"on", "ignoring", "group_left", "group_right", "bool", "atan2"})
    EXPECT_THAT(parse_error(kw), HasSubstr("unexpected <")) << kw;
  // Keywords are case-insensitive.
  EXPECT_EQ(to_string(*must_parse("SUM(x) BY (a)")), "sum by (a) (x)");
  EXPECT_EQ(to_string(*must_parse("x AND y Or z")), "x and y or z");
  // Label names may be keywords.
  EXPECT_EQ(to_string(*must_parse("sum by (on, bool, sum, atan2) (x)")),
            "sum by (on, bool, sum, atan2) (x)");
  EXPECT_EQ(to_string(*must_parse("x{on=\"a\",by=\"b\"}")), "x{by=\"b\",on=\"a\"}");
  EXPECT_EQ(to_string(*must_parse("x + on (sum) group_left (by) y")),
            "x + on (sum) group_left (by) y");
  // Comments, whitespace.
  EXPECT_EQ(to_string(*must_parse("x # comment")), "x");
  EXPECT_EQ(to_string(*must_parse("x{a=\"b\" # c\n}\n+\t1")), "x{a=\"b\"} + 1");
  EXPECT_EQ(to_string(*must_parse("  x [ 5m ]  ")), "x[5m]");
  EXPECT_EQ(parse_error("# only a comment"), "1:1: no expression found in input");
}

// ---- Precedence and associativity ------------------------------------------------------------

TEST(PromqlParser, Precedence) {
  struct Case {
    const char* in;
    const char* shape;
  };
  const Case cases[] = {
      {"a + b * c", "(+ a (* b c))"},
      {"a * b + c", "(+ (* a b) c)"},
      {"a - b - c", "(- (- a b) c)"},
      {"a / b * c % d", "(% (* (/ a b) c) d)"},
      {"a ^ b ^ c", "(^ a (^ b c))"},
      {"a * b ^ c", "(* a (^ b c))"},
      {"a atan2 b * c", "(* (atan2 a b) c)"},
      {"a + b atan2 c", "(+ a (atan2 b c))"},
      {"a == b + c", "(== a (+ b c))"},
      {"a > b == c", "(== (> a b) c)"},
      {"a and b > c", "(and a (> b c))"},
      {"a or b and c", "(or a (and b c))"},
      {"a or b unless c", "(or a (unless b c))"},
      {"a and b unless c", "(unless (and a b) c)"},
      {"a or b or c", "(or (or a b) c)"},
      {"-a ^ b", "(- (^ a b))"},
      {"-a * b", "(* (- a) b)"},
      {"-a + b", "(+ (- a) b)"},
      {"a ^ -b", "(^ a (- b))"},
      {"a ^ -b * c", "(* (^ a (- b)) c)"},
      {"a ^ -b ^ c", "(^ a (- (^ b c)))"},
      {"-2 ^ 2", "(- (^ 2 2))"},
      {"-2 * 2", "(* -2 2)"},
      {"2 ^ -2", "(^ 2 -2)"},
      {"a - -b", "(- a (- b))"},
      {"+a - +b", "(- a b)"},
      {"(a + b) * c", "(* [(+ a b)] c)"},
      {"a + b offset 5m", "(+ a b offset 5m)"},
      {"-a offset 5m", "(- a offset 5m)"},
      {"a > bool b + c", "(> a (+ b c))"},
  };
  for (const Case& c : cases) {
    ExprPtr e = must_parse(c.in);
    if (e) {
      EXPECT_EQ(shape(*e), c.shape) << c.in;
    }
  }
  // -2^2 evaluates as -(2^2): the unary minus stays outside.
  ExprPtr e = must_parse("-2^2");
  EXPECT_EQ(e->kind, ExprKind::kUnary);
  EXPECT_TRUE(e->negate);
}

// ---- Selectors, ranges, offsets --------------------------------------------------------------

TEST(PromqlParser, Selectors) {
  ExprPtr e = must_parse("http_requests_total{code=~\"5..\", method!=\"GET\"}[5m] offset 1h");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, ExprKind::kMatrixSelector);
  EXPECT_EQ(e->type, ValueType::kMatrix);
  EXPECT_EQ(e->name, "http_requests_total");
  EXPECT_EQ(e->range_ms, 5 * 60 * 1000);
  EXPECT_EQ(e->offset_ms, 3600 * 1000);
  ASSERT_EQ(e->matchers.size(), 3u);
  EXPECT_EQ(e->matchers[0].name, "code");
  EXPECT_EQ(e->matchers[0].op, MatchOp::kRegexMatch);
  EXPECT_EQ(e->matchers[1].op, MatchOp::kNotEqual);
  EXPECT_EQ(e->matchers[2].name, "__name__");
  EXPECT_EQ(e->matchers[2].value, "http_requests_total");
  EXPECT_EQ(to_string(*e), "http_requests_total{code=~\"5..\",method!=\"GET\"}[5m] offset 1h");

  EXPECT_EQ(must_parse("x offset -5m")->offset_ms, -5 * 60 * 1000);
  EXPECT_EQ(must_parse("x offset - 5m")->offset_ms, -5 * 60 * 1000);
  EXPECT_EQ(must_parse("x[1h30m]")->range_ms, 90 * 60 * 1000);
  EXPECT_EQ(must_parse("x[5ms]")->range_ms, 5);
  EXPECT_EQ(must_parse("x offset 1y2w3d4h5m6s7ms")->offset_ms,
            ((((365 + 14 + 3) * 24 + 4) * 60 + 5) * 60 + 6) * 1000LL + 7);
  EXPECT_EQ(to_string(*must_parse("x offset 90m")), "x offset 1h30m");
  EXPECT_EQ(to_string(*must_parse("x[120s] offset -1d")), "x[2m] offset -1d");
  EXPECT_EQ(to_string(*must_parse("{__name__=\"x\"}")), "{__name__=\"x\"}");
  EXPECT_EQ(to_string(*must_parse("x{}")), "x");
  EXPECT_EQ(to_string(*must_parse("x{b=\"1\",a=\"2\",}")), "x{a=\"2\",b=\"1\"}");
  EXPECT_EQ(to_string(*must_parse("x{a='\\n\"'}")), "x{a=\"\\n\\\"\"}");

  EXPECT_EQ(parse_error("x[5]"), "1:3: missing unit character in duration");
  EXPECT_EQ(parse_error("x[5M]"), "1:3: bad duration syntax: \"5\"");
  EXPECT_EQ(parse_error("x[30m1h]"), "1:3: not a valid duration string: \"30m1h\"");
  EXPECT_EQ(parse_error("x[0s]"), "1:3: duration must be greater than 0");
  EXPECT_EQ(parse_error("x offset 0s"), "1:10: duration must be greater than 0");
  EXPECT_EQ(parse_error("x offset 5"),
            "1:10: unexpected number \"5\" in offset, expected duration");
  EXPECT_EQ(parse_error("x[5m"), "1:5: unclosed left bracket");
  EXPECT_EQ(parse_error("x offset 1m offset 1m"), "1:1: offset may not be set multiple times");
  EXPECT_EQ(parse_error("x offset 1m [5m]"), "1:13: no offset modifiers allowed before range");
  EXPECT_EQ(parse_error("(x)[5m]"), "1:4: ranges only allowed for vector selectors");
  EXPECT_EQ(parse_error("x[5m][5m]"), "1:6: ranges only allowed for vector selectors");
  EXPECT_THAT(parse_error("sum(x) offset 5m"),
              HasSubstr("offset modifier must be preceded by an instant vector selector"));
  EXPECT_EQ(parse_error("{a=\"\"}"),
            "1:1: vector selector must contain at least one non-empty matcher");
  EXPECT_THAT(parse_error("{a=~\".*\"}"), HasSubstr("at least one non-empty matcher"));
  EXPECT_THAT(parse_error("{}"), HasSubstr("at least one non-empty matcher"));
  EXPECT_TRUE(must_parse("{a=~\".+\"}"));
  EXPECT_TRUE(must_parse("{a!=\"\"}"));
  EXPECT_EQ(parse_error("x{__name__=\"y\"}"),
            "1:1: metric name must not be set twice: \"x\" or \"y\"");
  EXPECT_EQ(parse_error("x{a=\"b\" c=\"d\"}"),
            "1:9: unexpected identifier \"c\" in label matching, expected \",\" or \"}\"");
  EXPECT_EQ(parse_error("x{,}"),
            "1:3: unexpected \",\" in label matching, expected identifier or \"}\"");
  EXPECT_EQ(parse_error("x{a:b=\"c\"}"), "1:4: unexpected character inside braces: ':'");
  EXPECT_THAT(parse_error("x{a=~\"(\"}"), HasSubstr("error parsing regexp"));
  EXPECT_EQ(parse_error("x{a=~\"(\"}"), "1:3: error parsing regexp: missing closing ): `^(?:()$`");
  EXPECT_EQ(parse_error("x{a=~\"\\\\C\"}"),
            "1:3: error parsing regexp: invalid escape sequence: `\\C`");
  EXPECT_EQ(parse_error("x[293y]"), "1:3: duration out of range");
  EXPECT_EQ(must_parse("x[292y]")->range_ms, 292LL * 365 * 24 * 3600 * 1000);
}

TEST(PromqlParser, RegexMatchersAreAnchored) {
  Matcher m;
  std::string err;
  ASSERT_TRUE(make_matcher("a", MatchOp::kRegexMatch, "a.c", m, err)) << err;
  EXPECT_TRUE(m.matches("abc"));
  EXPECT_FALSE(m.matches("xabc"));
  EXPECT_FALSE(m.matches("abcx"));
  EXPECT_FALSE(m.matches(""));
  ASSERT_TRUE(make_matcher("a", MatchOp::kRegexMatch, "a|b", m, err));
  EXPECT_TRUE(m.matches("a"));
  EXPECT_TRUE(m.matches("b"));
  EXPECT_FALSE(m.matches("ab"));  // ^(?:a|b)$, not ^a|b$
  ASSERT_TRUE(make_matcher("a", MatchOp::kRegexNoMatch, "x.*", m, err));
  EXPECT_FALSE(m.matches("xyz"));
  EXPECT_TRUE(m.matches("axyz"));
  ASSERT_TRUE(make_matcher("a", MatchOp::kRegexMatch, ".*", m, err));
  EXPECT_FALSE(m.matches("a\nb"));  // `.` does not match a newline, as in Go
  EXPECT_FALSE(make_matcher("a", MatchOp::kRegexMatch, "(", m, err));
  EXPECT_THAT(err, HasSubstr("error parsing regexp"));
  ASSERT_TRUE(make_matcher("a", MatchOp::kEqual, "v", m, err));
  EXPECT_TRUE(m.matches("v"));
  EXPECT_FALSE(m.matches("vv"));
  EXPECT_EQ(m.regex, nullptr);
  ASSERT_TRUE(make_matcher("a", MatchOp::kNotEqual, "", m, err));
  EXPECT_FALSE(m.matches(""));

  ExprPtr e = must_parse("x{job=~\"api|web\"}");
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->matchers[0].matches("api"));
  EXPECT_FALSE(e->matchers[0].matches("apis"));
}

// ---- Functions, aggregations, binary operators: types and errors ------------------------------

TEST(PromqlParser, Types) {
  struct Case {
    const char* in;
    ValueType type;
  };
  const Case cases[] = {
      {"1", ValueType::kScalar},
      {"\"a\"", ValueType::kString},
      {"x", ValueType::kVector},
      {"x[5m]", ValueType::kMatrix},
      {"1 + 1", ValueType::kScalar},
      {"1 + x", ValueType::kVector},
      {"1 > bool 2", ValueType::kScalar},
      {"-(1)", ValueType::kScalar},
      {"(x)", ValueType::kVector},
      {"(x[5m])", ValueType::kMatrix},
      {"time()", ValueType::kScalar},
      {"pi()", ValueType::kScalar},
      {"scalar(x)", ValueType::kScalar},
      {"vector(1)", ValueType::kVector},
      {"rate(x[5m])", ValueType::kVector},
      {"sum(x)", ValueType::kVector},
      {"count_values(\"v\", x)", ValueType::kVector},
      {"scalar(x) * 2 ^ time()", ValueType::kScalar},
      {"x and y", ValueType::kVector},
  };
  for (const Case& c : cases) {
    ExprPtr e = must_parse(c.in);
    if (e) {
      EXPECT_EQ(e->type, c.type) << c.in;
    }
  }
}

TEST(PromqlParser, CallsAndAggregates) {
  ExprPtr e = must_parse("topk(3, x) by (a, b)");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, ExprKind::kAggregate);
  EXPECT_EQ(e->agg, AggregateOp::kTopk);
  ASSERT_EQ(e->args.size(), 2u);
  EXPECT_EQ(e->args[0]->number, 3);
  EXPECT_EQ(e->grouping, (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(e->without);
  EXPECT_EQ(to_string(*e), "topk by (a, b) (3, x)");
  e = must_parse("sum without (a) (x)");
  EXPECT_TRUE(e->without);
  EXPECT_EQ(to_string(*must_parse("sum by () (x)")), "sum(x)");
  EXPECT_EQ(to_string(*must_parse("sum without () (x)")), "sum without () (x)");
  e = must_parse("label_join(x, \"dst\", \",\", \"a\", \"b\")");
  EXPECT_EQ(e->kind, ExprKind::kCall);
  EXPECT_EQ(e->func, "label_join");
  EXPECT_EQ(e->args.size(), 5u);
  EXPECT_EQ(must_parse("round(x)")->args.size(), 1u);
  EXPECT_EQ(must_parse("hour()")->args.size(), 0u);

  struct Bad {
    const char* in;
    const char* error;
  };
  const Bad bad[] = {
      {"foo(x)", "1:1: unknown function with name \"foo\""},
      {"Rate(x[5m])", "1:1: unknown function with name \"Rate\""},
      {"rate(x)",
       "1:6: expected type range vector in call to function \"rate\", got instant vector"},
      {"abs(\"a\")", "1:5: expected type instant vector in call to function \"abs\", got string"},
      {"rate()", "1:1: expected 1 argument(s) in call to \"rate\", got 0"},
      {"time(1)", "1:1: expected 0 argument(s) in call to \"time\", got 1"},
      {"round(x, 1, 2)", "1:1: expected at most 2 argument(s) in call to \"round\", got 3"},
      {"label_join(x, \"a\")",
       "1:1: expected at least 3 argument(s) in call to \"label_join\", got 2"},
      {"label_join(x, \"a\", \",\", 1)",
       "1:25: expected type string in call to function \"label_join\", got scalar"},
      {"rate(x[5m],)", "1:11: trailing commas not allowed in function call args"},
      {"topk(x)",
       "1:1: wrong number of arguments for aggregate expression provided, expected 2, got 1"},
      {"sum(1, x)",
       "1:1: wrong number of arguments for aggregate expression provided, expected 1, got 2"},
      {"sum()", "1:1: no arguments for aggregate expression provided"},
      {"topk(\"a\", x)", "1:6: expected type scalar in aggregation parameter, got string"},
      {"count_values(3, x)", "1:14: expected type string in aggregation parameter, got scalar"},
      {"sum(x[5m])",
       "1:5: expected type instant vector in aggregation expression, got range vector"},
      {"sum(x) by (a) without (b)", "1:15: unexpected <without>"},
      {"sum by (a:b) (x)",
       "1:9: unexpected metric identifier \"a:b\" in grouping opts, expected label"},
      {"sum by (inf) (x)", "1:9: unexpected number \"inf\" in grouping opts, expected label"},
  };
  for (const Bad& b : bad) EXPECT_EQ(parse_error(b.in), b.error) << b.in;
}

TEST(PromqlParser, BinaryOperators) {
  ExprPtr e = must_parse("a > bool on (x, y) group_left (z) b");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, ExprKind::kBinary);
  EXPECT_EQ(e->op, BinaryOp::kGt);
  EXPECT_TRUE(e->return_bool);
  EXPECT_TRUE(e->matching.on);
  EXPECT_EQ(e->matching.card, Cardinality::kManyToOne);
  EXPECT_EQ(e->matching.labels, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(e->matching.include, (std::vector<std::string>{"z"}));
  EXPECT_EQ(to_string(*e), "a > bool on (x, y) group_left (z) b");
  e = must_parse("a - ignoring (x) group_right b");
  EXPECT_FALSE(e->matching.on);
  EXPECT_EQ(e->matching.card, Cardinality::kOneToMany);
  EXPECT_EQ(to_string(*e), "a - ignoring (x) group_right () b");
  EXPECT_EQ(must_parse("a and b")->matching.card, Cardinality::kManyToMany);
  EXPECT_EQ(must_parse("a + b")->matching.card, Cardinality::kOneToOne);
  // With a scalar side, the matching is dropped (empty on() is allowed, as in Prometheus).
  e = must_parse("1 + on () x");
  EXPECT_FALSE(e->matching.on);
  EXPECT_EQ(to_string(*e), "1 + x");
  // Prometheus prints nothing for `ignoring () group_left`; vigil keeps the group.
  EXPECT_EQ(to_string(*must_parse("a * ignoring () group_left b")),
            "a * ignoring () group_left () b");
  // `group_left (` starts the label list, not the right-hand side (as in Prometheus).
  EXPECT_EQ(to_string(*must_parse("a * on (x) group_left (b) c")), "a * on (x) group_left (b) c");
  EXPECT_THAT(parse_error("a * on (x) group_left (b)"), HasSubstr("unexpected end of input"));

  struct Bad {
    const char* in;
    const char* error;
  };
  const Bad bad[] = {
      {"1 > 2", "1:3: comparisons between scalars must use BOOL modifier"},
      {"1 == 1", "1:3: comparisons between scalars must use BOOL modifier"},
      {"x + bool y", "1:3: bool modifier can only be used on comparison operators"},
      {"x and bool y", "1:3: bool modifier can only be used on comparison operators"},
      {"x + on(a) group_left(a) y",
       "1:3: label \"a\" must not occur in ON and GROUP clause at once"},
      {"x[5m] + 1", "1:1: binary expression must contain only scalar and instant vector types"},
      {"\"a\" + 1", "1:1: binary expression must contain only scalar and instant vector types"},
      {"1 + x[5m]", "1:5: binary expression must contain only scalar and instant vector types"},
      {"vector(1) + on(a) 1", "1:1: vector matching only allowed between instant vectors"},
      {"x and 1", "1:1: set operator \"and\" not allowed in binary scalar expression"},
      {"1 or 1", "1:1: set operator \"or\" not allowed in binary scalar expression"},
      {"x and on(a) group_left y", "1:1: no grouping allowed for \"and\" operation"},
      {"x > on(a) bool y", "1:11: unexpected <bool>"},
      {"x + group_left y", "1:5: unexpected <group_left>"},
      {"-\"a\"",
       "1:1: unary expression only allowed on expressions of type scalar or instant vector, got "
       "\"string\""},
      {"+x[5m]",
       "1:1: unary expression only allowed on expressions of type scalar or instant vector, got "
       "\"range vector\""},
      {"x and", "1:6: unexpected end of input"},
      {"x = y", "1:3: unexpected \"=\""},
      {"x y", "1:3: unexpected identifier \"y\""},
      {"(x", "1:3: unclosed left parenthesis"},
      {"x)", "1:3: unexpected right parenthesis ')'"},
      {"x $ y", "1:3: unexpected character: '$'"},
      {"x =~ y", "1:3: unexpected character after '=': '~'"},
      {"", "1:1: no expression found in input"},
      {"+(++\"s\")",
       "1:4: unary expression only allowed on expressions of type scalar or instant vector, got "
       "\"string\""},
      {"rate(+x)",
       "1:6: expected type range vector in call to function \"rate\", got instant vector"},
  };
  for (const Bad& b : bad) EXPECT_EQ(parse_error(b.in), b.error) << b.in;
}

TEST(PromqlParser, RefusesWhatVigilDoesNotEvaluate) {
  for (const char* in : {"x[5m:1m]", "rate(x[5m])[5m:]", "x @ 100", "x[5m] @ start()",
                         "histogram_count(x)", "histogram_sum(x)", "histogram_fraction(0, 1, x)"})
    EXPECT_THAT(parse_error(in), HasSubstr("not supported in-process: ")) << in;
  EXPECT_FALSE(is_supported_function("histogram_count"));
  EXPECT_FALSE(is_supported_function("foo"));
  for (const char* f : {"rate", "label_replace", "holt_winters", "pi", "atanh", "sort_desc",
                        "present_over_time", "histogram_quantile"})
    EXPECT_TRUE(is_supported_function(f)) << f;
}

TEST(PromqlParser, ErrorPositionsAreLineAndColumn) {
  EXPECT_EQ(parse_error("sum(\n  rate(x)\n)"),
            "2:8: expected type range vector in call to function \"rate\", got instant vector");
  EXPECT_EQ(parse_error("x +\n\n  foo(y)"), "3:3: unknown function with name \"foo\"");
}

// ---- Printing: canonical forms and round trips -----------------------------------------------

TEST(PromqlPrinter, CanonicalForms) {
  struct Case {
    const char* in;
    const char* out;
  };
  const Case cases[] = {
      {"sum by(job)(rate(x[5m]))", "sum by (job) (rate(x[5m]))"},
      {"sum(rate(x[5m])) by (job)", "sum by (job) (rate(x[5m]))"},
      {"a>bool on(x)group_left(y)b", "a > bool on (x) group_left (y) b"},
      {"1e6", "1e+06"},
      {"123456", "123456"},
      {"0.0001", "0.0001"},
      {"0.00001", "1e-05"},
      {"1.5e300", "1.5e+300"},
      {"0x10", "16"},
      {"Inf", "+Inf"},
      {"-inf", "-Inf"},
      {"nan", "NaN"},
      {"'a\\'b'", "\"a'b\""},
      {"`\\d+`", "\"\\\\d+\""},
      {"\"\\x01\\x7f\\u00a0\"", "\"\\x01\\x7f\\u00a0\""},
      {"x offset 1w", "x offset 1w"},
      {"x offset 7d", "x offset 1w"},
      {"x[60m]", "x[1h]"},
      {"x{a=\"b\"} offset -30s", "x{a=\"b\"} offset -30s"},
      {"+x", "x"},
      {"- - x", "--x"},
      {"-(x)", "-(x)"},
      {"x atan2 y", "x atan2 y"},
      {"count_values('v', x)", "count_values(\"v\", x)"},
  };
  for (const Case& c : cases) {
    ExprPtr e = must_parse(c.in);
    if (e) {
      EXPECT_EQ(to_string(*e), c.out) << c.in;
    }
  }
}

const char* const kValid[] = {
    "x",
    "x{a=\"b\"}",
    "{a=\"b\"}",
    "{__name__=~\"x.*\"}",
    "x:y:z{a!~\"b\",c!=\"d\"}",
    "x[5m]",
    "x[1h30m] offset 5m",
    "x offset -1d",
    "x{a=\"\\n\\t\\\"\\\\\"}",
    "x{a=\"\xc3\xa9\"}",
    "1",
    "-1.5e-7",
    "+Inf",
    "NaN",
    "\"str\"",
    "1 + 2 * 3 ^ 4 ^ 5 - 6 / 7 % 8",
    "(1 + 2) * 3",
    "-x ^ 2",
    "-(x ^ 2)",
    "(-x) ^ 2",
    "2 ^ -x",
    "x - -1",
    "x > bool 1",
    "1 > bool x",
    "1 < bool 2",
    "x == y",
    "x != on (a) y",
    "x >= ignoring (a, b) group_left (c) y",
    "x <= on (a) group_right (c, d) y",
    "x and y or z unless w",
    "x and on (a) y",
    "x or ignoring (b) y",
    "x atan2 on (a) y",
    "sum(x)",
    "sum by (a) (x)",
    "sum without (a, b) (x)",
    "avg(x) + min(x) - max(x) * count(x) / group(x) % stddev(x) ^ stdvar(x)",
    "topk(3, x)",
    "bottomk by (a) (scalar(y), x)",
    "quantile without (a) (0.9, x)",
    "count_values(\"value\", x)",
    "rate(x[5m])",
    "irate(x{job=\"a\"}[1m] offset 1h)",
    "histogram_quantile(0.99, sum by (le) (rate(x_bucket[5m])))",
    "label_replace(up, \"foo\", \"$1\", \"job\", \"(.*)\")",
    "label_join(up, \"foo\", \",\", \"a\", \"b\", \"c\")",
    "clamp(x, 0, 1)",
    "round(x, 0.5)",
    "day_of_week()",
    "year(x)",
    "time() - timestamp(x)",
    "vector(1) and on () x",
    "absent(x{job=\"missing\"})",
    "holt_winters(x[10m], 0.3, 0.7)",
    "predict_linear(x[1h], 3600) < 0",
    "quantile_over_time(0.5, x[5m])",
    "sort_desc(sum by (a) (x))",
    "deg(vector(pi())) + rad(x)",
    "sum(rate(x{code=~\"5..\"}[5m])) / sum(rate(x[5m])) > bool 0.05",
    "((x))",
    "sum by (on, bool) (x)",
    "and and and",
    "sum",
    "offset offset 5m",
    "x offset 5m + y offset 1h",
};

TEST(PromqlPrinter, RoundTrip) {
  for (const char* in : kValid) {
    ExprPtr e = must_parse(in);
    if (!e) continue;
    const std::string printed = to_string(*e);
    auto again = parse(printed);
    ASSERT_TRUE(again) << in << " printed as " << printed << ": " << again.error;
    EXPECT_EQ(to_string(**again), printed) << in;
    EXPECT_EQ(shape(**again), shape(*e)) << in;
    EXPECT_EQ((*again)->type, e->type) << in;
  }
}

// ---- Depth, size, garbage --------------------------------------------------------------------

TEST(PromqlParser, DepthLimit) {
  auto nested = [](int n) { return std::string(n, '(') + "1" + std::string(n, ')'); };
  EXPECT_TRUE(parse(nested(kMaxDepth - 2)));
  EXPECT_THAT(parse_error(nested(kMaxDepth + 1)), HasSubstr("nested too deeply"));
  EXPECT_THAT(parse_error(nested(100000)), HasSubstr("nested too deeply"));
  EXPECT_THAT(parse_error(std::string(100000, '-') + "1"), HasSubstr("nested too deeply"));
  std::string chain = "x";
  for (int i = 0; i < 100000; ++i) chain += "+x";
  EXPECT_THAT(parse_error(chain), HasSubstr("nested too deeply"));
  std::string pow = "x";
  for (int i = 0; i < 100000; ++i) pow += "^x";
  EXPECT_THAT(parse_error(pow), HasSubstr("nested too deeply"));
  std::string calls;
  for (int i = 0; i < 100000; ++i) calls += "abs(";
  EXPECT_FALSE(parse(calls + "x" + std::string(100000, ')')));
  std::string short_chain = "x";
  for (int i = 0; i < 200; ++i) short_chain += " + x";
  EXPECT_TRUE(parse(short_chain));
}

TEST(PromqlParser, LargeInputs) {
  const std::string big(1 << 20, 'a');
  ExprPtr e = must_parse("x{a=\"" + big + "\"}");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->matchers[0].value.size(), big.size());
  EXPECT_TRUE(parse(big));  // a long metric name
  std::string many = "x{";
  for (int i = 0; i < 10000; ++i) many += "l" + std::to_string(i) + "=\"v\",";
  EXPECT_EQ(must_parse(many + "}")->matchers.size(), 10001u);
}

TEST(PromqlParser, GarbageNeverCrashes) {
  const char* const garbage[] = {
      "",
      " ",
      "(",
      ")",
      "[",
      "]",
      "{",
      "}",
      ",",
      "\"",
      "'",
      "`",
      "\\",
      "#",
      "@",
      "x[",
      "x[]",
      "x[:]",
      "x{=}",
      "x{a=}",
      "x{a}",
      "sum(",
      "sum by",
      "sum by (",
      "a +",
      "a + on",
      "a + on(",
      "-",
      "--",
      "- +",
      "offset",
      "x offset",
      "x offset -",
      "1e",
      "0x",
      "\x80",
      "x{a=\"\x80\"}",
      "rate(x[5m] offset)",
      "x[5m:",
      "topk(,)",
      "label_replace(",
      "((((",
      "))))",
      "x{a=~\"\\\"}",
      "{,,,}",
  };
  for (const char* g : garbage) {
    auto r = parse(g);
    if (!r) {
      EXPECT_FALSE(r.error.empty()) << g;
    }
  }
  EXPECT_FALSE(parse(std::string("x\0", 2)));
  // Pseudo-random bytes and token soups (deterministic).
  uint64_t state = 42;
  auto next = [&] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<uint32_t>(state >> 33);
  };
  const char* const pieces[] = {"x",     "sum",  "(",  ")", "{",          "}",    "[5m]", "[",
                                "]",     "+",    "-",  "^", " bool ",     " on ", "(a)",  " by ",
                                "\"s\"", "=",    "=~", ",", " offset ",   "5m",   "1",    " and ",
                                "rate",  "topk", ":",  "@", "group_left", "#",    "\n",   "'"};
  for (int i = 0; i < 20000; ++i) {
    std::string in;
    const int n = static_cast<int>(next() % 12);
    for (int k = 0; k < n; ++k) {
      if (i % 2) {
        in += pieces[next() % std::size(pieces)];
      } else {
        in += static_cast<char>(next() % 256);
      }
    }
    auto r = parse(in);
    if (!r) {
      EXPECT_FALSE(r.error.empty());
      continue;
    }
    const std::string printed = to_string(**r);
    auto again = parse(printed);
    ASSERT_TRUE(again) << in << " printed as " << printed << ": " << again.error;
    EXPECT_EQ(to_string(**again), printed) << in;
  }
}

// ---- Differential check against Prometheus 2.42 (promtool) ---------------------------------

// Valid and invalid expressions; vigil must accept exactly those `promtool check rules` accepts.
// (Subqueries, @ and native-histogram functions are left out: vigil refuses them on purpose.)
const char* const kDifferential[] = {
    "x",
    "x{a=\"b\"}",
    "{a=\"b\"}",
    "{__name__=~\".*\"}",
    "{a=\"\"}",
    "x{}",
    "x{,}",
    "x{a=\"b\",}",
    "x{a=\"b\" c=\"d\"}",
    "x{a:b=\"c\"}",
    "x{on=\"a\"}",
    "x{a=\"\\q\"}",
    "x{a='b'}",
    "x{a=`b\\n`}",
    "x{a=\"\\x4\"}",
    "x{a=\"\\400\"}",
    "x{a=\"\\377\"}",
    "x{a=\"\\ud800\"}",
    "x{a=~\"(\"}",
    "x{__name__=\"y\"}",
    "{__name__=\"a\",__name__=\"b\"}",
    "x:y",
    ":x",
    "1",
    ".5",
    "5.",
    "0x1f",
    "0x",
    "0755",
    "08",
    "1e",
    "1e+",
    "1.5.5",
    "1e400",
    "inf",
    "infinity",
    "inf{a=\"b\"}",
    "NaN > 1",
    "5m",
    "1 + 5m",
    "x[5m]",
    "x[5]",
    "x[5M]",
    "x[30m1h]",
    "x[1h30m]",
    "x[0s]",
    "x[1d1d]",
    "x[5m1y]",
    "x[5m",
    "x [5m]",
    "x[5m][5m]",
    "(x)[5m]",
    "x offset 5m",
    "x offset 0s",
    "x offset 5",
    "x offset -5m",
    "x offset5m",
    "x offset 1m offset 1m",
    "x offset 1m [5m]",
    "x[5m] offset 1m",
    "sum(x) offset 5m",
    "1 > 2",
    "1 > bool 2",
    "x > 1",
    "x + bool y",
    "x == bool y",
    "x and 1",
    "1 and 1",
    "x and on(a) group_left y",
    "x + on(a) group_left(a) y",
    "x + on(a) group_left(b) y",
    "x * on(a) group_left (b)",
    "x + on() y",
    "1 + on() x",
    "1 + on(a) x",
    "vector(1) + on(a) 1",
    "x > on(a) bool y",
    "x[5m] + 1",
    "\"a\" + 1",
    "-\"a\"",
    "+\"a\"",
    "-x[5m]",
    "-2^2",
    "2^-2",
    "x atan2 y",
    "1 atan2 2",
    "atan2",
    "bool",
    "on",
    "by",
    "sum",
    "and",
    "x and and",
    "offset",
    "start()",
    "sum(x) by (a) without (b)",
    "sum by (a,) (x)",
    "sum by (a:b) (x)",
    "sum by (inf) (x)",
    "sum by (on, bool) (x)",
    "sum()",
    "sum(x,)",
    "sum(1, x)",
    "topk(x)",
    "topk(3, x)",
    "topk(\"a\", x)",
    "count_values(3, x)",
    "count_values(\"a\", x)",
    "quantile(0.5, x)",
    "foo(x)",
    "Rate(x[5m])",
    "rate(x)",
    "rate(x[5m],)",
    "time(,)",
    "time()",
    "abs(\"a\")",
    "round(x, 1)",
    "round(x, 1, 2)",
    "label_join(x, \"a\", \",\")",
    "label_join(x, \"a\")",
    "label_join(x, \"a\", \",\", \"b\", \"c\")",
    "histogram_quantile(0.9, x[5m])",
    "day_of_week()",
    "day_of_week(x, x)",
    "histogram_stddev(x)",
    "mad_over_time(x[5m])",
    "sort_by_label(x)",
    "x # comment",
    "# comment",
    "(x",
    "x)",
    "x = y",
    "x =~ y",
    "x $ y",
    "\"a",
    "`a",
    "'a\\'b'",
    "\"a\\'b\"",
    "sum(rate(x{job=\"api\",code=~\"5..\"}[5m])) by (job) / sum(rate(x[5m])) by (job) > 0.05",
    "x{a=~\"\\\\C\"}",
    "x{a=~\"a**\"}",
    "x{a=~\"\\\\pL\\\\z\"}",
    "x{a=~\"[[:alpha:]]\"}",
    "x[292y]",
    "x[293y]",
    "x offset -293y",
    "x[9223372036854775807ms]",
    "x[1ms1s]",
    "x[1hh]",
    "count_values((\"a\"), x)",
    "topk((1), x)",
    "-{a=\"b\"}",
    "x^-+-1",
    "+(++\"s\")",
    "rate(+x)",
    "x)",
    "sum(x) )",
    "(1",
    "x{a=\"b\"",
    "x{a=\"b\"}}",
};

std::string run_command(const std::string& cmd, int& status) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) {
    status = -1;
    return out;
  }
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  status = pclose(p);
  return out;
}

TEST(PromqlDifferential, AcceptsExactlyWhatPromtoolAccepts) {
  int status = 0;
  run_command("promtool --version 2>&1", status);
  if (status != 0) GTEST_SKIP() << "promtool not installed";
  // One rule group per expression in one file: promtool reports every rule that fails.
  const std::string path = ::testing::TempDir() + "/promql_differential.yml";
  {
    std::ofstream f(path);
    f << "groups:\n";
    for (size_t i = 0; i < std::size(kDifferential); ++i) {
      std::string quoted;
      detail::append_json_string(quoted, kDifferential[i]);  // JSON strings are YAML scalars
      f << "- name: g" << i << "\n  rules:\n  - record: x\n    expr: " << quoted << "\n";
    }
  }
  const std::string out = run_command("promtool check rules " + path + " 2>&1", status);
  // "f.yml: 5:11: group \"g3\", rule 1, \"x\": could not parse expression: 1:3: parse error: m"
  std::map<size_t, std::string> rejected;  // index -> Prometheus' message ("1:3: m")
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    const size_t at = line.find("group \"g");
    if (at == std::string::npos) continue;
    std::string message;
    const size_t m = line.find("could not parse expression: ");
    if (m != std::string::npos) {
      message = line.substr(m + 28);
      const size_t pe = message.find("parse error: ");
      if (pe != std::string::npos) message.erase(pe, 13);
    }
    rejected.emplace(std::stoul(line.substr(at + 8)), message);
  }
  ASSERT_FALSE(rejected.empty()) << out;
  for (size_t i = 0; i < std::size(kDifferential); ++i) {
    auto r = parse(kDifferential[i]);
    ASSERT_EQ(r.error.find("not supported in-process"), std::string::npos) << kDifferential[i];
    auto it = rejected.find(i);
    EXPECT_EQ(static_cast<bool>(r), it == rejected.end())
        << kDifferential[i] << "\n  vigil: " << (r ? "accepted" : r.error)
        << "\n  promtool: " << (it != rejected.end() ? it->second : "accepted");
    // The same first error, in the same words and at the same position.
    if (!r && it != rejected.end()) {
      EXPECT_EQ(r.error, it->second) << kDifferential[i];
    }
  }
}

}  // namespace
}  // namespace vigil::alerting::promql
