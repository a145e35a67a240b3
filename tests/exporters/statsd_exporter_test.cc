// StatsdExporter: lines byte for byte on local UDP / Unix datagram / Unix stream receivers,
// packet sizes, every metric type, negative gauges, tags, raw instruments and their drops,
// service checks and events, destinations that are down or stuck, options and environment.
#include "vigil/exporters/statsd_exporter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <thread>

#include "statsd_encoding.h"
#include "statsd_test_util.h"
#include "vigil/core/error.h"
#include "vigil/metrics/registry.h"

namespace vigil::exporters {
namespace {

using metrics::MetricType;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using namespace vigil::exporters::testing;

StatsdOptions dog(const std::string& address) {
  StatsdOptions o;
  o.flavor = StatsdFlavor::kDogStatsd;
  o.address = address;
  return o;
}

StatsdOptions etsy(const std::string& address) {
  StatsdOptions o = dog(address);
  o.flavor = StatsdFlavor::kEtsy;
  return o;
}

// Every line of every datagram until the receiver is quiet.
std::vector<std::string> lines_of(DatagramReceiver& r) {
  std::vector<std::string> out;
  for (const std::string& d : r.receive_all()) {
    for (std::string& l : split_lines(d)) out.push_back(std::move(l));
  }
  return out;
}

MetricsSnapshot counters_snapshot(double a, double b) {
  MetricsSnapshot s;
  MetricFamily f = family("http_requests", MetricType::kCounter, {"method", "code"});
  f.points.push_back(point(a, {"GET", "200"}));
  f.points.push_back(point(b, {"POST", "500"}));
  s.families.push_back(std::move(f));
  return s;
}

TEST(StatsdAddress, Forms) {
  auto a = StatsdAddress::parse("127.0.0.1:8125");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->transport, StatsdTransport::kUdp);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 8125);
  a = StatsdAddress::parse("udp://agent:9125");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "agent");
  EXPECT_EQ(a->port, 9125);
  a = StatsdAddress::parse("[::1]:8125");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "::1");
  a = StatsdAddress::parse("unix:///var/run/dsd.socket");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->transport, StatsdTransport::kUnixDatagram);
  EXPECT_EQ(a->path, "/var/run/dsd.socket");
  a = StatsdAddress::parse("unix:relative.sock");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->transport, StatsdTransport::kUnixDatagram);
  EXPECT_EQ(a->path, "relative.sock");
  a = StatsdAddress::parse("unixgram:///x");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->transport, StatsdTransport::kUnixDatagram);
  a = StatsdAddress::parse("unixstream:///run/dsd.socket");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->transport, StatsdTransport::kUnixStream);
  EXPECT_EQ(a->path, "/run/dsd.socket");

  std::string why;
  for (const char* bad : {"localhost", "host:", "host:0", "host:65536", "host:12a", ":8125",
                          "::1:8125", "[::1]8125", "unix:", "unixstream://"}) {
    EXPECT_FALSE(StatsdAddress::parse(bad, &why)) << bad;
    EXPECT_FALSE(why.empty()) << bad;
  }
  EXPECT_FALSE(StatsdAddress::parse("unix:/" + std::string(200, 'a'), &why));
  EXPECT_THAT(why, HasSubstr("107"));
}

TEST(StatsdOptions, Validate) {
  EXPECT_NO_THROW(StatsdOptions().validate());
  StatsdOptions o;
  o.address = "nope";
  EXPECT_THROW(o.validate(), Error);
  o = {};
  o.max_packet_size = 10;
  EXPECT_THROW(o.validate(), Error);
  o = {};
  o.prefix = "a:b";
  try {
    o.validate();
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("prefix 'a:b'"));
  }
  o = {};
  o.constant_tags = {{"", "x"}};
  EXPECT_THROW(o.validate(), Error);
  o = {};
  o.raw_buffer_size = 1;
  EXPECT_THROW(o.validate(), Error);
  EXPECT_THROW(StatsdExporter(StatsdOptions{.address = "x"}), Error);
}

struct EnvResult {
  std::optional<StatsdOptions> options;
  std::vector<std::string> warnings;
};

EnvResult from(std::map<std::string, std::string, std::less<>> vars) {
  EnvResult r;
  trace::Environment env(std::move(vars), [&r](std::string_view w) { r.warnings.emplace_back(w); });
  r.options = StatsdOptions::from_environment(env);
  return r;
}

TEST(StatsdOptions, FromEnvironment) {
  EXPECT_FALSE(from({}).options);
  auto r = from({{"VIGIL_STATSD_ADDRESS", "unix:/run/x.sock"},
                 {"VIGIL_STATSD_FLAVOR", "StatsD"},
                 {"VIGIL_STATSD_PREFIX", "app"},
                 {"VIGIL_STATSD_TAGS", "env:prod, team : core ,bare,:novalue"},
                 {"VIGIL_STATSD_MAX_PACKET", "512"},
                 {"DD_ENV", "ignored-for-etsy"}});
  ASSERT_TRUE(r.options);
  EXPECT_EQ(r.options->address, "unix:/run/x.sock");
  EXPECT_EQ(r.options->flavor, StatsdFlavor::kEtsy);
  EXPECT_EQ(r.options->prefix, "app");
  EXPECT_THAT(r.options->constant_tags,
              ElementsAre(std::pair<std::string, std::string>{"env", "prod"},
                          std::pair<std::string, std::string>{"team", "core"},
                          std::pair<std::string, std::string>{"bare", ""}));
  EXPECT_EQ(r.options->max_packet_size, 512u);
  ASSERT_EQ(r.warnings.size(), 1u);  // the ":novalue" entry
  EXPECT_NO_THROW(r.options->validate());

  // Datadog's variables.
  r = from({{"DD_AGENT_HOST", "agent"},
            {"DD_DOGSTATSD_PORT", "9125"},
            {"DD_ENV", "prod"},
            {"DD_SERVICE", "gw"}});
  ASSERT_TRUE(r.options);
  EXPECT_EQ(r.options->address, "agent:9125");
  EXPECT_EQ(r.options->flavor, StatsdFlavor::kDogStatsd);
  EXPECT_THAT(r.options->constant_tags,
              ElementsAre(std::pair<std::string, std::string>{"env", "prod"},
                          std::pair<std::string, std::string>{"service", "gw"}));
  r = from(
      {{"DD_DOGSTATSD_URL", "unix:///var/run/datadog/dsd.socket"}, {"DD_AGENT_HOST", "ignored"}});
  ASSERT_TRUE(r.options);
  EXPECT_EQ(r.options->address, "unix:///var/run/datadog/dsd.socket");
  r = from({{"VIGIL_STATSD_ADDRESS", "127.0.0.1:8125"}, {"DD_DOGSTATSD_URL", "udp://x:1"}});
  EXPECT_EQ(r.options->address, "127.0.0.1:8125");

  // Bad values: warnings, never a throw.
  r = from({{"VIGIL_STATSD_ADDRESS", "no-port"}});
  EXPECT_FALSE(r.options);
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_THAT(r.warnings[0], HasSubstr("VIGIL_STATSD_ADDRESS='no-port'"));
  r = from({{"VIGIL_STATSD_ADDRESS", "h:1"}, {"VIGIL_STATSD_FLAVOR", "graphite"}});
  EXPECT_FALSE(r.options);
  EXPECT_THAT(r.warnings.at(0), HasSubstr("VIGIL_STATSD_FLAVOR"));
  r = from({{"VIGIL_STATSD_ADDRESS", "h:1"},
            {"VIGIL_STATSD_PREFIX", "a b"},
            {"VIGIL_STATSD_MAX_PACKET", "9"}});
  ASSERT_TRUE(r.options);
  EXPECT_EQ(r.options->prefix, "");
  EXPECT_EQ(r.options->max_packet_size, 0u);
  EXPECT_EQ(r.warnings.size(), 2u);
}

TEST(StatsdEncoding, Values) {
  std::string s;
  for (double v : {0.0, -0.0, 5.0, -5.0, 0.1, 1e21, 1.5e-7, 123456789.0}) {
    s.clear();
    ASSERT_TRUE(statsd::append_value(s, v));
    EXPECT_EQ(std::stod(s), v) << s;
    EXPECT_NE(s[0], '+');
  }
  s.clear();
  statsd::append_value(s, -0.0);
  EXPECT_EQ(s, "0");
  s.clear();
  statsd::append_value(s, 0.1);
  EXPECT_EQ(s, "0.1");
  EXPECT_FALSE(statsd::append_value(s, NAN));
  EXPECT_FALSE(statsd::append_value(s, INFINITY));
}

TEST(StatsdExporter, DogStatsdCountersAreDeltasWithTags) {
  DatagramReceiver rx;
  StatsdOptions o = dog(rx.address());
  o.prefix = "app";
  o.constant_tags = {{"env", "prod"}};
  StatsdExporter ex(o);
  EXPECT_EQ(ex.name(), "dogstatsd");
  ExportOutcome out = ex.export_metrics(counters_snapshot(3, 1), in_ms(1000));
  EXPECT_TRUE(out.ok) << out.error;
  EXPECT_EQ(out.points, 2u);
  EXPECT_EQ(out.requests, 1u);
  auto d = rx.receive();
  ASSERT_TRUE(d);
  EXPECT_EQ(*d,
            "app.http_requests:3|c|#env:prod,method:GET,code:200\n"
            "app.http_requests:1|c|#env:prod,method:POST,code:500");
  EXPECT_EQ(out.bytes, d->size());
  // Second export: the change only; an unchanged counter is not sent.
  out = ex.export_metrics(counters_snapshot(10.5, 1), in_ms(1000));
  EXPECT_EQ(out.points, 1u);
  d = rx.receive();
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, "app.http_requests:7.5|c|#env:prod,method:GET,code:200");
  // A reset: the new value is the change.
  ex.export_metrics(counters_snapshot(2, 1), in_ms(1000));
  EXPECT_EQ(rx.receive().value_or(""), "app.http_requests:2|c|#env:prod,method:GET,code:200");
}

TEST(StatsdExporter, GaugesHistogramsSummariesAndInfo) {
  DatagramReceiver rx;
  StatsdOptions o = dog(rx.address());
  o.underscores_to_dots = true;
  o.prefix = "svc.";
  StatsdExporter ex(o);
  MetricsSnapshot s;
  MetricFamily g = family("queue_depth", MetricType::kGauge, {"q"});
  g.points.push_back(point(-5, {"a"}));
  g.points.push_back(point(2.25, {""}));  // empty value: bare tag
  g.points.push_back(point(NAN, {"nan"}));
  s.families.push_back(g);
  MetricFamily h = family("latency_seconds", MetricType::kHistogram);
  h.bounds = {0.1, 1};
  MetricPoint hp;
  hp.count = 4;
  hp.sum = 2.5;
  hp.buckets = {1, 3, 4};
  h.points.push_back(hp);
  s.families.push_back(h);
  MetricFamily sm = family("rpc", MetricType::kSummary);
  MetricPoint sp;
  sp.count = 2;
  sp.sum = 0.5;
  sp.quantiles = {{0.5, 0.2}, {0.99, 0.3}};
  sm.points.push_back(sp);
  s.families.push_back(sm);
  MetricFamily info = family("build", MetricType::kInfo, {"version"});
  info.points.push_back(point(1, {"1.2"}));
  s.families.push_back(info);

  const ExportOutcome out = ex.export_metrics(s, in_ms(1000));
  EXPECT_EQ(out.dropped_points, 1u);  // the NaN gauge
  EXPECT_EQ(ex.stats().unsendable_values, 1u);
  EXPECT_THAT(lines_of(rx),
              ElementsAre("svc.queue.depth:-5|g|#q:a", "svc.queue.depth:2.25|g|#q",
                          "svc.latency.seconds_count:4|c", "svc.latency.seconds_sum:2.5|c",
                          "svc.rpc_count:2|c", "svc.rpc_sum:0.5|c", "svc.rpc:0.2|g|#quantile:0.5",
                          "svc.rpc:0.3|g|#quantile:0.99"));
}

TEST(StatsdExporter, HistogramBucketsAreDeltas) {
  DatagramReceiver rx;
  StatsdOptions o = dog(rx.address());
  o.histogram_buckets = true;
  StatsdExporter ex(o);
  MetricsSnapshot s;
  MetricFamily h = family("lat", MetricType::kHistogram, {"op"});
  h.bounds = {0.5};
  MetricPoint p;
  p.label_values = {"get"};
  p.count = 3;
  p.sum = 1;
  p.buckets = {2, 3};
  h.points.push_back(p);
  s.families.push_back(h);
  ex.export_metrics(s, in_ms(1000));
  EXPECT_THAT(lines_of(rx),
              ElementsAre("lat_count:3|c|#op:get", "lat_sum:1|c|#op:get",
                          "lat_bucket:2|c|#op:get,le:0.5", "lat_bucket:3|c|#op:get,le:+Inf"));
  s.families[0].points[0].count = 4;
  s.families[0].points[0].sum = 1.5;
  s.families[0].points[0].buckets = {2, 4};
  ex.export_metrics(s, in_ms(1000));
  EXPECT_THAT(lines_of(rx),
              ElementsAre("lat_count:1|c|#op:get", "lat_sum:0.5|c|#op:get",
                          "lat_bucket:0|c|#op:get,le:0.5", "lat_bucket:1|c|#op:get,le:+Inf"));
}

TEST(StatsdExporter, EtsyNegativeGaugeIsSetNotDecremented) {
  DatagramReceiver rx;
  StatsdExporter ex(etsy(rx.address()));
  EXPECT_EQ(ex.name(), "statsd");
  MetricsSnapshot s;
  MetricFamily g = family("temp", MetricType::kGauge);
  g.points.push_back(point(-5));
  s.families.push_back(g);
  MetricFamily g2 = family("level", MetricType::kGauge);
  g2.points.push_back(point(7));
  s.families.push_back(g2);
  const ExportOutcome out = ex.export_metrics(s, in_ms(1000));
  EXPECT_EQ(out.points, 2u);
  EXPECT_EQ(rx.receive().value_or(""), "temp:0|g\ntemp:-5|g\nlevel:7|g");
}

TEST(StatsdExporter, EtsyLabelModes) {
  const auto run = [](StatsdEtsyLabels mode) {
    DatagramReceiver rx;
    StatsdOptions o = etsy(rx.address());
    o.etsy_labels = mode;
    o.constant_tags = {{"env", "prod"}};  // not sent by Etsy
    StatsdExporter ex(o);
    MetricsSnapshot s;
    MetricFamily f = family("req", MetricType::kCounter, {"route", "code"});
    f.points.push_back(point(2, {"/api/v1", ""}));
    s.families.push_back(f);
    ex.export_metrics(s, in_ms(1000));
    return rx.receive().value_or("");
  };
  EXPECT_EQ(run(StatsdEtsyLabels::kAppendValues), "req._api_v1._:2|c");
  EXPECT_EQ(run(StatsdEtsyLabels::kAppendPairs), "req.route._api_v1.code._:2|c");
  EXPECT_EQ(run(StatsdEtsyLabels::kDrop), "req:2|c");
}

TEST(StatsdExporter, TagValuesAreSanitised) {
  DatagramReceiver rx;
  StatsdOptions o = dog(rx.address());
  o.constant_tags = {{"k|e:y", "v,a#l\nue"}, {"bare", ""}};
  StatsdExporter ex(o);
  MetricsSnapshot s;
  MetricFamily f = family("ns:name", MetricType::kGauge, {"path"});
  f.points.push_back(point(1, {"a|b,c#d\re:f@g"}));
  s.families.push_back(f);
  ex.export_metrics(s, in_ms(1000));
  EXPECT_EQ(rx.receive().value_or(""), "ns_name:1|g|#k_e_y:v_a_l_ue,bare,path:a_b_c_d_e:f@g");
}

TEST(StatsdExporter, PacketsAreFilledWithoutSplittingLines) {
  DatagramReceiver rx;
  StatsdOptions o = dog(rx.address());
  o.max_packet_size = 100;
  StatsdExporter ex(o);
  MetricsSnapshot s;
  MetricFamily f = family("g", MetricType::kGauge, {"i"});
  std::vector<std::string> expected;
  for (int i = 0; i < 50; ++i) {
    f.points.push_back(point(i, {std::to_string(i)}));
    expected.push_back("g:" + std::to_string(i) + "|g|#i:" + std::to_string(i));
  }
  // One line longer than a packet: dropped and counted.
  f.points.push_back(point(1, {std::string(120, 'x')}));
  s.families.push_back(f);
  const ExportOutcome out = ex.export_metrics(s, in_ms(1000));
  EXPECT_EQ(out.points, 50u);
  EXPECT_EQ(out.dropped_points, 1u);
  EXPECT_EQ(ex.stats().oversized_lines, 1u);
  std::vector<std::string> got;
  const auto packets = rx.receive_all();
  EXPECT_EQ(packets.size(), out.requests);
  for (std::size_t i = 0; i < packets.size(); ++i) {
    const std::string& p = packets[i];
    EXPECT_LE(p.size(), 100u);
    EXPECT_NE(p.back(), '\n');
    for (auto& l : split_lines(p)) got.push_back(l);
    // Filled: the next packet's first line did not fit here.
    if (i + 1 < packets.size()) {
      EXPECT_GT(p.size() + 1 + split_lines(packets[i + 1])[0].size(), 100u);
    }
  }
  EXPECT_EQ(got, expected);
}

TEST(StatsdExporter, DefaultPacketSizes) {
  const auto packet_sizes = [](StatsdOptions o, DatagramReceiver& rx) {
    StatsdExporter ex(o);
    MetricsSnapshot s;
    MetricFamily f = family("gauge_with_a_long_name", MetricType::kGauge, {"i"});
    for (int i = 0; i < 2000; ++i) f.points.push_back(point(i, {std::to_string(i)}));
    s.families.push_back(f);
    ex.export_metrics(s, in_ms(2000));
    std::size_t max = 0;
    std::size_t lines = 0;
    for (const auto& p : rx.receive_all()) {
      max = std::max(max, p.size());
      lines += split_lines(p).size();
    }
    EXPECT_EQ(lines, 2000u);
    return max;
  };
  DatagramReceiver udp;
  const std::size_t udp_max = packet_sizes(dog(udp.address()), udp);
  EXPECT_LE(udp_max, 1432u);
  EXPECT_GT(udp_max, 1432u - 40);
  const std::string dir = temp_dir();
  DatagramReceiver uds(dir + "/dsd.sock");
  const std::size_t uds_max = packet_sizes(dog("unix://" + dir + "/dsd.sock"), uds);
  EXPECT_LE(uds_max, 8192u);
  EXPECT_GT(uds_max, 8192u - 40);
  std::filesystem::remove_all(dir);
}

TEST(StatsdExporter, UnixDatagramByteForByte) {
  const std::string dir = temp_dir();
  DatagramReceiver rx(dir + "/dsd.sock");
  StatsdExporter ex(dog("unix:" + dir + "/dsd.sock"));
  const ExportOutcome out = ex.export_metrics(counters_snapshot(1, 2), in_ms(1000));
  EXPECT_TRUE(out.ok) << out.error;
  EXPECT_EQ(rx.receive().value_or(""),
            "http_requests:1|c|#method:GET,code:200\nhttp_requests:2|c|#method:POST,code:500");
  std::filesystem::remove_all(dir);
}

TEST(StatsdExporter, UnixStreamFramesHaveALittleEndianLengthPrefix) {
  const std::string dir = temp_dir();
  StreamReceiver rx(dir + "/dsd.sock");
  StatsdOptions o = dog("unixstream://" + dir + "/dsd.sock");
  o.max_packet_size = 64;
  StatsdExporter ex(o);
  const ExportOutcome out = ex.export_metrics(counters_snapshot(1, 2), in_ms(1000));
  EXPECT_TRUE(out.ok) << out.error;
  EXPECT_EQ(out.requests, 2u);
  const std::string bytes = rx.read_bytes();
  const std::string l1 = "http_requests:1|c|#method:GET,code:200";
  const std::string l2 = "http_requests:2|c|#method:POST,code:500";
  std::string want;
  for (const std::string& l : {l1, l2}) {
    want += static_cast<char>(l.size());
    want += std::string(3, '\0');
    want += l;
  }
  EXPECT_EQ(bytes, want);
  EXPECT_EQ(out.bytes, want.size());
  std::filesystem::remove_all(dir);
}

TEST(StatsdExporter, DestinationDownIsCountedNeverThrowsNorBlocks) {
  // A UDP port nobody listens on: ICMP port unreachable comes back as ECONNREFUSED.
  uint16_t port = 0;
  {
    DatagramReceiver closed_soon;
    port = closed_soon.port();
  }
  StatsdOptions o = dog("127.0.0.1:" + std::to_string(port));
  o.max_packet_size = 64;
  StatsdExporter udp(o);
  const auto start = ExportClock::now();
  uint64_t dropped = 0;
  for (int i = 0; i < 3; ++i) {
    const ExportOutcome out = udp.export_metrics(counters_snapshot(1 + i, 2 + i), in_ms(1000));
    dropped += out.dropped_points;
    if (!out.ok) {
      EXPECT_EQ(out.reason, "connection");
      EXPECT_THAT(out.error, HasSubstr("refused"));
    }
  }
  EXPECT_GE(dropped, 1u);
  EXPECT_GE(udp.stats().dropped_packets, 1u);

  // Unix sockets with no listener: every point dropped, reason connection.
  const std::string dir = temp_dir();
  for (const std::string& a :
       {"unix:" + dir + "/none.sock", "unixstream://" + dir + "/none.sock"}) {
    StatsdExporter ex(dog(a));
    const ExportOutcome out = ex.export_metrics(counters_snapshot(1, 2), in_ms(1000));
    EXPECT_FALSE(out.ok) << a;
    EXPECT_EQ(out.reason, "connection") << a;
    EXPECT_EQ(out.points, 0u);
    EXPECT_EQ(out.dropped_points, 2u);
    EXPECT_THAT(out.error, HasSubstr("none.sock"));
  }
  EXPECT_LT(ExportClock::now() - start, std::chrono::seconds(2));

  // The listener appears later: the next export reconnects.
  StatsdExporter late(dog("unix:" + dir + "/late.sock"));
  EXPECT_FALSE(late.export_metrics(counters_snapshot(1, 2), in_ms(1000)).ok);
  DatagramReceiver rx(dir + "/late.sock");
  const ExportOutcome out = late.export_metrics(counters_snapshot(4, 2), in_ms(1000));
  EXPECT_TRUE(out.ok) << out.error;
  EXPECT_EQ(rx.receive().value_or(""), "http_requests:3|c|#method:GET,code:200");
  std::filesystem::remove_all(dir);
}

TEST(StatsdExporter, FullSocketsDropAndMeetTheDeadline) {
  const std::string dir = temp_dir();
  MetricsSnapshot s;
  MetricFamily f = family("g", MetricType::kGauge, {"i"});
  for (int i = 0; i < 20000; ++i) f.points.push_back(point(i, {std::string(40, 'x')}));
  s.families.push_back(f);
  {
    // Nobody reads the datagram socket: EAGAIN once its queue is full, counted as drops.
    DatagramReceiver rx(dir + "/full.sock");
    StatsdExporter ex(dog("unix:" + dir + "/full.sock"));
    const auto start = ExportClock::now();
    const ExportOutcome out = ex.export_metrics(s, in_ms(300));
    EXPECT_LT(ExportClock::now() - start, std::chrono::milliseconds(1000));
    EXPECT_FALSE(out.ok);
    EXPECT_EQ(out.reason, "io");
    EXPECT_GT(out.dropped_points, 0u);
    EXPECT_EQ(out.points + out.dropped_points, 20000u);
  }
  {
    // A stream peer that accepts and never reads: waits until the deadline, then drops.
    StreamReceiver rx(dir + "/stuck.sock");
    StatsdExporter ex(dog("unixstream://" + dir + "/stuck.sock"));
    std::thread acceptor([&] { rx.accept_only(); });
    const auto start = ExportClock::now();
    const ExportOutcome out = ex.export_metrics(s, in_ms(300));
    const auto took = ExportClock::now() - start;
    acceptor.join();
    EXPECT_GE(took, std::chrono::milliseconds(250));
    EXPECT_LT(took, std::chrono::milliseconds(1500));
    EXPECT_FALSE(out.ok);
    EXPECT_GT(out.dropped_points, 0u);
    EXPECT_EQ(out.points + out.dropped_points, 20000u);
  }
  {
    // abort() ends a stream export at once.
    StreamReceiver rx(dir + "/abort.sock");
    StatsdExporter ex(dog("unixstream://" + dir + "/abort.sock"));
    std::thread acceptor([&] { rx.accept_only(); });
    std::thread aborter([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      ex.abort();
    });
    const auto start = ExportClock::now();
    const ExportOutcome out = ex.export_metrics(s, in_ms(10000));
    EXPECT_LT(ExportClock::now() - start, std::chrono::seconds(2));
    aborter.join();
    acceptor.join();
    EXPECT_FALSE(out.ok);
  }
  std::filesystem::remove_all(dir);
}

TEST(StatsdExporter, RawInstruments) {
  DatagramReceiver rx;
  StatsdOptions o = dog(rx.address());
  o.prefix = "app";
  o.constant_tags = {{"env", "prod"}};
  StatsdExporter ex(o);
  StatsdTimer t = ex.timer("db.query", {{"db", "users"}});
  t.record(12.5);
  t.record(std::chrono::microseconds(1500));
  ex.histogram("payload", {}).record(512);
  ex.distribution("latency", {{"route", "/a|b"}}).record(0.25);
  StatsdSet users = ex.set("users");
  users.record("alice");
  users.record(int64_t{42});
  users.record("bad|member");  // dropped
  // The same name, type, tags and rate: the same instrument.
  ex.timer("db.query", {{"db", "users"}}).record(3);
  const ExportOutcome out = ex.export_metrics({}, in_ms(1000));
  EXPECT_EQ(out.points, 7u);
  EXPECT_EQ(out.dropped_points, 1u);
  EXPECT_THAT(
      lines_of(rx),
      ElementsAre("app.db.query:12.5|ms|#env:prod,db:users",
                  "app.db.query:1.5|ms|#env:prod,db:users", "app.payload:512|h|#env:prod",
                  "app.latency:0.25|d|#env:prod,route:/a_b", "app.db.query:3|ms|#env:prod,db:users",
                  "app.users:alice|s|#env:prod", "app.users:42|s|#env:prod"));
  // Drained: nothing left for the next export.
  ex.export_metrics({}, in_ms(1000));
  EXPECT_FALSE(rx.receive(200));
}

TEST(StatsdExporter, RawSampleRate) {
  DatagramReceiver rx;
  StatsdExporter ex(etsy(rx.address()));
  StatsdTimer t = ex.timer("t", {{"k", "v"}}, 0.5);
  for (int i = 0; i < 1000; ++i) t.record(1);
  ex.export_metrics({}, in_ms(1000));
  const auto lines = lines_of(rx);
  const StatsdStats st = ex.stats();
  EXPECT_EQ(lines.size() + st.raw_sampled_out, 1000u);
  EXPECT_GT(lines.size(), 350u);  // ~500; bounds far from chance
  EXPECT_LT(lines.size(), 650u);
  for (const auto& l : lines) EXPECT_EQ(l, "t.v:1|ms|@0.5");
  EXPECT_THROW(ex.timer("t", {}, 0), Error);
  EXPECT_THROW(ex.timer("t", {}, 1.5), Error);
  EXPECT_THROW(ex.timer("", {}), Error);
  EXPECT_THROW(ex.histogram("h"), Error);  // Etsy has no h
  EXPECT_THROW(ex.distribution("d"), Error);
}

TEST(StatsdExporter, RawBufferFullDropsAndCounts) {
  DatagramReceiver rx;
  StatsdOptions o = dog(rx.address());
  o.raw_buffer_size = 16;
  o.max_set_members = 2;
  StatsdExporter ex(o);
  StatsdRawInstrument h = ex.histogram("h");
  for (int i = 0; i < 20; ++i) h.record(i);
  h.record(NAN);
  StatsdSet s = ex.set("s");
  for (int i = 0; i < 3; ++i) s.record(int64_t{i});
  EXPECT_EQ(ex.stats().raw_dropped, 6u);  // 4 over the buffer, the NaN, 1 set member
  const ExportOutcome out = ex.export_metrics({}, in_ms(1000));
  EXPECT_EQ(out.points, 18u);
  EXPECT_EQ(out.dropped_points, 6u);
  const auto lines = lines_of(rx);
  ASSERT_EQ(lines.size(), 18u);
  EXPECT_EQ(lines.front(), "h:0|h");
  EXPECT_EQ(lines[15], "h:15|h");
  // After the drain there is room again; drops are reported once.
  h.record(1);
  const ExportOutcome next = ex.export_metrics({}, in_ms(1000));
  EXPECT_EQ(next.points, 1u);
  EXPECT_EQ(next.dropped_points, 0u);
}

TEST(StatsdExporter, RawRecordFromManyThreads) {
  DatagramReceiver rx;
  StatsdOptions o = dog(rx.address());
  o.raw_buffer_size = 1 << 16;
  o.max_packet_size = 8000;
  auto ex = std::make_unique<StatsdExporter>(o);
  StatsdRawInstrument d = ex->distribution("d");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5000; ++i) d.record(1);
    });
  }
  uint64_t points = 0;
  for (int i = 0; i < 5; ++i) points += ex->export_metrics({}, in_ms(1000)).points;
  for (auto& t : threads) t.join();
  points += ex->export_metrics({}, in_ms(1000)).points;
  EXPECT_EQ(points, 20000u);
  EXPECT_EQ(ex->stats().raw_dropped, 0u);
  // An instrument outliving its exporter drops quietly.
  ex.reset();
  d.record(1);
}

TEST(StatsdExporter, ServiceChecksAndEvents) {
  StatsdServiceCheck c;
  c.name = "app.db|x";
  c.status = StatsdCheckStatus::kCritical;
  c.tags = {{"db", "users"}};
  c.message = "timed out\nafter 5 s";
  c.timestamp = 1700000000.7;
  c.hostname = "h1";
  EXPECT_EQ(format_service_check(c, {{"env", "prod"}}),
            "_sc|app.db_x|2|d:1700000000|h:h1|#env:prod,db:users|m:timed out\\nafter 5 s");
  EXPECT_EQ(format_service_check({.name = "a"}, {}), "_sc|a|0");
  StatsdEvent e;
  e.title = "Alert firing";
  e.text = "queue full\nsee runbook";
  e.alert_type = "error";
  e.priority = "normal";
  e.aggregation_key = "queue_full";
  e.source_type = "vigil";
  e.tags = {{"severity", "critical"}};
  EXPECT_EQ(format_event(e, {}),
            "_e{12,23}:Alert firing|queue full\\nsee runbook|k:queue_full|p:normal|s:vigil|"
            "t:error|#severity:critical");
  // UTF-8: lengths in bytes.
  EXPECT_EQ(format_event({.title = "\xc3\xa9t\xc3\xa9", .text = "x"}, {}),
            "_e{5,1}:\xc3\xa9t\xc3\xa9|x");

  DatagramReceiver rx;
  StatsdOptions o = dog(rx.address());
  o.constant_tags = {{"env", "prod"}};
  StatsdExporter ex(o);
  // Sent at once (no export running).
  EXPECT_TRUE(ex.service_check({.name = "app.up", .status = StatsdCheckStatus::kOk}));
  EXPECT_EQ(rx.receive().value_or(""), "_sc|app.up|0|#env:prod");
  EXPECT_TRUE(ex.event({.title = "t", .text = "x"}));
  EXPECT_EQ(rx.receive().value_or(""), "_e{1,1}:t|x|#env:prod");
  EXPECT_EQ(ex.stats().events_sent, 2u);

  StatsdExporter e2(etsy(rx.address()));
  EXPECT_FALSE(e2.service_check({.name = "x"}));
  EXPECT_FALSE(e2.event({.title = "x"}));
  EXPECT_EQ(e2.stats().events_dropped, 2u);
}

TEST(StatsdExporter, CloseDropsLaterExports) {
  DatagramReceiver rx;
  StatsdExporter ex(dog(rx.address()));
  ex.close();
  ex.close();
  const ExportOutcome out = ex.export_metrics(counters_snapshot(1, 1), in_ms(100));
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.reason, "shutdown");
  EXPECT_EQ(out.dropped_points, 2u);
  EXPECT_FALSE(ex.service_check({.name = "x"}));
}

TEST(StatsdExporter, FromARealRegistry) {
  metrics::Registry r;
  auto& c = r.counter("jobs_total", "Jobs", {"kind"});
  auto& g = r.gauge("temperature", "Temperature");
  c.labels({"a"}).inc(2);
  g.get().set(-3.5);
  DatagramReceiver rx;
  StatsdExporter ex(etsy(rx.address()));
  ex.export_metrics(collect_snapshot(r), in_ms(1000));
  EXPECT_THAT(lines_of(rx), ElementsAre("jobs.a:2|c", "temperature:0|g", "temperature:-3.5|g"));
  c.labels({"a"}).inc(3);
  ex.export_metrics(collect_snapshot(r), in_ms(1000));
  EXPECT_THAT(lines_of(rx), ElementsAre("jobs.a:3|c", "temperature:0|g", "temperature:-3.5|g"));
}

}  // namespace
}  // namespace vigil::exporters
