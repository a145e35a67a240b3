// write_shortest_double (src/core/detail/shortest_double.h): the same bytes as
// std::to_chars(double) for integers (small, round, negative, near 2^53), signed zero,
// fractions and huge values; the integer fast path must never change the text.
#include "core/detail/shortest_double.h"

#include <gtest/gtest.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>

namespace vigil::detail {
namespace {

std::string fast(double v) {
  char buf[kShortestDoubleChars];
  return std::string(buf, write_shortest_double(buf, v));
}

std::string reference(double v) {
  char buf[64];
  return std::string(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

TEST(ShortestDouble, HandPickedValues) {
  EXPECT_EQ(fast(0.0), "0");
  EXPECT_EQ(fast(-0.0), "-0");
  EXPECT_EQ(fast(42.0), "42");
  EXPECT_EQ(fast(-7.0), "-7");
  EXPECT_EQ(fast(10000.0), "10000");      // tie: "%f" wins
  EXPECT_EQ(fast(100000.0), "1e+05");     // "%e" shorter
  EXPECT_EQ(fast(1500000.0), "1500000");  // tie
  EXPECT_EQ(fast(15000000.0), "1.5e+07");
  EXPECT_EQ(fast(1234567.0), "1234567");
  EXPECT_EQ(fast(-1e6), "-1e+06");
  EXPECT_EQ(fast(0.1), "0.1");
  EXPECT_EQ(fast(0.3), "0.3");
  EXPECT_EQ(fast(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(fast(148.5), "148.5");
  EXPECT_EQ(fast(-3.7), "-3.7");
  EXPECT_EQ(fast(0.001), "0.001");  // tie with "1e-03": "%f"
  EXPECT_EQ(fast(0.0001), "1e-04");
  EXPECT_EQ(fast(0.00025), "0.00025");
  EXPECT_EQ(fast(0.000025), "2.5e-05");
  EXPECT_EQ(fast(1e300), "1e+300");
  EXPECT_EQ(fast(9007199254740991.0), "9007199254740991");
}

TEST(ShortestDouble, SameBytesAsToChars) {
  std::mt19937_64 rng(12345);
  int checked = 0;
  // Every integer up to 100,000 and their negatives.
  for (int64_t i = -100000; i <= 100000; ++i, ++checked) {
    const auto v = static_cast<double>(i);
    ASSERT_EQ(fast(v), reference(v)) << i;
  }
  // Round numbers (d * 10^k and ddd * 10^k) up to and past 2^53.
  for (int64_t m : {1, 2, 9, 12, 15, 99, 101, 125, 999, 1001, 12345, 99999}) {
    for (double v = static_cast<double>(m); v < 1e20; v *= 10, ++checked) {
      ASSERT_EQ(fast(v), reference(v)) << v;
      ASSERT_EQ(fast(-v), reference(-v)) << v;
      ASSERT_EQ(fast(v + 1), reference(v + 1)) << v;
    }
  }
  // Random integers of every magnitude, random doubles, and the edges of the fast path.
  for (int i = 0; i < 100000; ++i, ++checked) {
    const int shift = static_cast<int>(rng() % 64);
    const auto n = static_cast<int64_t>(rng() >> shift);
    const auto v = static_cast<double>(rng() % 2 == 0 ? n : -n);
    ASSERT_EQ(fast(v), reference(v)) << v;
    double r;
    const uint64_t bits = rng();
    static_assert(sizeof r == sizeof bits);
    std::memcpy(&r, &bits, sizeof r);
    if (std::isfinite(r)) {
      ASSERT_EQ(fast(r), reference(r)) << r;
    }
  }
  // Short decimals (the fast path) and values near them: m / 10^k, products such as 0.37 * i,
  // halves and eighths, tiny and huge magnitudes.
  const double pow10[] = {1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12};
  for (int i = 0; i < 150000; ++i, ++checked) {
    const int k = 1 + static_cast<int>(rng() % 12);
    const int digits = 1 + static_cast<int>(rng() % 17);
    auto m = static_cast<int64_t>(rng() % static_cast<uint64_t>(pow10[digits % 13] * 10 + 1));
    if (rng() % 2 == 0) m = -m;
    const double v = static_cast<double>(m) / pow10[k];
    ASSERT_EQ(fast(v), reference(v)) << m << "e-" << k;
    ASSERT_EQ(fast(std::nextafter(v, 1e300)), reference(std::nextafter(v, 1e300))) << v;
    const double w = 0.37 * (i % 5000) - 3;
    ASSERT_EQ(fast(w), reference(w)) << w;
    const double h = (i % 7 == 0 ? -1.5 : 1.5) * (i % 1000) + 0.125 * (i % 8);
    ASSERT_EQ(fast(h), reference(h)) << h;
    const double t = static_cast<double>(m) * 1e-15;
    ASSERT_EQ(fast(t), reference(t)) << t;
  }
  for (double v : {9007199254740992.0, 9007199254740993.0, -9007199254740992.0,
                   std::numeric_limits<double>::max(), std::numeric_limits<double>::min(),
                   std::numeric_limits<double>::denorm_min(), 0.5, -2.5}) {
    ASSERT_EQ(fast(v), reference(v)) << v;
  }
  EXPECT_GT(checked, 450000);
}

}  // namespace
}  // namespace vigil::detail
