// BoundedMpmcQueue (src/trace/bounded_queue.h): capacity, FIFO order, full and empty, wrap
// around, and many producers with many consumers losing and duplicating nothing.
#include "trace/bounded_queue.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

namespace vigil::trace::detail {
namespace {

TEST(BoundedMpmcQueue, CapacityIsTheNextPowerOfTwo) {
  EXPECT_EQ(BoundedMpmcQueue<int>(0).capacity(), 1u);
  EXPECT_EQ(BoundedMpmcQueue<int>(1).capacity(), 1u);
  EXPECT_EQ(BoundedMpmcQueue<int>(3).capacity(), 4u);
  EXPECT_EQ(BoundedMpmcQueue<int>(1000).capacity(), 1024u);
  EXPECT_EQ(BoundedMpmcQueue<int>(2048).capacity(), 2048u);
}

TEST(BoundedMpmcQueue, FifoUntilFullThenRefuses) {
  BoundedMpmcQueue<int> q(4);
  int out = -1;
  EXPECT_FALSE(q.try_pop(out));
  EXPECT_EQ(out, -1);  // untouched when empty
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(q.try_push(i)) << i;
  EXPECT_EQ(q.approx_size(), 4u);
  EXPECT_FALSE(q.try_push(99));  // full
  EXPECT_EQ(q.approx_size(), 4u);
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(q.try_pop(out));
    EXPECT_EQ(out, i);
  }
  EXPECT_FALSE(q.try_pop(out));
  EXPECT_EQ(q.approx_size(), 0u);
}

TEST(BoundedMpmcQueue, WrapsAroundManyTimes) {
  BoundedMpmcQueue<uint64_t> q(8);
  uint64_t next_in = 0;
  uint64_t next_out = 0;
  for (int round = 0; round < 1000; ++round) {
    const int n = 1 + round % 8;  // 1..8 values per round
    for (int i = 0; i < n; ++i) ASSERT_TRUE(q.try_push(next_in++));
    for (int i = 0; i < n; ++i) {
      uint64_t v = 0;
      ASSERT_TRUE(q.try_pop(v));
      ASSERT_EQ(v, next_out++);
    }
  }
  EXPECT_EQ(q.approx_size(), 0u);
}

TEST(BoundedMpmcQueue, ManyProducersManyConsumersLoseNothing) {
  constexpr int kProducers = 4;
  constexpr int kConsumers = 3;
  constexpr uint32_t kPerProducer = 20000;
  BoundedMpmcQueue<uint32_t> q(64);  // small: producers often find it full
  std::atomic<int> producers_left{kProducers};
  std::vector<std::vector<uint32_t>> got(kConsumers);
  std::vector<std::thread> threads;
  for (int p = 0; p < kProducers; ++p) {
    threads.emplace_back([&, p] {
      for (uint32_t i = 0; i < kPerProducer; ++i) {
        const uint32_t v = static_cast<uint32_t>(p) * kPerProducer + i;
        while (!q.try_push(v)) std::this_thread::yield();
      }
      producers_left.fetch_sub(1, std::memory_order_release);
    });
  }
  for (int c = 0; c < kConsumers; ++c) {
    threads.emplace_back([&, c] {
      uint32_t v = 0;
      while (true) {
        if (q.try_pop(v)) {
          got[c].push_back(v);
        } else if (producers_left.load(std::memory_order_acquire) == 0) {
          if (!q.try_pop(v)) break;  // the producers are done and the queue is empty
          got[c].push_back(v);
        } else {
          std::this_thread::yield();
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  std::vector<uint32_t> all;
  for (const auto& g : got) {
    // Each producer's values reach one consumer in the order they were pushed.
    std::vector<uint32_t> last(kProducers, 0);
    std::vector<bool> seen(kProducers, false);
    for (uint32_t v : g) {
      const uint32_t p = v / kPerProducer;
      if (seen[p]) {
        EXPECT_GT(v, last[p]);
      }
      seen[p] = true;
      last[p] = v;
    }
    all.insert(all.end(), g.begin(), g.end());
  }
  ASSERT_EQ(all.size(), size_t{kProducers} * kPerProducer);
  std::sort(all.begin(), all.end());
  for (uint32_t i = 0; i < all.size(); ++i) ASSERT_EQ(all[i], i);  // each value exactly once
}

}  // namespace
}  // namespace vigil::trace::detail
