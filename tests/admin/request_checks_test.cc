#include "request_checks.h"

#include <gtest/gtest.h>

#include <string>

namespace vigil::admin::detail {
namespace {

TEST(ObsoleteFold, Table) {
  struct Case {
    std::string head;
    bool fold;
  };
  const Case cases[] = {
      {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", false},
      {"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n folded\r\n\r\n", true},
      {"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n\tfolded\r\n\r\n", true},
      {"GET / HTTP/1.1\r\n Host: a\r\n\r\n", true},          // whitespace before the first field
      {"\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", false},  // blank lines first are allowed
      {"\r\nGET / HTTP/1.1\r\nHost: a\r\n\tX\r\n\r\n", true},
      {"GET / HTTP/1.1\r\nHost: a\r\n\r\n body starts with a space", false},  // not the header
      {"GET / HTTP/1.1\r\nX: a\tb\r\n\r\n", false},  // a tab inside a value is fine
      {"GET / HTTP/1.1\r\nHost: a\r\n ", true},      // incomplete header, fold already seen
      {"", false},
  };
  for (const Case& c : cases) EXPECT_EQ(has_obsolete_fold(c.head), c.fold) << c.head;
}

TEST(ParseTarget, Table) {
  Target t = parse_target("/metrics?format=json#frag");
  EXPECT_EQ(t.error, "");
  EXPECT_EQ(t.path, "/metrics");
  EXPECT_EQ(t.query, "format=json");
  t = parse_target("/a%2Fb");
  EXPECT_EQ(t.path, "/a/b");
  t = parse_target("http://host:9464/health/live?x=1");
  EXPECT_EQ(t.path, "/health/live");
  EXPECT_EQ(t.query, "x=1");
  t = parse_target("HTTPS://host");
  EXPECT_EQ(t.path, "/");
  t = parse_target("http://host?q=1");
  EXPECT_EQ(t.path, "/");
  EXPECT_EQ(t.query, "q=1");
  EXPECT_TRUE(parse_target("*").asterisk);
  for (const char* bad : {"", "metrics", "ftp://host/x", "host:443", "/metrics%00.txt", "/%zz",
                          "//%", "javascript:alert(1)"}) {
    EXPECT_NE(parse_target(bad).error, "") << bad;
  }
}

}  // namespace
}  // namespace vigil::admin::detail
