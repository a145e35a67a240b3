// vigil/admin/server.h: the embedded admin HTTP server (/metrics, /health/*, /api/*, dashboard).
//
// A small HTTP/1.1 server that runs on threads it owns and serves handlers you register by path.
// It is meant for operational endpoints on a private port, not for application traffic: bodies
// are buffered in memory, every handler returns a whole Response, and responses larger than
// about 1 KiB are gzipped for clients that accept it.
//
//   vigil::admin::Server server({.listen = "127.0.0.1:0"});  // port 0 picks a free port
//   server.handle("/hello", [](const vigil::admin::Request& req) {
//     return vigil::admin::Response{.body = "hello " + std::string(req.remote_address) + "\n"};
//   });
//   server.start();                // throws vigil::Error when the address is taken or invalid
//   std::cout << server.url();     // "http://127.0.0.1:41234"
//   ...
//   server.stop();                 // also done by the destructor
//
// Every response carries `X-Content-Type-Options: nosniff`. Unknown paths get 404, a method the
// handler does not accept gets 405 with an Allow header, a body over the limit gets 413 without
// calling the handler, and a handler that throws gets 500 (the server keeps serving). GET "/"
// lists the registered paths unless a handler is registered for "/" itself. See docs/admin.md.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vigil::metrics {
class Registry;
}  // namespace vigil::metrics

namespace vigil::admin {

// One request header as received (names keep the case the client sent).
struct Header {
  std::string_view name;
  std::string_view value;
};

// A view of one HTTP request. Every view points into the server's connection buffers and is valid
// only during the handler call: copy what you keep. A plain struct, so handlers can be unit-tested
// with hand-made requests.
struct Request {
  std::string_view method;          // "GET", "HEAD", "POST", ...
  std::string_view path;            // URL-decoded path without the query, e.g. "/api/v1/series"
  std::string_view query;           // raw (still encoded) text after '?', empty when none
  std::string_view body;            // whole request body (at most max_request_body_bytes)
  std::string_view remote_address;  // client IP address, e.g. "127.0.0.1"
  std::span<const Header> headers;  // every request header, in the order received

  // The value of the first header named `name`, compared case-insensitively; nullopt when absent.
  // Thread-safe (read-only); never throws; cost linear in the number of headers.
  std::optional<std::string_view> header(std::string_view name) const noexcept;

  // The first value of query parameter `name`, URL-decoded ('+' and %XX) by civetweb's form
  // decoder; nullopt when absent. "?a=&b" gives "" for a and nullopt for b (a key without '='
  // is not a parameter). Thread-safe; allocates the result; never throws except std::bad_alloc.
  std::optional<std::string> query_param(std::string_view name) const;
};

// What a handler returns. Content-Length, Date, Connection and (when gzipped) Content-Encoding
// are set by the server; headers you add with those names are ignored, as are headers whose name
// or value contains CR, LF or NUL.
struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// Called on one of the server's worker threads, possibly concurrently with itself: a handler
// must be thread-safe. An exception escaping a handler turns into a 500 response.
using Handler = std::function<Response(const Request&)>;

// How a handler is matched.
struct HandleOptions {
  // false: the path must match exactly. true: every path that starts with `path` matches (e.g.
  // "/api/" matches "/api/" and "/api/v1/x"); the longest matching prefix wins, and an exact
  // registration wins over any prefix.
  bool prefix = false;
  // Accepted methods (upper case). Accepting GET also accepts HEAD, answered like GET without a
  // body. Empty accepts every method. Other methods get 405 with an Allow header.
  std::vector<std::string> methods = {"GET"};
  // One line shown next to the path on the index page served at "/".
  std::string description;
};

struct ServerOptions {
  // "host:port" to listen on. host is an IPv4 address, "localhost" or empty (":9464" or "9464":
  // every interface); "[v6addr]:port" only when civetweb was built with IPv6. Port 0 picks a free
  // port; port() tells which.
  std::string listen = "127.0.0.1:9464";
  // Worker threads (each serves one connection at a time). 1 to 256.
  int threads = 4;
  // Request bodies larger than this get 413 Payload Too Large; the handler is not called.
  std::size_t max_request_body_bytes = std::size_t{1} << 20;
  // Time allowed to receive a request and send its response (civetweb's request_timeout_ms).
  std::chrono::milliseconds request_timeout{10000};
  // civetweb access control list: comma-separated "[+|-]IPv4[/bits]" entries, the last match
  // wins, e.g. "-0.0.0.0/0,+127.0.0.1". Connections from addresses it denies are closed without
  // a response. Empty allows every address.
  std::string access_control_list;
  // Path of a PEM file holding the server's certificate chain and private key: serve HTTPS.
  // Empty serves plain HTTP. Needs civetweb built with TLS and libssl loadable at run time;
  // otherwise start() throws vigil::Error saying so.
  std::string tls_certificate;
  // Gzip response bodies of at least gzip_min_bytes for clients whose Accept-Encoding accepts it.
  bool enable_gzip = true;
  std::size_t gzip_min_bytes = 1024;
  // When set, the server counts and times its own requests in this registry:
  // vigil_admin_http_requests_total{method,route,code},
  // vigil_admin_http_request_duration_seconds{method,route}, vigil_admin_http_active_requests.
  // The route label is the registered path (or "unmatched"). The registry must outlive the server.
  metrics::Registry* self_metrics = nullptr;
};

// The admin server. Thread-safety: every member function may be called from any thread, also
// concurrently; start() and stop() serialize with each other. Do not call stop() or the
// destructor from inside a handler (they wait for the handlers to finish).
class Server {
 public:
  // Validates `options` (threads, listen syntax, timeout, access control list, TLS); does not
  // open any socket.
  // Throws vigil::Error naming the bad option. Cost: small.
  explicit Server(ServerOptions options = {});
  // Stops the server (see stop()).
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Registers `handler` for `path` (which must start with '/'). May be called before or after
  // start(); requests arriving after it returns see the handler. Throws vigil::Error when the
  // path is malformed, the handler is empty, a method is not an upper-case token, or the same
  // path is already registered with the same `prefix` flag (nothing is registered then).
  // Thread-safe; cost O(log n) plus copying the arguments.
  void handle(std::string path, Handler handler, HandleOptions options = {});

  // Removes the registration of `path` with the given prefix flag; returns whether there was
  // one. Requests already running the handler finish with it. Thread-safe; never throws.
  bool remove(std::string_view path, bool prefix = false) noexcept;

  // Opens the listening socket and starts the worker threads. Throws vigil::Error when already
  // running, or when the server cannot start, with a message naming the address and the reason,
  // e.g. "admin server: cannot listen on 127.0.0.1:9464: address already in use". A failed
  // start() leaves no thread or socket behind and may be retried. Thread-safe.
  // Cost: threads + 1 thread creations and a bind.
  void start();

  // Closes the socket, waits for running handlers to return and joins every thread the server
  // created. Idempotent; a stopped server can be started again. Thread-safe; never throws.
  // Cost: about 10 ms plus the time running handlers take to return (on Linux, where the
  // listening socket is found in /proc/self/fd and woken; elsewhere up to 2 s more, civetweb's
  // listener poll interval).
  void stop() noexcept;

  // Whether start() succeeded and stop() has not been called since. Thread-safe; never throws.
  bool running() const noexcept;

  // The bound TCP port while running (useful with port 0); 0 when not running.
  // Thread-safe; never throws.
  uint16_t port() const noexcept;

  // "http://HOST:PORT" (https with a TLS certificate) to reach the server from this machine;
  // HOST is 127.0.0.1 when listening on every interface. Empty when not running.
  // Thread-safe; allocates.
  std::string url() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::admin
