#include "vigil/trace/config.h"

#include <gtest/gtest.h>

#include "vigil/metrics/registry.h"
#include "vigil/trace/exporters.h"

namespace vigil::trace {
namespace {

TEST(Config, OtlpWithoutFactoryWarnsAndFallsBack) {
  std::vector<std::string> warnings;
  Environment env({{"OTEL_TRACES_EXPORTER", "otlp"},
                   {"OTEL_SERVICE_NAME", "svc"},
                   {"OTEL_BSP_MAX_QUEUE_SIZE", "abc"},
                   {"OTEL_TRACES_SAMPLER", "traceidratio"},
                   {"OTEL_TRACES_SAMPLER_ARG", "0.5"}},
                  [&](std::string_view w) { warnings.emplace_back(w); });
  metrics::Registry registry;
  EnvironmentConfigOptions o;
  o.self_metrics = &registry;
  TracerProviderOptions opts = options_from_environment(std::move(o), env);
  EXPECT_TRUE(opts.processors.empty());  // fallback "none"
  EXPECT_EQ(opts.resource.service_name(), "svc");
  EXPECT_EQ(opts.sampler->description(), "TraceIdRatioBased{0.500000}");
  bool not_available = false, queue = false;
  for (const auto& w : warnings) {
    not_available |= w.find("'otlp' is not available") != std::string::npos;
    queue |= w.find("OTEL_BSP_MAX_QUEUE_SIZE='abc'") != std::string::npos;
  }
  EXPECT_TRUE(not_available);
  EXPECT_TRUE(queue);
}

TEST(Config, RegisteredFactoryIsUsedAndDisabledSdk) {
  register_exporter_factory("cfg-test", [](const Environment&) -> std::unique_ptr<SpanExporter> {
    struct E : SpanExporter {
      ExportResult export_spans(std::span<const SpanData* const>, Deadline) override {
        return ExportResult::success();
      }
    };
    return std::make_unique<E>();
  });
  metrics::Registry registry;
  EnvironmentConfigOptions o;
  o.self_metrics = &registry;
  Environment env({{"OTEL_TRACES_EXPORTER", "cfg-test"}}, [](std::string_view) {});
  EXPECT_EQ(options_from_environment(std::move(o), env).processors.size(), 1u);
  Environment off({{"OTEL_SDK_DISABLED", "true"}}, [](std::string_view) {});
  EXPECT_FALSE(options_from_environment({}, off).enabled);
  Environment bad({{"OTEL_TRACES_SAMPLER", "sometimes"}, {"OTEL_SDK_DISABLED", "maybe"}},
                  [](std::string_view) {});
  EXPECT_EQ(sampler_from_environment(bad)->description(), "ParentBased{root=AlwaysOnSampler}");
}

}  // namespace
TEST(Config, FactoriesReceiveSelfMetrics) {
  static metrics::Registry* seen = nullptr;
  static int calls = 0;
  register_exporter_factory(
      "cfg-metrics",
      ExporterFactory(
          [](const Environment&, metrics::Registry* self_metrics) -> std::unique_ptr<SpanExporter> {
            seen = self_metrics;
            ++calls;
            return std::make_unique<InMemoryExporter>();
          }));
  metrics::Registry registry;
  Environment env({{"OTEL_TRACES_EXPORTER", " CFG-Metrics ,\tnone"}}, [](std::string_view) {});
  EXPECT_EQ(options_from_environment({.self_metrics = &registry}, env).processors.size(), 1u);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(seen, &registry);
  EXPECT_EQ(options_from_environment({}, env).processors.size(), 1u);
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(seen, nullptr);  // nullptr: the exporter counts nowhere
}

TEST(Config, BatchOptionsFromEnvironment) {
  std::vector<std::string> warnings;
  Environment env({{"OTEL_BSP_MAX_QUEUE_SIZE", "100"},
                   {"OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "50"},
                   {"OTEL_BSP_SCHEDULE_DELAY", "250"},
                   {"VIGIL_BSP_THREAD_BUFFER_SIZE", "8192"}},
                  [&](std::string_view w) { warnings.emplace_back(w); });
  const BatchSpanProcessorOptions o = batch_options_from_environment(env);
  EXPECT_EQ(o.max_queue_size, 100u);
  EXPECT_EQ(o.max_export_batch_size, 50u);
  EXPECT_EQ(o.schedule_delay, std::chrono::milliseconds(250));
  EXPECT_EQ(o.thread_buffer_size, 8192u);
  EXPECT_TRUE(warnings.empty());

  Environment bad({{"VIGIL_BSP_THREAD_BUFFER_SIZE", "-5"}},
                  [&](std::string_view w) { warnings.emplace_back(w); });
  EXPECT_EQ(batch_options_from_environment(bad).thread_buffer_size,
            BatchSpanProcessorOptions().thread_buffer_size);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("VIGIL_BSP_THREAD_BUFFER_SIZE"), std::string::npos) << warnings[0];
}

}  // namespace vigil::trace
