// The shared protobuf wire-format primitives (src/exporters/protobuf_wire.h) against
// hand-computed bytes and protobuf's own CodedOutputStream.
#include "protobuf_wire.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

namespace vigil::exporters::detail {
namespace {

std::string bytes(const char* begin, const char* end) {
  return std::string(begin, static_cast<std::size_t>(end - begin));
}

std::string varint(uint64_t v) {
  char b[kMaxVarintSize];
  return bytes(b, put_varint(b, v));
}

// What protobuf writes for `v` as a varint.
std::string protobuf_varint(uint64_t v) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.WriteVarint64(v);
  }
  return out;
}

TEST(ProtobufWire, VarintsByHand) {
  EXPECT_EQ(varint(0), std::string(1, '\0'));
  EXPECT_EQ(varint(1), "\x01");
  EXPECT_EQ(varint(127), "\x7F");
  EXPECT_EQ(varint(128), "\x80\x01");
  EXPECT_EQ(varint(300), "\xAC\x02");
  EXPECT_EQ(varint(std::numeric_limits<uint64_t>::max()),
            "\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\x01");
  EXPECT_EQ(varint_size(0), 1U);
  EXPECT_EQ(varint_size(127), 1U);
  EXPECT_EQ(varint_size(128), 2U);
  EXPECT_EQ(varint_size(16383), 2U);
  EXPECT_EQ(varint_size(16384), 3U);
  EXPECT_EQ(varint_size(std::numeric_limits<uint64_t>::max()), kMaxVarintSize);
}

TEST(ProtobufWire, VarintsMatchProtobufAtEverySizeBoundary) {
  for (int bits = 0; bits <= 64; ++bits) {
    const uint64_t edge = bits == 64 ? std::numeric_limits<uint64_t>::max() : (uint64_t{1} << bits);
    for (const uint64_t v : {edge - 1, edge, edge + 1}) {
      const std::string expected = protobuf_varint(v);
      EXPECT_EQ(varint(v), expected) << v;
      EXPECT_EQ(varint_size(v), expected.size()) << v;
    }
  }
}

TEST(ProtobufWire, TagsFixed64DoublesAndFields) {
  EXPECT_EQ(wire_tag(1, WireType::kLengthDelimited), 0x0AU);
  EXPECT_EQ(wire_tag(2, WireType::kVarint), 0x10U);
  EXPECT_EQ(wire_tag_byte(2, WireType::kFixed64), '\x11');
  char b[32];
  EXPECT_EQ(bytes(b, put_tag(b, 16, WireType::kVarint)), "\x80\x01");  // 128 needs two bytes
  EXPECT_EQ(bytes(b, put_fixed64(b, 0x0102030405060708ULL)), "\x08\x07\x06\x05\x04\x03\x02\x01");
  EXPECT_EQ(bytes(b, put_double(b, 1.0)), std::string("\0\0\0\0\0\0\xF0\x3F", 8));
  EXPECT_EQ(bytes(b, put_field(b, '\x12', "abc")),
            "\x12\x03"
            "abc");
  EXPECT_EQ(bytes(b, put_field(b, '\x0A', "")), std::string("\x0A\0", 2));
  EXPECT_EQ(field_size(3), 5U);
  EXPECT_EQ(field_size(200), 1U + 2U + 200U);
  EXPECT_EQ(bytes(b, put_bytes(b, "")), "");
}

}  // namespace
}  // namespace vigil::exporters::detail
