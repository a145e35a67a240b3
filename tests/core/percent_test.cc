// core/detail/percent.h: the one percent-decoder and encoder (and core/detail/base64.h).
#include "core/detail/percent.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/detail/base64.h"

namespace vigil::detail {
namespace {

TEST(PercentDecode, Decodes) {
  struct Case {
    std::string_view in;
    std::string want;
  };
  for (const Case& c : std::vector<Case>{{"", ""},
                                         {"plain", "plain"},
                                         {"a%20b", "a b"},
                                         {"%2c%2C", ",,"},
                                         {"%41%62", "Ab"},
                                         {"a+b", "a+b"},  // '+' stays
                                         {"%25", "%"},
                                         {"%2525", "%25"},  // decoded once
                                         {"%E2%82%AC", "\xE2\x82\xAC"},
                                         {"%ff", "\xff"},
                                         {"\t%09\t", "\t\t\t"},
                                         {"%00", std::string(1, '\0')}}) {
    ParseResult<std::string> r = percent_decode(c.in);
    ASSERT_TRUE(r) << "'" << c.in << "': " << r.error;
    EXPECT_EQ(*r, c.want) << "'" << c.in << "'";
    EXPECT_TRUE(r.error.empty());
  }
}

TEST(PercentDecode, RejectsMalformedEscapes) {
  for (std::string_view in :
       {"%", "%2", "a%", "a%4", "%4g", "%g4", "%%41", "% 41", "%-1", "%+1", "ok%2Gend"}) {
    ParseResult<std::string> r = percent_decode(in);
    EXPECT_FALSE(r) << "'" << in << "'";
    EXPECT_NE(r.error.find("malformed %-escape at byte"), std::string::npos) << r.error;
  }
  EXPECT_NE(percent_decode("abc%zz").error.find("byte 3"), std::string::npos);
}

TEST(PercentDecode, NulOnlyWhenAllowed) {
  EXPECT_TRUE(percent_decode("a%00b"));
  ParseResult<std::string> r = percent_decode("a%00b", {.reject_nul = true});
  EXPECT_FALSE(r);
  EXPECT_NE(r.error.find("%00"), std::string::npos) << r.error;
  // A literal NUL byte is not an escape: passed through (callers check raw input themselves).
  EXPECT_TRUE(percent_decode(std::string_view("a\0b", 3), {.reject_nul = true}));
}

TEST(PercentDecode, PlusIsASpaceOnlyWhenAsked) {
  EXPECT_EQ(percent_decode("a+b%2B").value, "a+b+");
  EXPECT_EQ(percent_decode("a+b%2B", {.plus_is_space = true}).value, "a b+");
}

TEST(PercentEncode, KeepsUnreservedAndEncodesTheRest) {
  std::string out = "p:";
  append_percent_encoded(out, "aZ09-._~ /?%\xc3\xb6");
  EXPECT_EQ(out, "p:aZ09-._~%20%2F%3F%25%C3%B6");
  EXPECT_EQ(percent_decode(out.substr(2)).value, "aZ09-._~ /?%\xc3\xb6");
}

TEST(Base64, StandardAndUrlSafeAlphabets) {
  std::string out;
  append_base64(out, "");
  EXPECT_EQ(out, "");
  append_base64(out, "/var/tmp");
  EXPECT_EQ(out, "L3Zhci90bXA=");
  out.clear();
  append_base64(out, "\xfb\xff");
  EXPECT_EQ(out, "+/8=");
  out.clear();
  append_base64(out, "\xfb\xff", Base64Alphabet::kUrlSafe);
  EXPECT_EQ(out, "-_8=");
  out.clear();
  append_base64(out, "abc", Base64Alphabet::kUrlSafe);
  EXPECT_EQ(out, "YWJj");
}

}  // namespace
}  // namespace vigil::detail
