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
#include "server_impl.h"
#include "vigil/core/error.h"
#include "vigil/metrics/http_metrics.h"

namespace vigil::admin {

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

constexpr std::array<std::string_view, static_cast<std::size_t>(Reject::kCount)> kRejectNames = {
    "header_timeout", "idle_timeout", "request_timeout", "evicted",
    "refused",        "denied",       "bad_request",     "header_too_large",
    "body_too_large", "queue_full",   "unauthorized",    "tls_handshake"};

}  // namespace

// ---------------------------------------------------------------------------------------------
// Server::Impl (server_impl.h); its connections are Sessions (session.h)

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

  if (options_.self_metrics != nullptr || options_.trace_requests != TraceRequests::kNone) {
    middleware_.emplace(trace::HttpServerMiddlewareOptions{
        .tracer = options_.tracer,
        .registry = options_.self_metrics,
        .metrics = metrics::HttpServerMetricsOptions{.prefix = "vigil_admin_http"}});
  }
  if (options_.self_metrics != nullptr) {
    metrics::Registry& reg = *options_.self_metrics;
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
  start_session(std::move(address), std::move(socket));
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

bool Server::Impl::traced(const detail::Route* route, const Request& request) const noexcept {
  switch (options_.trace_requests) {
    case TraceRequests::kNone:
      return false;
    case TraceRequests::kAll:
      return true;
    case TraceRequests::kApi:
      break;
  }
  if (route == nullptr) return false;  // unmatched (404) and the index page
  // The dashboard's own polling (it marks its requests): a dashboard left open must not fill
  // /debug/tracez with its queries every few seconds.
  if (request.header(kDashboardRequestHeader).has_value()) return false;
  const std::string_view p = route->path;
  const auto under = [&](std::string_view dir) {
    return p == dir || (p.size() > dir.size() && p.starts_with(dir) && p[dir.size()] == '/');
  };
  return !(under("/metrics") || under("/health") || p == "/healthz" || p == "/livez" ||
           p == "/readyz" || p == "/" || under("/dashboard") || under("/debug/tracez"));
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
