// Admin server (issue 8): throughput, latency and memory of the embedded HTTP server, side by
// side with the servers it could be or could be replaced by, in one binary.
//
//   build/release/bench/admin_server_bench                      # every row (about 2 minutes)
//   build/release/bench/admin_server_bench --benchmark_filter=metrics/mhd
//   VIGIL_BENCH_WINDOW_SECONDS=5 build/release/bench/admin_server_bench   # longer windows
//   build/release/bench/admin_server_bench --serve=mhd --port=9464        # just serve (for
//                                                                         # admin_slowloris)
//
// Servers (each serves the same registry and the same health handler):
//   vigil     vigil::admin::Server (default options) with add_metrics_endpoint and
//             add_health_endpoints: whatever server implementation is linked (civetweb with 4
//             worker threads before issue 8; Boost.Beast, one I/O thread + 4 handler threads,
//             after).
//   civetweb  plain civetweb 1.15 (mg_start + mg_set_request_handler) configured like vigil's
//             civetweb server was: 4 worker threads, keep-alive, tcp_nodelay. It stands in for
//             "the admin server before issue 8" once civetweb leaves src/admin.
//   promcpp   prometheus-cpp 1.0.1's Exposer (civetweb inside, its default 2 threads) on a
//             prometheus-cpp registry of the same families and series. /metrics only.
//   mhd       libmicrohttpd prototype: epoll, a pool of 4 polling threads (as many as vigil's
//             workers), the same handlers.
//   mhd1      the same with one epoll thread (MHD_USE_EPOLL_INTERNAL_THREAD).
//             Both: connection limit 60,000 (VIGIL_BENCH_MHD_CONNECTION_LIMIT=0: MHD's default,
//             FD_SETSIZE - 4), VIGIL_BENCH_MHD_MEMORY_LIMIT=bytes per connection (default 32 KiB),
//             /debug/sleep (blocks 1 s) and /debug/sleep-async (suspend/resume) for
//             bench/admin_slow_handler_check.sh. civetweb has /debug/sleep too.
//
// Rows:
//   <endpoint>/<server>/clients:N   N client threads, each with one keep-alive connection (Boost
//       Beast's synchronous http::write/http::read, no Accept-Encoding, so nothing is gzipped),
//       sending requests back to back for a window (2 s; VIGIL_BENCH_WINDOW_SECONDS). Counters:
//       rps (responses completed in the window / window), p50_us and p99_us (latency of each
//       request from write to the whole response read), errors (non-200 or I/O errors),
//       starved_clients (clients that got no response at all in the window: a thread-per-
//       connection server with fewer threads than clients), cut (requests still unanswered
//       when the window plus 1 s grace ended; their sockets are shut down). A server that
//       closes after each response (promcpp) is reconnected; the connect is in the latency.
//   idle_memory/<server>   opens 500 connections (non-blocking connects; `connections`: how
//       many were established within 1 s) that each send one GET /health/live and then stay
//       open and idle; 1 s later, RSS growth of this process (server and client share it;
//       client sockets are kernel memory, not RSS) per established connection: rss_per_conn_B.
//       answered: how many got their response within that second.
//
// Client and servers share the machine (and with 2 cores, the cores): compare rows within one
// run. The registry is the demo's (demo/gateway_metrics.cc plus what demo/main.cc adds: build
// info, a callback gauge, the process collector), with every series the simulator creates
// recorded once; the prometheus-cpp registry has the same families and series (no process
// metrics).
#include <benchmark/benchmark.h>
#include <civetweb.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "demo_registry.h"
#include "gateway_metrics.h"  // demo/
#include "vigil/admin/health_endpoints.h"
#include "vigil/admin/metrics_endpoint.h"
#include "vigil/admin/server.h"
#include "vigil/health/heartbeat.h"
#include "vigil/health/monitor.h"
#include "vigil/health/report.h"
#include "vigil/health/resource_checks.h"
#include "vigil/metrics/exposition.h"
#include "vigil/metrics/process_collector.h"
#include "vigil/metrics/registry.h"

#ifdef VIGIL_BENCH_PROMETHEUS_CPP
#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/summary.h>
#endif

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// ---------------------------------------------------------------------------------------------
// What every server serves.

// The demo's registry (bench/demo_registry.h) and its liveness checks.
struct DemoState : vigil::bench::DemoRegistry {
  vigil::health::Heartbeat heartbeat{std::chrono::hours(1)};
  std::unique_ptr<vigil::health::HealthMonitor> monitor;

  DemoState() {
    // The demo's liveness checks, refreshed in the background (as its readiness checks are),
    // so a probe reads the latest results: the rows measure the server, not check dispatch.
    monitor = std::make_unique<vigil::health::HealthMonitor>(
        vigil::health::HealthMonitorOptions{.service_id = "agent-gateway", .version = "0.1.0"});
    monitor->add_liveness_check(
        "dispatch_loop", heartbeat.check(),
        {.component_type = "component", .measurement = "heartbeat", .interval = 1s});
    monitor->add_liveness_check("process_memory", vigil::health::process_memory_check(),
                                {.component_type = "system", .measurement = "rss", .interval = 5s});
    monitor->liveness();  // waits for the first runs
  }

  // The handlers the non-vigil servers run: the same work as vigil's endpoints.
  std::string metrics_body() const {
    std::string out;
    vigil::metrics::serialize(registry, vigil::metrics::Format::kPrometheusText, out);
    return out;
  }
  std::pair<int, std::string> live() const {
    const vigil::health::HealthReport report = monitor->liveness();
    return {vigil::health::http_status(report.status), vigil::health::to_json(report)};
  }
};

DemoState& demo_state() {
  static DemoState* state = new DemoState();  // never destroyed: servers may outlive main's end
  return *state;
}

long env_long(const char* name, long fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atol(v) : fallback;
}

constexpr const char* kMetricsType = "text/plain; version=0.0.4; charset=utf-8";

// ---------------------------------------------------------------------------------------------
// Servers.

class BenchServer {
 public:
  virtual ~BenchServer() = default;
  virtual uint16_t port() const = 0;
};

// The idle_memory rows open 500 connections from 127.0.0.1: lift a per-client connection limit
// where the linked server has one (issue 8's server: 256 by default), so every connection stays.
template <class Options>
Options idle_options(Options o) {
  if constexpr (requires { o.max_connections_per_client; }) o.max_connections_per_client = 0;
  return o;
}

class VigilServer final : public BenchServer {
 public:
  explicit VigilServer(uint16_t port, bool many_connections = false)
      : server_(many_connections
                    ? idle_options(vigil::admin::ServerOptions{.listen = "127.0.0.1:" +
                                                                         std::to_string(port)})
                    : vigil::admin::ServerOptions{.listen = "127.0.0.1:" + std::to_string(port)}) {
    vigil::admin::add_metrics_endpoint(server_, demo_state().registry);
    vigil::admin::add_health_endpoints(server_, *demo_state().monitor);
    server_.start();
  }
  uint16_t port() const override { return server_.port(); }

 private:
  vigil::admin::Server server_;
};

class CivetwebServer final : public BenchServer {
 public:
  explicit CivetwebServer(uint16_t port) {
    mg_init_library(0);
    const std::string ports = "127.0.0.1:" + std::to_string(port);
    // vigil's civetweb configuration before issue 8 (src/admin/server.cc).
    const char* options[] = {"listening_ports",
                             ports.c_str(),
                             "num_threads",
                             "4",
                             "request_timeout_ms",
                             "10000",
                             "enable_keep_alive",
                             "yes",
                             "keep_alive_timeout_ms",
                             "5000",
                             "tcp_nodelay",
                             "1",
                             nullptr};
    mg_callbacks callbacks{};
    ctx_ = mg_start(&callbacks, nullptr, options);
    if (ctx_ == nullptr) throw std::runtime_error("civetweb: mg_start failed on " + ports);
    mg_set_request_handler(ctx_, "/metrics$", &CivetwebServer::metrics, nullptr);
    mg_set_request_handler(ctx_, "/health/live$", &CivetwebServer::live, nullptr);
    mg_set_request_handler(ctx_, "/debug/sleep$", &CivetwebServer::sleep, nullptr);
    mg_server_port p{};
    if (mg_get_server_ports(ctx_, 1, &p) < 1) throw std::runtime_error("civetweb: no port");
    port_ = static_cast<uint16_t>(p.port);
  }
  ~CivetwebServer() override {
    mg_stop(ctx_);
    mg_exit_library();
  }
  uint16_t port() const override { return port_; }

 private:
  static int send(mg_connection* conn, int status, const char* type, const std::string& body) {
    mg_response_header_start(conn, status);
    mg_response_header_add(conn, "Content-Type", type, -1);
    mg_response_header_add(conn, "Content-Length", std::to_string(body.size()).c_str(), -1);
    mg_response_header_send(conn);
    mg_write(conn, body.data(), body.size());
    return status;
  }
  static int metrics(mg_connection* conn, void*) {
    return send(conn, 200, kMetricsType, demo_state().metrics_body());
  }
  static int live(mg_connection* conn, void*) {
    auto [status, body] = demo_state().live();
    return send(conn, status, vigil::health::kHealthJsonContentType, body);
  }

  static int sleep(mg_connection* conn, void*) {  // a slow handler: blocks its worker 1 s
    std::this_thread::sleep_for(1s);
    return send(conn, 200, "text/plain", "slept\n");
  }

  mg_context* ctx_ = nullptr;
  uint16_t port_ = 0;
};

class MhdServer final : public BenchServer {
 public:
  // threads == 1: one epoll thread; > 1: a pool of that many epoll threads.
  MhdServer(uint16_t port, unsigned threads) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const unsigned flags =
        MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    // Connection limit: MHD's default is FD_SETSIZE - 4 (1020); the prototype raises it so idle
    // and slow connections cannot take every slot. VIGIL_BENCH_MHD_CONNECTION_LIMIT=0 keeps
    // MHD's default; VIGIL_BENCH_MHD_MEMORY_LIMIT sets the per-connection memory pool (MHD's
    // default 32 KiB). Inactivity timeout 10 s (vigil's request_timeout).
    std::vector<MHD_OptionItem> options;
    options.push_back({MHD_OPTION_SOCK_ADDR, 0, &addr});
    options.push_back({MHD_OPTION_CONNECTION_TIMEOUT, 10, nullptr});
    options.push_back(
        {MHD_OPTION_NOTIFY_COMPLETED, reinterpret_cast<intptr_t>(&MhdServer::completed), nullptr});
    const long limit = env_long("VIGIL_BENCH_MHD_CONNECTION_LIMIT", 60000);
    if (limit > 0) options.push_back({MHD_OPTION_CONNECTION_LIMIT, limit, nullptr});
    const long memory = env_long("VIGIL_BENCH_MHD_MEMORY_LIMIT", 0);
    if (memory > 0) options.push_back({MHD_OPTION_CONNECTION_MEMORY_LIMIT, memory, nullptr});
    if (threads > 1) options.push_back({MHD_OPTION_THREAD_POOL_SIZE, threads, nullptr});
    options.push_back({MHD_OPTION_END, 0, nullptr});
    daemon_ = MHD_start_daemon(flags, port, nullptr, nullptr, &MhdServer::access, nullptr,
                               MHD_OPTION_ARRAY, options.data(), MHD_OPTION_END);
    if (daemon_ == nullptr) throw std::runtime_error("libmicrohttpd: MHD_start_daemon failed");
    port_ = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT)->port;
  }
  ~MhdServer() override { MHD_stop_daemon(daemon_); }
  uint16_t port() const override { return port_; }

 private:
  static MHD_Result queue(MHD_Connection* conn, unsigned status, const char* type,
                          std::string body) {
    auto* owned = new std::string(std::move(body));
    MHD_Response* response = MHD_create_response_from_buffer_with_free_callback_cls(
        owned->size(), owned->data(), [](void* cls) { delete static_cast<std::string*>(cls); },
        owned);
    MHD_add_response_header(response, "Content-Type", type);
    const MHD_Result r = MHD_queue_response(conn, status, response);
    MHD_destroy_response(response);
    return r;
  }
  // A request handed to a thread of its own (/debug/sleep-async): the connection is suspended
  // meanwhile, so the polling thread serves other connections.
  struct Deferred {
    std::atomic<bool> done{false};
    std::string body;
  };
  static inline int started_marker = 0;

  static void completed(void*, MHD_Connection*, void** request_state, MHD_RequestTerminationCode) {
    if (*request_state != nullptr && *request_state != &started_marker) {
      delete static_cast<Deferred*>(*request_state);
    }
    *request_state = nullptr;
  }

  static MHD_Result access(void*, MHD_Connection* conn, const char* url, const char* method,
                           const char*, const char*, size_t*, void** request_state) {
    // The documented pattern: the first call only announces the request (headers read); a
    // response queued then makes libmicrohttpd close the connection after it (no keep-alive).
    if (*request_state == nullptr) {
      *request_state = &started_marker;
      return MHD_YES;
    }
    if (std::strcmp(method, "GET") != 0 && std::strcmp(method, "HEAD") != 0) {
      return queue(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", "405\n");
    }
    if (std::strcmp(url, "/metrics") == 0) {
      return queue(conn, MHD_HTTP_OK, kMetricsType, demo_state().metrics_body());
    }
    if (std::strcmp(url, "/health/live") == 0) {
      auto [status, body] = demo_state().live();
      return queue(conn, static_cast<unsigned>(status), vigil::health::kHealthJsonContentType,
                   std::move(body));
    }
    // For the "does a slow handler stall other connections" check (see bench/README.md):
    // /debug/sleep blocks the polling thread for 1 s; /debug/sleep-async suspends the
    // connection, sleeps on another thread, then resumes it and answers on the next call.
    if (std::strcmp(url, "/debug/sleep") == 0) {
      std::this_thread::sleep_for(1s);
      return queue(conn, MHD_HTTP_OK, "text/plain", "slept\n");
    }
    if (std::strcmp(url, "/debug/sleep-async") == 0) {
      if (*request_state == &started_marker) {
        auto* d = new Deferred();
        *request_state = d;
        MHD_suspend_connection(conn);
        std::thread([conn, d] {
          std::this_thread::sleep_for(1s);
          d->body = "slept\n";
          d->done.store(true, std::memory_order_release);
          MHD_resume_connection(conn);
        }).detach();
        return MHD_YES;
      }
      auto* d = static_cast<Deferred*>(*request_state);
      if (!d->done.load(std::memory_order_acquire)) return MHD_YES;
      return queue(conn, MHD_HTTP_OK, "text/plain", d->body);
    }
    return queue(conn, MHD_HTTP_NOT_FOUND, "text/plain", "404\n");
  }

  MHD_Daemon* daemon_ = nullptr;
  uint16_t port_ = 0;
};

#ifdef VIGIL_BENCH_PROMETHEUS_CPP
// The demo's families and series in prometheus-cpp.
std::shared_ptr<prometheus::Registry> prometheus_registry() {
  static std::shared_ptr<prometheus::Registry> reg = [] {
    using namespace prometheus;
    using vigil::demo::kCaches;
    using vigil::demo::kModels;
    using vigil::demo::kPipelines;
    using vigil::demo::kProviders;
    using vigil::demo::kTools;
    auto r = std::make_shared<Registry>();
    auto s = [](std::string_view v) { return std::string(v); };
    BuildGauge()
        .Name("agent_gateway_build_info")
        .Help("Build of the simulated agent gateway")
        .Register(*r)
        .Add({{"version", "0.1.0"}, {"compiler", "gcc-12.2.0"}, {"build_type", "Release"}})
        .Set(1);
    auto& requests = BuildCounter()
                         .Name("agent_requests_total")
                         .Help("Agent requests handled by the gateway")
                         .Register(*r);
    auto& tool_calls =
        BuildCounter().Name("tool_executions_total").Help("Tool executions").Register(*r);
    auto& runs = BuildCounter().Name("pipeline_runs_total").Help("Pipeline runs").Register(*r);
    auto& steps = BuildCounter().Name("pipeline_steps_total").Help("Pipeline steps").Register(*r);
    // The production collector's families (docs/collectors.md).
    auto& tokens =
        BuildHistogram().Name("gen_ai_client_token_usage").Help("Tokens used").Register(*r);
    auto& cost =
        BuildCounter().Name("gen_ai_client_cost_dollars_total").Help("LLM spend").Register(*r);
    auto& llm = BuildHistogram()
                    .Name("gen_ai_client_operation_duration_seconds")
                    .Help("LLM call latency")
                    .Register(*r);
    const Histogram::BucketBoundaries llm_b = {0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60};
    Histogram::BucketBoundaries token_b;
    for (double b = 1; token_b.size() < 14; b *= 4) token_b.push_back(b);
    for (const auto& m : kModels) {
      const std::string sys = s(m.provider), model = s(m.model);
      tokens
          .Add({{"gen_ai_system", sys},
                {"gen_ai_request_model", model},
                {"gen_ai_token_type", "input"}},
               token_b)
          .Observe(812);
      tokens
          .Add({{"gen_ai_system", sys},
                {"gen_ai_request_model", model},
                {"gen_ai_token_type", "output"}},
               token_b)
          .Observe(230);
      cost.Add({{"gen_ai_system", sys}, {"gen_ai_request_model", model}}).Increment(0.0123);
      auto& h = llm.Add({{"http_route", "/v1/chat/completions"},
                         {"gen_ai_system", sys},
                         {"gen_ai_request_model", model},
                         {"error_type", ""}},
                        llm_b);
      for (double v : {0.3, 0.7, 1.9, 6.0}) h.Observe(v);
      for (const char* st : {"success", "error", "timeout", "rate_limited"}) {
        requests
            .Add({{"provider", s(m.provider)},
                  {"model", s(m.model)},
                  {"status", st},
                  {"version", "v1"}})
            .Increment();
      }
    }
    auto& req_d = BuildHistogram()
                      .Name("agent_request_duration_seconds")
                      .Help("End-to-end latency")
                      .Register(*r);
    for (const auto& p : kProviders) {
      const Histogram::BucketBoundaries b = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80};
      req_d.Add({{"provider", s(p)}, {"version", "v1"}}, b).Observe(1.2);
      req_d.Add({{"provider", s(p)}, {"version", "v2"}}, b);
    }
    auto& tpr =
        BuildHistogram().Name("llm_tokens_per_request").Help("Tokens per request").Register(*r);
    Histogram::BucketBoundaries tpr_b;
    for (double b = 64; b <= 32768; b *= 2) tpr_b.push_back(b);
    tpr.Add({{"kind", "prompt"}}, tpr_b).Observe(900);
    tpr.Add({{"kind", "completion"}}, tpr_b).Observe(250);
    Histogram::BucketBoundaries qw_b;
    for (double b = 0.0001, i = 0; i < 9; b *= 4, ++i) qw_b.push_back(b);
    BuildHistogram()
        .Name("agent_queue_wait_seconds")
        .Help("Queue wait")
        .Register(*r)
        .Add({}, qw_b)
        .Observe(0.0003);
    auto& tool_l =
        BuildSummary().Name("tool_execution_duration_seconds").Help("Tool latency").Register(*r);
    for (const auto& t : kTools) {
      auto& sm = tool_l.Add({{"tool", s(t.name)}},
                            Summary::Quantiles{{0.5, 0.05}, {0.9, 0.01}, {0.99, 0.001}}, 60s, 6);
      for (double v : {0.01, 0.2, 0.5}) sm.Observe(v);
      for (const char* st : {"success", "error", "timeout"}) {
        tool_calls.Add({{"tool", s(t.name)}, {"status", st}}).Increment();
      }
    }
    auto& hits = BuildCounter().Name("cache_hits_total").Help("Cache hits").Register(*r);
    auto& misses = BuildCounter().Name("cache_misses_total").Help("Cache misses").Register(*r);
    auto& ev = BuildCounter().Name("cache_evictions_total").Help("Evictions").Register(*r);
    auto& entries = BuildGauge().Name("cache_entries").Help("Entries").Register(*r);
    for (const auto& c : kCaches) {
      hits.Add({{"cache", s(c)}}).Increment(10);
      misses.Add({{"cache", s(c)}}).Increment(3);
      ev.Add({{"cache", s(c)}}).Increment(1);
      entries.Add({{"cache", s(c)}}).Set(100);
    }
    auto& pd =
        BuildHistogram().Name("pipeline_run_duration_seconds").Help("Pipeline runs").Register(*r);
    auto& sd =
        BuildHistogram().Name("pipeline_step_duration_seconds").Help("Pipeline steps").Register(*r);
    for (const auto& p : kPipelines) {
      pd.Add({{"pipeline", s(p.name)}}, Histogram::BucketBoundaries{0.5, 1, 2, 4, 8, 15, 30, 60})
          .Observe(3);
      for (const auto& st : p.steps) {
        sd.Add({{"pipeline", s(p.name)}, {"step", s(st.name)}},
               Histogram::BucketBoundaries{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16})
            .Observe(0.2);
        for (const char* x : {"success", "error"}) {
          steps.Add({{"pipeline", s(p.name)}, {"step", s(st.name)}, {"status", x}}).Increment();
        }
      }
      for (const char* x : {"completed", "failed"}) {
        runs.Add({{"pipeline", s(p.name)}, {"status", x}}).Increment();
      }
    }
    BuildGauge().Name("agent_active_requests").Help("Active").Register(*r).Add({}).Set(3);
    BuildGauge().Name("agent_queue_depth").Help("Queue").Register(*r).Add({}).Set(1);
    BuildGauge().Name("pipeline_runs_in_progress").Help("Runs").Register(*r).Add({}).Set(1);
    BuildGauge().Name("agent_worker_utilization_ratio").Help("Util").Register(*r).Add({}).Set(0.5);
    BuildCounter()
        .Name("agent_requests_rejected_total")
        .Help("Rejected")
        .Register(*r)
        .Add({{"reason", "queue_full"}})
        .Increment();
    return r;
  }();
  return reg;
}

class PromcppServer final : public BenchServer {
 public:
  explicit PromcppServer(uint16_t port) : exposer_("127.0.0.1:" + std::to_string(port)) {
    exposer_.RegisterCollectable(prometheus_registry());
    port_ = static_cast<uint16_t>(exposer_.GetListeningPorts().at(0));
  }
  uint16_t port() const override { return port_; }

 private:
  prometheus::Exposer exposer_;
  uint16_t port_ = 0;
};
#endif

std::unique_ptr<BenchServer> make_server(const std::string& name, uint16_t port = 0,
                                         bool many_connections = false) {
  if (name == "vigil") return std::make_unique<VigilServer>(port, many_connections);
  if (name == "civetweb") return std::make_unique<CivetwebServer>(port);
  if (name == "mhd") return std::make_unique<MhdServer>(port, 4);
  if (name == "mhd1") return std::make_unique<MhdServer>(port, 1);
#ifdef VIGIL_BENCH_PROMETHEUS_CPP
  if (name == "promcpp") return std::make_unique<PromcppServer>(port);
#endif
  throw std::runtime_error("unknown server " + name);
}

// ---------------------------------------------------------------------------------------------
// Load client.

struct LoadResult {
  std::vector<float> latency_us;  // requests completed within the window
  uint64_t errors = 0;
  uint64_t cut = 0;
  uint64_t starved_clients = 0;
  uint64_t reconnects = 0;
};

// One client: one keep-alive connection, requests back to back until `stop`.
class Client {
 public:
  Client(uint16_t port, std::string target)
      : endpoint_(asio::ip::make_address_v4("127.0.0.1"), port) {
    request_.method(http::verb::get);
    request_.target(target);
    request_.version(11);
    request_.set(http::field::host, "127.0.0.1:" + std::to_string(port));
    request_.keep_alive(true);
  }

  bool connect() {
    {
      std::lock_guard lock(mu_);
      if (forced_) return false;
      socket_ = std::make_unique<tcp::socket>(ioc_);
      socket_->open(tcp::v4());
      fd_ = socket_->native_handle();
    }
    boost::system::error_code ec;
    socket_->connect(endpoint_, ec);
    if (ec) return false;
    socket_->set_option(tcp::no_delay(true), ec);
    buffer_.clear();
    reused_ = false;
    return true;
  }

  // Runs until stop; records latencies of responses completed before `deadline`.
  void run(const std::atomic<bool>& go, const std::atomic<bool>& stop,
           Clock::time_point* deadline) {
    bool connected = connect();
    while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
    while (!stop.load(std::memory_order_relaxed)) {
      const Clock::time_point t0 = Clock::now();
      if (!connected && !(connected = connect())) {
        if (forced()) break;
        ++errors;
        std::this_thread::sleep_for(1ms);
        continue;
      }
      boost::system::error_code ec;
      http::response<http::string_body> response;
      const bool reused = reused_;
      exchange(response, ec);
      if (ec && reused && !forced() && !stop.load(std::memory_order_relaxed)) {
        // The server closed a kept-alive connection without saying so (prometheus-cpp's
        // Exposer answers HTTP/1.1 without "Connection: close" and then closes): what HTTP
        // clients do is retry an idempotent request once on a new connection. The latency
        // keeps the failed attempt.
        ++reconnects;
        close();
        if (connect()) {
          response = {};
          exchange(response, ec);
        }
      }
      if (ec) {
        if (forced()) {
          ++cut;
          break;
        }
        ++errors;
        close();
        connected = false;
        continue;
      }
      const Clock::time_point t1 = Clock::now();
      if (response.result_int() != 200 || response.body().empty()) {
        ++errors;
      } else if (t1 <= *deadline) {
        latency_us.push_back(
            static_cast<float>(std::chrono::duration<double, std::micro>(t1 - t0).count()));
      }
      if (!response.keep_alive()) {
        close();
        connected = false;
      }
    }
    close();
  }

  void exchange(http::response<http::string_body>& response, boost::system::error_code& ec) {
    http::write(*socket_, request_, ec);
    if (!ec) http::read(*socket_, buffer_, response, ec);
    reused_ = true;
  }

  // From another thread: wakes a client blocked on its socket.
  void force_stop() {
    std::lock_guard lock(mu_);
    forced_ = true;
    if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
  }

  std::vector<float> latency_us;
  uint64_t errors = 0;
  uint64_t cut = 0;
  uint64_t reconnects = 0;

 private:
  bool forced() {
    std::lock_guard lock(mu_);
    return forced_;
  }
  void close() {
    std::lock_guard lock(mu_);
    if (socket_) {
      boost::system::error_code ec;
      socket_->close(ec);
    }
    fd_ = -1;
  }

  asio::io_context ioc_;
  tcp::endpoint endpoint_;
  std::unique_ptr<tcp::socket> socket_;
  beast::flat_buffer buffer_;
  http::request<http::empty_body> request_;
  std::mutex mu_;
  int fd_ = -1;
  bool forced_ = false;
  bool reused_ = false;  // a request went over this connection already
};

LoadResult run_load(uint16_t port, const std::string& target, int clients, double seconds) {
  std::vector<std::unique_ptr<Client>> cs;
  for (int i = 0; i < clients; ++i) cs.push_back(std::make_unique<Client>(port, target));
  std::atomic<bool> go{false};
  std::atomic<bool> stop{false};
  std::atomic<int> done{0};
  std::mutex mu;
  std::condition_variable cv;
  Clock::time_point deadline = Clock::time_point::max();
  std::vector<std::thread> threads;
  for (auto& c : cs) {
    threads.emplace_back([&, client = c.get()] {
      client->run(go, stop, &deadline);
      std::lock_guard lock(mu);
      ++done;
      cv.notify_all();
    });
  }
  std::this_thread::sleep_for(100ms);  // let every client connect
  deadline = Clock::now() +
             std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  go.store(true, std::memory_order_release);
  std::this_thread::sleep_until(deadline);
  stop.store(true);
  {
    std::unique_lock lock(mu);
    cv.wait_for(lock, 1s, [&] { return done.load() == clients; });
  }
  for (auto& c : cs) c->force_stop();
  for (auto& t : threads) t.join();
  LoadResult result;
  for (auto& c : cs) {
    if (c->latency_us.empty()) ++result.starved_clients;
    result.latency_us.insert(result.latency_us.end(), c->latency_us.begin(), c->latency_us.end());
    result.errors += c->errors;
    result.cut += c->cut;
    result.reconnects += c->reconnects;
  }
  return result;
}

double percentile(std::vector<float>& v, double q) {
  if (v.empty()) return 0;
  const size_t k = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

double window_seconds() {
  const char* env = std::getenv("VIGIL_BENCH_WINDOW_SECONDS");
  const double s = env != nullptr ? std::atof(env) : 2.0;
  return s > 0 ? s : 2.0;
}

void BM_Load(benchmark::State& state, const std::string& server_name, const std::string& target,
             int clients) {
  std::unique_ptr<BenchServer> server = make_server(server_name);
  const double seconds = window_seconds();
  for (auto _ : state) {
    LoadResult r = run_load(server->port(), target, clients, seconds);
    state.SetIterationTime(seconds);
    const double n = static_cast<double>(r.latency_us.size());
    state.counters["rps"] = n / seconds;
    state.counters["p50_us"] = percentile(r.latency_us, 0.50);
    state.counters["p99_us"] = percentile(r.latency_us, 0.99);
    state.counters["errors"] = static_cast<double>(r.errors);
    state.counters["starved_clients"] = static_cast<double>(r.starved_clients);
    state.counters["cut"] = static_cast<double>(r.cut);
    state.counters["retried"] = static_cast<double>(r.reconnects);
  }
}

// ---------------------------------------------------------------------------------------------
// Memory per idle connection.

size_t rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  size_t pages = 0;
  size_t resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

void BM_IdleMemory(benchmark::State& state, const std::string& server_name) {
  constexpr int kConnections = 500;
  std::unique_ptr<BenchServer> server = make_server(server_name, 0, /*many_connections=*/true);
  // Warm up: each endpoint served a few times, so lazily built state exists before the baseline.
  run_load(server->port(), "/metrics", 2, 0.2);
  run_load(server->port(), "/health/live", 2, 0.2);
  for (auto _ : state) {
    std::this_thread::sleep_for(200ms);
    const size_t before = rss_bytes();
    std::vector<int> fds;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(server->port());
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const std::string request = "GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    // Non-blocking connects: a server that stops accepting (a full accept queue) must not hang
    // the benchmark in connect(). Each connection sends its request once established.
    std::vector<pollfd> pending;
    for (int i = 0; i < kConnections; ++i) {
      const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      if (fd < 0) break;
      fds.push_back(fd);
      if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 &&
          errno != EINPROGRESS) {
        continue;
      }
      pending.push_back({fd, POLLOUT, 0});
    }
    int established = 0;
    const Clock::time_point connect_deadline = Clock::now() + 1s;
    while (!pending.empty() && Clock::now() < connect_deadline) {
      if (::poll(pending.data(), pending.size(), 50) <= 0) continue;
      std::vector<pollfd> still;
      for (const pollfd& p : pending) {
        if (p.revents == 0) {
          still.push_back({p.fd, POLLOUT, 0});
          continue;
        }
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(p.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err == 0 && ::send(p.fd, request.data(), request.size(), MSG_NOSIGNAL) > 0) {
          ++established;
        }
      }
      pending.swap(still);
    }
    std::this_thread::sleep_for(1s);
    const size_t after = rss_bytes();
    int answered = 0;
    for (int fd : fds) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 0) == 1 && (p.revents & POLLIN) != 0) {
        char buf[4096];
        if (::recv(fd, buf, sizeof buf, MSG_DONTWAIT) > 0) ++answered;
      }
    }
    state.SetIterationTime(1.0);
    state.counters["connections"] = established;
    state.counters["answered"] = answered;
    state.counters["rss_delta_kB"] =
        (static_cast<double>(after) - static_cast<double>(before)) / 1024;
    state.counters["rss_per_conn_B"] =
        (static_cast<double>(after) - static_cast<double>(before)) / std::max(established, 1);
    for (int fd : fds) ::close(fd);
  }
}

void raise_fd_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

// --serve=NAME [--port=N]: serve until SIGINT/SIGTERM; prints "PORT PID" on one line.
int serve(const std::string& name, uint16_t port) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::unique_ptr<BenchServer> server = make_server(name, port);
  std::cout << server->port() << " " << getpid() << std::endl;
  int sig = 0;
  sigwait(&set, &sig);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  raise_fd_limit();
  std::string serve_name;
  uint16_t serve_port = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--serve=", 0) == 0) serve_name = a.substr(8);
    if (a.rfind("--port=", 0) == 0) serve_port = static_cast<uint16_t>(std::stoi(a.substr(7)));
  }
  if (!serve_name.empty()) return serve(serve_name, serve_port);

  std::vector<std::string> servers = {"vigil", "civetweb", "mhd", "mhd1"};
  std::vector<std::string> metrics_servers = servers;
#ifdef VIGIL_BENCH_PROMETHEUS_CPP
  metrics_servers.insert(metrics_servers.begin() + 2, "promcpp");
#endif
  for (const auto& [endpoint, list] : {std::pair{std::string("/metrics"), metrics_servers},
                                       std::pair{std::string("/health/live"), servers}}) {
    for (const std::string& s : list) {
      for (int clients : {1, 8, 64}) {
        const std::string name =
            endpoint.substr(1) + "/" + s + "/clients:" + std::to_string(clients);
        benchmark::RegisterBenchmark(name.c_str(), BM_Load, s, endpoint, clients)
            ->Iterations(1)
            ->UseManualTime()
            ->Unit(benchmark::kMillisecond);
      }
    }
  }
  for (const std::string& s : servers) {
    benchmark::RegisterBenchmark(("idle_memory/" + s).c_str(), BM_IdleMemory, s)
        ->Iterations(1)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
