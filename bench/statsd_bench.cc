// StatsD / DogStatsD export cost: one export of a 10,000-series snapshot (delta tracking, line
// encoding, packing into packets; with and without the UDP sends), bytes per series, and the
// cost of record() on the opt-in raw instruments. Figures in bench/README.md.
#include <benchmark/benchmark.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "statsd_encoding.h"
#include "vigil/exporters/statsd_exporter.h"

namespace {

using namespace vigil;
using namespace vigil::exporters;

// 10,000 series: 40 counter families x 125 series (labels route, code), 40 gauge families x 100
// series (label shard), 10 histogram families x 100 series (label route; 11 buckets).
// `bump` moves every counter and histogram on, so that deltas are never zero.
MetricsSnapshot make_snapshot(double bump) {
  MetricsSnapshot s;
  for (int f = 0; f < 40; ++f) {
    MetricFamily fam;
    fam.name = "service_requests_" + std::to_string(f);
    fam.type = metrics::MetricType::kCounter;
    fam.label_names = {"route", "code"};
    for (int i = 0; i < 125; ++i) {
      MetricPoint p;
      p.label_values = {"/api/v1/items/" + std::to_string(i), i % 5 == 0 ? "500" : "200"};
      p.value = 1000 + i + bump;
      fam.points.push_back(std::move(p));
    }
    s.families.push_back(std::move(fam));
  }
  for (int f = 0; f < 40; ++f) {
    MetricFamily fam;
    fam.name = "queue_depth_" + std::to_string(f);
    fam.type = metrics::MetricType::kGauge;
    fam.label_names = {"shard"};
    for (int i = 0; i < 100; ++i) {
      MetricPoint p;
      p.label_values = {"shard-" + std::to_string(i)};
      p.value = (i % 7 == 0 ? -1.5 : 1.5) * i;
      fam.points.push_back(std::move(p));
    }
    s.families.push_back(std::move(fam));
  }
  for (int f = 0; f < 10; ++f) {
    MetricFamily fam;
    fam.name = "request_duration_seconds_" + std::to_string(f);
    fam.type = metrics::MetricType::kHistogram;
    fam.label_names = {"route"};
    fam.bounds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
    for (int i = 0; i < 100; ++i) {
      MetricPoint p;
      p.label_values = {"/api/v1/items/" + std::to_string(i)};
      p.count = static_cast<uint64_t>(100 + i + bump);
      p.sum = 0.125 * static_cast<double>(p.count);
      for (std::size_t b = 0; b <= fam.bounds.size(); ++b) {
        p.buckets.push_back(p.count * (b + 1) / (fam.bounds.size() + 1));
      }
      fam.points.push_back(std::move(p));
    }
    s.families.push_back(std::move(fam));
  }
  return s;
}

struct NullSink final : statsd::Packer::Sink {
  uint64_t bytes = 0;
  uint64_t packets = 0;
  void packet(std::string_view p, std::size_t) override {
    bytes += p.size();
    ++packets;
  }
};

StatsdOptions bench_options(StatsdFlavor flavor) {
  StatsdOptions o;
  o.flavor = flavor;
  o.prefix = "myapp";
  o.constant_tags = {{"env", "prod"}, {"service", "gateway"}};
  return o;
}

// One export's encoding and packing (1432-byte packets), no socket. Not inlined, so that
// callgrind can count it alone (--toggle-collect='*encode_and_pack*').
[[gnu::noinline]] statsd::EncodeCounts encode_and_pack(statsd::Encoder& encoder,
                                                       const MetricsSnapshot& s, NullSink& sink) {
  statsd::Packer packer(1432, sink);
  statsd::EncodeCounts counts;
  encoder.encode(s, packer, counts);
  packer.flush();
  return counts;
}

// Steady state: delta tracking + encoding + packing (1432-byte packets), no socket. The
// snapshots alternate so that every counter and histogram has a change to send.
void BM_StatsdEncode10k(benchmark::State& state) {
  const auto flavor = static_cast<StatsdFlavor>(state.range(0));
  const MetricsSnapshot a = make_snapshot(0);
  const MetricsSnapshot b = make_snapshot(1);
  statsd::Encoder encoder(bench_options(flavor));
  NullSink sink;
  {
    statsd::Packer warm(1432, sink);
    statsd::EncodeCounts counts;
    encoder.encode(b, warm, counts);
    warm.flush();
  }
  sink = {};
  uint64_t n = 0;
  for (auto _ : state) {
    statsd::EncodeCounts counts = encode_and_pack(encoder, n++ % 2 == 0 ? a : b, sink);
    benchmark::DoNotOptimize(counts);
  }
  state.counters["bytes_per_series"] =
      static_cast<double>(sink.bytes) / static_cast<double>(n) / 10000.0;
  state.counters["packets"] = static_cast<double>(sink.packets) / static_cast<double>(n);
  state.SetLabel(std::string(to_string(flavor)));
}
BENCHMARK(BM_StatsdEncode10k)
    ->Arg(static_cast<int>(StatsdFlavor::kDogStatsd))
    ->Arg(static_cast<int>(StatsdFlavor::kEtsy))
    ->Unit(benchmark::kMillisecond);

// The first export of an exporter: every series is new (its labels encoded, its state created).
void BM_StatsdEncodeFirst10k(benchmark::State& state) {
  const auto flavor = static_cast<StatsdFlavor>(state.range(0));
  const MetricsSnapshot a = make_snapshot(0);
  const StatsdOptions o = bench_options(flavor);
  NullSink sink;
  for (auto _ : state) {
    statsd::Encoder encoder(o);
    statsd::Packer packer(1432, sink);
    statsd::EncodeCounts counts;
    encoder.encode(a, packer, counts);
    packer.flush();
    benchmark::DoNotOptimize(counts);
  }
  state.SetLabel(std::string(to_string(flavor)));
}
BENCHMARK(BM_StatsdEncodeFirst10k)
    ->Arg(static_cast<int>(StatsdFlavor::kDogStatsd))
    ->Arg(static_cast<int>(StatsdFlavor::kEtsy))
    ->Unit(benchmark::kMillisecond);

// The whole export_metrics call to a UDP socket on 127.0.0.1 (a bound socket nobody reads: the
// sends succeed, the kernel drops at the receiver).
void BM_StatsdExportUdp10k(benchmark::State& state) {
  const int rx = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(rx, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(rx, reinterpret_cast<sockaddr*>(&a), &len);
  StatsdOptions o = bench_options(StatsdFlavor::kDogStatsd);
  o.address = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  StatsdExporter exporter(o);
  const MetricsSnapshot s0 = make_snapshot(0);
  const MetricsSnapshot s1 = make_snapshot(1);
  uint64_t n = 0;
  uint64_t bytes = 0;
  uint64_t packets = 0;
  for (auto _ : state) {
    const ExportOutcome out = exporter.export_metrics(n++ % 2 == 0 ? s0 : s1,
                                                      ExportClock::now() + std::chrono::seconds(5));
    bytes += out.bytes;
    packets += out.requests;
  }
  state.counters["bytes_per_series"] =
      static_cast<double>(bytes) / static_cast<double>(n) / 10000.0;
  state.counters["packets"] = static_cast<double>(packets) / static_cast<double>(n);
  ::close(rx);
}
BENCHMARK(BM_StatsdExportUdp10k)->Unit(benchmark::kMillisecond);

// record() on a raw timer: one value into the bounded buffer. The buffer is drained (an export,
// timing paused) every 2^17 values of each thread so that it never fills.
void BM_StatsdRawRecord(benchmark::State& state) {
  static StatsdExporter* exporter = nullptr;
  static StatsdTimer timer;
  if (state.thread_index() == 0) {
    StatsdOptions o = bench_options(StatsdFlavor::kDogStatsd);
    o.address = "127.0.0.1:9";  // discard; nothing needs to arrive
    o.raw_buffer_size = std::size_t{1} << 20;
    exporter = new StatsdExporter(o);
    timer = exporter->timer("db.query", {{"db", "users"}}, state.range(0) == 1 ? 1.0 : 0.1);
  }
  uint64_t i = 0;
  for (auto _ : state) {
    timer.record(1.5);
    if ((++i & ((1u << 17) - 1)) == 0) {  // any thread may drain (exports are serialised)
      state.PauseTiming();
      exporter->export_metrics({}, ExportClock::now() + std::chrono::seconds(5));
      state.ResumeTiming();
    }
  }
  if (state.thread_index() == 0) {
    state.counters["dropped"] = static_cast<double>(exporter->stats().raw_dropped);
    timer = {};
    delete exporter;
    exporter = nullptr;
  }
  state.SetLabel(state.range(0) == 1 ? "sample rate 1" : "sample rate 0.1");
}
BENCHMARK(BM_StatsdRawRecord)->Arg(1)->Arg(10);
BENCHMARK(BM_StatsdRawRecord)->Arg(1)->Threads(2);

// record() when the buffer is full: the drop path.
void BM_StatsdRawRecordFull(benchmark::State& state) {
  StatsdOptions o = bench_options(StatsdFlavor::kDogStatsd);
  o.address = "127.0.0.1:9";
  o.raw_buffer_size = 16;
  StatsdExporter exporter(o);
  StatsdRawInstrument d = exporter.distribution("d");
  for (int i = 0; i < 16; ++i) d.record(1);
  for (auto _ : state) d.record(1);
}
BENCHMARK(BM_StatsdRawRecordFull);

// A set member (copied under a short lock).
void BM_StatsdSetRecord(benchmark::State& state) {
  StatsdOptions o = bench_options(StatsdFlavor::kDogStatsd);
  o.address = "127.0.0.1:9";
  o.max_set_members = std::size_t{1} << 20;
  StatsdExporter exporter(o);
  StatsdSet users = exporter.set("users");
  uint64_t i = 0;
  for (auto _ : state) {
    users.record("user-12345");
    if ((++i & ((1u << 18) - 1)) == 0) {
      state.PauseTiming();
      exporter.export_metrics({}, ExportClock::now() + std::chrono::seconds(5));
      state.ResumeTiming();
    }
  }
}
BENCHMARK(BM_StatsdSetRecord);

}  // namespace

BENCHMARK_MAIN();
