// vigil/core/clock.h: the clocks vigil reads.
//
// Wall time for timestamps that leave the process (`_created`, exported spans), a monotonic clock
// for durations, and a cheap coarse monotonic clock (a few milliseconds of resolution, a few
// nanoseconds to read) for bookkeeping on hot paths such as summary age buckets.
//
//   double start = vigil::unix_time_seconds();
//   int64_t t0 = vigil::monotonic_nanos();
#pragma once

#include <cstdint>

namespace vigil {

// Seconds since the Unix epoch, with sub-microsecond resolution. Thread-safe; ~20 ns.
double unix_time_seconds() noexcept;

// Monotonic nanoseconds since an arbitrary origin. Thread-safe; ~20 ns.
int64_t monotonic_nanos() noexcept;

// Monotonic nanoseconds with the resolution of the kernel tick (1 to 4 ms). Thread-safe; ~5 ns.
int64_t coarse_monotonic_nanos() noexcept;

}  // namespace vigil
