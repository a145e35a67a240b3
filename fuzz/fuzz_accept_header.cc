// The Accept header of a scrape is outside input: negotiation must never crash or throw.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "vigil/metrics/exposition.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view accept(reinterpret_cast<const char*>(data), size);
  auto format = vigil::metrics::negotiate_format(accept);
  (void)vigil::metrics::content_type(format);
  return 0;
}
