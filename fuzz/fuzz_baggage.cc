// libFuzzer target: the W3C baggage parser and serializer.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "vigil/trace/baggage.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const vigil::trace::Baggage b = vigil::trace::Baggage::parse(in);
  if (b.size() > vigil::trace::Baggage::kMaxMembers) std::abort();
  const std::string h = b.header();
  if (h.size() > vigil::trace::Baggage::kMaxBytes) std::abort();
  // Keys and values survive a round trip.
  const vigil::trace::Baggage back = vigil::trace::Baggage::parse(h);
  for (const auto& e : back.entries()) {
    if (b.get(e.key) != std::string_view(e.value)) std::abort();
  }
  return 0;
}
