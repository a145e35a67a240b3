#include "vigil/metrics/histogram.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "test_sink.h"
#include "vigil/core/error.h"
#include "vigil/metrics/registry.h"

namespace vigil::metrics {
namespace {

TEST(Histogram, BucketsAreLessOrEqualAndCumulative) {
  Registry r;
  Histogram h = r.histogram("size_bytes", "Size", {}, {.buckets = {1, 2, 5}}).get();
  for (double v : {0.5, 1.0, 1.5, 2.0, 4.0, 5.0, 6.0, 100.0}) h.observe(v);
  EXPECT_EQ(h.cumulative_counts(), (std::vector<uint64_t>{2, 4, 6, 8}));
  EXPECT_EQ(h.count(), 8u);
  EXPECT_DOUBLE_EQ(h.sum(), 120.0);
}

TEST(Histogram, ManyBucketsUseBinarySearch) {
  Registry r;
  Histogram h = r.histogram("wide", "w", {}, {.buckets = linear_buckets(1, 1, 100)}).get();
  for (int v = 0; v <= 101; ++v) h.observe(v);
  auto c = h.cumulative_counts();
  ASSERT_EQ(c.size(), 101u);
  EXPECT_EQ(c[0], 2u);     // 0 and 1 are <= 1
  EXPECT_EQ(c[49], 51u);   // <= 50
  EXPECT_EQ(c[99], 101u);  // <= 100
  EXPECT_EQ(c[100], 102u);
}

TEST(Histogram, InfinitiesGoToTheEnds) {
  Registry r;
  Histogram h = r.histogram("inf", "i", {}, {.buckets = {1}}).get();
  h.observe(-std::numeric_limits<double>::infinity());
  h.observe(std::numeric_limits<double>::infinity());
  EXPECT_EQ(h.cumulative_counts(), (std::vector<uint64_t>{1, 2}));
}

TEST(Histogram, NaNIsRejectedAndCounted) {
  Registry r;
  auto& f = r.histogram("nan_seconds", "n");
  Histogram h = f.get();
  h.observe(std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(f.record_stats().nan.load(), 1u);
}

TEST(Histogram, BucketHelpers) {
  EXPECT_EQ(linear_buckets(0, 0.5, 3), (std::vector<double>{0, 0.5, 1}));
  EXPECT_EQ(exponential_buckets(1, 2, 4), (std::vector<double>{1, 2, 4, 8}));
  auto b = exponential_buckets_range(0.001, 10, 5);
  ASSERT_EQ(b.size(), 5u);
  EXPECT_DOUBLE_EQ(b.front(), 0.001);
  EXPECT_DOUBLE_EQ(b.back(), 10);
  EXPECT_NEAR(b[2], 0.1, 1e-12);
  EXPECT_EQ(default_buckets().size(), 11u);
  EXPECT_THROW(linear_buckets(0, 0, 3), Error);
  EXPECT_THROW(exponential_buckets(0, 2, 3), Error);
  EXPECT_THROW(exponential_buckets(1, 1, 3), Error);
  EXPECT_THROW(exponential_buckets(1, 2, 0), Error);
}

TEST(Histogram, BadBucketsAreRejectedAtRegistration) {
  Registry r;
  EXPECT_THROW(r.histogram("a", "a", {}, {.buckets = {1, 1}}), Error);
  EXPECT_THROW(r.histogram("b", "b", {}, {.buckets = {2, 1}}), Error);
  EXPECT_THROW(r.histogram("c", "c", {}, {.buckets = {1, std::nan("")}}), Error);
  EXPECT_THROW(r.histogram("d", "d", {"le"}), Error);
  EXPECT_EQ(r.family_count(), 0u);
  // A trailing +Inf is accepted and implicit.
  auto& f = r.histogram("e", "e", {}, {.buckets = {1, std::numeric_limits<double>::infinity()}});
  EXPECT_EQ(f.buckets(), std::vector<double>{1});
}

TEST(Histogram, CollectedPointIsConsistent) {
  Registry r;
  auto& f = r.histogram("lat_seconds", "Latency", {"route"}, {.buckets = {0.1, 1}});
  f.labels("/a").observe(0.05);
  f.labels("/a").observe(0.5);
  f.labels("/a").observe(5);
  testing::RecordingSink sink;
  r.collect(sink);
  const auto* fam = sink.family("lat_seconds");
  ASSERT_NE(fam, nullptr);
  const auto* s = fam->find({"/a"});
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->cumulative, (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(s->value, 3);
  EXPECT_DOUBLE_EQ(s->sum, 5.55);
}

}  // namespace
}  // namespace vigil::metrics
