// libFuzzer target: the W3C traceparent and B3 single-header parsers.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "vigil/trace/propagation.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto ctx = vigil::trace::parse_traceparent(in)) {
    if (!ctx->valid()) std::abort();
    // What we parse, we format back to a valid version-00 header.
    if (!vigil::trace::parse_traceparent(vigil::trace::format_traceparent(*ctx))) std::abort();
  }
  (void)vigil::trace::parse_b3(in);
  return 0;
}
