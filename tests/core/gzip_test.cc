// The one gzip wrapper (core/detail/gzip.h): Accept-Encoding negotiation, compression and
// decompression, including the chunked path that inputs above 4 GiB take (tested with a small
// injected chunk size).
#include "core/detail/gzip.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace {

using vigil::detail::accepts_gzip;
using vigil::detail::gzip_compress;

std::string gunzip(const std::string& in) {
  vigil::detail::ParseResult<std::string> r = vigil::detail::gunzip(in);
  EXPECT_TRUE(r) << r.error;
  return r ? *r : std::string();
}

TEST(AcceptsGzip, AcceptsPlainAndWeightedGzip) {
  EXPECT_TRUE(accepts_gzip("gzip"));
  EXPECT_TRUE(accepts_gzip("GZIP"));
  EXPECT_TRUE(accepts_gzip("x-gzip"));
  EXPECT_TRUE(accepts_gzip("gzip, deflate, br"));
  EXPECT_TRUE(accepts_gzip("deflate, gzip;q=1.0, *;q=0.5"));
  EXPECT_TRUE(accepts_gzip("br;q=1, gzip;q=0.001"));
  EXPECT_TRUE(accepts_gzip(" gzip ; q=0.8 "));
  EXPECT_TRUE(accepts_gzip("gzip;Q=0.5"));
  EXPECT_TRUE(accepts_gzip("*"));
  EXPECT_TRUE(accepts_gzip("identity, *;q=0.1"));
}

TEST(AcceptsGzip, RefusesZeroWeightAbsentAndMalformed) {
  EXPECT_FALSE(accepts_gzip(""));
  EXPECT_FALSE(accepts_gzip("identity"));
  EXPECT_FALSE(accepts_gzip("deflate, br"));
  EXPECT_FALSE(accepts_gzip("gzip;q=0"));
  EXPECT_FALSE(accepts_gzip("gzip;q=0.0"));
  EXPECT_FALSE(accepts_gzip("gzip;q=0.000"));
  EXPECT_FALSE(accepts_gzip("gzip; q=0, *"));  // explicit refusal beats the wildcard
  EXPECT_FALSE(accepts_gzip("*;q=0"));
  EXPECT_FALSE(accepts_gzip("gzip;q=abc"));     // malformed weight
  EXPECT_FALSE(accepts_gzip("gzip;q=1.5"));     // above 1
  EXPECT_FALSE(accepts_gzip("gzip;q=0.0001"));  // more than 3 decimals
  EXPECT_FALSE(accepts_gzip("gzipx"));
  EXPECT_FALSE(accepts_gzip(",,;;=,"));
  EXPECT_FALSE(accepts_gzip(std::string_view("gz\0ip", 5)));
}

TEST(GzipCompress, RoundTripsEmptySmallAndLarge) {
  std::mt19937 rng(42);
  std::string random(1 << 20, '\0');
  for (char& c : random) c = static_cast<char>('a' + rng() % 4);
  for (const std::string& input : {std::string(), std::string("hello"), random}) {
    std::optional<std::string> z = gzip_compress(input);
    ASSERT_TRUE(z.has_value());
    ASSERT_GE(z->size(), 18u);  // gzip header + trailer
    EXPECT_EQ(static_cast<unsigned char>((*z)[0]), 0x1f);
    EXPECT_EQ(static_cast<unsigned char>((*z)[1]), 0x8b);
    EXPECT_EQ(gunzip(*z), input);
  }
}

TEST(GzipCompress, ShrinksRepetitiveText) {
  std::string text;
  for (int i = 0; i < 1000; ++i) text += "http_requests_total{code=\"200\"} 12345\n";
  std::optional<std::string> z = gzip_compress(text, 9);
  ASSERT_TRUE(z.has_value());
  EXPECT_LT(z->size(), text.size() / 10);
  EXPECT_EQ(gunzip(*z), text);
}

TEST(GzipCompress, ChunkedPathGivesTheSameStream) {
  // Above 4 GiB zlib is fed in chunks of kZlibMaxChunk; a tiny chunk size takes the same loop.
  std::mt19937 rng(7);
  std::string input(100000, '\0');
  for (char& c : input) c = static_cast<char>('a' + rng() % 16);
  const std::optional<std::string> whole = gzip_compress(input, 6);
  ASSERT_TRUE(whole);
  for (std::size_t chunk : {std::size_t{1}, std::size_t{7}, std::size_t{4096}}) {
    const std::optional<std::string> chunked = gzip_compress(input, 6, chunk);
    ASSERT_TRUE(chunked) << chunk;
    EXPECT_EQ(gunzip(*chunked), input) << chunk;
    vigil::detail::ParseResult<std::string> back = vigil::detail::gunzip(*whole, 1u << 20, chunk);
    ASSERT_TRUE(back) << chunk << ": " << back.error;
    EXPECT_EQ(*back, input) << chunk;
  }
}

TEST(Gunzip, RejectsMalformedTruncatedAndOversized) {
  const std::optional<std::string> z = gzip_compress(std::string(10000, 'x'));
  ASSERT_TRUE(z);
  EXPECT_FALSE(vigil::detail::gunzip("not gzip at all"));
  EXPECT_FALSE(vigil::detail::gunzip(""));
  const auto truncated = vigil::detail::gunzip(z->substr(0, z->size() / 2));
  EXPECT_FALSE(truncated);
  EXPECT_NE(truncated.error.find("truncated"), std::string::npos) << truncated.error;
  const auto big = vigil::detail::gunzip(*z, 9999);
  EXPECT_FALSE(big);
  EXPECT_NE(big.error.find("more than 9999"), std::string::npos) << big.error;
  EXPECT_TRUE(vigil::detail::gunzip(*z, 10000));
}

}  // namespace
