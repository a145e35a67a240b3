// OTLP logs (issue 14, section 4): what logging through the OTLP sink costs the logging thread,
// next to the same spdlog logger with a null sink (the peer: spdlog alone); the processor's emit;
// encoding a 512-record batch in protobuf and JSON.
#include <benchmark/benchmark.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "otlp_log_encoding.h"
#include "vigil/exporters/otlp_log_exporter.h"
#include "vigil/exporters/spdlog_sink.h"
#include "vigil/trace/tracer.h"

namespace {

using vigil::exporters::LogRecord;

// Accepts everything at once: the cost measured is vigil's, not the network's.
class Discard final : public vigil::exporters::LogRecordExporter {
 public:
  vigil::trace::ExportResult export_logs(std::span<const LogRecord>, Deadline) override {
    return vigil::trace::ExportResult::success();
  }
  bool shutdown(std::chrono::milliseconds) override { return true; }
};

std::shared_ptr<vigil::exporters::LogExport> discard_logs() {
  vigil::exporters::BatchLogRecordProcessorOptions o;
  o.max_queue_size = 1 << 16;
  o.max_export_batch_size = 512;
  return std::make_shared<vigil::exporters::LogExport>(std::make_unique<Discard>(), o);
}

void BM_SpdlogNullSink(benchmark::State& state) {
  auto logger =
      std::make_shared<spdlog::logger>("bench", std::make_shared<spdlog::sinks::null_sink_mt>());
  int64_t i = 0;
  for (auto _ : state) logger->warn("request {} failed: {}", ++i, "rate_limited");
}
BENCHMARK(BM_SpdlogNullSink);

void BM_SpdlogOtlpSink(benchmark::State& state) {
  auto logs = discard_logs();
  auto logger = std::make_shared<spdlog::logger>(
      "bench", std::make_shared<vigil::exporters::OtlpLogSink>(logs));
  vigil::trace::TracerProvider provider;
  vigil::trace::Span span = provider.tracer("bench").start_span("request");
  int64_t i = 0;
  for (auto _ : state) logger->warn("request {} failed: {}", ++i, "rate_limited");
  state.counters["dropped"] = static_cast<double>(logs->processor().stats().dropped());
  logs->shutdown(std::chrono::seconds(5));
}
BENCHMARK(BM_SpdlogOtlpSink);

void BM_ProcessorEmit(benchmark::State& state) {
  auto logs = discard_logs();
  LogRecord proto;
  proto.body = "request 12345 failed: rate_limited";
  proto.severity_number = vigil::exporters::severity::kWarn;
  proto.scope_name = "bench";
  for (auto _ : state) {
    LogRecord r = proto;
    logs->emit(std::move(r));
  }
  state.counters["dropped"] = static_cast<double>(logs->processor().stats().dropped());
  logs->shutdown(std::chrono::seconds(5));
}
BENCHMARK(BM_ProcessorEmit);

std::vector<LogRecord> batch() {
  std::vector<LogRecord> v(512);
  for (std::size_t i = 0; i < v.size(); ++i) {
    LogRecord& r = v[i];
    r.time_unix_nanos = 1'700'000'000'000'000'000ULL + i;
    r.observed_unix_nanos = r.time_unix_nanos + 1000;
    r.severity_number = vigil::exporters::severity::kWarn;
    r.severity_text = "warning";
    r.body = "request " + std::to_string(i) + " failed: rate_limited";
    r.scope_name = "gateway";
    r.attributes = {{"thread.id", int64_t{1234}},
                    {"code.filepath", std::string("demo/simulator.cc")},
                    {"code.lineno", int64_t{190}}};
    r.trace_id = vigil::trace::TraceId::from_u64(0x4bf92f3577b34da6, 0xa3ce929d0e0e4736 + i);
    r.span_id = *vigil::trace::SpanId::from_hex("00f067aa0ba902b7");
  }
  return v;
}

void BM_EncodeProtobuf512(benchmark::State& state) {
  const auto records = batch();
  const vigil::trace::Resource resource({{"service.name", std::string("gateway")}});
  std::string out, error;
  for (auto _ : state) {
    vigil::exporters::detail::encode_logs_protobuf(records, resource, out, error);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["bytes"] = static_cast<double>(out.size());
}
BENCHMARK(BM_EncodeProtobuf512);

void BM_EncodeJson512(benchmark::State& state) {
  const auto records = batch();
  const vigil::trace::Resource resource({{"service.name", std::string("gateway")}});
  std::string out;
  for (auto _ : state) {
    out = vigil::exporters::detail::encode_logs_json(records, resource);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["bytes"] = static_cast<double>(out.size());
}
BENCHMARK(BM_EncodeJson512);

}  // namespace

BENCHMARK_MAIN();
