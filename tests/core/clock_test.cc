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

TEST(Error, CarriesMessage) {
  vigil::Error e("metric 'x y': name must match [a-zA-Z_:][a-zA-Z0-9_:]*");
  EXPECT_STREQ(e.what(), "metric 'x y': name must match [a-zA-Z_:][a-zA-Z0-9_:]*");
}
