#include "vigil/core/clock.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "vigil/core/error.h"

TEST(Clock, MonotonicAdvances) {
  int64_t a = vigil::monotonic_nanos();
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  int64_t b = vigil::monotonic_nanos();
  EXPECT_GE(b - a, 5'000'000);
}

TEST(Clock, CoarseClockTracksMonotonic) {
  int64_t fine = vigil::monotonic_nanos();
  int64_t coarse = vigil::coarse_monotonic_nanos();
  EXPECT_LT(std::abs(fine - coarse), 50'000'000);  // within 50 ms
}

TEST(Clock, UnixTimeIsRecent) {
  EXPECT_GT(vigil::unix_time_seconds(), 1.7e9);  // after 2023
}

// The time-stamp-counter clocks stay between two kernel readings taken around them (with a
// tolerance for the per-thread anchors), across re-anchors (every second), and the monotonic
// one never goes back. Bracketing keeps a preempted read from failing the check.
TEST(Clock, FastClocksTrackTheKernelClocksAcrossReanchors) {
  constexpr int64_t kTolerance = 500'000;                          // 0.5 ms
  const int64_t until = vigil::monotonic_nanos() + 1'300'000'000;  // 1.3 s: a re-anchor or more
  int64_t last_fast_mono = 0;
  int checks = 0;
  while (vigil::monotonic_nanos() < until) {
    const int64_t m1 = vigil::monotonic_nanos();
    const int64_t fm = vigil::fast_monotonic_nanos();
    const int64_t m2 = vigil::monotonic_nanos();
    ASSERT_GE(fm, m1 - kTolerance);
    ASSERT_LE(fm, m2 + kTolerance);
    ASSERT_GE(fm, last_fast_mono);
    last_fast_mono = fm;

    const auto w1 = static_cast<int64_t>(vigil::unix_time_seconds() * 1e9);
    const int64_t fw = vigil::fast_unix_nanos();
    const auto w2 = static_cast<int64_t>(vigil::unix_time_seconds() * 1e9);
    // (the double seconds lose a few hundred nanoseconds of precision: inside the tolerance)
    ASSERT_GE(fw, w1 - kTolerance);
    ASSERT_LE(fw, w2 + kTolerance);
    ++checks;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_GT(checks, 100);
}

// A duration measured with the fast monotonic clock agrees with the kernel's.
TEST(Clock, FastMonotonicMeasuresDurations) {
  const int64_t k0 = vigil::monotonic_nanos();
  const int64_t f0 = vigil::fast_monotonic_nanos();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const int64_t f1 = vigil::fast_monotonic_nanos();
  const int64_t k1 = vigil::monotonic_nanos();
  EXPECT_GE(f1 - f0, 20'000'000);
  EXPECT_LE(f1 - f0, (k1 - k0) + 500'000);
}

TEST(Error, CarriesMessage) {
  vigil::Error e("metric 'x y': name must match [a-zA-Z_:][a-zA-Z0-9_:]*");
  EXPECT_STREQ(e.what(), "metric 'x y': name must match [a-zA-Z_:][a-zA-Z0-9_:]*");
}
