// core/detail/json_escape.h: the one JSON string writer; its output is valid UTF-8 and valid
// JSON for any input bytes.
#include "core/detail/json_escape.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace vigil::detail {
namespace {

std::string as_json(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

TEST(JsonEscape, EscapesQuotesBackslashesAndControls) {
  struct Case {
    std::string_view in, want;
  };
  for (const Case& c : std::vector<Case>{
           {"", R"("")"},
           {"plain", R"("plain")"},
           {"a\"b\\c", R"("a\"b\\c")"},
           {"\n\r\t\b\f", R"("\n\r\t\b\f")"},
           {std::string_view("\0\x01\x1f", 3), R"("\u0000\u0001\u001f")"},
           {"\x7f/", "\"\x7f/\""},  // DEL and '/' need no escape
           {"\xE2\x82\xAC \xF0\x9F\x98\x80", "\"\xE2\x82\xAC \xF0\x9F\x98\x80\""},
       }) {
    EXPECT_EQ(as_json(c.in), c.want);
  }
}

TEST(JsonEscape, ReplacesInvalidUtf8WithReplacementCharacter) {
  const std::string r = "\xEF\xBF\xBD";
  struct Case {
    std::string_view in;
    std::string want;
  };
  for (const Case& c : std::vector<Case>{
           {"\xff", r},
           {"a\x80z", "a" + r + "z"},
           {"\xC3", r},                          // truncated 2-byte sequence
           {"\xC0\xAF", r + r},                  // overlong '/'
           {"\xE0\x80\xAF", r + r + r},          // overlong 3-byte
           {"\xED\xA0\x80", r + r + r},          // surrogate U+D800
           {"\xF4\x90\x80\x80", r + r + r + r},  // above U+10FFFF
           {"\xE2\x82", r + r},                  // truncated 3-byte
       }) {
    EXPECT_EQ(as_json(c.in), "\"" + c.want + "\"") << testing::PrintToString(std::string(c.in));
  }
}

TEST(JsonEscape, EveryByteParsesBack) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  const std::string out = as_json(all);
  const nlohmann::json parsed = nlohmann::json::parse(out);  // throws on invalid JSON or UTF-8
  ASSERT_TRUE(parsed.is_string());
  EXPECT_EQ(parsed.get<std::string>().substr(0, 128), all.substr(0, 128));
}

TEST(Utf8SequenceLength, Lengths) {
  EXPECT_EQ(utf8_sequence_length("a", 0), 1u);
  EXPECT_EQ(utf8_sequence_length("\xC3\xA4", 0), 2u);
  EXPECT_EQ(utf8_sequence_length("\xE2\x82\xAC", 0), 3u);
  EXPECT_EQ(utf8_sequence_length("\xF0\x9F\x98\x80", 0), 4u);
  EXPECT_EQ(utf8_sequence_length("\xA4", 0), 0u);
}

}  // namespace
}  // namespace vigil::detail
