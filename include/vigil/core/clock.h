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

// The same two clocks read from the CPU's time-stamp counter where it is invariant (x86-64;
// elsewhere, or without one, the kernel clocks above): ~13 ns instead of ~33 ns on a 2-core
// VM. Each thread re-anchors on the kernel clock every second, so they stay within a few
// microseconds of it; fast_monotonic_nanos never goes back on one thread. For hot paths that
// read the clock per request (the HTTP metrics' durations, span and exemplar timestamps).
int64_t fast_unix_nanos() noexcept;
int64_t fast_monotonic_nanos() noexcept;

// Monotonic nanoseconds with the resolution of the kernel tick (1 to 4 ms). Thread-safe; ~5 ns.
int64_t coarse_monotonic_nanos() noexcept;

}  // namespace vigil
