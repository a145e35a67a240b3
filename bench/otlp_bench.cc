// OTLP export cost per span: encoding a batch of typical spans into an
// ExportTraceServiceRequest (protobuf via the protoc-generated classes, and OTLP/JSON), and
// gzipping the result. The network round trip is not measured. Figures in bench/README.md.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "core/detail/gzip.h"
#include "otlp_encoding.h"
#include "vigil/trace/resource.h"
#include "vigil/trace/span_data.h"

namespace {

using namespace vigil;

// A batch like the demo's: a server span with 3 attributes, a client child with 5 attributes and
// an event, sharing a trace id.
struct Batch {
  trace::InstrumentationScope scope{"gateway", "1.0", ""};
  trace::Resource resource{{{"service.name", std::string("agent-gateway")},
                            {"service.version", std::string("1.4.2")},
                            {"host.name", std::string("node-17")}}};
  std::vector<std::unique_ptr<trace::SpanData>> spans;
  std::vector<const trace::SpanData*> pointers;

  explicit Batch(int n) {
    for (int i = 0; i < n; ++i) {
      auto s = std::make_unique<trace::SpanData>();
      s->name = i % 2 == 0 ? "POST /v1/chat" : "llm_call";
      s->context.trace_id = trace::TraceId::from_u64(
          0x4bf92f3577b34da6ull + static_cast<uint64_t>(i / 2), 0xa3ce929d0e0e4736ull);
      s->context.span_id =
          trace::SpanId::from_u64(0x00f067aa0ba902b7ull + static_cast<uint64_t>(i));
      s->context.flags.value = trace::TraceFlags::kSampled;
      if (i % 2 == 1)
        s->parent_span_id =
            trace::SpanId::from_u64(0x00f067aa0ba902b7ull + static_cast<uint64_t>(i - 1));
      s->kind = i % 2 == 0 ? trace::SpanKind::kServer : trace::SpanKind::kClient;
      s->start_unix_nanos = 1'700'000'000'000'000'000ull + static_cast<uint64_t>(i) * 1000;
      s->end_unix_nanos = s->start_unix_nanos + 2'500'000;
      s->attributes.push_back({"http.request.method", std::string("POST")});
      s->attributes.push_back({"http.response.status_code", int64_t{200}});
      s->attributes.push_back({"user.id", std::string("u-") + std::to_string(i)});
      if (i % 2 == 1) {
        s->attributes.push_back({"llm.provider", std::string("openai")});
        s->attributes.push_back({"llm.cost_usd", 0.0042});
        trace::Event& e = s->events.next_slot();
        e.name = "first_token";
        e.time_unix_nanos = s->start_unix_nanos + 400'000;
        e.attributes.clear();
        e.attributes.push_back({"tokens", int64_t{12}});
      }
      s->status.code = trace::StatusCode::kOk;
      s->scope = &scope;
      s->resource = &resource;
      pointers.push_back(s.get());
      spans.push_back(std::move(s));
    }
  }
};

void BM_OtlpEncodeProtobuf(benchmark::State& state) {
  Batch batch(static_cast<int>(state.range(0)));
  std::string out, error;
  for (auto _ : state) {
    exporters::detail::encode_protobuf(batch.pointers, out, error);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.counters["bytes_per_span"] =
      static_cast<double>(out.size()) / static_cast<double>(state.range(0));
}
BENCHMARK(BM_OtlpEncodeProtobuf)->Arg(1)->Arg(64)->Arg(512);

void BM_OtlpEncodeJson(benchmark::State& state) {
  Batch batch(static_cast<int>(state.range(0)));
  std::string out;
  for (auto _ : state) {
    out = exporters::detail::encode_json(batch.pointers);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.counters["bytes_per_span"] =
      static_cast<double>(out.size()) / static_cast<double>(state.range(0));
}
BENCHMARK(BM_OtlpEncodeJson)->Arg(1)->Arg(64)->Arg(512);

void BM_OtlpGzipProtobuf(benchmark::State& state) {
  Batch batch(static_cast<int>(state.range(0)));
  std::string out, error;
  exporters::detail::encode_protobuf(batch.pointers, out, error);
  std::size_t compressed = 0;
  for (auto _ : state) {
    auto z = vigil::detail::gzip_compress(out);
    compressed = z->size();
    benchmark::DoNotOptimize(z->data());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.counters["gzip_bytes_per_span"] =
      static_cast<double>(compressed) / static_cast<double>(state.range(0));
}
BENCHMARK(BM_OtlpGzipProtobuf)->Arg(512);

}  // namespace

BENCHMARK_MAIN();
