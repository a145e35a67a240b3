// libFuzzer target: PromQL evaluation (vigil::alerting::promql::evaluate) of arbitrary parsed
// expressions over a small fixed MemoryStorage (counters, gauges with NaN/Inf, a histogram with
// odd buckets, stale markers) at a few times, including times near the int64 limits. Checks:
// never crashes, hangs or allocates without bound; a result is a value xor an error; a vector
// result never holds two samples with the same label set.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>
#include <string_view>

#include "alerting/promql/eval.h"
#include "alerting/promql/parser.h"

namespace {

namespace p = vigil::alerting::promql;

p::MemoryStorage make_storage() {
  p::MemoryStorage s;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  auto add = [&](p::Labels labels, int64_t t, double v) {
    p::sort_labels(labels);
    s.append(labels, t, v);
  };
  for (int64_t i = 0; i <= 20; ++i) {
    const int64_t t = i * 15'000;
    add({{"__name__", "http_requests_total"}, {"job", "api"}, {"instance", "a"}}, t,
        static_cast<double>(i % 7) * 10);  // counter with resets
    add({{"__name__", "http_requests_total"}, {"job", "api"}, {"instance", "b"}}, t,
        static_cast<double>(i) * 3.5);
    add({{"__name__", "temp"}, {"job", "db"}, {"instance", "a"}}, t,
        i % 5 == 0 ? nan : (i % 3 == 0 ? inf : -static_cast<double>(i)));
    add({{"__name__", "temp"}, {"job", "db"}, {"instance", "b"}}, t,
        i == 10 ? p::stale_nan() : 1e308 * static_cast<double>(i % 2 == 0 ? 1 : -1));
    for (const char* le : {"0.1", "1", "1", "+Inf", "-1", "NaN", "0x1p-2", "abc"}) {
      add({{"__name__", "lat_bucket"}, {"job", "api"}, {"le", le}}, t,
          static_cast<double>(i) * (le[0] == '1' ? 3 : 2));
    }
    add({{"__name__", "up"}, {"job", "api"}, {"instance", "a"}}, t, i < 15 ? 1 : 0);
  }
  add({{"__name__", "up"}, {"job", "api"}, {"instance", "a"}}, 310'000, p::stale_nan());
  add({{"__name__", "far"}, {"x", std::string(200, 'x')}}, std::numeric_limits<int64_t>::min(), 1);
  add({{"__name__", "far"}, {"x", std::string(200, 'x')}}, std::numeric_limits<int64_t>::max(), 2);
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const p::MemoryStorage storage = make_storage();
  if (size > 4096) return 0;  // bounds the work of one input, not the evaluator
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto expr = p::parse(in);
  if (!expr) return 0;
  static constexpr int64_t kTimes[] = {150'000, 300'000, 0, std::numeric_limits<int64_t>::max(),
                                       std::numeric_limits<int64_t>::min()};
  for (int64_t t : kTimes) {
    const p::EvalResult r = p::evaluate(**expr, storage, t);
    if (!r.ok()) continue;
    if (r.type == p::ValueType::kVector) {
      for (size_t i = 1; i < r.vector.size() && r.vector.size() < 64; ++i) {
        for (size_t j = 0; j < i; ++j) {
          if (r.vector[i].labels == r.vector[j].labels) std::abort();
        }
      }
    }
  }
  return 0;
}
