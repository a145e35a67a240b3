#include "gzip.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <random>
#include <string>

namespace {

using vigil::detail::accepts_gzip;
using vigil::detail::gzip_compress;

std::string gunzip(const std::string& in) {
  z_stream zs{};
  EXPECT_EQ(inflateInit2(&zs, 15 + 16), Z_OK);
  std::string out;
  std::string buf(1 << 16, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    zs.next_out = reinterpret_cast<Bytef*>(buf.data());
    zs.avail_out = static_cast<uInt>(buf.size());
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      ADD_FAILURE() << "inflate failed: " << rc;
      break;
    }
    out.append(buf.data(), buf.size() - zs.avail_out);
  }
  inflateEnd(&zs);
  return out;
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

}  // namespace
