// libFuzzer target: vigil::alerting::promql::parse, the PromQL parser of rule files and queries.
// Checks: never crashes; success xor an error; an error names a position ("line:col: ..."); a
// parsed expression prints (to_string) as PromQL that parses again to the same printed form and
// the same type.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "alerting/promql/parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace p = vigil::alerting::promql;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto r = p::parse(in);
  if (r.has_value() == !r.error.empty()) std::abort();
  if (!r) {
    const size_t colon = r.error.find(':');
    if (colon == 0 || colon == std::string::npos) std::abort();
    return 0;
  }
  const std::string printed = p::to_string(**r);
  const auto again = p::parse(printed);
  if (!again) std::abort();
  if (p::to_string(**again) != printed) std::abort();
  if ((*again)->type != (*r)->type) std::abort();
  return 0;
}
