// vigil::setup: environment-only set-up with an injected Environment, OTEL_SDK_DISABLED, the
// admin server on an ephemeral 127.0.0.1 port, bad values warned, option errors thrown, and the
// handle's destruction within its deadline against an OTLP endpoint that never answers.
#include "vigil/setup.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#ifdef VIGIL_TEST_SPDLOG
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>
#endif

#include "../admin/http_client.h"
#include "vigil/admin/server.h"
#include "vigil/core/error.h"
#include "vigil/exporters/metric_exporter.h"
#include "vigil/metrics/registry.h"
#include "vigil/trace/tracez.h"

namespace {

using vigil::admin::testing::http;
using Vars = std::map<std::string, std::string, std::less<>>;

struct Warnings {
  std::vector<std::string> list;
  vigil::trace::Environment env(Vars vars) {
    return vigil::trace::Environment(std::move(vars),
                                     [this](std::string_view w) { list.emplace_back(w); });
  }
  bool mentions(std::string_view text) const {
    for (const std::string& w : list) {
      if (w.find(text) != std::string::npos) return true;
    }
    return false;
  }
  std::string all() const {
    std::string out;
    for (const std::string& w : list) out += w + "\n";
    return out;
  }
};

std::string attribute(const vigil::trace::Resource& r, std::string_view key) {
  const vigil::trace::AttributeValue* v = r.get(key);
  return v != nullptr ? vigil::trace::to_string(*v) : "<absent>";
}

// A TCP port that accepts connections (the kernel completes the handshake into the backlog) and
// never answers a request: the worst kind of dead collector.
class BlackHole {
 public:
  BlackHole() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(fd_, 64), 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~BlackHole() { ::close(fd_); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST(Setup, FromTheEnvironmentAloneServesMetricsHealthAndTraces) {
  vigil::metrics::Registry registry;
  Warnings warnings;
  vigil::Telemetry telemetry =
      vigil::setup({.registry = &registry, .install_global_tracer_provider = false},
                   warnings.env({{"OTEL_SERVICE_NAME", "checkout"},
                                 {"OTEL_SERVICE_VERSION", "1.4.2"},
                                 {"ENVIRONMENT", "staging"},
                                 {"OTEL_RESOURCE_ATTRIBUTES", "service.instance.id=pod-7,team=pay"},
                                 {"VIGIL_ADMIN_LISTEN", "127.0.0.1:0"}}));
  EXPECT_TRUE(warnings.list.empty()) << warnings.all();
  ASSERT_TRUE(telemetry.enabled());

  // The resource.
  const vigil::trace::Resource& r = telemetry.resource();
  EXPECT_EQ(r.service_name(), "checkout");
  EXPECT_EQ(attribute(r, "service.version"), "1.4.2");
  EXPECT_EQ(attribute(r, "deployment.environment"), "staging");
  EXPECT_EQ(attribute(r, "service.instance.id"), "pod-7");
  EXPECT_EQ(attribute(r, "team"), "pay");
  EXPECT_EQ(telemetry.tracer_provider().resource().service_name(), "checkout");

  // Tracing: recording, named after the service, nothing exported without configuration.
  EXPECT_TRUE(telemetry.tracer().enabled());
  EXPECT_EQ(telemetry.tracer().scope().name, "checkout");
  EXPECT_EQ(telemetry.trace_export_description(),
            "none (set OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_TRACES_EXPORTER)");
  EXPECT_EQ(telemetry.metric_export(), nullptr);
  { vigil::trace::Span span = telemetry.tracer().start_span("checkout.pay"); }

  // The admin server on an ephemeral loopback port.
  ASSERT_TRUE(telemetry.server().running());
  const std::string url = telemetry.url();
  ASSERT_EQ(url.rfind("http://127.0.0.1:", 0), 0u) << url;
  EXPECT_NE(telemetry.server().port(), 9464);

  registry.counter("orders", "Orders placed").get().inc(3);
  const auto metrics = http("GET", url + "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("orders_total 3"), std::string::npos) << metrics.body;
  EXPECT_NE(metrics.body.find("process_cpu_seconds_total"), std::string::npos);

  EXPECT_EQ(http("GET", url + "/health/live").status, 200);
  EXPECT_EQ(http("GET", url + "/health/ready").status, 200);
  telemetry.health().add_readiness_check("database", [] { return false; });
  const auto ready = http("GET", url + "/health/ready");
  EXPECT_EQ(ready.status, 503);
  EXPECT_NE(ready.body.find("database"), std::string::npos) << ready.body;
  EXPECT_EQ(http("GET", url + "/health/live").status, 200);
  // The monitor and the server count themselves in the registry.
  const auto after = http("GET", url + "/metrics").body;
  EXPECT_NE(after.find("vigil_health_check_runs_total{check=\"database\""), std::string::npos)
      << after;
  EXPECT_NE(after.find("vigil_admin_http_requests_total{"), std::string::npos);

  const auto tracez = http("GET", url + "/debug/tracez");
  EXPECT_EQ(tracez.status, 200);
  EXPECT_NE(tracez.body.find("checkout.pay"), std::string::npos) << tracez.body;

  EXPECT_TRUE(telemetry.shutdown());
  EXPECT_FALSE(telemetry.server().running());
  EXPECT_TRUE(telemetry.shutdown());  // idempotent
}

TEST(Setup, OptionsAreDefaultsTheEnvironmentWins) {
  vigil::metrics::Registry registry;
  Warnings warnings;
  vigil::Telemetry telemetry = vigil::setup({.service_name = "from-code",
                                             .service_version = "0.1",
                                             .deployment_environment = "dev",
                                             .service_instance_id = "i-1",
                                             .registry = &registry,
                                             .process_metrics = false,
                                             .install_global_tracer_provider = false,
                                             .tracer_name = "my.lib",
                                             .admin_server = false},
                                            warnings.env({{"OTEL_SERVICE_VERSION", "0.2"}}));
  EXPECT_TRUE(warnings.list.empty()) << warnings.all();
  EXPECT_EQ(telemetry.resource().service_name(), "from-code");
  EXPECT_EQ(attribute(telemetry.resource(), "service.version"), "0.2");
  EXPECT_EQ(attribute(telemetry.resource(), "deployment.environment"), "dev");
  EXPECT_EQ(attribute(telemetry.resource(), "service.instance.id"), "i-1");
  EXPECT_EQ(telemetry.tracer().scope().name, "my.lib");
  EXPECT_EQ(telemetry.tracer().scope().version, "0.2");
  // No server: built, never started, never null.
  EXPECT_FALSE(telemetry.server().running());
  EXPECT_EQ(telemetry.url(), "");
  // No process metrics.
  for (const auto& f : registry.list()) EXPECT_EQ(f.name.rfind("process_", 0), std::string::npos);
  EXPECT_EQ(telemetry.health().liveness().status, vigil::health::Status::kPass);
}

TEST(Setup, SdkDisabledTurnsEverythingOffWithNoOpParts) {
  vigil::metrics::Registry registry;
  Warnings warnings;
  // install_global_tracer_provider stays true: nothing is installed when disabled.
  vigil::Telemetry telemetry =
      vigil::setup({.registry = &registry},
                   warnings.env({{"OTEL_SDK_DISABLED", "TRUE"},
                                 {"VIGIL_ADMIN_LISTEN", "127.0.0.1:0"},
                                 {"OTEL_METRICS_EXPORTER", "otlp"},
                                 {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9"}}));
  EXPECT_TRUE(warnings.list.empty()) << warnings.all();
  EXPECT_FALSE(telemetry.enabled());
  EXPECT_FALSE(telemetry.tracer().enabled());
  EXPECT_FALSE(telemetry.tracer_provider().enabled());
  EXPECT_FALSE(vigil::trace::global_provider().enabled());
  { vigil::trace::Span span = telemetry.tracer().start_span("nothing"); }
  EXPECT_FALSE(telemetry.server().running());
  EXPECT_EQ(telemetry.url(), "");
  EXPECT_EQ(telemetry.metric_export(), nullptr);
  EXPECT_EQ(registry.family_count(), 0u);  // nothing registered
  ASSERT_NE(telemetry.tracez(), nullptr);
  EXPECT_EQ(&telemetry.registry(), &registry);
  telemetry.health().add_liveness_check("ok", [] { return true; });  // usable
  EXPECT_TRUE(telemetry.shutdown());
}

TEST(Setup, BadEnvironmentValuesWarnAndUseDefaults) {
  vigil::metrics::Registry registry;
  Warnings warnings;
  vigil::Telemetry telemetry = vigil::setup(
      {.registry = &registry, .install_global_tracer_provider = false, .listen = "127.0.0.1:0"},
      warnings.env({{"OTEL_SDK_DISABLED", "maybe"},
                    {"VIGIL_SHUTDOWN_TIMEOUT", "soon"},
                    {"VIGIL_ADMIN_LISTEN", "127.0.0.1:http"},
                    {"VIGIL_PROCESS_METRICS", "perhaps"},
                    {"VIGIL_LOG_CORRELATION", "2"},
                    {"OTEL_TRACES_SAMPLER", "sometimes"},
                    {"OTEL_RESOURCE_ATTRIBUTES", "broken"},
                    {"OTEL_LOGS_EXPORTER", "carrier-pigeon"}}));
  for (const char* name : {"OTEL_SDK_DISABLED", "VIGIL_SHUTDOWN_TIMEOUT", "VIGIL_ADMIN_LISTEN",
                           "VIGIL_PROCESS_METRICS", "VIGIL_LOG_CORRELATION", "OTEL_TRACES_SAMPLER",
                           "OTEL_RESOURCE_ATTRIBUTES", "OTEL_LOGS_EXPORTER"}) {
    EXPECT_TRUE(warnings.mentions(name)) << name << " not warned about:\n" << warnings.all();
  }
  // The defaults: enabled, the options' listen address, process metrics on.
  EXPECT_TRUE(telemetry.enabled());
  ASSERT_TRUE(telemetry.server().running());
  EXPECT_EQ(http("GET", telemetry.url() + "/health/live").status, 200);
  const auto metrics = http("GET", telemetry.url() + "/metrics");
  EXPECT_NE(metrics.body.find("process_cpu_seconds_total"), std::string::npos);
}

TEST(Setup, MistakesInOptionsThrow) {
  vigil::metrics::Registry registry;
  Warnings warnings;
  const auto env = warnings.env({});
  EXPECT_THROW(vigil::setup({.registry = &registry,
                             .install_global_tracer_provider = false,
                             .shutdown_timeout = std::chrono::milliseconds(-1)},
                            env),
               vigil::Error);
  EXPECT_THROW(vigil::setup({.registry = &registry,
                             .process_metrics = false,
                             .install_global_tracer_provider = false,
                             .listen = "not an address"},
                            env),
               vigil::Error);
  // A name clash with what the registry holds.
  vigil::metrics::Registry taken;
  taken.gauge("process_resident_memory_bytes", "Something else");
  EXPECT_THROW(
      vigil::setup(
          {.registry = &taken, .install_global_tracer_provider = false, .admin_server = false},
          env),
      vigil::Error);
  // The address in use.
  vigil::Telemetry first = vigil::setup(
      {.registry = &registry, .install_global_tracer_provider = false, .listen = "127.0.0.1:0"},
      env);
  vigil::metrics::Registry other;
  EXPECT_THROW(vigil::setup({.registry = &other,
                             .install_global_tracer_provider = false,
                             .listen = "127.0.0.1:" + std::to_string(first.server().port())},
                            env),
               vigil::Error);
  EXPECT_TRUE(warnings.list.empty()) << warnings.all();
}

TEST(Setup, DestructionKeepsTheDeadlineWithADeadOtlpEndpoint) {
  BlackHole collector;
  vigil::metrics::Registry registry;
  Warnings warnings;
  std::vector<std::string> exporter_names;
  std::chrono::steady_clock::time_point destroyed_at;
  const auto started_destruction = [&] {
    vigil::Telemetry telemetry = vigil::setup(
        {.registry = &registry,
         .on_metric_exporter =
             [&](vigil::exporters::MetricExporter& e) { exporter_names.emplace_back(e.name()); },
         .install_global_tracer_provider = false,
         .admin_server = false},
        warnings.env({{"OTEL_EXPORTER_OTLP_ENDPOINT", collector.url()},
                      {"OTEL_METRICS_EXPORTER", "otlp"},
                      {"OTEL_EXPORTER_OTLP_TIMEOUT", "30000"},
                      {"OTEL_BSP_SCHEDULE_DELAY", "1"},
                      {"VIGIL_SHUTDOWN_TIMEOUT", "1"}}));
    EXPECT_EQ(telemetry.trace_export_description(), "otlp to " + collector.url());
    EXPECT_NE(telemetry.metric_export(), nullptr);
    EXPECT_EQ(telemetry.metric_export_description().rfind("otlp every", 0), 0u)
        << telemetry.metric_export_description();
    for (int i = 0; i < 100; ++i) {
      vigil::trace::Span span = telemetry.tracer().start_span("work");
    }
    registry.counter("jobs", "Jobs").get().inc();
    return std::chrono::steady_clock::now();
  }();
  destroyed_at = std::chrono::steady_clock::now();
  const double seconds = std::chrono::duration<double>(destroyed_at - started_destruction).count();
  // 1 s allowed; the exports in flight are aborted (their own timeout is 30 s).
#ifdef VIGIL_SANITIZED_TESTS
  constexpr double kSlack = 2.0;  // instrumented builds
#else
  constexpr double kSlack = 0.5;
#endif
  EXPECT_LT(seconds, 1.0 + kSlack) << "destruction took " << seconds << " s";
  EXPECT_EQ(exporter_names, std::vector<std::string>{"otlp"});
  EXPECT_TRUE(warnings.list.empty()) << warnings.all();
}

TEST(Setup, ServesTheDashboardWhenBuiltWithIt) {
  vigil::metrics::Registry registry;
  Warnings warnings;
  vigil::Telemetry telemetry = vigil::setup({.service_name = "gateway",
                                             .registry = &registry,
                                             .install_global_tracer_provider = false,
                                             .listen = "127.0.0.1:0"},
                                            warnings.env({}));
  const auto root = http("GET", telemetry.url() + "/");
  EXPECT_EQ(root.status, 200);
  EXPECT_NE(root.body.find("<html"), std::string::npos) << root.body.substr(0, 200);
}

#ifdef VIGIL_TEST_SPDLOG
TEST(Setup, LogLinesCarryTheCurrentSpanIds) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  auto logger = std::make_shared<spdlog::logger>("setup_test", sink);
  spdlog::register_logger(logger);
  vigil::metrics::Registry registry;
  Warnings warnings;
  vigil::Telemetry telemetry = vigil::setup({.registry = &registry,
                                             .install_global_tracer_provider = false,
                                             .log_pattern = "%v trace_id=%* span_id=%~",
                                             .admin_server = false},
                                            warnings.env({}));
  std::string trace_id;
  std::string span_id;
  {
    vigil::trace::Span span = telemetry.tracer().start_span("request");
    trace_id = span.trace_id().to_hex();
    span_id = span.span_id().to_hex();
    logger->info("routing");
  }
  logger->info("idle");
  logger->flush();
  spdlog::drop("setup_test");
  EXPECT_EQ(out.str(),
            "routing trace_id=" + trace_id + " span_id=" + span_id + "\nidle trace_id= span_id=\n");
}

// OTEL_LOGS_EXPORTER=otlp: a record logged through spdlog's default logger inside a span reaches
// the collector's /v1/logs with the span's ids and the set-up's service name; shutdown() flushes.
TEST(Setup, LogsShippedAsOtlpWithTheCurrentSpan) {
  std::mutex mu;
  std::vector<std::string> bodies;
  vigil::admin::Server collector({.listen = "127.0.0.1:0"});
  collector.handle("/v1/logs",
                   [&](const vigil::admin::Request& req) {
                     std::lock_guard lock(mu);
                     bodies.emplace_back(req.body);
                     return vigil::admin::Response{
                         .status = 200, .content_type = "application/json", .body = "{}"};
                   },
                   {.methods = {"POST"}, .access = vigil::admin::Access::kPublic});
  collector.start();
  vigil::metrics::Registry registry;
  Warnings warnings;
  std::string trace_id;
  {
    vigil::Telemetry telemetry = vigil::setup(
        {.service_name = "log-shipper",
         .registry = &registry,
         .install_global_tracer_provider = false,
         .admin_server = false},
        warnings.env({{"OTEL_LOGS_EXPORTER", "otlp"},
                      {"OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", collector.url() + "/v1/logs"},
                      {"OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "http/json"}}));
    {
      vigil::trace::Span span = telemetry.tracer().start_span("request");
      trace_id = span.trace_id().to_hex();
      spdlog::warn("upstream {} slow", "vector-store");
    }
    EXPECT_TRUE(telemetry.shutdown());  // flushes the queued record
  }
  collector.stop();
  EXPECT_TRUE(warnings.list.empty()) << warnings.all();
  std::lock_guard lock(mu);
  ASSERT_EQ(bodies.size(), 1u);
  EXPECT_NE(bodies[0].find("upstream vector-store slow"), std::string::npos) << bodies[0];
  EXPECT_NE(bodies[0].find(trace_id), std::string::npos) << bodies[0];
  EXPECT_NE(bodies[0].find("log-shipper"), std::string::npos) << bodies[0];
  EXPECT_NE(bodies[0].find("\"severityNumber\":13"), std::string::npos) << bodies[0];  // WARN
}

TEST(Setup, LogCorrelationOffLeavesThePatternAlone) {
  std::ostringstream out;
  auto logger = std::make_shared<spdlog::logger>(
      "setup_test_off", std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
  logger->set_pattern("%v");
  spdlog::register_logger(logger);
  vigil::metrics::Registry registry;
  Warnings warnings;
  vigil::Telemetry telemetry = vigil::setup(
      {.registry = &registry, .install_global_tracer_provider = false, .admin_server = false},
      warnings.env({{"VIGIL_LOG_CORRELATION", "false"}}));
  logger->info("plain");
  spdlog::drop("setup_test_off");
  EXPECT_EQ(out.str(), "plain\n");
}
#endif

// Last: installs the process-wide provider (ctest runs each test in its own process).
TEST(Setup, InstallsTheGlobalProviderOnce) {
  vigil::metrics::Registry registry;
  Warnings warnings;
  vigil::Telemetry telemetry = vigil::setup({.service_name = "global", .registry = &registry},
                                            warnings.env({{"VIGIL_ADMIN_LISTEN", "none"}}));
  EXPECT_TRUE(vigil::trace::global_provider().enabled());
  EXPECT_EQ(&vigil::trace::global_provider(), &telemetry.tracer_provider());
  EXPECT_EQ(vigil::trace::global_provider().resource().service_name(), "global");
  EXPECT_FALSE(telemetry.server().running());
  vigil::metrics::Registry other;
  EXPECT_THROW(vigil::setup({.registry = &other, .admin_server = false}, warnings.env({})),
               vigil::Error);
}

}  // namespace
