// Per-thread random id generation (wyrand), reseeded after fork; the span clock.
#include <pthread.h>
#include <time.h>
#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#include <atomic>
#include <cstdio>
#include <cstring>
#include <random>
#include <thread>

#include "internal.h"

namespace vigil::trace::detail {

std::atomic<uint64_t> g_fork_epoch{1};

namespace {

void on_fork_child() { g_fork_epoch.fetch_add(1, std::memory_order_relaxed); }

struct AtForkRegistration {
  AtForkRegistration() { ::pthread_atfork(nullptr, nullptr, &on_fork_child); }
};
AtForkRegistration g_atfork;

uint64_t splitmix64(uint64_t& x) noexcept {
  uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

void reseed_ids() noexcept {
  IdGenerator& g = t_ids;
  uint64_t x = 0;
  try {
    std::random_device rd;
    x = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  } catch (...) {
  }
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  x ^= static_cast<uint64_t>(ts.tv_nsec) * 0x9E3779B97F4A7C15ull ^
       static_cast<uint64_t>(ts.tv_sec) ^ std::hash<std::thread::id>()(std::this_thread::get_id()) ^
       reinterpret_cast<uintptr_t>(&g);
  g.state = splitmix64(x);
  g.epoch = g_fork_epoch.load(std::memory_order_relaxed);
}

namespace {

uint64_t read_realtime() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

#if defined(__x86_64__)
// Span timestamps from the time-stamp counter: rdtsc costs about half a vDSO clock_gettime on
// this kind of machine, and a span reads the clock twice. Only with an invariant TSC (constant
// and nonstop: the same rate in every core and power state). Each thread keeps an anchor
// (TSC, CLOCK_REALTIME) and re-anchors every second, so drift against the system clock (NTP
// slewing) stays below a few microseconds; the tick length is measured over the first 10 ms of
// the first thread and refined on every re-anchor.
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

struct TscAnchor {
  uint64_t tsc = 0;
  uint64_t ns = 0;
};
constinit thread_local TscAnchor t_anchor{};

// Re-anchors this thread (and calibrates or refines the tick length). Returns the time now.
[[gnu::noinline]] uint64_t reanchor() noexcept {
  int state = g_tsc_state.load(std::memory_order_relaxed);
  if (state == static_cast<int>(TscState::kUnknown)) {
    state = static_cast<int>(invariant_tsc() ? TscState::kUsable : TscState::kUnusable);
    g_tsc_state.store(state, std::memory_order_relaxed);
  }
  const uint64_t ns = read_realtime();
  if (state != static_cast<int>(TscState::kUsable)) return ns;
  const uint64_t tsc = __rdtsc();
  TscAnchor& a = t_anchor;
  if (a.tsc != 0 && tsc > a.tsc && ns > a.ns) {
    const uint64_t elapsed = ns - a.ns;
    if (elapsed >= 10'000'000 && elapsed <= 60'000'000'000ull) {
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
#endif

}  // namespace

uint64_t now_unix_nanos() noexcept {
#if defined(__x86_64__)
  const double ns_per_tick = g_ns_per_tick.load(std::memory_order_relaxed);
  const TscAnchor& a = t_anchor;
  if (ns_per_tick > 0 && a.tsc != 0) [[likely]] {
    const uint64_t ticks = __rdtsc() - a.tsc;
    const double ns = static_cast<double>(ticks) * ns_per_tick;
    if (ns < 1e9) return a.ns + static_cast<uint64_t>(ns);  // re-anchor after a second
  }
  return reanchor();
#else
  return read_realtime();
#endif
}

}  // namespace vigil::trace::detail
