// The admin server: one event-driven I/O thread (Boost.Asio) owns every connection and parses
// requests with Boost.Beast; handlers run on a separate pool. Idle and slow connections cost a
// socket and a few hundred bytes, never a thread. See docs/design.md ("Admin server") for the
// figures behind the design.
#include "vigil/admin/server.h"

#include <openssl/crypto.h>
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <future>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "core/detail/gzip.h"
#include "core/detail/percent.h"
#include "core/detail/text.h"
#include "listen_address.h"
#include "request_checks.h"
#include "router.h"
#include "vigil/core/error.h"
#include "vigil/metrics/http_metrics.h"

namespace vigil::admin {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

// ---------------------------------------------------------------------------------------------
// Request

namespace {

using vigil::detail::ascii_lower;
using vigil::detail::iequals;

}  // namespace

std::optional<std::string_view> Request::header(std::string_view name) const noexcept {
  for (const Header& h : headers) {
    if (iequals(h.name, name)) return h.value;
  }
  return std::nullopt;
}

std::optional<std::string> Request::query_param(std::string_view name) const {
  if (query.empty() || name.empty()) return std::nullopt;
  std::string_view rest = query;
  while (!rest.empty()) {
    const std::size_t amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    const std::size_t eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    const auto key = vigil::detail::percent_decode(pair.substr(0, eq), {.plus_is_space = true});
    if (!key.value || *key.value != name) continue;
    return vigil::detail::percent_decode(pair.substr(eq + 1), {.plus_is_space = true}).value;
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Helpers

namespace {

constexpr std::string_view kPrefix = "admin server: ";

// Threads that run the connections' I/O: two, so that a burst of work on one (a thousand slow
// clients timing out at once) does not delay the others.
constexpr int kIoThreads = 2;

std::string_view sv(beast::string_view s) noexcept { return {s.data(), s.size()}; }

bool is_header_name(std::string_view name) noexcept {
  if (name.empty()) return false;
  constexpr std::string_view kTokenPunct = "!#$%&'*+-.^_`|~";
  return std::all_of(name.begin(), name.end(), [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           kTokenPunct.find(c) != std::string_view::npos;
  });
}

bool is_header_value(std::string_view value) noexcept {
  return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

// Headers the server computes itself; a handler's copies are dropped.
bool is_reserved_header(std::string_view name) noexcept {
  constexpr std::array<std::string_view, 7> kReserved = {
      "content-length", "transfer-encoding",      "connection",      "date",
      "content-type",   "x-content-type-options", "content-encoding"};
  return std::any_of(kReserved.begin(), kReserved.end(),
                     [&](std::string_view r) { return iequals(name, r); });
}

bool has_header(const Response& r, std::string_view name) noexcept {
  return std::any_of(r.headers.begin(), r.headers.end(),
                     [&](const auto& h) { return iequals(h.first, name); });
}

// The current time as an HTTP date (RFC 9110 IMF-fixdate), e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
std::string http_date_now() {
  static constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed",
                                                       "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  if (gmtime_r(&now, &tm) == nullptr || tm.tm_wday < 0 || tm.tm_wday > 6 || tm.tm_mon < 0 ||
      tm.tm_mon > 11) {
    return "Thu, 01 Jan 1970 00:00:00 GMT";
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT",
                kDays[static_cast<std::size_t>(tm.tm_wday)], tm.tm_mday,
                kMonths[static_cast<std::size_t>(tm.tm_mon)], tm.tm_year + 1900, tm.tm_hour,
                tm.tm_min, tm.tm_sec);
  return buf;
}

// Constant-time comparison (the time depends on the lengths only).
bool secure_equals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Response text_response(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

using HttpResponse = http::response<http::string_body>;

// Builds the wire response for `r`: gzip when `req` accepts it (and the body is large enough),
// the server's own headers, the handler's valid headers. HEAD gets the headers of the GET
// response and no body.
std::shared_ptr<HttpResponse> build_response(const ServerOptions& options, const Request* req,
                                             Response r, bool head, bool keep_alive) {
  if (r.status < 100 || r.status > 999) r = text_response(500, "500 Internal Server Error\n");
  const bool bodyless = r.status < 200 || r.status == 204 || r.status == 304;
  auto res = std::make_shared<HttpResponse>();
  res->version(11);
  res->result(static_cast<unsigned>(r.status));
  std::string body = bodyless ? std::string() : std::move(r.body);
  bool gzipped = false;
  bool varies = false;
  if (options.enable_gzip && !bodyless && body.size() >= options.gzip_min_bytes &&
      !has_header(r, "Content-Encoding")) {
    varies = true;
    const std::optional<std::string_view> accept =
        req != nullptr ? req->header("Accept-Encoding") : std::nullopt;
    if (accept && vigil::detail::accepts_gzip(*accept)) {
      if (std::optional<std::string> z = vigil::detail::gzip_compress(body)) {
        body = std::move(*z);
        gzipped = true;
      }
    }
  }
  if (!bodyless) res->set(http::field::content_type, r.content_type);
  res->set("X-Content-Type-Options", "nosniff");
  res->set(http::field::date, http_date_now());
  if (gzipped) res->set(http::field::content_encoding, "gzip");
  if (varies) res->set(http::field::vary, "Accept-Encoding");
  for (const auto& [name, value] : r.headers) {
    if (!is_header_name(name) || !is_header_value(value) || is_reserved_header(name)) continue;
    res->insert(name, value);
  }
  if (!bodyless) res->set(http::field::content_length, std::to_string(body.size()));
  if (!head) res->body() = std::move(body);
  res->keep_alive(keep_alive);
  return res;
}

// Why a request or connection was refused; one counter each.
enum class Reject : std::size_t {
  kHeaderTimeout,
  kIdleTimeout,
  kRequestTimeout,
  kEvicted,
  kRefused,
  kDenied,
  kBadRequest,
  kHeaderTooLarge,
  kBodyTooLarge,
  kQueueFull,
  kUnauthorized,
  kTlsHandshake,
  kCount
};
constexpr std::array<std::string_view, static_cast<std::size_t>(Reject::kCount)> kRejectNames = {
    "header_timeout", "idle_timeout", "request_timeout", "evicted",
    "refused",        "denied",       "bad_request",     "header_too_large",
    "body_too_large", "queue_full",   "unauthorized",    "tls_handshake"};

}  // namespace

// ---------------------------------------------------------------------------------------------
// Server::Impl

class Server::Impl {
 public:
  explicit Impl(ServerOptions options);
  ~Impl() { stop(); }

  void handle(std::string path, Handler handler, HandleOptions opts) {
    router_.add(std::move(path), std::move(handler), std::move(opts));
  }
  bool remove(std::string_view path, bool prefix) noexcept { return router_.remove(path, prefix); }
  void start();
  void stop() noexcept;
  bool running() const noexcept { return running_.load(std::memory_order_acquire); }
  uint16_t port() const noexcept { return port_.load(std::memory_order_acquire); }
  std::string url() const {
    const uint16_t p = port();
    if (p == 0) return {};
    return std::string(tls_ ? "https://" : "http://") + address_.url_host + ":" + std::to_string(p);
  }
  ServerStats stats() const noexcept;

  // --- used by connections (on the I/O thread unless said otherwise) ---

  class Connection;
  template <class Stream>
  class Session;

  const ServerOptions& options() const noexcept { return options_; }
  const detail::Router& router() const noexcept { return router_; }
  bool exposed() const noexcept { return !address_.loopback; }
  asio::thread_pool& pool() noexcept { return *pool_; }

  void count(Reject r) noexcept {
    rejects_[static_cast<std::size_t>(r)].fetch_add(1, std::memory_order_relaxed);
    if (auto& c = reject_counters_[static_cast<std::size_t>(r)]) c->inc();
  }
  void count_request() noexcept { requests_.fetch_add(1, std::memory_order_relaxed); }
  // Requests waiting for or running on a handler thread: false (and nothing taken) when full.
  bool take_queue_slot() noexcept {
    std::size_t q = queued_.load(std::memory_order_relaxed);
    do {
      if (q >= options_.max_queued_requests) return false;
    } while (!queued_.compare_exchange_weak(q, q + 1, std::memory_order_relaxed));
    return true;
  }
  void release_queue_slot() noexcept { queued_.fetch_sub(1, std::memory_order_relaxed); }
  metrics::HttpServerMetrics* http_metrics() noexcept {
    return http_metrics_ ? &*http_metrics_ : nullptr;
  }

  // Connection registry (any thread; guarded by conns_mu_).
  void register_connection(const std::shared_ptr<Connection>& c);
  void unregister_connection(Connection* c) noexcept;
  void touch(Connection* c, bool evictable) noexcept;

 private:
  void do_accept();
  void on_accept(const boost::system::error_code& ec, tcp::socket socket);
  // Makes room for a connection from `address`: true when there is room (possibly after closing
  // an idle or slow connection), false when every candidate is busy.
  bool admit(const std::string& address);

  const ServerOptions options_;
  detail::ListenAddress address_;
  detail::AccessControlList acl_;
  detail::Router router_;
  std::optional<ssl::context> tls_;
  std::optional<metrics::HttpServerMetrics> http_metrics_;
  std::array<std::optional<metrics::Counter>, static_cast<std::size_t>(Reject::kCount)>
      reject_counters_;
  std::optional<metrics::Counter> accepted_counter_;
  std::optional<metrics::Gauge> open_gauge_;

  std::mutex lifecycle_mu_;  // serializes start() and stop()
  std::unique_ptr<asio::io_context> io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::unique_ptr<tcp::acceptor> acceptor_;
  std::unique_ptr<asio::steady_timer> accept_retry_;
  std::unique_ptr<asio::thread_pool> pool_;
  std::vector<std::thread> io_threads_;
  std::size_t max_connections_ = 0;  // options_.max_connections, lowered to fit RLIMIT_NOFILE
  std::atomic<bool> running_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<uint16_t> port_{0};

  std::mutex conns_mu_;
  std::list<std::weak_ptr<Connection>> conns_;  // every open connection
  // Evictable connections, oldest first: [0] those that never completed a request (slowloris
  // clients are there), [1] idle keep-alive connections that did. Eviction takes from [0] first,
  // so a slow client never pushes out a well-behaved one while slow ones remain.
  std::array<std::list<Connection*>, 2> lru_;
  std::map<std::string, std::size_t, std::less<>> per_client_;

  std::atomic<std::size_t> queued_{0};
  std::atomic<uint64_t> accepted_{0};
  std::atomic<uint64_t> open_{0};
  std::atomic<uint64_t> requests_{0};
  std::array<std::atomic<uint64_t>, static_cast<std::size_t>(Reject::kCount)> rejects_{};
};

// The part of a connection the registry sees: state for eviction, and a way to close it.
class Server::Impl::Connection : public std::enable_shared_from_this<Connection> {
 public:
  explicit Connection(Impl& server, std::string address)
      : server_(server), address_(std::move(address)) {}
  virtual ~Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  const std::string& address() const noexcept { return address_; }
  // Closes the socket (pending operations end with operation_aborted). I/O thread only.
  virtual void close_now() noexcept = 0;
  // Closes the connection on its own strand (from any thread). Never throws.
  virtual void close_soon() noexcept = 0;

  // Registry bookkeeping, guarded by the server's conns_mu_.
  std::list<std::weak_ptr<Connection>>::iterator registry_it;
  bool in_lru = false;  // waiting for or receiving a request: may be evicted
  int tier = 0;         // the eviction list it is in (0: never completed a request)
  std::list<Connection*>::iterator lru_it;
  bool served = false;               // completed a request (set on the connection's strand)
  std::atomic<bool> evicted{false};  // closed by the server (eviction or stop), not the client

 protected:
  Impl& server_;
  std::string address_;
};

// One connection: reads requests (headers first, so 413, 417 and 100-continue are answered
// before the body), hands each to the handler pool, writes the response, repeats while the
// connection is kept alive. Every step has a deadline. Runs on the I/O thread, except the
// handler call itself.
template <class Stream>
class Server::Impl::Session final : public Connection {
 public:
  template <class... Args>
  Session(Impl& server, std::string address, Args&&... stream_args)
      : Connection(server, std::move(address)),
        stream_(std::forward<Args>(stream_args)...),
        header_timer_(stream_.get_executor()) {}

  ~Session() override { server_.unregister_connection(this); }

  void start() {
    if constexpr (kTls) {
      lowest().expires_after(server_.options().header_timeout);
      stream_.async_handshake(ssl::stream_base::server,
                              [self = self()](const boost::system::error_code& ec) {
                                if (ec) {
                                  if (!self->evicted) self->server_.count(Reject::kTlsHandshake);
                                  self->close_now();
                                  return;
                                }
                                self->wait_request();
                              });
    } else {
      wait_request();
    }
  }

  void close_soon() noexcept override {
    try {
      asio::post(stream_.get_executor(), [self = self()] { self->close_now(); });
    } catch (...) {
    }
  }

  void close_now() noexcept override {
    header_timer_.cancel();
    boost::system::error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().close();
  }

 private:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;
  using Parser = http::request_parser<http::string_body>;

  std::shared_ptr<Session> self() {
    return std::static_pointer_cast<Session>(this->shared_from_this());
  }
  beast::tcp_stream& lowest() noexcept { return beast::get_lowest_layer(stream_); }
  const ServerOptions& opts() const noexcept { return server_.options(); }

  // Waits for the first byte of the next request (idle_timeout), or goes on with pipelined bytes.
  void wait_request() {
    server_.touch(this, true);
    if (buffer_.size() > 0) {
      start_header_timer();
      read_header();
      return;
    }
    // A long-idle connection keeps only a small buffer.
    if (buffer_.capacity() > 16 * 1024) buffer_.shrink_to_fit();
    lowest().expires_after(opts().idle_timeout);
    stream_.async_read_some(buffer_.prepare(1024),
                            [self = self()](const boost::system::error_code& ec, std::size_t n) {
                              if (ec) {
                                if (ec == beast::error::timeout && !self->evicted) {
                                  self->server_.count(Reject::kIdleTimeout);
                                }
                                self->close_now();
                                return;
                              }
                              self->buffer_.commit(n);
                              self->start_header_timer();
                              self->read_header();
                            });
  }

  // The header must be complete within header_timeout of its first byte. A timer of our own
  // rather than the stream's deadline, which would close the socket before a 408 can be sent.
  void start_header_timer() {
    lowest().expires_never();
    header_timed_out_ = false;
    header_timer_.expires_after(opts().header_timeout);
    header_timer_.async_wait([self = self()](const boost::system::error_code& ec) {
      if (ec) return;  // cancelled: the header arrived
      self->header_timed_out_ = true;
      boost::system::error_code ignored;
      self->lowest().socket().cancel(ignored);
    });
  }

  // Feeds buffered bytes to a new parser until the header is complete.
  void read_header() {
    if (!parser_) {
      method_ = {};
      route_.reset();
      parser_.emplace();
      parser_->header_limit(
          static_cast<std::uint32_t>(std::min<std::size_t>(opts().max_header_bytes, UINT32_MAX)));
      parser_->body_limit(opts().max_request_body_bytes);
    }
    for (;;) {
      if (has_obsolete_fold()) {
        fail(400, "obsolete line folding is not allowed (RFC 9112 5.2)", Reject::kBadRequest);
        return;
      }
      boost::system::error_code ec;
      const std::size_t used = parser_->put(buffer_.data(), ec);
      buffer_.consume(used);
      if (ec == http::error::need_more) break;
      if (ec) {
        on_parse_error(ec);
        return;
      }
      if (parser_->is_header_done()) {
        header_timer_.cancel();
        on_header();
        return;
      }
      if (used == 0) break;
    }
    if (buffer_.size() >= opts().max_header_bytes) {
      fail(431,
           "the request header is larger than the limit of " +
               std::to_string(opts().max_header_bytes) + " bytes",
           Reject::kHeaderTooLarge);
      return;
    }
    stream_.async_read_some(
        buffer_.prepare(2048), [self = self()](const boost::system::error_code& ec, std::size_t n) {
          if (ec) {
            if (self->header_timed_out_ && !self->evicted) {
              self->fail(408,
                         "the request header did not arrive within " +
                             std::to_string(self->opts().header_timeout.count()) + " ms",
                         Reject::kHeaderTimeout);
              return;
            }
            self->close_now();
            return;
          }
          self->buffer_.commit(n);
          self->read_header();
        });
  }

  // Beast accepts obs-fold; HTTP says a server must refuse it or replace it, and refusing is
  // what keeps every header visible: a folded line must not hide a later header.
  bool has_obsolete_fold() const noexcept {
    const auto data = buffer_.data();
    return detail::has_obsolete_fold(
        std::string_view(static_cast<const char*>(data.data()), data.size()));
  }

  void on_parse_error(const boost::system::error_code& ec) {
    if (ec == http::error::header_limit) {
      fail(431,
           "the request header is larger than the limit of " +
               std::to_string(opts().max_header_bytes) + " bytes",
           Reject::kHeaderTooLarge);
    } else if (ec == http::error::body_limit) {
      fail(413, body_limit_text(), Reject::kBodyTooLarge);
    } else {
      fail(400, "malformed request: " + ec.message(), Reject::kBadRequest);
    }
  }

  std::string body_limit_text() const {
    return "the request body is larger than the limit of " +
           std::to_string(opts().max_request_body_bytes) + " bytes";
  }

  void on_header() {
    auto& msg = parser_->get();
    const unsigned version = msg.version();
    if (version != 10 && version != 11) {
      fail(505, "only HTTP/1.0 and HTTP/1.1 are supported", Reject::kBadRequest);
      return;
    }
    // Header views for the handler and checks on the fields.
    headers_.clear();
    std::size_t hosts = 0;
    for (const auto& field : msg) {
      headers_.push_back(Header{sv(field.name_string()), sv(field.value())});
      if (field.name() == http::field::host) ++hosts;
    }
    if (headers_.size() > opts().max_header_count) {
      fail(
          431,
          "the request has more than " + std::to_string(opts().max_header_count) + " header fields",
          Reject::kHeaderTooLarge);
      return;
    }
    if (hosts > 1 || (version == 11 && hosts == 0)) {
      fail(400, "an HTTP/1.1 request needs exactly one Host header", Reject::kBadRequest);
      return;
    }
    if (msg.count(http::field::transfer_encoding) != 0 && !parser_->chunked()) {
      fail(400, "a request's Transfer-Encoding must end with chunked", Reject::kBadRequest);
      return;
    }
    method_ = sv(msg.method_string());
    head_ = method_ == "HEAD";
    keep_alive_ = msg.keep_alive();

    // The target: origin-form "/path?query", absolute-form "http://host/path?query", or "*".
    detail::Target target = detail::parse_target(sv(msg.target()));
    if (!target.error.empty()) {
      fail(400, target.error, Reject::kBadRequest);
      return;
    }
    if (target.asterisk) {
      if (method_ != "OPTIONS") {
        fail(400, "the target \"*\" is only valid with OPTIONS", Reject::kBadRequest);
        return;
      }
      Response r;
      r.status = 204;
      r.headers.emplace_back("Allow", "GET, HEAD, POST, PUT, DELETE, OPTIONS");
      respond_early(std::move(r));
      return;
    }
    query_ = target.query;
    path_ = std::move(target.path);

    // Authentication: "Authorization: Bearer <token>".
    authenticated_ = false;
    if (!opts().admin_token.empty()) {
      if (auto auth = msg.find(http::field::authorization); auth != msg.end()) {
        const std::string_view value = sv(auth->value());
        constexpr std::string_view kBearer = "bearer ";
        if (value.size() > kBearer.size() && iequals(value.substr(0, kBearer.size()), kBearer)) {
          std::string_view token = value.substr(kBearer.size());
          while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) {
            token.remove_prefix(1);
          }
          authenticated_ = secure_equals(token, opts().admin_token);
        }
      }
    }

    // Routing and checks that answer before the body is read.
    route_ = server_.router().find(path_);
    if (!route_) {
      if (path_ == "/" && (method_ == "GET" || head_)) {
        index_ = true;
      } else {
        respond_early(text_response(404, "404 Not Found\n"));
        return;
      }
    } else {
      index_ = false;
      if (!route_->accepts(method_)) {
        Response r = text_response(405, "405 Method Not Allowed\n");
        r.headers.emplace_back("Allow", route_->allow_header());
        respond_early(std::move(r));
        return;
      }
      if (needs_token(*route_) && !authenticated_) {
        server_.count(Reject::kUnauthorized);
        if (opts().admin_token.empty()) {
          respond_early(text_response(
              403,
              "403 Forbidden: this endpoint needs the admin token, and the server has none "
              "configured\n"));
        } else {
          Response r = text_response(401,
                                     "401 Unauthorized: send Authorization: Bearer <admin "
                                     "token>\n");
          r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"vigil admin\"");
          respond_early(std::move(r));
        }
        return;
      }
    }
    if (auto length = parser_->content_length();
        length && *length > opts().max_request_body_bytes) {
      fail(413, body_limit_text(), Reject::kBodyTooLarge);
      return;
    }
    const bool has_body = !parser_->is_done();
    if (has_body) {
      if (auto expect = msg.find(http::field::expect); expect != msg.end()) {
        if (!iequals(sv(expect->value()), "100-continue")) {
          fail(417, "only the expectation 100-continue is supported", Reject::kBadRequest);
          return;
        }
        if (buffer_.size() == 0) {
          send_continue();
          return;
        }
      }
      read_body();
      return;
    }
    dispatch();
  }

  bool needs_token(const detail::Route& route) const noexcept {
    switch (route.access) {
      case Access::kPublic:
        return false;
      case Access::kAdminToken:
        return true;
      case Access::kDefault:
        break;
    }
    if (method_ != "GET" && !head_ && method_ != "OPTIONS") return true;
    if (!server_.exposed() || !opts().protect_when_exposed) return false;
    const std::string_view p = path_;
    return p.rfind("/debug/", 0) == 0 || p.rfind("/api/", 0) == 0 || p == "/debug" || p == "/api";
  }

  void send_continue() {
    auto cont = std::make_shared<http::response<http::empty_body>>(http::status::continue_, 11);
    lowest().expires_after(opts().request_timeout);
    http::async_write(stream_, *cont,
                      [self = self(), cont](const boost::system::error_code& ec, std::size_t) {
                        if (ec) {
                          self->close_now();
                          return;
                        }
                        self->read_body();
                      });
  }

  void read_body() {
    lowest().expires_after(opts().request_timeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = self()](const boost::system::error_code& ec, std::size_t) {
          if (ec) {
            if (self->evicted) return self->close_now();
            if (ec == beast::error::timeout) {
              self->fail(408,
                         "the request body did not arrive within " +
                             std::to_string(self->opts().request_timeout.count()) + " ms",
                         Reject::kRequestTimeout);
            } else if (ec == http::error::end_of_stream || ec == http::error::partial_message ||
                       ec == asio::error::eof || ec == asio::error::connection_reset) {
              self->close_now();  // the client went away mid-body
            } else {
              self->on_parse_error(ec);
            }
            return;
          }
          self->dispatch();
        });
  }

  // Hands the request to the handler pool.
  void dispatch() {
    server_.touch(this, false);
    if (!server_.take_queue_slot()) {
      server_.count(Reject::kQueueFull);
      Response r = text_response(503, "503 Service Unavailable: too many requests queued\n");
      r.headers.emplace_back("Retry-After", "1");
      write(build_response(opts(), nullptr, std::move(r), head_, false));
      return;
    }
    asio::post(server_.pool(), [self = self()]() mutable {
      std::shared_ptr<HttpResponse> res = self->run_handler();
      self->server_.release_queue_slot();
      auto* raw = self.get();
      asio::post(raw->stream_.get_executor(),
                 [self = std::move(self), res = std::move(res)]() mutable {
                   self->write(std::move(res));
                 });
    });
  }

  // On a handler thread: calls the handler and builds the response.
  std::shared_ptr<HttpResponse> run_handler() noexcept {
    try {
      Request req;
      req.method = method_;
      req.path = path_;
      req.query = query_;
      req.body = parser_->get().body();
      req.remote_address = address_;
      req.headers = std::span<const Header>(headers_.data(), headers_.size());
      req.authenticated = authenticated_;
      req.exposed = server_.exposed();
      std::optional<metrics::HttpServerMetrics::Scope> scope;
      if (auto* m = server_.http_metrics()) {
        scope.emplace(m->start(method_, index_ || !route_ ? std::string_view("unmatched")
                                                          : std::string_view(route_->path)));
      }
      Response response;
      if (index_) {
        response = server_.router().index_page();
      } else {
        try {
          response = route_->handler(req);
        } catch (...) {
          response = text_response(500, "500 Internal Server Error: the handler failed\n");
        }
      }
      if (scope) scope->finish(response.status);
      server_.count_request();
      return build_response(opts(), &req, std::move(response), head_, keep_alive_);
    } catch (...) {
      keep_alive_ = false;
      try {
        return build_response(opts(), nullptr, text_response(500, "500 Internal Server Error\n"),
                              head_, false);
      } catch (...) {
        return nullptr;
      }
    }
  }

  // Counts a request answered without its handler in the server's request metrics.
  void record_unhandled(int status) noexcept {
    if (auto* m = server_.http_metrics()) {
      m->start(method_, route_ ? std::string_view(route_->path) : std::string_view("unmatched"))
          .finish(status);
    }
  }

  // Answers before the body is read. A request without a body (or whose body is already
  // buffered) keeps the connection; otherwise it is closed after the response.
  void respond_early(Response r) {
    record_unhandled(r.status);
    const bool body_pending = !parser_->is_done();
    if (body_pending) keep_alive_ = false;
    server_.touch(this, false);
    write(build_response(opts(), nullptr, std::move(r), head_, keep_alive_ && !body_pending));
  }

  // Answers a malformed or refused request and closes the connection afterwards.
  void fail(int status, std::string why, Reject reason) {
    header_timer_.cancel();
    server_.count(reason);
    if (!method_.empty()) record_unhandled(status);
    keep_alive_ = false;
    head_ = false;
    server_.touch(this, false);
    std::string body = std::to_string(status) + " " +
                       std::string(sv(http::obsolete_reason(static_cast<http::status>(status)))) +
                       ": " + why + "\n";
    write(build_response(opts(), nullptr, text_response(status, std::move(body)), false, false));
  }

  void write(std::shared_ptr<HttpResponse> res) {
    if (!res) return close_now();
    response_ = std::move(res);
    lowest().expires_after(opts().request_timeout);
    http::async_write(
        stream_, *response_,
        [self = self()](const boost::system::error_code& ec, std::size_t) { self->on_write(ec); });
  }

  void on_write(const boost::system::error_code& ec) {
    const bool keep = response_ && response_->keep_alive();
    response_.reset();
    if (ec) {
      if (ec == beast::error::timeout && !evicted) server_.count(Reject::kRequestTimeout);
      close_now();
      return;
    }
    if (keep && parser_ && parser_->is_done() && !evicted) {
      served = true;
      parser_.reset();
      route_.reset();
      wait_request();
      return;
    }
    linger_close();
  }

  // After a final response with "Connection: close": stop sending, then read and discard what
  // the client still sends (at most 1 MiB and 1 s) so that closing does not reset the
  // connection before the client has read the response.
  void linger_close() {
    parser_.reset();
    route_.reset();
    server_.touch(this, true);  // may be closed at once to admit a new client
    if constexpr (kTls) {
      lowest().expires_after(std::chrono::seconds(1));
      stream_.async_shutdown(
          [self = self()](const boost::system::error_code&) { self->close_now(); });
    } else {
      boost::system::error_code ignored;
      lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
      lowest().expires_after(std::chrono::seconds(1));
      buffer_.clear();
      drain(0);
    }
  }

  void drain(std::size_t total) {
    if (total > (std::size_t{1} << 20)) return close_now();
    buffer_.clear();
    stream_.async_read_some(
        buffer_.prepare(4096),
        [self = self(), total](const boost::system::error_code& ec, std::size_t n) {
          if (ec) return self->close_now();
          self->drain(total + n);
        });
  }

  Stream stream_;
  asio::steady_timer header_timer_;
  bool header_timed_out_ = false;
  beast::flat_buffer buffer_{64 * 1024 * 1024};  // max size; grows from empty as needed
  std::optional<Parser> parser_;
  std::shared_ptr<HttpResponse> response_;
  std::vector<Header> headers_;
  std::string path_;
  std::string_view method_;
  std::string_view query_;
  std::shared_ptr<const detail::Route> route_;
  bool index_ = false;
  bool head_ = false;
  bool keep_alive_ = false;
  bool authenticated_ = false;
};

// ---------------------------------------------------------------------------------------------

Server::Impl::Impl(ServerOptions options) : options_(std::move(options)) {
  if (options_.threads < 1 || options_.threads > 256) {
    throw Error(std::string(kPrefix) + "threads must be from 1 to 256, got " +
                std::to_string(options_.threads));
  }
  auto positive = [](std::chrono::milliseconds ms, const char* name) {
    if (ms.count() <= 0) {
      throw Error(std::string(kPrefix) + name + " must be positive, got " +
                  std::to_string(ms.count()) + " ms");
    }
  };
  positive(options_.request_timeout, "request_timeout");
  positive(options_.header_timeout, "header_timeout");
  positive(options_.idle_timeout, "idle_timeout");
  if (options_.max_connections < 1) {
    throw Error(std::string(kPrefix) + "max_connections must be at least 1");
  }
  if (options_.max_header_bytes < 256) {
    throw Error(std::string(kPrefix) + "max_header_bytes must be at least 256, got " +
                std::to_string(options_.max_header_bytes));
  }
  if (options_.max_header_count < 1) {
    throw Error(std::string(kPrefix) + "max_header_count must be at least 1");
  }
  if (options_.max_queued_requests < 1) {
    throw Error(std::string(kPrefix) + "max_queued_requests must be at least 1");
  }
  address_ = detail::parse_listen(options_.listen);
  acl_ = detail::AccessControlList(options_.access_control_list);

  if (!options_.tls_certificate.empty()) {
    auto tls_error = [&](const std::string& what, const boost::system::error_code& ec) {
      return Error(std::string(kPrefix) + what + ": " + ec.message());
    };
    tls_.emplace(ssl::context::tls_server);
    boost::system::error_code ec;
    tls_->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                          ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                          ssl::context::no_tlsv1_1 | ssl::context::single_dh_use,
                      ec);
    tls_->use_certificate_chain_file(options_.tls_certificate, ec);
    if (ec) {
      throw tls_error("cannot load tls_certificate \"" + options_.tls_certificate + "\"", ec);
    }
    const std::string& key =
        options_.tls_private_key.empty() ? options_.tls_certificate : options_.tls_private_key;
    tls_->use_private_key_file(key, ssl::context::pem, ec);
    if (ec) throw tls_error("cannot load the TLS private key from \"" + key + "\"", ec);
    if (SSL_CTX_check_private_key(tls_->native_handle()) != 1) {
      throw Error(std::string(kPrefix) + "the TLS private key in \"" + key +
                  "\" does not match the certificate in \"" + options_.tls_certificate + "\"");
    }
    if (!options_.tls_client_ca.empty()) {
      tls_->load_verify_file(options_.tls_client_ca, ec);
      if (ec) {
        throw tls_error("cannot load tls_client_ca \"" + options_.tls_client_ca + "\"", ec);
      }
      tls_->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
    }
  } else if (!options_.tls_private_key.empty() || !options_.tls_client_ca.empty()) {
    throw Error(std::string(kPrefix) +
                "tls_private_key and tls_client_ca need tls_certificate to be set");
  }

  if (options_.self_metrics != nullptr) {
    metrics::Registry& reg = *options_.self_metrics;
    http_metrics_.emplace(reg, metrics::HttpServerMetricsOptions{.prefix = "vigil_admin_http"});
    auto& rejected = reg.counter("vigil_admin_http_rejected",
                                 "Requests and connections the admin server refused or closed, "
                                 "by reason",
                                 {"reason"});
    for (std::size_t i = 0; i < kRejectNames.size(); ++i) {
      reject_counters_[i].emplace(rejected.labels(kRejectNames[i]));
    }
    accepted_counter_.emplace(reg.counter("vigil_admin_http_connections_accepted",
                                          "Connections the admin server accepted")
                                  .get());
    open_gauge_.emplace(
        reg.gauge("vigil_admin_http_connections", "Open connections to the admin server").get());
  }
}

void Server::Impl::start() {
  std::lock_guard lifecycle(lifecycle_mu_);
  if (io_) throw Error(std::string(kPrefix) + "start() called while already running on " + url());

  // Each connection takes a descriptor: make room for max_connections (plus a margin for the
  // rest of the process) or use fewer connections.
  max_connections_ = options_.max_connections;
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0) {
    const rlim_t want = static_cast<rlim_t>(options_.max_connections) + 256;
    if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < want) {
      rlimit raised = lim;
      raised.rlim_cur = lim.rlim_max == RLIM_INFINITY ? want : std::min(want, lim.rlim_max);
      if (setrlimit(RLIMIT_NOFILE, &raised) == 0) lim = raised;
      if (lim.rlim_cur < want) {
        max_connections_ = lim.rlim_cur > 512 ? static_cast<std::size_t>(lim.rlim_cur) - 256
                                              : static_cast<std::size_t>(lim.rlim_cur) / 2;
        if (max_connections_ == 0) max_connections_ = 1;
      }
    }
  }

  auto io = std::make_unique<asio::io_context>(kIoThreads);
  // Connections and the acceptor each have a strand, so the I/O threads never touch one
  // connection at the same time.
  auto acceptor = std::make_unique<tcp::acceptor>(asio::make_strand(*io));
  boost::system::error_code ec;
  const auto addr = asio::ip::make_address(address_.host, ec);
  if (ec)
    throw Error(std::string(kPrefix) + "cannot listen on " + options_.listen + ": " + ec.message());
  const tcp::endpoint endpoint(addr, address_.port);
  auto fail = [&](const char* step) {
    std::string reason = ec.message();
    for (char& c : reason) c = ascii_lower(c);
    return Error(std::string(kPrefix) + "cannot listen on " + options_.listen + ": " + reason +
                 (std::string_view(step) == "bind" ? "" : std::string(" (") + step + ")"));
  };
  acceptor->open(endpoint.protocol(), ec);
  if (ec) throw fail("socket");
  acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (address_.ipv6) acceptor->set_option(asio::ip::v6_only(true), ec);
  acceptor->bind(endpoint, ec);
  if (ec) throw fail("bind");
  acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw fail("listen");
  const uint16_t bound = acceptor->local_endpoint(ec).port();
  if (ec) throw fail("getsockname");

  io_ = std::move(io);
  acceptor_ = std::move(acceptor);
  accept_retry_ = std::make_unique<asio::steady_timer>(acceptor_->get_executor());
  work_.emplace(io_->get_executor());
  pool_ = std::make_unique<asio::thread_pool>(static_cast<std::size_t>(options_.threads));
  stopping_.store(false, std::memory_order_release);
  do_accept();
  for (int i = 0; i < kIoThreads; ++i) {
    io_threads_.emplace_back([io = io_.get()] {
      for (;;) {
        try {
          io->run();
          return;
        } catch (...) {
          // A completion handler must not throw; if one does, keep serving the others.
        }
      }
    });
  }
  port_.store(bound, std::memory_order_release);
  running_.store(true, std::memory_order_release);
}

void Server::Impl::stop() noexcept {
  std::lock_guard lifecycle(lifecycle_mu_);
  if (!io_) return;
  running_.store(false, std::memory_order_release);
  stopping_.store(true, std::memory_order_release);
  // On the I/O thread: stop accepting and close every connection; their pending operations
  // end with operation_aborted.
  std::promise<void> closed;
  asio::post(acceptor_->get_executor(), [this, &closed] {
    boost::system::error_code ignored;
    acceptor_->close(ignored);
    accept_retry_->cancel();
    std::vector<std::shared_ptr<Connection>> open;
    {
      std::lock_guard lock(conns_mu_);
      for (auto& w : conns_) {
        if (auto c = w.lock()) open.push_back(std::move(c));
      }
    }
    for (auto& c : open) {
      c->evicted = true;
      c->close_soon();
    }
    closed.set_value();
  });
  closed.get_future().wait();
  pool_->join();  // running handlers finish; their responses go to closed sockets
  work_.reset();
  io_->stop();
  for (std::thread& t : io_threads_) t.join();
  io_threads_.clear();
  // Destroying the context destroys pending handlers and, with them, the sessions.
  acceptor_.reset();
  accept_retry_.reset();
  io_.reset();
  pool_.reset();
  port_.store(0, std::memory_order_release);
}

void Server::Impl::do_accept() {
  acceptor_->async_accept(asio::make_strand(*io_),
                          [this](const boost::system::error_code& ec, tcp::socket socket) {
                            on_accept(ec, std::move(socket));
                          });
}

void Server::Impl::on_accept(const boost::system::error_code& ec, tcp::socket socket) {
  if (stopping_.load(std::memory_order_acquire) || ec == asio::error::operation_aborted) return;
  if (ec) {
    // Out of descriptors (EMFILE/ENFILE) or a transient error: try again shortly rather than
    // spinning on a listening socket that stays readable.
    accept_retry_->expires_after(std::chrono::milliseconds(50));
    accept_retry_->async_wait([this](const boost::system::error_code& wait_ec) {
      if (!wait_ec && !stopping_.load(std::memory_order_acquire)) do_accept();
    });
    return;
  }
  do_accept();

  boost::system::error_code ignored;
  const tcp::endpoint remote = socket.remote_endpoint(ignored);
  std::string address = remote.address().to_string();
  if (!acl_.allows(address)) {
    count(Reject::kDenied);
    socket.close(ignored);
    return;
  }
  if (!admit(address)) {
    count(Reject::kRefused);
    static constexpr std::string_view kBusy =
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Length: 52\r\nRetry-After: 1\r\nX-Content-Type-Options: nosniff\r\n"
        "Connection: close\r\n\r\n503 Service Unavailable: too many open connections\n\n";
    auto s = std::make_shared<tcp::socket>(std::move(socket));
    asio::async_write(*s, asio::buffer(kBusy.data(), kBusy.size()),
                      [s](const boost::system::error_code&, std::size_t) {
                        boost::system::error_code e;
                        s->shutdown(tcp::socket::shutdown_both, e);
                        s->close(e);
                      });
    return;
  }
  socket.set_option(tcp::no_delay(true), ignored);
  accepted_.fetch_add(1, std::memory_order_relaxed);
  if (accepted_counter_) accepted_counter_->inc();
  if (tls_) {
    auto session = std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(
        *this, std::move(address), std::move(socket), *tls_);
    register_connection(session);
    session->start();
  } else {
    auto session =
        std::make_shared<Session<beast::tcp_stream>>(*this, std::move(address), std::move(socket));
    register_connection(session);
    session->start();
  }
}

bool Server::Impl::admit(const std::string& address) {
  std::shared_ptr<Connection> victim;
  {
    std::lock_guard lock(conns_mu_);
    const std::size_t from_client = [&]() -> std::size_t {
      auto it = per_client_.find(address);
      return it == per_client_.end() ? 0 : it->second;
    }();
    const bool client_full = options_.max_connections_per_client != 0 &&
                             from_client >= options_.max_connections_per_client;
    const bool server_full = open_.load(std::memory_order_relaxed) >= max_connections_;
    if (!client_full && !server_full) return true;
    // The oldest evictable connection (of this client when the client is at its limit): the
    // lists are in the order connections became evictable.
    for (auto& list : lru_) {
      for (auto it = list.begin(); it != list.end() && !victim; ++it) {
        Connection* c = *it;
        if (client_full && c->address() != address) continue;
        victim = c->weak_from_this().lock();  // null when it is being destroyed
      }
      if (victim) break;
    }
    if (!victim) return false;
    lru_[static_cast<std::size_t>(victim->tier)].erase(victim->lru_it);
    victim->in_lru = false;
    victim->evicted = true;
  }
  count(Reject::kEvicted);
  victim->close_soon();
  return true;
}

void Server::Impl::register_connection(const std::shared_ptr<Connection>& c) {
  std::lock_guard lock(conns_mu_);
  conns_.push_front(c);
  c->registry_it = conns_.begin();
  ++per_client_[c->address()];
  open_.fetch_add(1, std::memory_order_relaxed);
  if (open_gauge_) open_gauge_->inc();
}

void Server::Impl::unregister_connection(Connection* c) noexcept {
  std::lock_guard lock(conns_mu_);
  conns_.erase(c->registry_it);
  if (c->in_lru) lru_[static_cast<std::size_t>(c->tier)].erase(c->lru_it);
  c->in_lru = false;
  if (auto it = per_client_.find(c->address()); it != per_client_.end()) {
    if (--it->second == 0) per_client_.erase(it);
  }
  open_.fetch_sub(1, std::memory_order_relaxed);
  if (open_gauge_) open_gauge_->dec();
}

void Server::Impl::touch(Connection* c, bool evictable) noexcept {
  std::lock_guard lock(conns_mu_);
  if (c->in_lru) {
    lru_[static_cast<std::size_t>(c->tier)].erase(c->lru_it);
    c->in_lru = false;
  }
  if (evictable && !c->evicted) {
    c->tier = c->served ? 1 : 0;
    auto& list = lru_[static_cast<std::size_t>(c->tier)];
    c->lru_it = list.insert(list.end(), c);
    c->in_lru = true;
  }
}

ServerStats Server::Impl::stats() const noexcept {
  auto get = [this](Reject r) {
    return rejects_[static_cast<std::size_t>(r)].load(std::memory_order_relaxed);
  };
  ServerStats s;
  s.connections_accepted = accepted_.load(std::memory_order_relaxed);
  s.connections_open = open_.load(std::memory_order_relaxed);
  s.requests = requests_.load(std::memory_order_relaxed);
  s.header_timeouts = get(Reject::kHeaderTimeout);
  s.idle_timeouts = get(Reject::kIdleTimeout);
  s.request_timeouts = get(Reject::kRequestTimeout);
  s.evicted = get(Reject::kEvicted);
  s.refused_connections = get(Reject::kRefused);
  s.denied_connections = get(Reject::kDenied);
  s.bad_requests = get(Reject::kBadRequest);
  s.headers_too_large = get(Reject::kHeaderTooLarge);
  s.bodies_too_large = get(Reject::kBodyTooLarge);
  s.queue_full = get(Reject::kQueueFull);
  s.unauthorized = get(Reject::kUnauthorized);
  s.tls_handshake_failures = get(Reject::kTlsHandshake);
  return s;
}

// ---------------------------------------------------------------------------------------------
// Server

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Server::~Server() = default;

void Server::handle(std::string path, Handler handler, HandleOptions options) {
  impl_->handle(std::move(path), std::move(handler), std::move(options));
}
bool Server::remove(std::string_view path, bool prefix) noexcept {
  return impl_->remove(path, prefix);
}
void Server::start() { impl_->start(); }
void Server::stop() noexcept { impl_->stop(); }
bool Server::running() const noexcept { return impl_->running(); }
uint16_t Server::port() const noexcept { return impl_->port(); }
std::string Server::url() const { return impl_->url(); }
ServerStats Server::stats() const noexcept { return impl_->stats(); }

}  // namespace vigil::admin
