// Per-thread random id generation (wyrand), reseeded after fork; the span clock.
#include <pthread.h>
#include <time.h>

#include <atomic>
#include <random>
#include <thread>

#include "internal.h"
#include "vigil/core/clock.h"

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

uint64_t now_unix_nanos() noexcept {
  // The time-stamp-counter wall clock (vigil/core/clock.h): a span reads it twice.
  return static_cast<uint64_t>(vigil::fast_unix_nanos());
}

}  // namespace vigil::trace::detail
