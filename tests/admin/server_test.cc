#include "vigil/admin/server.h"

#include <curl/curl.h>
#include <dirent.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "test_util.h"
#include "vigil/core/error.h"

namespace vigil::admin {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// --- a small libcurl client ------------------------------------------------------------------

struct HttpRequest {
  std::string url;
  std::string method = "GET";
  std::string body;
  std::vector<std::string> headers;  // "Name: value"
  // Passed to CURLOPT_ACCEPT_ENCODING when set: curl advertises it and decodes the body.
  std::optional<std::string> curl_accept_encoding;
};

struct HttpResponse {
  CURLcode code = CURLE_OK;
  long status = 0;
  std::string body;
  std::multimap<std::string, std::string> headers;  // lower-case names

  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
  bool has_header(const std::string& name) const { return headers.count(name) != 0; }
};

size_t on_body(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  std::string line(data, size * n);
  const std::size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    const std::size_t b = value.find_first_not_of(" \t");
    const std::size_t e = value.find_last_not_of(" \t\r\n");
    value = b == std::string::npos ? std::string() : value.substr(b, e - b + 1);
    static_cast<HttpResponse*>(user)->headers.emplace(name, value);
  }
  return size * n;
}

HttpResponse http(const HttpRequest& req) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  HttpResponse res;
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 15000L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &res.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &res);
  if (req.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (req.method != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }
  if (!req.body.empty() || req.method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
  }
  if (req.curl_accept_encoding) {
    curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, req.curl_accept_encoding->c_str());
  }
  curl_slist* list = nullptr;
  for (const std::string& h : req.headers) list = curl_slist_append(list, h.c_str());
  // Do not wait for "100 Continue" before sending a body (unless the test asks for it).
  const bool has_expect = std::any_of(req.headers.begin(), req.headers.end(),
                                      [](const auto& h) { return h.rfind("Expect", 0) == 0; });
  if (!has_expect) list = curl_slist_append(list, "Expect:");
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  res.code = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &res.status);
  curl_slist_free_all(list);
  curl_easy_cleanup(curl);
  return res;
}

HttpResponse get(const std::string& url, std::vector<std::string> headers = {}) {
  HttpRequest req;
  req.url = url;
  req.headers = std::move(headers);
  return http(req);
}

int count_entries(const char* path) {
  int n = 0;
  DIR* dir = opendir(path);
  if (dir == nullptr) return -1;
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(dir);
  return n;
}

int thread_count() { return count_entries("/proc/self/task"); }
int fd_count() { return count_entries("/proc/self/fd"); }

ServerOptions local_options() { return testing::local_options(4); }
using testing::text;

// --- Request (no server) ---------------------------------------------------------------------

TEST(Request, HeaderLookupIsCaseInsensitive) {
  const Header headers[] = {{"Content-Type", "text/plain"}, {"X-Thing", "1"}, {"x-thing", "2"}};
  Request r;
  r.headers = headers;
  EXPECT_EQ(r.header("content-type"), "text/plain");
  EXPECT_EQ(r.header("X-THING"), "1");  // the first one
  EXPECT_EQ(r.header("missing"), std::nullopt);
}

TEST(Request, QueryParamDecodes) {
  Request r;
  r.query = "a=1&name=hello%20world&plus=a+b&empty=&flag&a=2";
  EXPECT_EQ(r.query_param("a"), "1");
  EXPECT_EQ(r.query_param("name"), "hello world");
  EXPECT_EQ(r.query_param("plus"), "a b");
  EXPECT_EQ(r.query_param("empty"), "");
  EXPECT_EQ(r.query_param("missing"), std::nullopt);
  EXPECT_EQ(r.query_param(""), std::nullopt);
  Request none;
  EXPECT_EQ(none.query_param("a"), std::nullopt);
}

// --- configuration -----------------------------------------------------------------------------

TEST(ServerConfig, RejectsInvalidListenAddresses) {
  for (const char* listen : {"", "abc", "127.0.0.1:99999", "999.1.1.1:80", "127.0.0.1:", "host:80",
                             "::1:80", "127.0.0.1:-1"}) {
    ServerOptions o;
    o.listen = listen;
    try {
      Server s(o);
      ADD_FAILURE() << "no error for listen=\"" << listen << "\"";
    } catch (const vigil::Error& e) {
      EXPECT_THAT(e.what(), HasSubstr("admin server: invalid listen address")) << listen;
      EXPECT_THAT(e.what(), HasSubstr(std::string("\"") + listen + "\"")) << listen;
    }
  }
}

TEST(ServerConfig, AcceptsValidListenAddresses) {
  for (const char* listen : {"127.0.0.1:0", "localhost:0", "0", ":0", "0.0.0.0:0"}) {
    ServerOptions o;
    o.listen = listen;
    Server s(o);
    s.start();
    EXPECT_TRUE(s.running()) << listen;
    EXPECT_THAT(s.url(), HasSubstr("http://127.0.0.1:")) << listen;
    s.stop();
  }
}

TEST(ServerConfig, RejectsBadThreadsAndTimeout) {
  ServerOptions o = local_options();
  o.threads = 0;
  EXPECT_THROW(Server{o}, vigil::Error);
  o.threads = 4;
  o.request_timeout = std::chrono::milliseconds(0);
  EXPECT_THROW(Server{o}, vigil::Error);
}

TEST(ServerConfig, UnreadableTlsCertificateGivesClearError) {
  ServerOptions o = local_options();
  o.tls_certificate = "/nonexistent/vigil/admin.pem";
  try {
    Server s(o);
    FAIL() << "expected vigil::Error";
  } catch (const vigil::Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("cannot load tls_certificate"));
    EXPECT_THAT(e.what(), HasSubstr("/nonexistent/vigil/admin.pem"));
  }
  o.tls_certificate.clear();
  o.tls_client_ca = "/etc/ssl/certs/ca-certificates.crt";
  EXPECT_THROW(Server{o}, vigil::Error);  // a client CA without a server certificate
}

TEST(ServerConfig, HandleRejectsBadRegistrations) {
  Server s(local_options());
  auto h = [](const Request&) { return text("x"); };
  EXPECT_THROW(s.handle("", h), vigil::Error);
  EXPECT_THROW(s.handle("metrics", h), vigil::Error);
  EXPECT_THROW(s.handle("/a?b", h), vigil::Error);
  EXPECT_THROW(s.handle("/a", Handler{}), vigil::Error);
  HandleOptions lower;
  lower.methods = {"get"};
  EXPECT_THROW(s.handle("/a", h, lower), vigil::Error);
  s.handle("/a", h);
  try {
    s.handle("/a", h);
    FAIL() << "expected vigil::Error";
  } catch (const vigil::Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("\"/a\" is already registered"));
  }
  HandleOptions prefix;
  prefix.prefix = true;
  EXPECT_NO_THROW(s.handle("/a", h, prefix));  // a prefix and an exact path may coexist
}

// --- lifecycle ---------------------------------------------------------------------------------

TEST(Server, StartStopTwice) {
  Server s(local_options());
  s.handle("/ping", [](const Request&) { return text("pong"); });
  EXPECT_FALSE(s.running());
  EXPECT_EQ(s.port(), 0);
  EXPECT_EQ(s.url(), "");
  for (int round = 0; round < 2; ++round) {
    s.start();
    EXPECT_TRUE(s.running());
    ASSERT_NE(s.port(), 0);
    EXPECT_EQ(s.url(), "http://127.0.0.1:" + std::to_string(s.port()));
    HttpResponse r = get(s.url() + "/ping");
    EXPECT_EQ(r.code, CURLE_OK);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "pong");
    EXPECT_THROW(s.start(), vigil::Error);  // already running
    s.stop();
    EXPECT_FALSE(s.running());
    EXPECT_EQ(s.port(), 0);
    s.stop();  // idempotent
  }
}

TEST(Server, PortTakenThrowsErrorNamingTheAddress) {
  Server first(local_options());
  first.start();
  ServerOptions o = local_options();
  o.listen = "127.0.0.1:" + std::to_string(first.port());
  Server second(o);
  try {
    second.start();
    FAIL() << "expected vigil::Error";
  } catch (const vigil::Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "admin server: cannot listen on " + o.listen + ": address already in use");
  }
  EXPECT_FALSE(second.running());
  EXPECT_EQ(second.port(), 0);
  // The first one still serves, and the second can start once the port is free.
  EXPECT_EQ(get(first.url() + "/").status, 200);
  first.stop();
  EXPECT_NO_THROW(second.start());
  EXPECT_TRUE(second.running());
}

TEST(Server, RepeatedStartStopIsFastAndLeaksNothing) {
  const int threads_before = thread_count();
  const int fds_before = fd_count();
  Server s(local_options());
  s.handle("/x", [](const Request&) { return text("x"); });
  for (int i = 0; i < 20; ++i) {
    s.start();
    if (i % 2 == 0) {
      EXPECT_EQ(get(s.url() + "/x").status, 200);
    }
    const auto t0 = std::chrono::steady_clock::now();
    s.stop();
    const auto took = std::chrono::steady_clock::now() - t0;
    // civetweb alone needs up to 2 s; stop() wakes its listener.
    EXPECT_LT(took, std::chrono::milliseconds(1000)) << "round " << i;
  }
  EXPECT_EQ(thread_count(), threads_before);
  EXPECT_EQ(fd_count(), fds_before);
}

TEST(Server, UnassignableAddressThrows) {
  ServerOptions o = local_options();
  o.listen = "192.0.2.1:0";  // TEST-NET-1: not an address of this machine
  Server s(o);
  try {
    s.start();
    FAIL() << "expected vigil::Error";
  } catch (const vigil::Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("admin server: cannot listen on 192.0.2.1:0: "));
    EXPECT_THAT(e.what(), HasSubstr("cannot assign requested address"));
  }
}

TEST(Server, StopLeavesNoThreads) {
  const int before = thread_count();
  ASSERT_GT(before, 0);
  {
    ServerOptions o = local_options();
    o.threads = 8;
    Server s(o);
    s.handle("/x", [](const Request&) { return text("x"); });
    s.start();
    EXPECT_GE(thread_count(), before + 8);
    EXPECT_EQ(get(s.url() + "/x").status, 200);
    s.stop();
    EXPECT_EQ(thread_count(), before);
    s.start();
    EXPECT_EQ(get(s.url() + "/x").status, 200);
  }  // the destructor stops
  EXPECT_EQ(thread_count(), before);

  // A failed start leaves nothing behind either.
  Server a(local_options());
  a.start();
  const int with_a = thread_count();
  ServerOptions o = local_options();
  o.listen = "127.0.0.1:" + std::to_string(a.port());
  Server b(o);
  EXPECT_THROW(b.start(), vigil::Error);
  EXPECT_EQ(thread_count(), with_a);
  a.stop();
  EXPECT_EQ(thread_count(), before);
}

// --- routing and errors ------------------------------------------------------------------------

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions o = local_options();
    o.max_request_body_bytes = 1024;
    server_ = std::make_unique<Server>(o);
  }
  std::string url(const std::string& path) const { return server_->url() + path; }
  std::unique_ptr<Server> server_;
};

TEST_F(ServerTest, UnknownPathIs404WithNosniff) {
  server_->handle("/known", [](const Request&) { return text("k"); });
  server_->start();
  HttpResponse r = get(url("/unknown"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.header("x-content-type-options"), "nosniff");
  EXPECT_EQ(get(url("/known/more")).status, 404);  // exact paths do not match longer ones
  HttpResponse ok = get(url("/known"));
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.header("x-content-type-options"), "nosniff");
  EXPECT_EQ(ok.header("content-type"), "text/plain; charset=utf-8");
}

TEST_F(ServerTest, WrongMethodIs405WithAllow) {
  std::atomic<int> calls{0};
  server_->handle("/get-only", [&](const Request&) {
    ++calls;
    return text("g");
  });
  HandleOptions post;
  post.methods = {"POST", "PUT"};
  post.access = Access::kPublic;
  server_->handle(
      "/post-only", [&](const Request& r) { return text(std::string(r.body)); }, post);
  HandleOptions any;
  any.methods = {};
  any.access = Access::kPublic;
  server_->handle(
      "/any", [](const Request& r) { return text(std::string(r.method)); }, any);
  server_->start();

  HttpRequest req;
  req.url = url("/get-only");
  req.method = "POST";
  req.body = "data";
  HttpResponse r = http(req);
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.header("allow"), "GET, HEAD");
  EXPECT_EQ(r.header("x-content-type-options"), "nosniff");
  req.method = "DELETE";
  req.body.clear();
  EXPECT_EQ(http(req).status, 405);
  EXPECT_EQ(calls.load(), 0);

  HttpResponse g = get(url("/post-only"));
  EXPECT_EQ(g.status, 405);
  EXPECT_EQ(g.header("allow"), "POST, PUT");

  req.url = url("/post-only");
  req.method = "POST";
  req.body = "echo me";
  HttpResponse p = http(req);
  EXPECT_EQ(p.status, 200);
  EXPECT_EQ(p.body, "echo me");

  req.url = url("/any");
  req.method = "DELETE";
  req.body.clear();
  EXPECT_EQ(http(req).body, "DELETE");
}

TEST_F(ServerTest, HeadIsGetWithoutBody) {
  server_->handle("/doc", [](const Request& r) {
    Response res = text("0123456789");
    res.headers.emplace_back("X-Method", std::string(r.method));
    return res;
  });
  server_->start();
  HttpRequest req;
  req.url = url("/doc");
  req.method = "HEAD";
  HttpResponse r = http(req);
  EXPECT_EQ(r.code, CURLE_OK);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(r.header("content-length"), "10");
  EXPECT_EQ(r.header("x-method"), "HEAD");
  EXPECT_EQ(get(url("/doc")).body, "0123456789");  // the connection state is still sane
}

TEST_F(ServerTest, OversizedBodyIs413WithoutCallingHandler) {
  std::atomic<int> calls{0};
  HandleOptions post;
  post.methods = {"POST"};
  post.access = Access::kPublic;
  server_->handle(
      "/upload",
      [&](const Request& r) {
        ++calls;
        return text(std::to_string(r.body.size()));
      },
      post);
  server_->start();

  HttpRequest req;
  req.url = url("/upload");
  req.method = "POST";
  req.body = std::string(1024, 'a');  // exactly the limit
  HttpResponse ok = http(req);
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "1024");
  EXPECT_EQ(calls.load(), 1);

  req.body = std::string(4096, 'b');
  HttpResponse big = http(req);
  EXPECT_EQ(big.status, 413);
  EXPECT_THAT(big.body, HasSubstr("1024"));
  EXPECT_EQ(big.header("x-content-type-options"), "nosniff");
  EXPECT_EQ(calls.load(), 1);

  // A chunked body has no Content-Length: the limit applies while reading.
  req.headers = {"Transfer-Encoding: chunked"};
  HttpResponse chunked = http(req);
  EXPECT_EQ(chunked.status, 413);
  EXPECT_EQ(calls.load(), 1);
  req.body = "small";
  HttpResponse small = http(req);
  EXPECT_EQ(small.status, 200);
  EXPECT_EQ(small.body, "5");
  EXPECT_EQ(calls.load(), 2);

  // 8 MB: rejected from Content-Length alone, also when the client waits for 100 Continue.
  req.headers = {};
  req.body = std::string(8 << 20, 'c');
  EXPECT_EQ(http(req).status, 413);
  req.headers = {"Expect: 100-continue"};
  EXPECT_EQ(http(req).status, 413);
  EXPECT_EQ(calls.load(), 2);
}

TEST_F(ServerTest, ExpectHeader) {
  HandleOptions post;
  post.methods = {"POST"};
  post.access = Access::kPublic;
  server_->handle(
      "/upload", [](const Request& r) { return text(std::string(r.body)); }, post);
  server_->start();
  HttpRequest req;
  req.url = url("/upload");
  req.method = "POST";
  req.body = "payload";
  // No interim 100 response is sent; curl sends the body after its 1 s wait.
  req.headers = {"Expect: 100-continue"};
  HttpResponse r = http(req);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "payload");
  req.headers = {"Expect: teapot"};
  EXPECT_EQ(http(req).status, 417);
}

TEST_F(ServerTest, ThrowingHandlerIs500AndServerKeepsServing) {
  server_->handle("/throws", [](const Request&) -> Response {
    throw std::runtime_error("secret internal detail");
  });
  server_->handle("/throws-int", [](const Request&) -> Response { throw 42; });
  server_->handle("/ok", [](const Request&) { return text("fine"); });
  server_->start();
  for (int i = 0; i < 3; ++i) {
    HttpResponse r = get(url("/throws"));
    EXPECT_EQ(r.status, 500);
    EXPECT_THAT(r.body, HasSubstr("Internal Server Error"));
    EXPECT_THAT(r.body, Not(HasSubstr("secret")));
    EXPECT_EQ(r.header("x-content-type-options"), "nosniff");
    EXPECT_EQ(get(url("/throws-int")).status, 500);
    HttpResponse ok = get(url("/ok"));
    EXPECT_EQ(ok.status, 200);
    EXPECT_EQ(ok.body, "fine");
  }
}

TEST_F(ServerTest, InvalidStatusBecomes500) {
  server_->handle("/bad", [](const Request&) {
    Response r;
    r.status = 42;
    return r;
  });
  server_->start();
  EXPECT_EQ(get(url("/bad")).status, 500);
}

TEST_F(ServerTest, RequestFieldsReachTheHandler) {
  server_->handle("/echo", [](const Request& r) {
    std::string out;
    out += "method=" + std::string(r.method) + "\n";
    out += "path=" + std::string(r.path) + "\n";
    out += "query=" + std::string(r.query) + "\n";
    out += "q=" + r.query_param("q").value_or("<none>") + "\n";
    out += "custom=" + std::string(r.header("x-CUSTOM").value_or("<none>")) + "\n";
    out += "remote=" + std::string(r.remote_address) + "\n";
    return text(out);
  });
  server_->start();
  HttpResponse r = get(url("/echo?q=a%20b%26c&z=1"), {"X-Custom: hello"});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body,
            "method=GET\npath=/echo\nquery=q=a%20b%26c&z=1\nq=a b&c\ncustom=hello\n"
            "remote=127.0.0.1\n");
}

TEST_F(ServerTest, PrefixRoutesLongestWinsAndExactBeatsPrefix) {
  HandleOptions prefix;
  prefix.prefix = true;
  server_->handle(
      "/api/", [](const Request& r) { return text("api:" + std::string(r.path)); }, prefix);
  server_->handle(
      "/api/v2/", [](const Request& r) { return text("v2:" + std::string(r.path)); }, prefix);
  server_->handle("/api/special", [](const Request&) { return text("special"); });
  server_->start();
  EXPECT_EQ(get(url("/api/")).body, "api:/api/");
  EXPECT_EQ(get(url("/api/x/y")).body, "api:/api/x/y");
  EXPECT_EQ(get(url("/api/v2/z")).body, "v2:/api/v2/z");
  EXPECT_EQ(get(url("/api/special")).body, "special");
  EXPECT_EQ(get(url("/api")).status, 404);
}

TEST_F(ServerTest, HandleAndRemoveWhileRunning) {
  server_->start();
  EXPECT_EQ(get(url("/late")).status, 404);
  server_->handle("/late", [](const Request&) { return text("here"); });
  EXPECT_EQ(get(url("/late")).body, "here");
  EXPECT_TRUE(server_->remove("/late"));
  EXPECT_FALSE(server_->remove("/late"));
  EXPECT_EQ(get(url("/late")).status, 404);
}

TEST_F(ServerTest, IndexPageListsPathsEscaped) {
  HandleOptions o;
  o.description = "the <metrics> & more";
  server_->handle(
      "/metrics", [](const Request&) { return text("m"); }, o);
  HandleOptions api;
  api.prefix = true;
  server_->handle(
      "/api/", [](const Request&) { return text("a"); }, api);
  server_->start();
  HttpResponse r = get(url("/"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-type"), "text/html; charset=utf-8");
  EXPECT_THAT(r.body, HasSubstr("<a href=\"/metrics\">"));
  EXPECT_THAT(r.body, HasSubstr("the &lt;metrics&gt; &amp; more"));
  EXPECT_THAT(r.body, HasSubstr("<code>/api/*</code>"));

  // A handler registered for "/" replaces the index.
  server_->handle("/", [](const Request&) { return text("mine"); });
  EXPECT_EQ(get(url("/")).body, "mine");
}

TEST_F(ServerTest, HandlerHeadersAreFiltered) {
  server_->handle("/h", [](const Request&) {
    Response r = text("body");
    r.status = 201;
    r.content_type = "application/json";
    r.headers = {{"X-Foo", "bar"},
                 {"Content-Length", "999"},
                 {"X-Injected", "a\r\nSet-Cookie: evil=1"},
                 {"Bad Name", "v"},
                 {"Cache-Control", "no-store"}};
    return r;
  });
  server_->start();
  HttpResponse r = get(url("/h"));
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.body, "body");
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_EQ(r.header("content-length"), "4");
  EXPECT_EQ(r.headers.count("content-length"), 1u);
  EXPECT_EQ(r.header("x-foo"), "bar");
  EXPECT_EQ(r.header("cache-control"), "no-store");
  EXPECT_FALSE(r.has_header("x-injected"));
  EXPECT_FALSE(r.has_header("set-cookie"));
}

// --- gzip --------------------------------------------------------------------------------------

TEST_F(ServerTest, GzipNegotiation) {
  std::string big;
  for (int i = 0; i < 400; ++i) big += "line " + std::to_string(i) + " of a compressible body\n";
  ASSERT_GT(big.size(), 4096u);
  server_->handle("/big", [&](const Request&) { return text(big); });
  server_->handle("/small", [](const Request&) { return text("tiny"); });
  server_->start();

  // Raw: the body on the wire is gzip.
  HttpResponse raw = get(url("/big"), {"Accept-Encoding: gzip"});
  EXPECT_EQ(raw.status, 200);
  EXPECT_EQ(raw.header("content-encoding"), "gzip");
  EXPECT_EQ(raw.header("vary"), "Accept-Encoding");
  EXPECT_EQ(raw.header("x-content-type-options"), "nosniff");
  ASSERT_GE(raw.body.size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(raw.body[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>(raw.body[1]), 0x8b);
  EXPECT_LT(raw.body.size(), big.size() / 2);
  EXPECT_EQ(raw.header("content-length"), std::to_string(raw.body.size()));

  // curl decodes it back to the original.
  HttpRequest req;
  req.url = url("/big");
  req.curl_accept_encoding = "gzip";
  HttpResponse decoded = http(req);
  EXPECT_EQ(decoded.status, 200);
  EXPECT_EQ(decoded.header("content-encoding"), "gzip");
  EXPECT_EQ(decoded.body, big);

  // q=0 refuses gzip: identity, still with Vary.
  for (const char* refuse : {"Accept-Encoding: gzip;q=0", "Accept-Encoding: gzip;q=0, *",
                             "Accept-Encoding: identity", "Accept-Encoding: br"}) {
    HttpResponse id = get(url("/big"), {refuse});
    EXPECT_EQ(id.status, 200) << refuse;
    EXPECT_FALSE(id.has_header("content-encoding")) << refuse;
    EXPECT_EQ(id.header("vary"), "Accept-Encoding") << refuse;
    EXPECT_EQ(id.body, big) << refuse;
  }
  // No Accept-Encoding at all: identity.
  HttpResponse none = get(url("/big"));
  EXPECT_FALSE(none.has_header("content-encoding"));
  EXPECT_EQ(none.body, big);

  // Small bodies are never compressed and do not vary.
  HttpResponse small = get(url("/small"), {"Accept-Encoding: gzip"});
  EXPECT_FALSE(small.has_header("content-encoding"));
  EXPECT_FALSE(small.has_header("vary"));
  EXPECT_EQ(small.body, "tiny");

  // HEAD reports the gzipped length.
  HttpRequest head;
  head.url = url("/big");
  head.method = "HEAD";
  head.headers = {"Accept-Encoding: gzip"};
  HttpResponse h = http(head);
  EXPECT_EQ(h.header("content-encoding"), "gzip");
  EXPECT_EQ(h.header("content-length"), std::to_string(raw.body.size()));
  EXPECT_EQ(h.body, "");
}

TEST(ServerGzip, DisabledByOption) {
  ServerOptions o = local_options();
  o.enable_gzip = false;
  Server s(o);
  s.handle("/big", [](const Request&) { return text(std::string(8192, 'x')); });
  s.start();
  HttpResponse r = get(s.url() + "/big", {"Accept-Encoding: gzip"});
  EXPECT_FALSE(r.has_header("content-encoding"));
  EXPECT_EQ(r.body.size(), 8192u);
}

// --- access control ----------------------------------------------------------------------------

TEST(ServerAcl, DeniedAddressesGetNoResponse) {
  ServerOptions o = local_options();
  o.access_control_list = "-0.0.0.0/0";
  Server deny(o);
  deny.handle("/x", [](const Request&) { return text("x"); });
  deny.start();
  HttpResponse r = get(deny.url() + "/x");
  EXPECT_NE(r.code, CURLE_OK);
  EXPECT_EQ(r.status, 0);

  o.access_control_list = "-0.0.0.0/0,+127.0.0.1";
  Server allow(o);
  allow.handle("/x", [](const Request&) { return text("x"); });
  allow.start();
  EXPECT_EQ(get(allow.url() + "/x").status, 200);
}

TEST(ServerAcl, MalformedListsAreRejected) {
  for (const char* acl : {"garbage", "127.0.0.1", "+300.1.1.1", "+127.0.0.1/33", "+127.0.0.1/",
                          "-0.0.0.0/0,,+127.0.0.1", "+::1"}) {
    ServerOptions o = local_options();
    o.access_control_list = acl;
    try {
      Server s(o);
      ADD_FAILURE() << "no error for " << acl;
    } catch (const vigil::Error& e) {
      EXPECT_THAT(e.what(), HasSubstr(std::string("admin server: invalid access_control_list \"") +
                                      acl + "\""));
    }
  }
  ServerOptions o = local_options();
  o.access_control_list = " -0.0.0.0/0 , +127.0.0.0/8 ";  // blanks around entries are fine
  Server s(o);
  s.handle("/x", [](const Request&) { return text("x"); });
  s.start();
  EXPECT_EQ(get(s.url() + "/x").status, 200);
}

// --- concurrency -------------------------------------------------------------------------------

TEST_F(ServerTest, ConcurrentRequests) {
  std::atomic<int> calls{0};
  server_->handle("/work", [&](const Request& r) {
    ++calls;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return text("n=" + r.query_param("n").value_or("?"));
  });
  server_->start();
  constexpr int kThreads = 8;
  constexpr int kPerThread = 25;
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string n = std::to_string(t * 1000 + i);
        HttpResponse r = get(url("/work?n=" + n));
        if (r.status == 200 && r.body == "n=" + n) ++good;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(good.load(), kThreads * kPerThread);
  EXPECT_EQ(calls.load(), kThreads * kPerThread);
}

TEST_F(ServerTest, StopWaitsForRunningHandlers) {
  std::atomic<bool> entered{false};
  std::atomic<bool> finished{false};
  server_->handle("/slow", [&](const Request&) {
    entered = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    finished = true;
    return text("done");
  });
  server_->start();
  std::thread client([&] { get(url("/slow")); });
  while (!entered) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  server_->stop();
  EXPECT_TRUE(finished.load());
  client.join();
}

}  // namespace
}  // namespace vigil::admin
