// libFuzzer target: vigil::detail::parse_kv_list, the parser of OTEL_RESOURCE_ATTRIBUTES and
// OTEL_EXPORTER_OTLP_HEADERS. Checks: never crashes; success xor an error; keys are never empty;
// in the lenient mode the result always has a value, and every non-empty member is either kept
// or described in `skipped`; the strict result, when it succeeds, equals the lenient one.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/detail/kv_list.h"
#include "core/detail/text.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  namespace d = vigil::detail;
  const auto strict = d::parse_kv_list(in);
  if (strict.has_value() == !strict.error.empty()) std::abort();

  d::KvListOptions lenient_options;
  lenient_options.skip_bad_members = true;
  lenient_options.decode_keys = size % 2 == 1;
  lenient_options.reject_nul = size % 3 == 1;
  const auto lenient = d::parse_kv_list(in, lenient_options);
  if (!lenient) std::abort();
  std::size_t members = 0;
  d::for_each_list_member(in, ',', [&](std::string_view) { ++members; });
  if (lenient->pairs.size() + lenient->skipped.size() != members) std::abort();
  for (const d::KvPair& p : lenient->pairs) {
    if (p.key.empty()) std::abort();
    if (lenient_options.reject_nul &&
        (p.key.find('\0') != std::string::npos || p.value.find('\0') != std::string::npos) &&
        in.find('\0') == std::string_view::npos) {
      std::abort();
    }
  }
  if (strict) {
    if (strict->pairs.size() != members || !strict->skipped.empty()) std::abort();
    const auto lenient_plain = d::parse_kv_list(in, {.skip_bad_members = true});
    if (!(lenient_plain->pairs == strict->pairs)) std::abort();
  }
  return 0;
}
