// core/detail/kv_list.h: the one parser of "k=v, k2=v2" lists (OTEL_RESOURCE_ATTRIBUTES,
// OTEL_EXPORTER_OTLP_HEADERS).
#include "core/detail/kv_list.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace vigil::detail {
namespace {

using Pairs = std::vector<KvPair>;

TEST(KvList, ParsesWithOwsAndEmptyMembers) {
  struct Case {
    std::string_view in;
    Pairs want;
  };
  for (const Case& c : std::vector<Case>{
           {"", {}},
           {" \t ", {}},
           {",,", {}},
           {"a=1", {{"a", "1"}}},
           {"a=1,b=2", {{"a", "1"}, {"b", "2"}}},
           {"\ta\t=\t1\t,\t b = 2 ,", {{"a", "1"}, {"b", "2"}}},
           {"a=", {{"a", ""}}},
           {"a= ", {{"a", ""}}},
           {"a==b", {{"a", "=b"}}},
           {"a=x%20y%2C", {{"a", "x y,"}}},
           {"a=1,a=2", {{"a", "1"}, {"a", "2"}}},  // repeats kept in order
           {"k%20=v", {{"k%20", "v"}}},            // keys not decoded by default
       }) {
    ParseResult<KvList> r = parse_kv_list(c.in);
    ASSERT_TRUE(r) << "'" << c.in << "': " << r.error;
    EXPECT_EQ(r->pairs, c.want) << "'" << c.in << "'";
    EXPECT_TRUE(r->skipped.empty());
  }
}

TEST(KvList, FirstBadMemberFailsTheList) {
  struct Case {
    std::string_view in, error;
  };
  for (const Case& c : std::vector<Case>{
           {"novalue", "'novalue' is not key=value"},
           {"a=1, b", "'b' is not key=value"},
           {"=v", "'=v' has an empty key"},
           {" \t=v", "'=v' has an empty key"},
           {"a=%zz", "the value of 'a': malformed %-escape"},
           {"a=%4", "the value of 'a': malformed %-escape"},
       }) {
    ParseResult<KvList> r = parse_kv_list(c.in);
    EXPECT_FALSE(r) << "'" << c.in << "'";
    EXPECT_NE(r.error.find(c.error), std::string::npos) << "'" << c.in << "': " << r.error;
  }
}

TEST(KvList, SkipsBadMembersWhenAsked) {
  KvListOptions o;
  o.skip_bad_members = true;
  o.reject_nul = true;
  o.check_key = [](std::string_view key) -> std::string {
    return key.find(' ') == std::string_view::npos ? "" : "is not a valid header name";
  };
  ParseResult<KvList> r = parse_kv_list("a=1, b, bad key=2, c=%00, d=%zz, e=5", o);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->pairs, (Pairs{{"a", "1"}, {"e", "5"}}));
  ASSERT_EQ(r->skipped.size(), 4u);
  EXPECT_NE(r->skipped[0].find("'b' is not key=value"), std::string::npos);
  EXPECT_NE(r->skipped[1].find("'bad key' is not a valid header name"), std::string::npos);
  EXPECT_NE(r->skipped[2].find("%00"), std::string::npos);
  EXPECT_NE(r->skipped[3].find("malformed"), std::string::npos);
}

TEST(KvList, DecodesKeysWhenAsked) {
  KvListOptions o;
  o.decode_keys = true;
  ParseResult<KvList> r = parse_kv_list("k%20x=v", o);
  ASSERT_TRUE(r) << r.error;
  EXPECT_EQ(r->pairs, (Pairs{{"k x", "v"}}));
  r = parse_kv_list("k%2=v", o);
  EXPECT_FALSE(r);
  EXPECT_NE(r.error.find("the key of 'k%2=v'"), std::string::npos) << r.error;
}

}  // namespace
}  // namespace vigil::detail
