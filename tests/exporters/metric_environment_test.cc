// metric_exporters_from_environment / start_metric_export_from_environment: which variables turn
// which exporter on, the engine's interval and timeout, bad values as warnings, and an engine
// started from the environment alone exporting a registry (CloudWatch EMF to a file).
#include "vigil/exporters/metric_environment.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "vigil/metrics/registry.h"

namespace {

using std::chrono::milliseconds;
using vigil::exporters::metric_exporters_from_environment;
using vigil::exporters::MetricExportEnvironment;

struct Env {
  std::vector<std::string> warnings;
  vigil::trace::Environment make(std::map<std::string, std::string, std::less<>> vars) {
    return vigil::trace::Environment(std::move(vars),
                                     [this](std::string_view w) { warnings.emplace_back(w); });
  }
};

std::vector<std::string> names(const MetricExportEnvironment& e) {
  std::vector<std::string> out;
  for (const auto& x : e.exporters) out.emplace_back(x->name());
  return out;
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += x + "\n";
  return s;
}

TEST(MetricEnvironment, NothingSetTurnsNothingOn) {
  Env env;
  const MetricExportEnvironment e = metric_exporters_from_environment(env.make({}));
  EXPECT_TRUE(e.exporters.empty());
  EXPECT_EQ(e.engine.interval, milliseconds(10000));
  EXPECT_TRUE(env.warnings.empty()) << joined(env.warnings);
  vigil::metrics::Registry registry;
  EXPECT_EQ(vigil::exporters::start_metric_export_from_environment(registry, env.make({})),
            nullptr);
}

TEST(MetricEnvironment, EachVariableTurnsItsExporterOnInTheDocumentedOrder) {
  Env env;
  const MetricExportEnvironment e = metric_exporters_from_environment(
      env.make({{"VIGIL_STATSD_ADDRESS", "127.0.0.1:8125"},
                {"VIGIL_STATSD_FLAVOR", "statsd"},
                {"VIGIL_DATADOG_API_KEY", "0123456789abcdef"},
                {"VIGIL_DATADOG_URL", "http://127.0.0.1:9/api/v2/series"},
                {"VIGIL_EMF", "stdout"},
                {"VIGIL_PUSHGATEWAY_URL", "http://127.0.0.1:9091"},
                {"VIGIL_PUSHGATEWAY_JOB", "batch"},
                {"VIGIL_REMOTE_WRITE_URL", "http://127.0.0.1:9090/api/v1/write"},
                {"OTEL_METRICS_EXPORTER", "otlp"},
                {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"}}));
  EXPECT_EQ(names(e), (std::vector<std::string>{"statsd", "datadog", "emf", "pushgateway",
                                                "remote_write", "otlp"}))
      << joined(env.warnings);
  // Several exporters, no interval variable: vigil's 10 s, each export at most 5 s.
  EXPECT_EQ(e.engine.interval, milliseconds(10000));
  EXPECT_EQ(e.engine.timeout, milliseconds(5000));
  EXPECT_TRUE(env.warnings.empty()) << joined(env.warnings);
}

TEST(MetricEnvironment, IntervalAndTimeout) {
  {
    Env env;  // VIGIL_EXPORT_INTERVAL is seconds and wins; the timeout never exceeds it
    const auto e =
        metric_exporters_from_environment(env.make({{"VIGIL_STATSD_ADDRESS", "127.0.0.1:8125"},
                                                    {"VIGIL_EXPORT_INTERVAL", "2.5"},
                                                    {"OTEL_METRIC_EXPORT_INTERVAL", "7000"}}));
    EXPECT_EQ(e.engine.interval, milliseconds(2500));
    EXPECT_EQ(e.engine.timeout, milliseconds(2500));
  }
  {
    Env env;  // OTLP alone: OpenTelemetry's defaults, 60 s and 30 s
    const auto e = metric_exporters_from_environment(env.make({{"OTEL_METRICS_EXPORTER", "otlp"}}));
    ASSERT_EQ(names(e), std::vector<std::string>{"otlp"});
    EXPECT_EQ(e.engine.interval, milliseconds(60000));
    EXPECT_EQ(e.engine.timeout, milliseconds(30000));
  }
  {
    Env env;  // OTEL_METRIC_EXPORT_INTERVAL / _TIMEOUT are milliseconds
    const auto e =
        metric_exporters_from_environment(env.make({{"OTEL_METRICS_EXPORTER", "otlp"},
                                                    {"OTEL_METRIC_EXPORT_INTERVAL", "5000"},
                                                    {"OTEL_METRIC_EXPORT_TIMEOUT", "1500"}}));
    EXPECT_EQ(e.engine.interval, milliseconds(5000));
    EXPECT_EQ(e.engine.timeout, milliseconds(1500));
  }
  {
    Env env;  // VIGIL_EXPORT_TIMEOUT is seconds
    const auto e = metric_exporters_from_environment(env.make({{"VIGIL_EMF", "stdout"},
                                                               {"VIGIL_EXPORT_INTERVAL", "30"},
                                                               {"VIGIL_EXPORT_TIMEOUT", "12"}}));
    EXPECT_EQ(e.engine.interval, milliseconds(30000));
    EXPECT_EQ(e.engine.timeout, milliseconds(12000));
  }
}

TEST(MetricEnvironment, BadValuesAreWarningsNeverFailures) {
  Env env;
  const auto e = metric_exporters_from_environment(
      env.make({{"VIGIL_STATSD_ADDRESS", "127.0.0.1:8125"},
                {"VIGIL_EXPORT_INTERVAL", "soon"},
                {"OTEL_METRIC_EXPORT_TIMEOUT", "0"},
                {"VIGIL_REMOTE_WRITE_URL", "ftp://127.0.0.1/write"}}));
  EXPECT_EQ(names(e).size(), 1u) << joined(names(e));  // StatsD on, remote write off
  EXPECT_EQ(e.engine.interval, milliseconds(10000));
  EXPECT_EQ(e.engine.timeout, milliseconds(5000));
  const std::string w = joined(env.warnings);
  EXPECT_NE(w.find("VIGIL_EXPORT_INTERVAL"), std::string::npos) << w;
  EXPECT_NE(w.find("OTEL_METRIC_EXPORT_TIMEOUT"), std::string::npos) << w;
  EXPECT_NE(w.find("VIGIL_REMOTE_WRITE_URL"), std::string::npos) << w;
}

TEST(MetricEnvironment, SdkDisabledTurnsEverythingOff) {
  Env env;
  const auto e =
      metric_exporters_from_environment(env.make({{"OTEL_SDK_DISABLED", "true"},
                                                  {"VIGIL_STATSD_ADDRESS", "127.0.0.1:8125"},
                                                  {"OTEL_METRICS_EXPORTER", "otlp"}}));
  EXPECT_TRUE(e.exporters.empty());
}

TEST(MetricEnvironment, AnEngineFromTheEnvironmentExportsTheRegistry) {
  const std::string path = ::testing::TempDir() + "vigil_metric_environment_emf.jsonl";
  std::remove(path.c_str());
  vigil::metrics::Registry registry;
  registry.counter("jobs_done_total", "Jobs done", {"queue"}).labels("mail").inc(7);
  Env env;
  auto engine = vigil::exporters::start_metric_export_from_environment(
      registry,
      env.make({{"VIGIL_EMF", path},
                {"VIGIL_EMF_NAMESPACE", "batch"},
                {"VIGIL_EXPORT_INTERVAL", "3600"}}),
      &registry);
  ASSERT_NE(engine, nullptr) << joined(env.warnings);
  ASSERT_EQ(engine->exporter_count(), 1u);
  ASSERT_TRUE(engine->flush(milliseconds(5000)));
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_NE(text.str().find("\"Namespace\":\"batch\""), std::string::npos) << text.str();
  EXPECT_NE(text.str().find("\"jobs_done\""), std::string::npos) << text.str();
  const auto status = engine->status();
  ASSERT_EQ(status.size(), 1u);
  EXPECT_EQ(status[0].name, "emf");
  EXPECT_EQ(status[0].exports, 1u);
  EXPECT_TRUE(engine->shutdown(milliseconds(2000)));
  std::remove(path.c_str());
}

}  // namespace
