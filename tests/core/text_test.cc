// core/detail/text.h: trim, case-insensitive compare and the list splitter every layer shares.
#include "core/detail/text.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace vigil::detail {
namespace {

TEST(Trim, DropsSpacesAndTabsOnly) {
  struct Case {
    std::string_view in, want;
  };
  for (const Case& c : std::vector<Case>{{"", ""},
                                         {" ", ""},
                                         {" \t \t", ""},
                                         {"a", "a"},
                                         {" a ", "a"},
                                         {"\ta b\t", "a b"},
                                         {"\t \ta\t \t", "a"},
                                         {"a\r\n", "a\r\n"},  // CR/LF are not OWS
                                         {"\va\f", "\va\f"}}) {
    EXPECT_EQ(trim(c.in), c.want) << "'" << c.in << "'";
  }
}

TEST(TrimLine, AlsoDropsLineEndings) {
  EXPECT_EQ(trim_line(" 30\r\n"), "30");
  EXPECT_EQ(trim_line("\r\n\t "), "");
  EXPECT_EQ(trim_line(""), "");
  EXPECT_EQ(trim_line("a\rb"), "a\rb");
}

TEST(Iequals, AsciiCaseOnly) {
  EXPECT_TRUE(iequals("", ""));
  EXPECT_TRUE(iequals("Content-Type", "content-type"));
  EXPECT_TRUE(iequals("GZIP", "gzip"));
  EXPECT_FALSE(iequals("gzip", "gzi"));
  EXPECT_FALSE(iequals("a", "b"));
  EXPECT_FALSE(iequals("@", "`"));                // 0x40 vs 0x60: not letters
  EXPECT_FALSE(iequals("\xC3\x84", "\xC3\xA4"));  // Ä vs ä: not ASCII
  EXPECT_TRUE(iequals(std::string_view("a\0b", 3), std::string_view("A\0B", 3)));
}

TEST(AsciiLower, LowersLettersOnly) {
  EXPECT_EQ(ascii_lower(std::string_view("HTTP/Protobuf 1.0 \xC3\x84")),
            "http/protobuf 1.0 \xC3\x84");
  EXPECT_EQ(ascii_lower(std::string_view("")), "");
  EXPECT_EQ(ascii_lower('Z'), 'z');
  EXPECT_EQ(ascii_lower('['), '[');
}

TEST(StartsWithIcase, PrefixIgnoringCase) {
  EXPECT_TRUE(starts_with_icase("Retry-After: 5", "retry-after:"));
  EXPECT_TRUE(starts_with_icase("HTTP/1.1 200", "http/"));
  EXPECT_TRUE(starts_with_icase("x", ""));
  EXPECT_FALSE(starts_with_icase("ret", "retry"));
  EXPECT_FALSE(starts_with_icase("", "a"));
}

TEST(SplitPair, AtFirstSeparatorTrimmed) {
  SplitPair p = split_pair(" k \t=\t v=w ", '=');
  EXPECT_TRUE(p.found);
  EXPECT_EQ(p.first, "k");
  EXPECT_EQ(p.second, "v=w");
  p = split_pair(" novalue ", '=');
  EXPECT_FALSE(p.found);
  EXPECT_EQ(p.first, "novalue");
  EXPECT_EQ(p.second, "");
  p = split_pair("=", '=');
  EXPECT_TRUE(p.found);
  EXPECT_EQ(p.first, "");
  EXPECT_EQ(p.second, "");
}

TEST(ForEachListMember, TrimsAndSkipsEmptyMembers) {
  struct Case {
    std::string_view in;
    std::vector<std::string> want;
  };
  for (const Case& c : std::vector<Case>{{"", {}},
                                         {",", {}},
                                         {" \t, ,\t", {}},
                                         {"a", {"a"}},
                                         {"a,b", {"a", "b"}},
                                         {" a ,\tb\t,, c d ,", {"a", "b", "c d"}}}) {
    std::vector<std::string> got;
    EXPECT_TRUE(for_each_list_member(c.in, ',', [&](std::string_view m) { got.emplace_back(m); }));
    EXPECT_EQ(got, c.want) << "'" << c.in << "'";
  }
}

TEST(ForEachListMember, StopsWhenTheCallbackSaysSo) {
  int calls = 0;
  EXPECT_FALSE(for_each_list_member("a;b;c", ';', [&](std::string_view m) {
    ++calls;
    return m != "b";
  }));
  EXPECT_EQ(calls, 2);
}

TEST(Quoted, WrapsWithoutEscaping) {
  EXPECT_EQ(quoted("db"), "\"db\"");
  EXPECT_EQ(quoted(""), "\"\"");
  EXPECT_EQ(quoted("it's", '\''), "'it's'");
  EXPECT_EQ(quoted(std::string_view("a\0b", 3)), std::string("\"a\0b\"", 5));
}

}  // namespace
}  // namespace vigil::detail
