// Label values often come from requests (paths, user agents): any bytes must give a series
// whose exposition is valid, never a crash. The input is split into label values at '\0'.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/metrics/exposition.h"
#include "vigil/metrics/registry.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> values;
  size_t start = 0;
  for (size_t i = 0; i <= in.size() && values.size() < 2; ++i) {
    if (i == in.size() || in[i] == '\0') {
      values.push_back(in.substr(start, i - start));
      start = i + 1;
    }
  }
  while (values.size() < 2) values.push_back("");
  vigil::metrics::Registry r;
  auto& f = r.counter("fuzz_total", "help with \\ and \n", {"a", "b"}, {.cardinality_limit = 4});
  f.labels(values[0], values[1]).inc();
  f.labels(values[1], values[0]).inc(2.5);
  auto& h = r.histogram("fuzz_seconds", "h", {"a"}, {.buckets = {0.1, 1}});
  h.labels(values[0]).observe(static_cast<double>(size));
  for (auto format : {vigil::metrics::Format::kPrometheusText, vigil::metrics::Format::kOpenMetrics,
                      vigil::metrics::Format::kJson}) {
    std::string out = vigil::metrics::serialize(r, format);
    if (out.empty()) __builtin_trap();
  }
  f.remove(values[0], values[1]);
  return 0;
}
