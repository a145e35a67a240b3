// Per-thread random id generation (xoshiro256++), reseeded after fork.
#include <pthread.h>
#include <time.h>

#include <atomic>
#include <random>
#include <thread>

#include "internal.h"

namespace vigil::trace::detail {
namespace {

std::atomic<uint64_t> g_fork_epoch{1};

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

inline uint64_t rotl(uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }

struct Generator {
  uint64_t s[4] = {0, 0, 0, 0};
  uint64_t epoch = 0;

  void seed() noexcept {
    uint64_t x = 0;
    try {
      std::random_device rd;
      x = (static_cast<uint64_t>(rd()) << 32) ^ rd();
    } catch (...) {
    }
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    x ^= static_cast<uint64_t>(ts.tv_nsec) * 0x9E3779B97F4A7C15ull ^
         static_cast<uint64_t>(ts.tv_sec) ^
         std::hash<std::thread::id>()(std::this_thread::get_id()) ^
         reinterpret_cast<uintptr_t>(this);
    for (uint64_t& w : s) w = splitmix64(x);
    epoch = g_fork_epoch.load(std::memory_order_relaxed);
  }

  uint64_t next() noexcept {
    if (epoch != g_fork_epoch.load(std::memory_order_relaxed)) [[unlikely]] {
      seed();
    }
    const uint64_t result = rotl(s[0] + s[3], 23) + s[0];
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
  }
};

thread_local Generator t_gen;

}  // namespace

uint64_t random_u64() noexcept { return t_gen.next(); }

TraceId new_trace_id() noexcept {
  uint64_t hi, lo;
  do {
    hi = t_gen.next();
    lo = t_gen.next();
  } while (hi == 0 && lo == 0);
  return TraceId::from_u64(hi, lo);
}

SpanId new_span_id() noexcept {
  uint64_t v;
  do {
    v = t_gen.next();
  } while (v == 0);
  return SpanId::from_u64(v);
}

uint64_t now_unix_nanos() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace vigil::trace::detail
