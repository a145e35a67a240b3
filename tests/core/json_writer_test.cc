// JsonWriter (src/core/detail/json_writer.h): commas placed by the writer, every value kind,
// escaping of strings and of outside keys, non-finite doubles, hex.
#include "core/detail/json_writer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

namespace vigil::detail {
namespace {

TEST(JsonWriter, PlacesCommasBetweenMembersAndElements) {
  std::string out;
  JsonWriter w(out);
  w.open_object();
  w.key("a");
  w.open_array();
  for (int i = 0; i < 3; ++i) {
    w.element();
    w.number(i);
  }
  w.close_array();
  w.key("o");
  w.open_object();
  w.close_object();
  w.key("e");
  w.open_array();
  w.close_array();
  w.key("n");
  w.null();
  w.close_object();
  EXPECT_EQ(out, R"({"a":[0,1,2],"o":{},"e":[],"n":null})");
}

TEST(JsonWriter, Numbers) {
  std::string out;
  JsonWriter w(out);
  w.open_array();
  w.element();
  w.int64(std::numeric_limits<int64_t>::min());
  w.element();
  w.uint64(std::numeric_limits<uint64_t>::max());
  w.element();
  w.int_string(-5);
  w.element();
  w.uint_string(18446744073709551615u);
  w.element();
  w.number(uint32_t{4294967295u});
  w.element();
  w.dbl(0.1);
  w.element();
  w.dbl(1e300);
  w.element();
  w.dbl(std::nan(""));
  w.element();
  w.dbl(std::numeric_limits<double>::infinity());
  w.element();
  w.dbl(-std::numeric_limits<double>::infinity());
  w.element();
  w.boolean(false);
  w.close_array();
  EXPECT_EQ(out,
            "[-9223372036854775808,18446744073709551615,\"-5\",\"18446744073709551615\","
            "4294967295,0.1,1e+300,\"NaN\",\"Infinity\",\"-Infinity\",false]");
}

TEST(JsonWriter, StringsAndKeys) {
  std::string out;
  JsonWriter w(out);
  w.open_object();
  w.key("s");
  w.string("a\"b\\c\n\x01\xff");
  w.escaped_key("k\"\t");
  w.string("");
  const uint8_t bytes[] = {0x00, 0xab, 0x0f};
  w.key("h");
  w.hex(bytes, 3);
  w.close_object();
  EXPECT_EQ(out,
            "{\"s\":\"a\\\"b\\\\c\\n\\u0001\xEF\xBF\xBD\",\"k\\\"\\t\":\"\",\"h\":\"00ab0f\"}");
}

TEST(JsonWriter, AppendsToWhatIsThere) {
  std::string out = "x=";
  JsonWriter w(out);
  w.raw('[');
  w.element();
  w.string("y");
  w.raw("]");
  EXPECT_EQ(out, "x=[\"y\"]");
}

}  // namespace
}  // namespace vigil::detail
