// libFuzzer target: vigil::detail::percent_decode (OTEL_RESOURCE_ATTRIBUTES, OTLP headers, baggage
// values). Checks: never crashes; success xor an error message; the output is never longer than
// the input; with reject_nul, no %00 gets through; inputs without '%' come back unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/detail/percent.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  for (bool reject_nul : {false, true}) {
    const auto r = vigil::detail::percent_decode(in, {.reject_nul = reject_nul});
    if (r.has_value() == !r.error.empty()) std::abort();
    if (!r) continue;
    if (r->size() > in.size()) std::abort();
    if (in.find('%') == std::string_view::npos && *r != in) std::abort();
    if (reject_nul) {
      // A NUL in the output must have been a literal NUL in the input, never %00.
      std::size_t nul_in = 0, nul_out = 0;
      for (char c : in) nul_in += c == '\0';
      for (char c : *r) nul_out += c == '\0';
      if (nul_out != nul_in) std::abort();
    }
  }
  return 0;
}
