// libFuzzer target: what the OTLP exporter parses from outside: OTEL_EXPORTER_OTLP_HEADERS values,
// Retry-After headers, collector responses (partial success in protobuf and JSON), error bodies
// (google.rpc.Status, JSON, text) and gzip. The first byte picks the parser.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/detail/gzip.h"
#include "core/detail/http_sender.h"
#include "otlp_encoding.h"
#include "vigil/exporters/otlp_trace_exporter.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t which = data[0];
  const std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  namespace d = vigil::exporters::detail;
  switch (which % 6) {
    case 0: {
      std::vector<std::string> errors;
      for (const auto& [name, value] : vigil::exporters::parse_otlp_headers(in, &errors)) {
        // Every header kept can be sent: a token name, no CR/LF/NUL in the value.
        if (name.empty()) std::abort();
        for (char c : value) {
          if (c == '\r' || c == '\n' || c == '\0') std::abort();
        }
      }
      break;
    }
    case 1: {
      const auto r = vigil::detail::parse_retry_after(in, std::chrono::system_clock::now());
      if (r && (r->count() < 0 || *r > std::chrono::hours(24))) std::abort();
      break;
    }
    case 2:
      (void)d::parse_export_response(in, "application/x-protobuf");
      (void)d::describe_error_body(in, "application/x-protobuf");
      break;
    case 3:
      (void)d::parse_export_response(in, "application/json");
      (void)d::describe_error_body(in, "application/json");
      break;
    case 4:
      if (d::describe_error_body(in, "text/plain").size() > 400) std::abort();
      break;
    case 5: {
      const auto out = vigil::detail::gunzip(in, 1 << 20);
      if (out && out->size() > (1u << 20)) std::abort();
      break;
    }
  }
  return 0;
}
