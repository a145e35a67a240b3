// Private to vigil::admin: one client connection of the admin server. A Session reads requests
// (headers first, so that 413, 417 and 100-continue are answered before the body), hands each
// to the handler pool, writes the response and repeats while the connection is kept alive;
// every step has a deadline. It is a Server::Impl::Connection (server_impl.h), so the server's
// registry can evict or close it. session.cc holds the response building and
// Server::Impl::start_session, which creates, registers and starts one per accepted connection.
//
//   // In Server::Impl::on_accept, once the connection is admitted:
//   start_session(std::move(address), std::move(socket));
//
// Thread safety: a session runs on its strand of the I/O pool, except the handler call itself.
#pragma once

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "core/detail/percent.h"
#include "core/detail/text.h"
#include "server_impl.h"

namespace vigil::admin {
namespace detail {

inline std::string_view sv(beast::string_view s) noexcept { return {s.data(), s.size()}; }

// Constant-time comparison (the time depends on the lengths only).
bool secure_equals(std::string_view a, std::string_view b) noexcept;

// A plain-text response.
Response text_response(int status, std::string body);

using HttpResponse = http::response<http::string_body>;

// Builds the wire response for `r`: gzip when `req` accepts it (and the body is large enough),
// the server's own headers, the handler's valid headers. HEAD gets the headers of the GET
// response and no body.
std::shared_ptr<HttpResponse> build_response(const ServerOptions& options, const Request* req,
                                             Response r, bool head, bool keep_alive);

}  // namespace detail

// For the session code below (this header is session.cc's alone).
using detail::build_response;
using detail::HttpResponse;
using detail::secure_equals;
using detail::sv;
using detail::text_response;
using vigil::detail::iequals;

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
      // The request middleware: metrics, and a server span continuing the caller's trace.
      const detail::Route* route = index_ ? nullptr : route_.get();
      auto headers =
          trace::header_getter([&req](std::string_view name) { return req.header(name); });
      std::optional<trace::HttpServerMiddleware::Scope> scope;
      if (auto* m = server_.middleware()) {
        scope.emplace(
            *m, trace::HttpServerRequest{.method = method_,
                                         .route = route == nullptr ? std::string_view("unmatched")
                                                                   : std::string_view(route->path),
                                         .path = path_,
                                         .scheme = server_.scheme(),
                                         .server_address = server_.host(),
                                         .server_port = server_.port(),
                                         .client_address = address_,
                                         .headers = &headers,
                                         .trace = server_.traced(route, req)});
      }
      Response response;
      if (index_) {
        response = server_.router().index_page();
      } else {
        try {
          response = route_->handler(req);
        } catch (...) {
          if (scope) scope->record_current_exception();
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

}  // namespace vigil::admin
