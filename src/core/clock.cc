#include "vigil/core/clock.h"

#include <time.h>

namespace vigil {
namespace {

int64_t read_clock(clockid_t id) noexcept {
  timespec ts{};
  clock_gettime(id, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

double unix_time_seconds() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

int64_t monotonic_nanos() noexcept { return read_clock(CLOCK_MONOTONIC); }

int64_t coarse_monotonic_nanos() noexcept { return read_clock(CLOCK_MONOTONIC_COARSE); }

}  // namespace vigil
