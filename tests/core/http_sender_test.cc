// The retry policy's pieces: retryable statuses, Retry-After parsing, backoff with jitter.
#include "core/detail/http_sender.h"

#include <gtest/gtest.h>

namespace vigil::detail {
namespace {

using std::chrono::milliseconds;

TEST(RetryPolicy, RetryableStatuses) {
  for (long s : {429L, 502L, 503L, 504L}) EXPECT_TRUE(retryable_status(s)) << s;
  for (long s : {200L, 400L, 401L, 403L, 404L, 413L, 500L, 501L}) {
    EXPECT_FALSE(retryable_status(s)) << s;
  }
}

TEST(RetryPolicy, RetryAfterSeconds) {
  const auto now = std::chrono::system_clock::now();
  EXPECT_EQ(parse_retry_after("0", now), milliseconds(0));
  EXPECT_EQ(parse_retry_after("2", now), milliseconds(2000));
  EXPECT_EQ(parse_retry_after(" 30 ", now), milliseconds(30000));
  EXPECT_EQ(parse_retry_after("99999999999999999999999", now), milliseconds(86400000));
  EXPECT_FALSE(parse_retry_after("", now));
  EXPECT_FALSE(parse_retry_after("-1", now));
  EXPECT_FALSE(parse_retry_after("1.5", now));
  EXPECT_FALSE(parse_retry_after("soon", now));
  EXPECT_FALSE(parse_retry_after("now", now));
}

TEST(RetryPolicy, RetryAfterHttpDate) {
  // Sun, 06 Nov 1994 08:49:37 GMT = 784111777.
  const auto base = std::chrono::system_clock::from_time_t(784111777 - 10);
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", base), milliseconds(10000));
  EXPECT_EQ(parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", base), milliseconds(10000));
  EXPECT_EQ(parse_retry_after("Sun Nov  6 08:49:37 1994", base), milliseconds(10000));
  // In the past: retry at once.
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT",
                              std::chrono::system_clock::from_time_t(784111777 + 60)),
            milliseconds(0));
  EXPECT_FALSE(parse_retry_after("Sun, 99 Foo 1994 xx:49:37 GMT", base));
  EXPECT_FALSE(parse_retry_after(std::string(100, 'A'), base));
}

TEST(RetryPolicy, ExponentialBackoffWithJitter) {
  RetryPolicy o;
  o.initial_backoff = milliseconds(100);
  o.max_backoff = milliseconds(1000);
  o.multiplier = 2;
  o.jitter = 0.5;
  EXPECT_EQ(backoff_delay(o, 1, 0.0), milliseconds(100));
  EXPECT_EQ(backoff_delay(o, 2, 0.0), milliseconds(200));
  EXPECT_EQ(backoff_delay(o, 3, 0.0), milliseconds(400));
  EXPECT_EQ(backoff_delay(o, 5, 0.0), milliseconds(1000));  // capped
  EXPECT_EQ(backoff_delay(o, 50, 0.0), milliseconds(1000));
  EXPECT_EQ(backoff_delay(o, 1, 0.999999), milliseconds(50));  // up to half off
  EXPECT_EQ(backoff_delay(o, 2, 0.5), milliseconds(150));
  o.jitter = 0;
  EXPECT_EQ(backoff_delay(o, 2, 0.9), milliseconds(200));
}

}  // namespace
}  // namespace vigil::detail
