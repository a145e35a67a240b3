// src/alerting/promql/parser.h (internal): the PromQL parser (hand-written: no maintained C++
// library parses PromQL; fuzzed by fuzz/fuzz_promql.cc).
//
//   auto r = vigil::alerting::promql::parse("rate(http_requests_total{code=~\"5..\"}[5m]) > 0.1");
//   if (!r) std::cerr << r.error;   // "1:6: ..." position and what was expected
//
// Errors name the position (line:column, 1-based) and the problem in the words Prometheus uses
// where it has them ("unknown function with name \"foo\"", "expected type range vector in call to
// function \"rate\", got instant vector"). Constructs vigil does not evaluate in-process
// (subqueries, the @ modifier, native-histogram functions, ...) are refused with "not supported
// in-process: <name>". Never throws (except std::bad_alloc) and never crashes on any input;
// nesting deeper than kMaxDepth is an error, not a stack overflow.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "alerting/promql/ast.h"
#include "core/detail/parse_result.h"

namespace vigil::alerting::promql {

inline constexpr int kMaxDepth = 256;

// Parses and type-checks an expression.
vigil::detail::ParseResult<ExprPtr> parse(std::string_view input);

// A Prometheus duration: "5m", "1h30m", "90s", "1d", "2w", "1y", "500ms" (units y w d h m s ms,
// each at most once, in decreasing order). Returns milliseconds; error on "", "5", "1m1h", "-5m".
vigil::detail::ParseResult<int64_t> parse_duration(std::string_view input);

// The duration printed as Prometheus prints it ("1h30m", "0s").
std::string format_duration(int64_t ms);

// True for a function vigil evaluates; `supported_functions()` lists them for docs and errors.
bool is_supported_function(std::string_view name) noexcept;

}  // namespace vigil::alerting::promql
