// The retry policy's pieces: retryable statuses, Retry-After parsing, backoff with jitter; and
// HttpSender's GET, response-body bounds and abort against a scripted server on a raw socket.
#include "core/detail/http_sender.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <stop_token>
#include <string>
#include <thread>

namespace vigil::detail {
namespace {

using std::chrono::milliseconds;

// A one-connection HTTP server on 127.0.0.1: accepts, reads the request head (and a body of
// Content-Length bytes), hands the request text to the test and writes `response` (nothing, and
// holds the connection open until destroyed, when `response` is empty).
class OneShotServer {
 public:
  explicit OneShotServer(std::string response) : response_(std::move(response)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(fd_, 4), 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::jthread([this](std::stop_token st) { serve(st); });
  }
  ~OneShotServer() {
    thread_.request_stop();
    ::shutdown(fd_, SHUT_RDWR);
    if (client_ >= 0) ::shutdown(client_, SHUT_RDWR);
    thread_.join();
    if (client_ >= 0) ::close(client_);
    ::close(fd_);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/probe"; }
  // The request as received (waits for it).
  std::string request() { return request_.get_future().get(); }

 private:
  void serve(const std::stop_token& st) {
    client_ = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    std::string in;
    if (client_ >= 0) {
      char buf[4096];
      size_t want = std::string::npos;
      while (want == std::string::npos || in.size() < want) {
        const ssize_t n = ::recv(client_, buf, sizeof buf, 0);
        if (n <= 0) break;
        in.append(buf, static_cast<size_t>(n));
        const size_t head = in.find("\r\n\r\n");
        if (head != std::string::npos && want == std::string::npos) {
          want = head + 4;
          const size_t cl = in.find("Content-Length: ");
          if (cl != std::string::npos && cl < head) want += std::stoul(in.substr(cl + 16));
        }
      }
    }
    request_.set_value(in);
    if (client_ < 0) return;
    if (response_.empty()) {
      char c;
      while (!st.stop_requested() && ::recv(client_, &c, 1, 0) > 0) {
      }
      return;
    }
    size_t sent = 0;
    while (sent < response_.size()) {
      const ssize_t n =
          ::send(client_, response_.data() + sent, response_.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) break;  // the client stopped reading and closed
      sent += static_cast<size_t>(n);
    }
  }

  std::string response_;
  int fd_ = -1;
  std::atomic<int> client_{-1};
  int port_ = 0;
  std::promise<std::string> request_;
  std::jthread thread_;
};

std::string response(int status, const std::string& body) {
  return "HTTP/1.1 " + std::to_string(status) +
         " X\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

Clock::time_point in(milliseconds ms) { return Clock::now() + ms; }

TEST(HttpSenderGet, SendsAGetWithTheConfiguredHeadersOnly) {
  OneShotServer server(response(204, ""));
  HttpSender sender({.url = server.url(),
                     .content_type = "application/x-protobuf",
                     .gzip = true,
                     .headers = {{"X-Probe", "vigil"}},
                     .user_agent = "probe/1"});
  const HttpResult r = sender.get(in(milliseconds(5000)));
  EXPECT_EQ(r.status, 204) << r.error;
  const std::string req = server.request();
  EXPECT_EQ(req.rfind("GET /probe HTTP/1.1\r\n", 0), 0u) << req;
  EXPECT_NE(req.find("\r\nX-Probe: vigil\r\n"), std::string::npos) << req;
  EXPECT_NE(req.find("\r\nUser-Agent: probe/1\r\n"), std::string::npos) << req;
  // The POST-only headers are not sent with a GET.
  EXPECT_EQ(req.find("Content-Type"), std::string::npos) << req;
  EXPECT_EQ(req.find("Content-Encoding"), std::string::npos) << req;
  EXPECT_EQ(req.find("Content-Length"), std::string::npos) << req;
}

TEST(HttpSenderGet, PostStillPostsWithItsHeaders) {
  OneShotServer server(response(200, "ok"));
  HttpSender sender({.url = server.url(), .content_type = "application/json"});
  const HttpResult r = sender.post("{}", in(milliseconds(5000)));
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.body, "ok");
  EXPECT_EQ(r.body_bytes, 2u);
  EXPECT_FALSE(r.body_stopped);
  const std::string req = server.request();
  EXPECT_EQ(req.rfind("POST /probe HTTP/1.1\r\n", 0), 0u) << req;
  EXPECT_NE(req.find("\r\nContent-Type: application/json\r\n"), std::string::npos) << req;
  EXPECT_EQ(req.substr(req.size() - 2), "{}");
}

TEST(HttpSenderGet, SendsBasicAuthWhenAUsernameIsSet) {
  OneShotServer server(response(200, "ok"));
  HttpSender sender({.url = server.url(),
                     .content_type = "application/json",
                     .basic_auth_username = "vigil",
                     .basic_auth_password = "s3cret"});
  const HttpResult r = sender.post("{}", in(milliseconds(5000)));
  EXPECT_EQ(r.status, 200) << r.error;
  // base64("vigil:s3cret")
  EXPECT_NE(server.request().find("\r\nAuthorization: Basic dmlnaWw6czNjcmV0\r\n"),
            std::string::npos);
}

TEST(HttpSenderGet, KeepsAtMostMaxResponseBytesButReadsTheRest) {
  const std::string body(10000, 'b');
  OneShotServer server(response(200, body));
  HttpSender sender({.url = server.url(), .max_response_bytes = 100});
  const HttpResult r = sender.get(in(milliseconds(5000)));
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.body, std::string(100, 'b'));
  EXPECT_EQ(r.body_bytes, 10000u);
  EXPECT_FALSE(r.body_stopped);
}

TEST(HttpSenderGet, StopsALargeBodyAndKeepsTheStatus) {
  const std::string body(8u << 20, 'x');  // 8 MiB, far past the limit
  OneShotServer server(response(503, body));
  HttpSender sender(
      {.url = server.url(), .max_response_bytes = 0, .stop_after_response_bytes = 64u << 10});
  const HttpResult r = sender.get(in(milliseconds(5000)));
  EXPECT_EQ(r.status, 503) << r.error;
  EXPECT_TRUE(r.body_stopped);
  EXPECT_TRUE(r.body.empty());
  EXPECT_GT(r.body_bytes, 64u << 10);
  EXPECT_LT(r.body_bytes, 8u << 20);
  EXPECT_FALSE(r.timed_out);
  EXPECT_FALSE(r.aborted);
}

TEST(HttpSenderGet, ABodyUnderTheStopLimitIsReadWhole) {
  OneShotServer server(response(200, std::string(1000, 'y')));
  HttpSender sender({.url = server.url(), .stop_after_response_bytes = 1000});
  const HttpResult r = sender.get(in(milliseconds(5000)));
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_FALSE(r.body_stopped);
  EXPECT_EQ(r.body_bytes, 1000u);
  EXPECT_EQ(r.body.size(), 1000u);
}

TEST(HttpSenderGet, AbortFromAStopCallbackEndsAWaitingGet) {
  OneShotServer server("");  // never answers
  HttpSender sender({.url = server.url()});
  std::stop_source stop;
  const std::stop_callback cb(stop.get_token(), [&sender]() noexcept { sender.abort(); });
  std::jthread stopper([&] {
    server.request();  // the request arrived: the GET is waiting for the answer
    stop.request_stop();
  });
  const auto t0 = Clock::now();
  const HttpResult r = sender.get(in(milliseconds(30000)));
  EXPECT_LT(Clock::now() - t0, milliseconds(5000));
  EXPECT_TRUE(r.aborted);
  EXPECT_EQ(r.status, 0);
}

TEST(HttpSenderGet, TimesOutAtTheDeadline) {
  OneShotServer server("");
  HttpSender sender({.url = server.url()});
  const auto t0 = Clock::now();
  const HttpResult r = sender.get(in(milliseconds(300)));
  const auto took = Clock::now() - t0;
  EXPECT_GE(took, milliseconds(290));
  EXPECT_LT(took, milliseconds(3000));
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.status, 0);
  EXPECT_FALSE(r.error.empty());
}

TEST(RetryPolicy, RetryableStatuses) {
  for (long s : {429L, 502L, 503L, 504L}) EXPECT_TRUE(retryable_status(s)) << s;
  for (long s : {200L, 400L, 401L, 403L, 404L, 413L, 500L, 501L}) {
    EXPECT_FALSE(retryable_status(s)) << s;
  }
}

TEST(RetryPolicy, RetryAfterSeconds) {
  const auto now = std::chrono::system_clock::now();
  EXPECT_EQ(parse_retry_after("0", now), milliseconds(0));
  EXPECT_EQ(parse_retry_after("2", now), milliseconds(2000));
  EXPECT_EQ(parse_retry_after(" 30 ", now), milliseconds(30000));
  EXPECT_EQ(parse_retry_after("99999999999999999999999", now), milliseconds(86400000));
  EXPECT_FALSE(parse_retry_after("", now));
  EXPECT_FALSE(parse_retry_after("-1", now));
  EXPECT_FALSE(parse_retry_after("1.5", now));
  EXPECT_FALSE(parse_retry_after("soon", now));
  EXPECT_FALSE(parse_retry_after("now", now));
}

TEST(RetryPolicy, RetryAfterHttpDate) {
  // Sun, 06 Nov 1994 08:49:37 GMT = 784111777.
  const auto base = std::chrono::system_clock::from_time_t(784111777 - 10);
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", base), milliseconds(10000));
  EXPECT_EQ(parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", base), milliseconds(10000));
  EXPECT_EQ(parse_retry_after("Sun Nov  6 08:49:37 1994", base), milliseconds(10000));
  // In the past: retry at once.
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT",
                              std::chrono::system_clock::from_time_t(784111777 + 60)),
            milliseconds(0));
  EXPECT_FALSE(parse_retry_after("Sun, 99 Foo 1994 xx:49:37 GMT", base));
  EXPECT_FALSE(parse_retry_after(std::string(100, 'A'), base));
  // Dates centuries away clamp without overflowing system_clock's nanoseconds (the fuzzer's
  // input "[\x85N\xb171110110" read as a year ~7100 date; so do these).
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 9994 08:49:37 GMT", base),
            milliseconds(std::chrono::hours(24)));
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1601 08:49:37 GMT", base), milliseconds(0));
  EXPECT_EQ(parse_retry_after("Sun, 07 Nov 1994 08:49:27 GMT", base),
            milliseconds(std::chrono::hours(24)));  // exactly a day ahead: not clamped early
}

TEST(HttpSenderMethod, PostSendsItsBodyWithTheConfiguredMethod) {
  OneShotServer server(response(200, ""));
  HttpSender sender({.url = server.url(), .content_type = "text/plain", .method = "PUT"});
  EXPECT_EQ(sender.post("x 1\n", in(milliseconds(5000))).status, 200);
  const std::string req = server.request();
  EXPECT_EQ(req.rfind("PUT /probe HTTP/1.1\r\n", 0), 0u) << req;
  EXPECT_EQ(req.substr(req.size() - 4), "x 1\n");
}

TEST(HttpSenderMethod, GetIsAGetWhateverTheMethod) {
  OneShotServer server(response(200, ""));
  HttpSender sender({.url = server.url(), .method = "DELETE"});
  EXPECT_EQ(sender.get(in(milliseconds(5000))).status, 200);
  const std::string req = server.request();
  EXPECT_EQ(req.rfind("GET /probe HTTP/1.1\r\n", 0), 0u) << req;
}

TEST(HttpSenderMethod, A500IsRetriedOnlyWhenAsked) {
  for (const bool all : {false, true}) {
    OneShotServer first(response(500, "boom"));
    HttpSender sender({.url = first.url(), .retry_all_server_errors = all});
    RetryPolicy retry;
    retry.max_attempts = 2;
    retry.initial_backoff = milliseconds(1);
    retry.max_backoff = milliseconds(1);
    // A second attempt gets no answer (OneShotServer answers once) and times out.
    const SendReport r = send_with_retry(sender, "b", in(milliseconds(500)), retry, nullptr);
    EXPECT_EQ(r.attempts, all ? 2 : 1) << all;
  }
}

TEST(RetryPolicy, ExponentialBackoffWithJitter) {
  RetryPolicy o;
  o.initial_backoff = milliseconds(100);
  o.max_backoff = milliseconds(1000);
  o.multiplier = 2;
  o.jitter = 0.5;
  EXPECT_EQ(backoff_delay(o, 1, 0.0), milliseconds(100));
  EXPECT_EQ(backoff_delay(o, 2, 0.0), milliseconds(200));
  EXPECT_EQ(backoff_delay(o, 3, 0.0), milliseconds(400));
  EXPECT_EQ(backoff_delay(o, 5, 0.0), milliseconds(1000));  // capped
  EXPECT_EQ(backoff_delay(o, 50, 0.0), milliseconds(1000));
  EXPECT_EQ(backoff_delay(o, 1, 0.999999), milliseconds(50));  // up to half off
  EXPECT_EQ(backoff_delay(o, 2, 0.5), milliseconds(150));
  o.jitter = 0;
  EXPECT_EQ(backoff_delay(o, 2, 0.9), milliseconds(200));
}

}  // namespace
}  // namespace vigil::detail
