// vigil/core/retry.h: how often, and after how long, vigil tries again to deliver something
// (OTLP export, and every other sender built on vigil's HTTP client).
//
//   vigil::RetryOptions retry{.max_attempts = 3, .initial_backoff = std::chrono::seconds(1)};
//
// The wait before retry n (1 for the first retry) is
// min(max_backoff, initial_backoff * multiplier^(n-1)), scaled by a random factor in
// [1 - jitter, 1]; a Retry-After header the receiver sends replaces it. No wait goes past the
// caller's deadline. A plain value type.
#pragma once

#include <chrono>

namespace vigil {

struct RetryOptions {
  int max_attempts = 5;  // attempts in all, the first one included (1: never retry)
  std::chrono::milliseconds initial_backoff{1000};
  std::chrono::milliseconds max_backoff{5000};
  double multiplier = 1.5;  // >= 1
  double jitter = 0.2;      // in [0, 1]
};

}  // namespace vigil
