// libFuzzer target: vigil::detail::append_json_string, the one JSON string writer (JSON-lines
// span exporter, OTLP/JSON). Checks: for any input bytes the output is valid UTF-8 and a valid
// JSON string (nlohmann::json parses it, strictly), and well-formed UTF-8 input without control
// characters, quotes or backslashes round-trips unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/detail/json_escape.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string out = "x";  // appends: what was there stays
  vigil::detail::append_json_string(out, in);
  if (out[0] != 'x') std::abort();
  const std::string_view json = std::string_view(out).substr(1);

  // Valid UTF-8 by the helper's own decoder (nlohmann checks it again, independently, below).
  for (std::size_t i = 0; i < json.size();) {
    const std::size_t n = vigil::detail::utf8_sequence_length(json, i);
    if (n == 0) std::abort();
    i += n;
  }
  // A valid JSON string (nlohmann rejects invalid UTF-8 and raw control characters).
  nlohmann::json parsed = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_string()) std::abort();

  bool valid_utf8 = true;
  for (std::size_t i = 0; i < in.size();) {
    const std::size_t n = vigil::detail::utf8_sequence_length(in, i);
    if (n == 0) {
      valid_utf8 = false;
      break;
    }
    i += n;
  }
  if (valid_utf8 && parsed.get<std::string>() != in) std::abort();
  return 0;
}
