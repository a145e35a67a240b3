#include "vigil/core/clock.h"

#include <time.h>
#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#include <atomic>
#include <cstdio>
#include <cstring>

namespace vigil {
namespace {

int64_t read_clock(clockid_t id) noexcept {
  timespec ts{};
  clock_gettime(id, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

#if defined(__x86_64__)
// The fast clocks read the time-stamp counter: rdtsc costs ~13 ns where a vDSO clock_gettime
// costs ~33 ns on this kind of machine (2 shared cores, clocksource tsc), and a traced request
// reads a clock five times. Only with an invariant TSC (constant and nonstop: the same rate in
// every core and power state). Each thread keeps an anchor (TSC, kernel clock) per clock and
// re-anchors every second, so drift against the kernel clock (NTP slewing) stays below a few
// microseconds; the tick length is measured over the first 10 ms of the first anchor and
// refined on every re-anchor of the wall clock.
enum class TscState : int { kUnknown, kUsable, kUnusable };
std::atomic<int> g_tsc_state{static_cast<int>(TscState::kUnknown)};
std::atomic<double> g_ns_per_tick{0};

bool invariant_tsc() noexcept {
  FILE* f = std::fopen("/proc/cpuinfo", "r");
  if (f == nullptr) return false;
  char line[4096];
  bool constant = false, nonstop = false;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::strncmp(line, "flags", 5) != 0) continue;
    constant = std::strstr(line, " constant_tsc") != nullptr;
    nonstop = std::strstr(line, " nonstop_tsc") != nullptr;
    break;
  }
  std::fclose(f);
  return constant && nonstop;
}

bool tsc_usable() noexcept {
  int state = g_tsc_state.load(std::memory_order_relaxed);
  if (state == static_cast<int>(TscState::kUnknown)) {
    state = static_cast<int>(invariant_tsc() ? TscState::kUsable : TscState::kUnusable);
    g_tsc_state.store(state, std::memory_order_relaxed);
  }
  return state == static_cast<int>(TscState::kUsable);
}

struct TscAnchor {
  uint64_t tsc = 0;
  int64_t ns = 0;
  int64_t last = 0;  // monotonic: the last value returned on this thread
};
constinit thread_local TscAnchor t_wall{};
constinit thread_local TscAnchor t_mono{};

// Re-anchors this thread's `a` on kernel clock `id` (and calibrates or refines the tick length
// when `calibrate`). Returns the time now.
[[gnu::noinline]] int64_t reanchor(TscAnchor& a, clockid_t id, bool calibrate) noexcept {
  if (!tsc_usable()) return read_clock(id);
  // The pair (TSC, kernel time) must be read together: a thread preempted between the two
  // reads would skew the anchor, and over the 10 ms first calibration, the tick length, by
  // the preemption's length. Bracket the kernel read with two TSC reads and keep the
  // tightest of a few tries.
  int64_t ns = 0;
  uint64_t tsc = 0;
  uint64_t best_window = ~0ull;
  for (int i = 0; i < 4; ++i) {
    const uint64_t before = __rdtsc();
    const int64_t kernel = read_clock(id);
    const uint64_t after = __rdtsc();
    if (after < before) continue;
    if (after - before < best_window) {
      best_window = after - before;
      ns = kernel;
      tsc = before + (after - before) / 2;
    }
    if (best_window < 2'000) break;  // under a microsecond on any current CPU
  }
  if (best_window == ~0ull) return read_clock(id);
  if (a.tsc != 0 && tsc > a.tsc && ns > a.ns) {
    const auto elapsed = static_cast<uint64_t>(ns - a.ns);
    if (calibrate && elapsed >= 10'000'000 && elapsed <= 60'000'000'000ull) {
      g_ns_per_tick.store(static_cast<double>(elapsed) / static_cast<double>(tsc - a.tsc),
                          std::memory_order_relaxed);
    } else if (g_ns_per_tick.load(std::memory_order_relaxed) == 0 && elapsed < 10'000'000) {
      return ns;  // still calibrating: keep the first anchor until 10 ms have passed
    }
  }
  a.tsc = tsc;
  a.ns = ns;
  return ns;
}

inline int64_t read_fast(TscAnchor& a, clockid_t id, bool calibrate, bool monotonic) noexcept {
  const double ns_per_tick = g_ns_per_tick.load(std::memory_order_relaxed);
  int64_t v;
  if (ns_per_tick > 0 && a.tsc != 0) [[likely]] {
    const double ns = static_cast<double>(__rdtsc() - a.tsc) * ns_per_tick;
    v = ns < 1e9 ? a.ns + static_cast<int64_t>(ns) : reanchor(a, id, calibrate);
  } else {
    v = reanchor(a, id, calibrate);
  }
  if (!monotonic) return v;       // the wall clock follows the system's (even a step back)
  if (v < a.last) return a.last;  // a re-anchor that stepped back a few microseconds
  a.last = v;
  return v;
}
#endif

}  // namespace

int64_t fast_unix_nanos() noexcept {
#if defined(__x86_64__)
  return read_fast(t_wall, CLOCK_REALTIME, true, false);
#else
  return read_clock(CLOCK_REALTIME);
#endif
}

int64_t fast_monotonic_nanos() noexcept {
#if defined(__x86_64__)
  // The tick length comes from the wall clock's anchors: calibrate it here too until one
  // exists (a process that only times durations).
  return read_fast(t_mono, CLOCK_MONOTONIC, g_ns_per_tick.load(std::memory_order_relaxed) == 0,
                   true);
#else
  return read_clock(CLOCK_MONOTONIC);
#endif
}

double unix_time_seconds() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

int64_t monotonic_nanos() noexcept { return read_clock(CLOCK_MONOTONIC); }

int64_t coarse_monotonic_nanos() noexcept { return read_clock(CLOCK_MONOTONIC_COARSE); }

}  // namespace vigil
