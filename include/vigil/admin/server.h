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
namespace vigil::trace {
class Tracer;
}  // namespace vigil::trace

namespace vigil::admin {

// One request header as received (names keep the case the client sent; values without the
// optional whitespace around them).
struct Header {
  std::string_view name;
  std::string_view value;
};

// A view of one HTTP request. Every view points into the connection's buffers and is valid only
// during the handler call: copy what you keep. A plain struct, so handlers can be unit-tested
// with hand-made requests.
struct Request {
  std::string_view method;          // "GET", "HEAD", "POST", ...
  std::string_view path;            // percent-decoded path without the query, e.g. "/api/v1/x"
  std::string_view query;           // raw (still encoded) text after '?', empty when none
  std::string_view body;            // whole request body (at most max_request_body_bytes)
  std::string_view remote_address;  // client IP address, e.g. "127.0.0.1" or "::1"
  std::span<const Header> headers;  // every request header, in the order received
  // The request carried the server's admin token ("Authorization: Bearer <token>", compared in
  // constant time). Always false when the server has no token.
  bool authenticated = false;
  // The server listens on an address other than loopback (ServerOptions::listen), so anyone who
  // can reach the port may be asking. Endpoints that show details (health output, traces) show
  // them to such requests only when `authenticated`.
  bool exposed = false;

  // The value of the first header named `name`, compared case-insensitively; nullopt when absent.
  // Thread-safe (read-only); never throws; cost linear in the number of headers.
  std::optional<std::string_view> header(std::string_view name) const noexcept;

  // The first value of query parameter `name`, decoded ('+' is a space, %XX a byte); nullopt
  // when absent or when its encoding is malformed. "?a=&b" gives "" for a and nullopt for b (a
  // key without '=' is not a parameter). Thread-safe; allocates the result; never throws except
  // std::bad_alloc.
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

// Called on one of the server's handler threads, possibly concurrently with itself: a handler
// must be thread-safe. An exception escaping a handler turns into a 500 response. A handler that
// blocks holds one handler thread; connections and other requests keep being served.
using Handler = std::function<Response(const Request&)>;

// Who may call a route.
enum class Access {
  // Public for GET and HEAD, except paths under /debug/ and /api/ on an exposed server (see
  // Request::exposed), which need the admin token; every other method (a mutation) needs the
  // admin token.
  kDefault,
  kPublic,      // anyone, any accepted method (probes, /metrics)
  kAdminToken,  // only requests with the admin token
};

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
  // Who may call it. A request that needs the token and lacks it gets 401 (403 when the server
  // has no admin token configured); the handler is not called.
  Access access = Access::kDefault;
};

// Which requests get a SERVER span (vigil::trace::HttpServerMiddleware, see
// vigil/trace/http_server.h): a request with a traceparent header continues the caller's trace.
// The header the built-in dashboard sets on its API requests (any value), so that its polling
// is counted in the admin metrics but not traced under TraceRequests::kApi.
inline constexpr std::string_view kDashboardRequestHeader = "X-Vigil-Dashboard";

enum class TraceRequests : uint8_t {
  kNone,  // no spans
  // Every route except the high-volume noise of scrapes and probes: /metrics, /health,
  // /health/*, /healthz, /livez, /readyz, the dashboard's page and files (/, /dashboard,
  // /dashboard/*), /debug/tracez (looking at traces must not fill the view with spans of
  // looking), and the dashboard's own queries (requests carrying kDashboardRequestHeader).
  // The default.
  kApi,
  kAll,  // every request that reaches a handler (and the index page)
};

struct ServerOptions {
  // "host:port" to listen on. host is an IPv4 address, "localhost", "[IPv6 address]" or empty
  // (":9464" or "9464": every IPv4 interface). Port 0 picks a free port; port() tells which.
  std::string listen = "127.0.0.1:9464";
  // Handler threads: requests are parsed and answered by one event-driven I/O thread, and
  // handlers run on this many threads. 1 to 256.
  int threads = 4;
  // Request bodies larger than this get 413 Payload Too Large at once (the body is not awaited);
  // the handler is not called.
  std::size_t max_request_body_bytes = std::size_t{1} << 20;
  // The request line and headers together: larger gets 431.
  std::size_t max_header_bytes = 16 * 1024;
  // More header fields than this gets 431.
  std::size_t max_header_count = 100;
  // Time from the first byte of a request to the end of its headers; later gets 408 and the
  // connection is closed (slowloris clients).
  std::chrono::milliseconds header_timeout{5000};
  // Time a keep-alive connection may wait for its next request; then it is closed.
  std::chrono::milliseconds idle_timeout{60000};
  // Time allowed to receive a request body, and to send a response.
  std::chrono::milliseconds request_timeout{10000};
  // Open connections at most. A new connection beyond it closes the connection that has waited
  // longest for (or in the middle of receiving) a request; when every connection has a request
  // being handled, the new one gets 503. Each connection takes a file descriptor: start() raises
  // the process's soft RLIMIT_NOFILE towards the hard limit when needed, and lowers this limit
  // when it cannot.
  std::size_t max_connections = 4096;
  // Open connections at most from one client address (0: no limit). Beyond it the same rule as
  // max_connections applies among that address's connections. Off by default: eviction at
  // max_connections already keeps new clients served, and a limit per address also sheds the
  // well-behaved clients that share an address with a flood (NAT, a node's kubelet).
  std::size_t max_connections_per_client = 0;
  // Requests waiting for a handler thread at most; beyond it 503 Service Unavailable.
  std::size_t max_queued_requests = 1024;
  // Access control list: comma-separated "[+|-]IPv4[/bits]" entries, the last match wins, e.g.
  // "-0.0.0.0/0,+127.0.0.1". Connections from addresses it denies are closed without a
  // response. Empty allows every address. IPv6 clients are allowed unless the list has an entry
  // "-::/0" (only that IPv6 entry is understood).
  std::string access_control_list;
  // The admin token: requests carrying "Authorization: Bearer <token>" are authenticated (see
  // Access and Request::authenticated). Empty: no token (routes that need one answer 403).
  std::string admin_token;
  // When false, paths under /debug/ and /api/ stay public on an exposed server (Access::kDefault).
  bool protect_when_exposed = true;
  // HTTPS: a PEM file with the server's certificate chain (and its private key unless
  // tls_private_key is set). Empty serves plain HTTP. Uses the system's OpenSSL (TLS 1.2+).
  std::string tls_certificate;
  std::string tls_private_key;
  // A PEM file of CA certificates: clients must present a certificate signed by one of them
  // (mutual TLS). Empty: no client certificate is asked for.
  std::string tls_client_ca;
  // Gzip response bodies of at least gzip_min_bytes for clients whose Accept-Encoding accepts it.
  bool enable_gzip = true;
  std::size_t gzip_min_bytes = 1024;
  // When set, the server counts and times its own requests in this registry:
  // vigil_admin_http_requests_total{method,route,code},
  // vigil_admin_http_request_duration_seconds{method,route}, vigil_admin_http_active_requests,
  // vigil_admin_http_connections (open), vigil_admin_http_connections_accepted_total and
  // vigil_admin_http_rejected_total{reason}. The route label is the registered path (or
  // "unmatched"). The registry must outlive the server. nullptr: none.
  metrics::Registry* self_metrics = nullptr;
  // Server spans for the requests TraceRequests selects, named "METHOD route" with the HTTP
  // semantic-convention attributes; their trace id is the exemplar of
  // vigil_admin_http_request_duration_seconds (OpenMetrics). Requests refused before their
  // handler (401, 405, 413, ...) are counted but get no span. Costs nothing measurable while
  // tracing is not set up (a no-op provider).
  TraceRequests trace_requests = TraceRequests::kApi;
  // The tracer of those spans; null: vigil::trace::instrumentation_tracer() (the global
  // provider's). Must outlive the server.
  trace::Tracer* tracer = nullptr;
};

// What the server has done since it was constructed (counts survive stop() and start()).
struct ServerStats {
  uint64_t connections_accepted = 0;
  uint64_t connections_open = 0;
  uint64_t requests = 0;  // requests answered by a handler (any status)
  // Rejections and drops, each counted once:
  uint64_t header_timeouts = 0;      // 408: headers not received within header_timeout
  uint64_t idle_timeouts = 0;        // keep-alive connections closed after idle_timeout
  uint64_t request_timeouts = 0;     // body or response not transferred within request_timeout
  uint64_t evicted = 0;              // idle or slow connections closed to admit a new one
  uint64_t refused_connections = 0;  // 503: no connection could be evicted
  uint64_t denied_connections = 0;   // closed by the access control list
  uint64_t bad_requests = 0;         // 400 (malformed request) and 417
  uint64_t headers_too_large = 0;    // 431
  uint64_t bodies_too_large = 0;     // 413
  uint64_t queue_full = 0;           // 503: max_queued_requests reached
  uint64_t unauthorized = 0;         // 401 and 403
  uint64_t tls_handshake_failures = 0;
};

// The admin server. Thread-safety: every member function may be called from any thread, also
// concurrently; start() and stop() serialize with each other. Do not call stop() or the
// destructor from inside a handler (they wait for the handlers to finish).
class Server {
 public:
  // Validates `options` (threads, listen syntax, timeouts, limits, access control list, TLS files
  // readable and valid); does not open any socket.
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

  // Opens the listening socket and starts the I/O thread and the handler threads. Throws
  // vigil::Error when already running, or when the server cannot start, with a message naming the
  // address and the reason, e.g. "admin server: cannot listen on 127.0.0.1:9464: address already in
  // use". A failed start() leaves no thread or socket behind and may be retried. Thread-safe. Cost:
  // threads + 1 thread creations and a bind.
  void start();

  // Closes the listening socket and every connection, waits for running handlers to return and
  // joins every thread the server created. Idempotent; a stopped server can be started again.
  // Thread-safe; never throws. Cost: about a millisecond plus the time running handlers take to
  // return.
  void stop() noexcept;

  // Whether start() succeeded and stop() has not been called since. Thread-safe; never throws.
  bool running() const noexcept;

  // The bound TCP port while running (useful with port 0); 0 when not running.
  // Thread-safe; never throws.
  uint16_t port() const noexcept;

  // Counts since construction. Thread-safe; never throws.
  ServerStats stats() const noexcept;

  // "http://HOST:PORT" (https with a TLS certificate) to reach the server from this machine;
  // HOST is 127.0.0.1 when listening on every interface. Empty when not running.
  // Thread-safe; allocates.
  std::string url() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::admin
