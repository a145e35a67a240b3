// A saved /metrics exposition is outside input (`vigil dashboard --metrics FILE`): reading its
// families must never crash or throw, and what it returns must make dashboards.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "vigil/ops/grafana.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  const vigil::ops::ExpositionFamilies r = vigil::ops::parse_exposition_families(text);
  if (r) {
    if (!r.error.empty()) std::abort();
    (void)vigil::ops::grafana_dashboards(*r.families);
  } else if (r.error.empty()) {
    std::abort();
  }
  return 0;
}
