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

// The word-at-a-time decoder agrees with the table decoder on every byte value at every
// position (the one-character changes of a valid id), and rejects what it rejects.
// Sizes 16 and 8 take the 16-digit SSE2 path on x86-64, 4 the 8-digit word path, 12 both.
TEST(Hex, WordDecoderAgreesWithTheTableDecoder) {
  const std::string valid = "4bf92f3577b34da6a3ce929d0e0e4736";
  for (std::size_t n : {16u, 12u, 8u, 4u}) {
    for (std::size_t pos = 0; pos < 2 * n; ++pos) {
      for (int c = 0; c < 256; ++c) {
        std::string s = valid.substr(0, 2 * n);
        s[pos] = static_cast<char>(c);
        std::array<uint8_t, 16> table{}, word{};
        const bool table_ok = parse_hex(s, table.data(), n, HexCase::kLower);
        const bool word_ok = parse_hex_lower_x4(s.data(), word.data(), n);
        ASSERT_EQ(table_ok, word_ok) << "size " << n << " position " << pos << " byte " << c;
        if (table_ok) {
          ASSERT_EQ(table, word) << "size " << n << " position " << pos << " byte " << c;
        }
      }
    }
  }
  // The 8-digit word decoder alone (the SSE2 path takes 16-digit blocks first on x86-64).
  for (std::size_t pos = 0; pos < 8; ++pos) {
    for (int c = 0; c < 256; ++c) {
      std::string s = valid.substr(8, 8);
      s[pos] = static_cast<char>(c);
      std::array<uint8_t, 4> table{}, word{};
      const bool table_ok = parse_hex(s, table.data(), 4, HexCase::kLower);
      const bool word_ok = hex_internal::decode_hex8_lower(s.data(), word.data());
      ASSERT_EQ(table_ok, word_ok) << "position " << pos << " byte " << c;
      if (table_ok) {
        ASSERT_EQ(table, word);
      }
    }
  }
}

TEST(Hex, WordDecoderRejectsUppercaseAndNeighbours) {
  std::array<uint8_t, 4> out{};
  for (const char* bad :
       {"0000000A", "F0000000", "/0000000", ":0000000", "`0000000", "g0000000", "0000 000",
        "\xb0"
        "0000000"}) {
    EXPECT_FALSE(parse_hex_lower_x4(bad, out.data(), out.size())) << bad;
  }
  ASSERT_TRUE(parse_hex_lower_x4("09afcd17", out.data(), out.size()));
  EXPECT_EQ(out, (std::array<uint8_t, 4>{0x09, 0xaf, 0xcd, 0x17}));
  std::array<uint8_t, 8> out8{};
  for (const char* bad : {"000000000000000A", "F000000000000000", "0000000/00000000",
                          "00000000:0000000", "000000000000000`", "0000000g00000000",
                          "00000000000000\xff"
                          "0"}) {
    EXPECT_FALSE(parse_hex_lower_x4(bad, out8.data(), out8.size())) << bad;
  }
  ASSERT_TRUE(parse_hex_lower_x4("0123456789abcdef", out8.data(), out8.size()));
  EXPECT_EQ(out8, (std::array<uint8_t, 8>{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}));
}

// Every byte value encodes as the table encoder writes it, at every position of the word.
TEST(Hex, WordEncoderAgreesWithTheTableEncoder) {
  for (int b = 0; b < 256; ++b) {
    for (std::size_t pos = 0; pos < 8; ++pos) {
      std::array<uint8_t, 8> bytes{0x00, 0x11, 0x7f, 0x80, 0xff, 0x09, 0xa0, 0x5c};
      bytes[pos] = static_cast<uint8_t>(b);
      char table[16], word[16];
      write_hex(bytes.data(), bytes.size(), table);
      write_hex_lower_x4(bytes.data(), bytes.size(), word);
      ASSERT_EQ(std::string(table, 16), std::string(word, 16)) << "byte " << b;
      std::array<uint8_t, 8> back{};
      ASSERT_TRUE(parse_hex_lower_x4(word, back.data(), back.size()));
      ASSERT_EQ(back, bytes);
    }
  }
}

}  // namespace
}  // namespace vigil::detail
