// core/detail/hex.h: the one hex encoder and decoder.
#include "core/detail/hex.h"

#include <gtest/gtest.h>

#include <array>
#include <string>

namespace vigil::detail {
namespace {

TEST(Hex, DigitValues) {
  for (int i = 0; i < 10; ++i) EXPECT_EQ(hex_value(static_cast<char>('0' + i)), i);
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(hex_value(static_cast<char>('a' + i)), 10 + i);
    EXPECT_EQ(hex_value(static_cast<char>('A' + i)), 10 + i);
    EXPECT_EQ(hex_value(static_cast<char>('A' + i), HexCase::kLower), -1);
  }
  for (char c : std::string_view("gG/:@`\0 \xff", 9)) EXPECT_EQ(hex_value(c), -1) << int(c);
  EXPECT_EQ(hex_byte('f', 'F'), 255);
  EXPECT_EQ(hex_byte('0', '0'), 0);
  EXPECT_EQ(hex_byte('0', 'x'), -1);
  EXPECT_EQ(hex_byte('A', '0', HexCase::kLower), -1);
}

TEST(Hex, EncodeDecodeRoundTrip) {
  const std::array<uint8_t, 4> bytes{0x00, 0x0a, 0xf0, 0xff};
  char out[8];
  write_hex(bytes.data(), bytes.size(), out);
  EXPECT_EQ(std::string_view(out, 8), "000af0ff");
  write_hex(bytes.data(), bytes.size(), out, /*upper=*/true);
  EXPECT_EQ(std::string_view(out, 8), "000AF0FF");
  std::string s;
  append_hex(s, 0xab);
  append_hex(s, 0x01, true);
  EXPECT_EQ(s, "ab01");

  std::array<uint8_t, 4> back{};
  EXPECT_TRUE(parse_hex("000af0ff", back.data(), back.size()));
  EXPECT_EQ(back, bytes);
  EXPECT_TRUE(parse_hex("000AF0FF", back.data(), back.size()));
  EXPECT_FALSE(parse_hex("000AF0FF", back.data(), back.size(), HexCase::kLower));
  EXPECT_FALSE(parse_hex("000af0f", back.data(), back.size()));    // short
  EXPECT_FALSE(parse_hex("000af0fff", back.data(), back.size()));  // long
  EXPECT_FALSE(parse_hex("000af0fg", back.data(), back.size()));
  EXPECT_FALSE(parse_hex("", back.data(), back.size()));
  EXPECT_TRUE(parse_hex("", back.data(), 0));
}

}  // namespace
}  // namespace vigil::detail
