// The sliding window behind Summary: a ring of age buckets, each a log-linear histogram with
// 64 bins per power of two (relative error <= 1/128), so quantiles of merged buckets cost no
// more to compute than those of one and observe() is a few loads and one atomic add.
#include "vigil/metrics/summary.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <mutex>

#include "vigil/core/clock.h"

namespace vigil::metrics::detail {
namespace {

constexpr int kSubBits = 6;
constexpr int kSub = 1 << kSubBits;
constexpr int kMinExp = -40;
constexpr int kMaxExp = 40;  // exclusive
constexpr int kExponents = kMaxExp - kMinExp;

using Counts = std::atomic<uint64_t>;

}  // namespace

struct SummaryWindow::Slot {
  std::atomic<int64_t> epoch{-1};
  std::atomic<uint64_t> zero{0};
  std::atomic<Counts*> chunks[2][kExponents] = {};

  void clear() noexcept {
    zero.store(0, std::memory_order_relaxed);
    for (auto& sign : chunks) {
      for (auto& chunk : sign) {
        Counts* c = chunk.load(std::memory_order_acquire);
        if (c == nullptr) continue;
        for (int i = 0; i < kSub; ++i) c[i].store(0, std::memory_order_relaxed);
      }
    }
  }
  ~Slot() {
    for (auto& sign : chunks) {
      for (auto& chunk : sign) std::free(chunk.load(std::memory_order_relaxed));
    }
  }
};

namespace {
std::mutex& rotation_mutex() {
  static std::mutex* mu = new std::mutex;  // rotations are rare: once per age bucket
  return *mu;
}
}  // namespace

SummaryWindow::SummaryWindow(std::chrono::nanoseconds max_age, int age_buckets)
    : width_ns_(std::max<int64_t>(1, max_age.count() / age_buckets)),
      ring_(age_buckets + 1),
      slots_(new Slot[static_cast<size_t>(age_buckets + 1)]) {}

SummaryWindow::~SummaryWindow() { delete[] slots_; }

void SummaryWindow::rotate(int64_t epoch) noexcept {
  std::lock_guard lock(rotation_mutex());
  Slot& s = slots_[epoch % ring_];
  if (s.epoch.load(std::memory_order_relaxed) != epoch) {
    s.clear();
    s.epoch.store(epoch, std::memory_order_release);
  }
  // Clear the next bucket ahead of time, while nobody writes to it.
  Slot& next = slots_[(epoch + 1) % ring_];
  if (next.epoch.load(std::memory_order_relaxed) < epoch + 1) {
    next.clear();
    next.epoch.store(epoch + 1, std::memory_order_release);
  }
}

void SummaryWindow::observe(double v) noexcept {
  const int64_t epoch = coarse_monotonic_nanos() / width_ns_;
  Slot& s = slots_[epoch % ring_];
  if (s.epoch.load(std::memory_order_acquire) != epoch) [[unlikely]]
    rotate(epoch);
  const uint64_t bits = std::bit_cast<uint64_t>(v);
  const int sign = static_cast<int>(bits >> 63);
  int exp = static_cast<int>((bits >> 52) & 0x7ff) - 1023;
  int sub = static_cast<int>((bits >> (52 - kSubBits)) & (kSub - 1));
  if (exp < kMinExp) {
    s.zero.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (exp >= kMaxExp) {
    exp = kMaxExp - 1;
    sub = kSub - 1;
  }
  std::atomic<Counts*>& slot_chunk = s.chunks[sign][exp - kMinExp];
  Counts* chunk = slot_chunk.load(std::memory_order_acquire);
  if (chunk == nullptr) [[unlikely]] {
    auto* fresh = static_cast<Counts*>(std::calloc(kSub, sizeof(Counts)));
    if (fresh == nullptr) return;  // out of memory: this observation leaves only _sum/_count
    Counts* expected = nullptr;
    if (slot_chunk.compare_exchange_strong(expected, fresh, std::memory_order_acq_rel)) {
      chunk = fresh;
    } else {
      std::free(fresh);
      chunk = expected;
    }
  }
  chunk[sub].fetch_add(1, std::memory_order_relaxed);
}

uint64_t SummaryWindow::window_count() const noexcept {
  const int64_t epoch = coarse_monotonic_nanos() / width_ns_;
  uint64_t n = 0;
  for (int i = 0; i < ring_; ++i) {
    const Slot& s = slots_[i];
    const int64_t e = s.epoch.load(std::memory_order_acquire);
    if (e > epoch || e <= epoch - (ring_ - 1)) continue;
    n += s.zero.load(std::memory_order_relaxed);
    for (const auto& sign : s.chunks) {
      for (const auto& chunk : sign) {
        const Counts* c = chunk.load(std::memory_order_acquire);
        if (c == nullptr) continue;
        for (int k = 0; k < kSub; ++k) n += c[k].load(std::memory_order_relaxed);
      }
    }
  }
  return n;
}

void SummaryWindow::quantiles(std::span<const double> qs,
                              std::span<std::pair<double, double>> out) const {
  const int64_t epoch = coarse_monotonic_nanos() / width_ns_;
  const Slot* live[64];
  int nlive = 0;
  for (int i = 0; i < ring_; ++i) {
    const int64_t e = slots_[i].epoch.load(std::memory_order_acquire);
    if (e <= epoch && e > epoch - (ring_ - 1)) live[nlive++] = &slots_[i];
  }
  // Merge the live buckets: 2 signs x kExponents x kSub bins plus the zero bin.
  static_assert(kExponents * kSub * 2 < 16384);
  std::vector<uint64_t> neg(static_cast<size_t>(kExponents * kSub), 0);
  std::vector<uint64_t> pos(static_cast<size_t>(kExponents * kSub), 0);
  uint64_t zero = 0;
  uint64_t total = 0;
  for (int l = 0; l < nlive; ++l) {
    const Slot& s = *live[l];
    const uint64_t z = s.zero.load(std::memory_order_relaxed);
    zero += z;
    total += z;
    for (int sign = 0; sign < 2; ++sign) {
      std::vector<uint64_t>& dst = sign == 0 ? pos : neg;
      for (int e = 0; e < kExponents; ++e) {
        const Counts* c = s.chunks[sign][e].load(std::memory_order_acquire);
        if (c == nullptr) continue;
        for (int k = 0; k < kSub; ++k) {
          const uint64_t v = c[k].load(std::memory_order_relaxed);
          dst[static_cast<size_t>(e * kSub + k)] += v;
          total += v;
        }
      }
    }
  }
  auto bin_value = [](int e, int k) { return std::ldexp(1.0 + (k + 0.5) / kSub, e + kMinExp); };
  for (size_t i = 0; i < qs.size(); ++i) {
    out[i].first = qs[i];
    out[i].second = std::numeric_limits<double>::quiet_NaN();
  }
  if (total == 0) return;
  // One ascending walk: negative bins from the largest magnitude, zero, positive bins.
  size_t next = 0;
  uint64_t seen = 0;
  auto rank_of = [&](double q) {
    const double r = std::ceil(q * static_cast<double>(total));
    return std::max<uint64_t>(1, static_cast<uint64_t>(r));
  };
  auto take = [&](uint64_t count, double value) {
    if (count == 0) return;
    seen += count;
    while (next < qs.size() && rank_of(qs[next]) <= seen) out[next++].second = value;
  };
  for (int idx = kExponents * kSub - 1; idx >= 0 && next < qs.size(); --idx) {
    take(neg[static_cast<size_t>(idx)], -bin_value(idx / kSub, idx % kSub));
  }
  take(zero, 0.0);
  for (int idx = 0; idx < kExponents * kSub && next < qs.size(); ++idx) {
    take(pos[static_cast<size_t>(idx)], bin_value(idx / kSub, idx % kSub));
  }
}

}  // namespace vigil::metrics::detail
