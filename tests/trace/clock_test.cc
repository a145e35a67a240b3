// Span timestamps come from a TSC-based clock anchored to CLOCK_REALTIME (src/trace/ids.cc):
// it must agree with the system clock and never run backwards within a thread by more than the
// re-anchoring correction.
#include <gtest/gtest.h>
#include <time.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <thread>

#include "../../src/trace/internal.h"

namespace {

uint64_t realtime_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

TEST(SpanClock, AgreesWithTheSystemClockAcrossReanchoring) {
  int64_t worst = 0;
  uint64_t previous = 0;
  int64_t worst_step_back = 0;
  // 2.5 s: past the 10 ms calibration and two one-second re-anchors.
  for (int i = 0; i < 250; ++i) {
    const uint64_t before = realtime_ns();
    const uint64_t t = vigil::trace::detail::now_unix_nanos();
    const uint64_t after = realtime_ns();
    // Inside [before, after] up to the allowed drift.
    const int64_t off = t < before  ? static_cast<int64_t>(before - t)
                        : t > after ? static_cast<int64_t>(t - after)
                                    : 0;
    worst = std::max(worst, off);
    if (previous != 0 && t < previous) {
      worst_step_back = std::max(worst_step_back, static_cast<int64_t>(previous - t));
    }
    previous = t;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_LT(worst, 200'000) << "span clock strays " << worst << " ns from CLOCK_REALTIME";
  EXPECT_LT(worst_step_back, 200'000);
}

}  // namespace
