// libFuzzer target: the W3C tracestate parser and truncation.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "vigil/trace/span_data.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto ts = vigil::trace::TraceState::parse(in)) {
    if (ts->size() > vigil::trace::TraceState::kMaxMembers) std::abort();
    // No key twice (a repeated key keeps its first entry), every member valid.
    std::vector<std::string_view> keys;
    ts->for_each([&](std::string_view key, std::string_view value) {
      if (!vigil::trace::TraceState::valid_key(key) ||
          !vigil::trace::TraceState::valid_value(value)) {
        std::abort();
      }
      for (std::string_view seen : keys) {
        if (seen == key) std::abort();
      }
      keys.push_back(key);
    });
    // The canonical form parses to itself; truncation keeps whole entries.
    auto again = vigil::trace::TraceState::parse(ts->header());
    if (!again || again->header() != ts->header()) std::abort();
    const std::string t = ts->header_truncated(512);
    if (t.size() > 512 || !vigil::trace::TraceState::parse(t)) std::abort();
  }
  return 0;
}
