// The admin server against raw requests (what HTTP allows and what it forbids), slow and idle
// clients, connection limits, blocking handlers, the admin token and TLS. Requests are sent as
// raw bytes over plain sockets so that nothing between the test and the server tidies them up.
#include <arpa/inet.h>
#include <curl/curl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "test_util.h"
#include "vigil/admin/server.h"
#include "vigil/core/error.h"

namespace vigil::admin {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// A connected TCP socket to 127.0.0.1:port (closed by the destructor).
class RawClient {
 public:
  explicit RawClient(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~RawClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool connected() const { return fd_ >= 0; }
  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }
  // Reads until the peer closes, `until` appears `count` times, or `timeout` passes.
  std::string read(std::chrono::milliseconds timeout, std::string_view until = {}, int count = 1) {
    std::string out;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (!until.empty()) {
        int seen = 0;
        for (std::size_t p = out.find(until); p != std::string::npos; p = out.find(until, p + 1)) {
          ++seen;
        }
        if (seen >= count) return out;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return out;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return out;
      char buf[8192];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        closed_ = true;
        return out;
      }
      out.append(buf, static_cast<std::size_t>(n));
    }
  }
  bool closed() const { return closed_; }

 private:
  int fd_ = -1;
  bool closed_ = false;
};

ServerOptions local_options() { return testing::local_options(2); }
using testing::text;

// The status line of the first response in `raw`, e.g. "HTTP/1.1 400 Bad Request".
std::string status_line(const std::string& raw) { return raw.substr(0, raw.find("\r\n")); }

class Hardening : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions o = local_options();
    o.max_request_body_bytes = 1024;
    o.max_header_bytes = 4096;
    o.max_header_count = 20;
    server_ = std::make_unique<Server>(o);
    server_->handle("/echo",
                    [](const Request& r) {
                      std::string out = std::string(r.method) + " " + std::string(r.path) + "\n";
                      for (const Header& h : r.headers) {
                        out += std::string(h.name) + "=[" + std::string(h.value) + "]\n";
                      }
                      out += "body=[" + std::string(r.body) + "]\n";
                      return text(out);
                    },
                    {.methods = {"GET", "POST"}, .access = Access::kPublic});
    server_->start();
  }
  std::string exchange(const std::string& request, int responses = 1) {
    RawClient c(server_->port());
    EXPECT_TRUE(c.connected());
    c.send(request);
    return c.read(std::chrono::milliseconds(3000), "HTTP/1.1 ", responses + 1);
  }
  std::unique_ptr<Server> server_;
};

struct RawCase {
  const char* name;
  std::string request;
  const char* status;     // expected start of the status line
  const char* body_part;  // expected somewhere in the response, or ""
};

TEST_F(Hardening, RawRequestTable) {
  const std::string tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  const std::vector<RawCase> cases = {
      {"tab around a header value is optional whitespace",
       "GET /echo HTTP/1.1\r\nHost: a\r\ntraceparent:\t" + tp + "\t\r\nConnection: close\r\n\r\n",
       "HTTP/1.1 200", "traceparent=[00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01]"},
      {"any casing of header names", "GET /echo HTTP/1.1\r\nhOsT: a\r\nconnection: CLOSE\r\n\r\n",
       "HTTP/1.1 200", "hOsT=[a]"},
      {"HTTP/1.0 without Host", "GET /echo HTTP/1.0\r\n\r\n", "HTTP/1.1 200", "GET /echo"},
      {"absolute-form target",
       "GET http://a/echo?x=1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", "HTTP/1.1 200",
       "GET /echo"},
      {"percent-decoded path", "GET /ec%68o HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
       "HTTP/1.1 200", "GET /echo"},
      {"body with Content-Length",
       "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
       "HTTP/1.1 200", "body=[hello]"},
      {"chunked body",
       "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
       "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
       "HTTP/1.1 200", "body=[abcde]"},
      {"OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", "HTTP/1.1 204",
       "Allow: "},
      {"two different Content-Length headers",
       "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
       "HTTP/1.1 400", "Content-Length"},
      {"Content-Length and chunked together",
       "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
       "0\r\n\r\n",
       "HTTP/1.1 400", ""},
      {"Transfer-Encoding that does not end with chunked",
       "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", "HTTP/1.1 400", ""},
      {"obsolete line folding",
       "GET /echo HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n  folded\r\nConnection: close\r\n\r\n",
       "HTTP/1.1 400", "folding"},
      {"whitespace before the first header", "GET /echo HTTP/1.1\r\n Host: a\r\n\r\n",
       "HTTP/1.1 400", ""},
      {"NUL in the decoded path", "GET /echo%00.txt HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 400",
       "NUL"},
      {"malformed %-escape", "GET /echo%zz HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 400", ""},
      {"too many header fields",
       [] {
         std::string r = "GET /echo HTTP/1.1\r\nHost: a\r\n";
         for (int i = 0; i < 25; ++i) r += "X-" + std::to_string(i) + ": v\r\n";
         return r + "Connection: close\r\n\r\n";
       }(),
       "HTTP/1.1 431", "header fields"},
      {"header larger than the limit",
       "GET /echo HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(5000, 'b') + "\r\n\r\n",
       "HTTP/1.1 431", ""},
      {"broken chunked body",
       "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
       "HTTP/1.1 400", ""},
      {"malformed version is answered with our own version",
       "GET /echo HTTP/FOO/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 400", ""},
      {"HTTP/2.0 over HTTP/1 framing", "GET /echo HTTP/2.0\r\nHost: a\r\n\r\n", "HTTP/1.1 400", ""},
      {"HTTP/1.1 without Host", "GET /echo HTTP/1.1\r\n\r\n", "HTTP/1.1 400", "Host"},
      {"two Host headers", "GET /echo HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "HTTP/1.1 400",
       "Host"},
      {"GET *", "GET * HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 400", ""},
      {"authority-form target", "CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 400", ""},
      {"not HTTP at all", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", "HTTP/1.1 400",
       ""},
      {"unknown expectation",
       "POST /echo HTTP/1.1\r\nHost: a\r\nExpect: fancy\r\nContent-Length: 3\r\n\r\n",
       "HTTP/1.1 417", ""},
      {"announced body over the limit",
       "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 2097152\r\n\r\n", "HTTP/1.1 413",
       "limit of 1024 bytes"},
      {"chunked body over the limit",
       "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n" +
           std::string(2048, 'x') + "\r\n0\r\n\r\n",
       "HTTP/1.1 413", ""},
  };
  for (const RawCase& c : cases) {
    SCOPED_TRACE(c.name);
    const auto t0 = std::chrono::steady_clock::now();
    const std::string raw = exchange(c.request);
    EXPECT_THAT(status_line(raw), StartsWith(c.status)) << "response: " << raw;
    if (*c.body_part != '\0') {
      EXPECT_THAT(raw, HasSubstr(c.body_part));
    }
    EXPECT_THAT(raw, HasSubstr("X-Content-Type-Options: nosniff"));
    // Every answer comes at once: none waits for a timeout.
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(2500));
  }
  const ServerStats s = server_->stats();
  EXPECT_GE(s.bad_requests, 14u);
  EXPECT_EQ(s.headers_too_large, 2u);
  EXPECT_EQ(s.bodies_too_large, 2u);
}

TEST_F(Hardening, ExpectContinueIsAnsweredAtOnce) {
  RawClient c(server_->port());
  c.send("POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
  const std::string interim = c.read(std::chrono::milliseconds(2000), "\r\n\r\n");
  EXPECT_EQ(interim, "HTTP/1.1 100 Continue\r\n\r\n");
  c.send("hello");
  const std::string final_response = c.read(std::chrono::milliseconds(2000), "body=[hello]");
  EXPECT_THAT(final_response, StartsWith("HTTP/1.1 200"));
  // Refused before the body: 413 without waiting for the body or a 100 Continue.
  RawClient big(server_->port());
  big.send(
      "POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4096\r\n\r\n");
  EXPECT_THAT(big.read(std::chrono::milliseconds(2000), "\r\n\r\n"), StartsWith("HTTP/1.1 413"));
}

TEST_F(Hardening, PipelinedRequestsAreAnsweredInOrder) {
  RawClient c(server_->port());
  c.send(
      "GET /echo?1 HTTP/1.1\r\nHost: a\r\n\r\nPOST /echo HTTP/1.1\r\nHost: a\r\n"
      "Content-Length: 3\r\n\r\nabcGET /nope HTTP/1.1\r\nHost: a\r\n\r\n");
  const std::string raw = c.read(std::chrono::milliseconds(3000), "HTTP/1.1 ", 3);
  const std::size_t first = raw.find("HTTP/1.1 200");
  const std::size_t second = raw.find("body=[abc]");
  const std::size_t third = raw.find("HTTP/1.1 404");
  ASSERT_NE(first, std::string::npos) << raw;
  ASSERT_NE(second, std::string::npos) << raw;
  ASSERT_NE(third, std::string::npos) << raw;
  EXPECT_LT(first, second);
  EXPECT_LT(second, third);
  EXPECT_FALSE(c.closed());  // still kept alive
}

TEST(HardeningTimeouts, SlowHeadersGet408AndIdleConnectionsAreClosed) {
  ServerOptions o = local_options();
  o.header_timeout = std::chrono::milliseconds(200);
  o.idle_timeout = std::chrono::milliseconds(300);
  Server s(o);
  s.handle("/x", [](const Request&) { return text("x"); });
  s.start();

  RawClient slow(s.port());
  slow.send("GET /x HTTP/1.1\r\nHo");  // and nothing more
  const std::string raw = slow.read(std::chrono::milliseconds(5000));
  EXPECT_THAT(status_line(raw), StartsWith("HTTP/1.1 408"));
  EXPECT_TRUE(slow.closed());

  RawClient idle(s.port());
  idle.send("GET /x HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_THAT(idle.read(std::chrono::milliseconds(2000), "\r\n\r\nx"), StartsWith("HTTP/1.1 200"));
  idle.read(std::chrono::milliseconds(5000));  // then nothing: the server closes it
  EXPECT_TRUE(idle.closed());

  RawClient silent(s.port());  // connects and never sends a byte
  silent.read(std::chrono::milliseconds(5000));
  EXPECT_TRUE(silent.closed());

  // The server counts a timeout right after closing the socket: the count may trail the close
  // the client saw by a moment.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (s.stats().idle_timeouts < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const ServerStats st = s.stats();
  EXPECT_EQ(st.header_timeouts, 1u);
  EXPECT_EQ(st.idle_timeouts, 2u);
}

TEST(HardeningLimits, NewClientsEvictTheOldestIdleConnection) {
  ServerOptions o = local_options();
  o.max_connections = 4;
  Server s(o);
  s.handle("/x", [](const Request&) { return text("x"); });
  s.start();
  std::vector<std::unique_ptr<RawClient>> idle;
  for (int i = 0; i < 4; ++i) {
    idle.push_back(std::make_unique<RawClient>(s.port()));
    idle.back()->send("GET /x HTTP/1.1\r\nHo");  // slow: never completes its header
  }
  // Each new client (kept alive afterwards) evicts the connection that has waited longest.
  std::vector<std::unique_ptr<RawClient>> fresh;
  for (int i = 0; i < 3; ++i) {
    fresh.push_back(std::make_unique<RawClient>(s.port()));
    fresh.back()->send("GET /x HTTP/1.1\r\nHost: a\r\n\r\n");
    EXPECT_THAT(fresh.back()->read(std::chrono::milliseconds(2000), "\r\n\r\nx"),
                StartsWith("HTTP/1.1 200"));
  }
  EXPECT_EQ(s.stats().evicted, 3u);
  // Evicted connections are closed on their own strand, a moment after the newcomer is admitted.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (s.stats().connections_open > 4 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(s.stats().connections_open, 4u);
  for (int i = 0; i < 3; ++i) {
    idle[static_cast<std::size_t>(i)]->read(std::chrono::milliseconds(2000));
    EXPECT_TRUE(idle[static_cast<std::size_t>(i)]->closed()) << i;
  }
  idle[3]->read(std::chrono::milliseconds(100));
  EXPECT_FALSE(idle[3]->closed());
}

TEST(HardeningLimits, PerClientLimitAndBusyServerRefusal) {
  ServerOptions o = local_options();
  o.max_connections = 2;
  o.threads = 2;
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  std::atomic<int> entered{0};
  Server s(o);
  s.handle("/block", [&](const Request&) {
    ++entered;
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return release; });
    return text("released");
  });
  s.start();
  RawClient a(s.port());
  RawClient b(s.port());
  a.send("GET /block HTTP/1.1\r\nHost: a\r\n\r\n");
  b.send("GET /block HTTP/1.1\r\nHost: a\r\n\r\n");
  while (entered.load() < 2) std::this_thread::yield();
  // Both connections have a request in a handler: nothing to evict, the third is refused.
  RawClient c(s.port());
  const std::string refused = c.read(std::chrono::milliseconds(2000));
  EXPECT_THAT(refused, StartsWith("HTTP/1.1 503"));
  EXPECT_EQ(s.stats().refused_connections, 1u);
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  EXPECT_THAT(a.read(std::chrono::milliseconds(2000), "released"), StartsWith("HTTP/1.1 200"));
  EXPECT_THAT(b.read(std::chrono::milliseconds(2000), "released"), StartsWith("HTTP/1.1 200"));
}

TEST(HardeningHandlers, ABlockingHandlerDoesNotStopOtherRequests) {
  ServerOptions o = local_options();
  o.threads = 2;
  Server s(o);
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  std::atomic<bool> entered{false};
  s.handle("/block", [&](const Request&) {
    entered = true;
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return release; });
    return text("released");
  });
  s.handle("/fast", [](const Request&) { return text("fast"); });
  s.start();
  RawClient blocked(s.port());
  blocked.send("GET /block HTTP/1.1\r\nHost: a\r\n\r\n");
  while (!entered) std::this_thread::yield();
  for (int i = 0; i < 20; ++i) {
    RawClient c(s.port());
    c.send("GET /fast HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    EXPECT_THAT(c.read(std::chrono::milliseconds(2000)), HasSubstr("fast"));
  }
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  EXPECT_THAT(blocked.read(std::chrono::milliseconds(2000), "released"), HasSubstr("released"));
}

TEST(HardeningAuth, AdminTokenAndExposedDefaults) {
  ServerOptions o = local_options();
  o.listen = "0.0.0.0:0";  // exposed
  o.admin_token = "s3cret-token";
  Server s(o);
  std::atomic<bool> saw_authenticated{false};
  s.handle("/debug/x", [&](const Request& r) {
    saw_authenticated = r.authenticated && r.exposed;
    return text("debug");
  });
  s.handle("/health/live", [](const Request&) { return text("ok"); });
  s.handle("/admin/mutate", [](const Request&) { return text("done"); }, {.methods = {"POST"}});
  s.handle("/private", [](const Request&) { return text("p"); }, {.access = Access::kAdminToken});
  s.start();
  auto send = [&](const std::string& req) {
    RawClient c(s.port());
    c.send(req);
    return c.read(std::chrono::milliseconds(2000));
  };
  EXPECT_THAT(send("GET /health/live HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"),
              StartsWith("HTTP/1.1 200"));
  const std::string denied = send("GET /debug/x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  EXPECT_THAT(denied, StartsWith("HTTP/1.1 401"));
  EXPECT_THAT(denied, HasSubstr("WWW-Authenticate: Bearer"));
  EXPECT_THAT(send("GET /debug/x HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer wrong\r\n"
                   "Connection: close\r\n\r\n"),
              StartsWith("HTTP/1.1 401"));
  EXPECT_THAT(send("GET /debug/x HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer s3cret-token\r\n"
                   "Connection: close\r\n\r\n"),
              StartsWith("HTTP/1.1 200"));
  EXPECT_TRUE(saw_authenticated.load());
  EXPECT_THAT(send("POST /admin/mutate HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n"
                   "Connection: close\r\n\r\n"),
              StartsWith("HTTP/1.1 401"));
  EXPECT_THAT(
      send("POST /admin/mutate HTTP/1.1\r\nHost: a\r\nAuthorization: bearer s3cret-token\r\n"
           "Content-Length: 0\r\nConnection: close\r\n\r\n"),
      StartsWith("HTTP/1.1 200"));
  EXPECT_THAT(send("GET /private HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"),
              StartsWith("HTTP/1.1 401"));
  EXPECT_EQ(s.stats().unauthorized, 4u);
}

TEST(HardeningAuth, MutationsNeedATokenEvenOnLoopback) {
  Server s(local_options());  // no token configured
  s.handle("/admin/mutate", [](const Request&) { return text("done"); }, {.methods = {"POST"}});
  s.handle("/debug/x", [](const Request&) { return text("debug"); });
  s.start();
  RawClient c(s.port());
  c.send("POST /admin/mutate HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n");
  EXPECT_THAT(c.read(std::chrono::milliseconds(2000), "\r\n\r\n"), StartsWith("HTTP/1.1 403"));
  RawClient d(s.port());  // loopback only: /debug/ is readable
  d.send("GET /debug/x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  EXPECT_THAT(d.read(std::chrono::milliseconds(2000)), StartsWith("HTTP/1.1 200"));
}

// --- TLS -----------------------------------------------------------------------------------

class TlsFiles {
 public:
  TlsFiles() {
    dir_ = std::filesystem::temp_directory_path() /
           ("vigil-tls-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    std::filesystem::create_directories(dir_);
    const std::string d = dir_.string();
    const std::string cmd =
        "cd " + d +
        " && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 "
        "-subj /CN=vigil-test-ca >/dev/null 2>&1"
        " && openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr "
        "-subj /CN=localhost >/dev/null 2>&1"
        " && printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > san.ext"
        " && openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
        "-out server.pem -days 2 -extfile san.ext >/dev/null 2>&1"
        " && openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr "
        "-subj /CN=vigil-client >/dev/null 2>&1"
        " && openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
        "-out client.pem -days 2 >/dev/null 2>&1";
    ok_ = std::system(cmd.c_str()) == 0;
  }
  ~TlsFiles() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  bool ok() const { return ok_; }
  std::string path(const char* name) const { return (dir_ / name).string(); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path dir_;
  bool ok_ = false;
};

size_t collect(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

// GET over HTTPS with libcurl, trusting `ca`; optional client certificate and key.
std::pair<long, std::string> https_get(const std::string& url, const std::string& ca,
                                       const std::string& cert = {}, const std::string& key = {}) {
  CURL* curl = curl_easy_init();
  std::string body;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(curl, CURLOPT_CAINFO, ca.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  if (!cert.empty()) {
    curl_easy_setopt(curl, CURLOPT_SSLCERT, cert.c_str());
    curl_easy_setopt(curl, CURLOPT_SSLKEY, key.c_str());
  }
  long status = 0;
  if (curl_easy_perform(curl) == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(curl);
  return {status, body};
}

TEST(HardeningTls, ServesHttpsWithOpenSsl3AndKeepsTheCertificateChainChecked) {
  TlsFiles files;
  ASSERT_TRUE(files.ok()) << "openssl could not make test certificates";
  ServerOptions o = local_options();
  o.tls_certificate = files.path("server.pem");
  o.tls_private_key = files.path("server.key");
  Server s(o);
  s.handle("/x", [](const Request&) { return text("over tls"); });
  s.start();
  EXPECT_THAT(s.url(), StartsWith("https://127.0.0.1:"));
  for (int i = 0; i < 3; ++i) {
    const auto [status, body] = https_get(s.url() + "/x", files.path("ca.pem"));
    EXPECT_EQ(status, 200);
    EXPECT_EQ(body, "over tls");
  }
  // Plain HTTP to the TLS port: the handshake fails and is counted; the server keeps serving.
  RawClient plain(s.port());
  plain.send("GET /x HTTP/1.1\r\nHost: a\r\n\r\n");
  plain.read(std::chrono::milliseconds(3000));
  EXPECT_TRUE(plain.closed());
  EXPECT_EQ(https_get(s.url() + "/x", files.path("ca.pem")).first, 200);
  EXPECT_GE(s.stats().tls_handshake_failures, 1u);

  // A key that does not match the certificate is refused at construction.
  ServerOptions bad = o;
  bad.tls_private_key = files.path("client.key");
  EXPECT_THROW(Server{bad}, vigil::Error);
}

TEST(HardeningTls, ClientCertificatesWhenAsked) {
  TlsFiles files;
  ASSERT_TRUE(files.ok()) << "openssl could not make test certificates";
  ServerOptions o = local_options();
  o.tls_certificate = files.path("server.pem");
  o.tls_private_key = files.path("server.key");
  o.tls_client_ca = files.path("ca.pem");
  Server s(o);
  s.handle("/x", [](const Request&) { return text("mutual"); });
  s.start();
  EXPECT_EQ(https_get(s.url() + "/x", files.path("ca.pem")).first, 0);  // no certificate
  const auto [status, body] = https_get(s.url() + "/x", files.path("ca.pem"),
                                        files.path("client.pem"), files.path("client.key"));
  EXPECT_EQ(status, 200);
  EXPECT_EQ(body, "mutual");
}

}  // namespace
}  // namespace vigil::admin
