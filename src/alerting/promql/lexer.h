// src/alerting/promql/lexer.h (private to parser.cc): the PromQL tokenizer, following the states of
// Prometheus 2.42's promql/parser/lex.go (statements, inside braces, right after '[').
//
//   std::vector<Token> toks = lex("sum by (job) (x{a=\"b\"}[5m])");
//   // the last token is kEof, or kError with the message in `value`
//
// Keywords are case-insensitive; inside braces every word is an identifier; durations are lexed
// anywhere (the parser only accepts them in [..] and after `offset`). Strings are unquoted with
// Go's escapes; a bad escape or invalid UTF-8 is a lexer error. Not thread-hostile: pure function.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "alerting/promql/ast.h"

namespace vigil::alerting::promql::detail_lex {

enum class Tok : uint8_t {
  kEof,
  kError,
  kIdentifier,        // foo (no colon)
  kMetricIdentifier,  // foo:bar
  kNumber,
  kDuration,
  kString,  // `value` is the unquoted text
  kComma,
  kLeftParen,
  kRightParen,
  kLeftBrace,
  kRightBrace,
  kLeftBracket,
  kRightBracket,
  kColon,
  kAt,
  kEql,       // =
  kEqlRegex,  // =~
  kNeqRegex,  // !~
  // binary operators
  kAdd,
  kSub,
  kMul,
  kDiv,
  kMod,
  kPow,
  kAtan2,
  kEqlc,  // ==
  kNeq,   // !=
  kLss,
  kLte,
  kGtr,
  kGte,
  kLand,
  kLor,
  kLunless,
  // keywords
  kOffset,
  kBy,
  kWithout,
  kOn,
  kIgnoring,
  kGroupLeft,
  kGroupRight,
  kBool,
  kStart,
  kEnd,
  kAggregator,  // `agg` says which
};

struct Token {
  Tok type = Tok::kEof;
  int pos = 0;            // byte offset of the token's start
  std::string_view text;  // the source text
  std::string value;      // kString: unquoted; kError: the message
  AggregateOp agg = AggregateOp::kSum;
};

std::vector<Token> lex(std::string_view input);

// "identifier \"foo\"", "<on>", "end of input", "\"(\"" (as Prometheus' parser names tokens).
std::string describe(const Token& t);

bool is_label_name(std::string_view s) noexcept;

}  // namespace vigil::alerting::promql::detail_lex
