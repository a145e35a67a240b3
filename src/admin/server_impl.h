// Private to vigil::admin: the admin server's implementation (Server::Impl, server.cc) and the
// part of a connection its registry sees (Connection); the connections themselves are Sessions
// (session.h, session.cc). One event-driven I/O pool (Boost.Asio) owns every connection; the
// handlers run on a separate thread pool.
//
// Thread safety: as each member says; "I/O thread" members run on the connection's strand.
#pragma once

#include <array>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "listen_address.h"
#include "request_checks.h"
#include "router.h"
#include "vigil/admin/server.h"
#include "vigil/metrics/counter.h"
#include "vigil/metrics/gauge.h"
#include "vigil/metrics/http_metrics.h"
#include "vigil/trace/http_server.h"

namespace vigil::admin {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace detail {

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

}  // namespace detail
using detail::Reject;

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
  // The request middleware (metrics and spans); null when the server records neither.
  trace::HttpServerMiddleware* middleware() noexcept {
    return middleware_ ? &*middleware_ : nullptr;
  }
  metrics::HttpServerMetrics* http_metrics() noexcept {
    return middleware_ ? middleware_->metrics() : nullptr;
  }
  // Whether requests for `route` (null: unmatched or the index page) get a span
  // (ServerOptions::trace_requests). Never throws.
  bool traced(const detail::Route* route, const Request& request) const noexcept;
  std::string_view scheme() const noexcept { return tls_ ? "https" : "http"; }
  std::string_view host() const noexcept { return address_.url_host; }

  // Connection registry (any thread; guarded by conns_mu_).
  void register_connection(const std::shared_ptr<Connection>& c);
  void unregister_connection(Connection* c) noexcept;
  void touch(Connection* c, bool evictable) noexcept;

 private:
  void do_accept();
  void on_accept(const boost::system::error_code& ec, tcp::socket socket);
  // Creates, registers and starts the Session of an admitted connection (session.cc), over TLS
  // or plain TCP. Each Session instantiation is in its own file (session_tls.cc,
  // session_plain.cc): Beast's templates made one file with both the slowest to compile in the
  // tree (75 s in Release, 250 s under ASan), split so two cores share it.
  void start_session(std::string address, tcp::socket socket);
  void start_plain_session(std::string address, tcp::socket socket);
  void start_tls_session(std::string address, tcp::socket socket);
  // Makes room for a connection from `address`: true when there is room (possibly after closing
  // an idle or slow connection), false when every candidate is busy.
  bool admit(const std::string& address);

  const ServerOptions options_;
  detail::ListenAddress address_;
  detail::AccessControlList acl_;
  detail::Router router_;
  std::optional<ssl::context> tls_;
  std::optional<trace::HttpServerMiddleware> middleware_;
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

}  // namespace vigil::admin
