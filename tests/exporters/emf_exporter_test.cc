// EmfExporter: documents checked against the Embedded Metric Format's rules (required members,
// every referenced metric and dimension present at the root, 100 metrics per document, 30
// dimensions per set, 100 values per metric), parsed back with values equal to hand-computed
// ones; stdout, file, TCP and UDP agent transports on 127.0.0.1; agent down counted.
#include "vigil/exporters/emf_exporter.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "vigil/core/error.h"
#include "vigil/exporters/metric_exporter.h"
#include "vigil/metrics/registry.h"

namespace vigil::exporters {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

const std::set<std::string> kUnits = {"Seconds",
                                      "Microseconds",
                                      "Milliseconds",
                                      "Bytes",
                                      "Kilobytes",
                                      "Megabytes",
                                      "Gigabytes",
                                      "Terabytes",
                                      "Bits",
                                      "Kilobits",
                                      "Megabits",
                                      "Gigabits",
                                      "Terabits",
                                      "Percent",
                                      "Count",
                                      "Bytes/Second",
                                      "Kilobytes/Second",
                                      "Megabytes/Second",
                                      "Gigabytes/Second",
                                      "Terabytes/Second",
                                      "Bits/Second",
                                      "Kilobits/Second",
                                      "Megabits/Second",
                                      "Gigabits/Second",
                                      "Terabits/Second",
                                      "Count/Second",
                                      "None"};

// Checks one document against the EMF specification's rules; returns "" or what is wrong.
std::string emf_violation(const json& doc) {
  if (!doc.is_object()) return "not an object";
  if (!doc.contains("_aws") || !doc["_aws"].is_object()) return "no _aws object";
  const json& aws = doc["_aws"];
  if (!aws.contains("Timestamp") || !aws["Timestamp"].is_number_integer()) {
    return "Timestamp missing or not an integer";
  }
  if (!aws.contains("CloudWatchMetrics") || !aws["CloudWatchMetrics"].is_array()) {
    return "CloudWatchMetrics missing";
  }
  for (const json& d : aws["CloudWatchMetrics"]) {
    if (!d.contains("Namespace") || !d["Namespace"].is_string()) return "no Namespace";
    const auto ns = d["Namespace"].get<std::string>();
    if (ns.empty() || ns.size() > 255) return "Namespace length";
    if (!d.contains("Dimensions") || !d["Dimensions"].is_array()) return "no Dimensions";
    for (const json& set : d["Dimensions"]) {
      if (!set.is_array()) return "DimensionSet not an array";
      if (set.size() > 30) return "DimensionSet over 30 keys";
      for (const json& key : set) {
        if (!key.is_string()) return "dimension key not a string";
        const auto k = key.get<std::string>();
        if (k.empty() || k.size() > 255) return "dimension name length";
        if (!doc.contains(k) || !doc[k].is_string()) return "dimension '" + k + "' not at root";
        const auto v = doc[k].get<std::string>();
        if (v.empty() || v.size() > 1024) return "dimension value length for " + k;
      }
    }
    if (!d.contains("Metrics") || !d["Metrics"].is_array()) return "no Metrics";
    if (d["Metrics"].size() > 100) return "over 100 metrics";
    std::set<std::string> names;
    for (const json& m : d["Metrics"]) {
      if (!m.contains("Name") || !m["Name"].is_string()) return "metric without Name";
      const auto name = m["Name"].get<std::string>();
      if (name.empty() || name.size() > 255) return "metric name length";
      if (!names.insert(name).second) return "metric '" + name + "' listed twice";
      if (m.contains("Unit") && kUnits.count(m["Unit"].get<std::string>()) == 0) {
        return "bad unit " + m["Unit"].dump();
      }
      if (m.contains("StorageResolution") && m["StorageResolution"] != 1 &&
          m["StorageResolution"] != 60) {
        return "bad StorageResolution";
      }
      if (!doc.contains(name)) return "metric '" + name + "' not at root";
      const json& v = doc[name];
      if (v.is_array()) {
        if (v.empty() || v.size() > 100) return "values array size for " + name;
        for (const json& x : v) {
          if (!x.is_number()) return "non-number value for " + name;
        }
      } else if (v.is_object()) {
        for (const char* k : {"Values", "Counts", "Count", "Sum", "Min", "Max"}) {
          if (!v.contains(k)) return std::string("histogram without ") + k;
        }
        if (v["Values"].size() != v["Counts"].size()) return "Values/Counts sizes differ";
        if (v["Values"].empty() || v["Values"].size() > 100) return "histogram values size";
        double count = 0;
        for (const json& c : v["Counts"]) count += c.get<double>();
        if (count != v["Count"].get<double>()) return "Counts do not add up to Count";
        for (const json& x : v["Values"]) {
          if (x.get<double>() < v["Min"].get<double>() || x.get<double>() > v["Max"].get<double>())
            return "value outside Min/Max";
        }
      } else if (!v.is_number()) {
        return "metric value for " + name + " is not a number";
      }
    }
  }
  return "";
}

std::vector<json> parse_all(const std::vector<detail::EmfDocument>& docs) {
  std::vector<json> out;
  for (const auto& d : docs) {
    EXPECT_EQ(d.json.find('\n'), std::string::npos);
    json j = json::parse(d.json);
    EXPECT_EQ(emf_violation(j), "") << d.json.substr(0, 400);
    out.push_back(std::move(j));
  }
  return out;
}

std::vector<json> parse_lines(const std::string& text) {
  std::vector<json> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    json j = json::parse(line);
    EXPECT_EQ(emf_violation(j), "") << line.substr(0, 400);
    out.push_back(std::move(j));
  }
  return out;
}

MetricsSnapshot sample(double t, double requests, std::vector<uint64_t> buckets, uint64_t count,
                       double sum) {
  MetricsSnapshot s;
  s.timestamp = t;
  MetricFamily c{.name = "requests",
                 .type = metrics::MetricType::kCounter,
                 .label_names = {"service", "method"}};
  c.points.push_back({.label_values = {"api", "GET"}, .value = requests});
  c.points.push_back({.label_values = {"api", "POST"}, .value = 2});
  MetricFamily g{.name = "queue_bytes",
                 .unit = "bytes",
                 .type = metrics::MetricType::kGauge,
                 .label_names = {"service", "method"}};
  g.points.push_back({.label_values = {"api", "GET"}, .value = 512});
  MetricFamily h{.name = "latency",
                 .unit = "seconds",
                 .type = metrics::MetricType::kHistogram,
                 .label_names = {"service", "method"},
                 .bounds = {0.1, 0.5, 1}};
  h.points.push_back(
      {.label_values = {"api", "GET"}, .count = count, .sum = sum, .buckets = std::move(buckets)});
  MetricFamily sm{.name = "rpc",
                  .unit = "seconds",
                  .type = metrics::MetricType::kSummary,
                  .label_names = {"service"}};
  sm.points.push_back(
      {.label_values = {"api"}, .count = 4, .sum = 1, .quantiles = {{0.5, 0.2}, {0.99, 0.4}}});
  s.families = {c, g, h, sm};
  return s;
}

// The document whose dimension values are `dims`.
const json* find_doc(const std::vector<json>& docs,
                     const std::map<std::string, std::string>& dims) {
  for (const auto& d : docs) {
    const json& set = d["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0];
    if (set.size() != dims.size()) continue;
    bool all = true;
    for (const auto& [k, v] : dims) all = all && d.contains(k) && d[k] == v;
    if (all) return &d;
  }
  return nullptr;
}

TEST(EmfEncoding, DocumentsFollowTheSpecAndCarryDeltas) {
  EmfExporterOptions o;
  o.namespace_ = "Shop";
  DeltaTracker tracker;
  (void)detail::encode_emf(tracker.deltas(sample(1000, 10, {1, 2, 3, 3}, 3, 0.9)), o);
  // Second export: requests 10 -> 25, histogram buckets (cumulative) {1,2,3,3} -> {2,5,7,8}.
  auto docs =
      parse_all(detail::encode_emf(tracker.deltas(sample(1010.5, 25, {2, 5, 7, 8}, 8, 6.4)), o));

  const json* get = find_doc(docs, {{"service", "api"}, {"method", "GET"}});
  ASSERT_NE(get, nullptr);
  const json& aws = (*get)["_aws"];
  EXPECT_EQ(aws["Timestamp"], 1010500);
  EXPECT_EQ(aws["CloudWatchMetrics"][0]["Namespace"], "Shop");
  EXPECT_EQ(aws["CloudWatchMetrics"][0]["Dimensions"], json::parse(R"([["service","method"]])"));
  std::map<std::string, std::string> units;
  for (const auto& m : aws["CloudWatchMetrics"][0]["Metrics"]) {
    units[m["Name"]] = m["Unit"];
    EXPECT_FALSE(m.contains("StorageResolution"));
  }
  EXPECT_EQ(units["requests"], "Count");
  EXPECT_EQ(units["queue_bytes"], "Bytes");
  EXPECT_EQ(units["latency"], "Seconds");
  EXPECT_EQ((*get)["requests"], 15.0);
  EXPECT_EQ((*get)["queue_bytes"], 512.0);
  // Per-bucket deltas: cumulative delta {1,3,4,5} -> per bucket {1,2,1,1}; values are the
  // midpoints 0.05, 0.3, 0.75 and the highest bound (1) for +Inf.
  const json& h = (*get)["latency"];
  ASSERT_EQ(h["Values"].size(), 4u);
  const double expected[] = {0.05, 0.3, 0.75, 1};
  for (std::size_t i = 0; i < 4; ++i) EXPECT_NEAR(h["Values"][i].get<double>(), expected[i], 1e-12);
  EXPECT_EQ(h["Counts"], json::parse("[1,2,1,1]"));
  EXPECT_EQ(h["Count"], 5);
  EXPECT_NEAR(h["Sum"].get<double>(), 5.5, 1e-12);
  EXPECT_NEAR(h["Min"].get<double>(), 0.05, 1e-12);
  EXPECT_EQ(h["Max"], 1.0);

  const json* post = find_doc(docs, {{"service", "api"}, {"method", "POST"}});
  ASSERT_NE(post, nullptr);
  EXPECT_EQ((*post)["requests"], 0.0);  // unchanged counter

  const json* svc = find_doc(docs, {{"service", "api"}});
  ASSERT_NE(svc, nullptr);
  EXPECT_EQ((*svc)["rpc_count"], 0.0);
  EXPECT_EQ((*svc)["rpc_sum"], 0.0);
  const json* q99 = find_doc(docs, {{"service", "api"}, {"quantile", "0.99"}});
  ASSERT_NE(q99, nullptr);
  EXPECT_EQ((*q99)["rpc"], 0.4);
}

// The exporter keeps one encoder (groups, names, bucket values, output buffer) between exports:
// whatever the previous snapshot was, it writes what a new encoder writes.
TEST(EmfEncoding, AKeptEncoderWritesWhatANewOneWrites) {
  std::vector<MetricsSnapshot> seq;
  seq.push_back(sample(1000, 10, {1, 2, 3, 3}, 3, 0.9));
  seq.push_back(sample(1010, 25, {2, 5, 7, 8}, 8, 6.4));
  MetricsSnapshot reordered = sample(1020, 30, {0, 0, 9, 9}, 9, 1);
  std::reverse(reordered.families.begin(), reordered.families.end());
  for (auto& f : reordered.families) std::reverse(f.points.begin(), f.points.end());
  reordered.families[1].points[0].label_values[1] = "";  // one dimension fewer
  seq.push_back(reordered);
  MetricsSnapshot other;  // other labels, a collision with a dimension name, many series
  other.timestamp = 1030;
  MetricFamily c{.name = "zone", .type = metrics::MetricType::kCounter, .label_names = {"zone"}};
  for (int i = 0; i < 150; ++i) {
    c.points.push_back({.label_values = {"z" + std::to_string(i % 7)}, .value = i + 0.25});
  }
  other.families.push_back(c);
  seq.push_back(other);
  seq.push_back(sample(1040, 40, {3, 3, 3, 3}, 3, 2));
  seq.push_back(MetricsSnapshot{});
  seq.push_back(seq[1]);

  detail::EmfEncoder encoder(EmfExporterOptions{});
  detail::EmfBatch batch;
  for (std::size_t n = 0; n < seq.size(); ++n) {
    encoder.encode(seq[n], batch);
    const auto fresh = detail::encode_emf(seq[n], EmfExporterOptions{});
    ASSERT_EQ(batch.documents.size(), fresh.size()) << "snapshot " << n;
    std::string text;
    for (std::size_t i = 0; i < fresh.size(); ++i) {
      EXPECT_EQ(batch.json(i), fresh[i].json) << "snapshot " << n << " document " << i;
      EXPECT_EQ(batch.documents[i].points, fresh[i].points);
      EXPECT_EQ(batch.line(i), fresh[i].json + "\n");
      text += fresh[i].json + "\n";
    }
    EXPECT_EQ(batch.text, text);
  }
  EXPECT_FALSE(parse_all(detail::encode_emf(seq[3], EmfExporterOptions{})).empty());
}

// Bucket counts are integers written as integers (100000, not 1e+05), as Count is.
TEST(EmfEncoding, BucketCountsAreWrittenAsIntegers) {
  MetricsSnapshot s;
  s.timestamp = 5;
  MetricFamily h{
      .name = "size", .type = metrics::MetricType::kHistogram, .label_names = {}, .bounds = {1, 2}};
  h.points.push_back({.count = 9100000, .sum = 10, .buckets = {100000, 1100000, 9100000}});
  s.families.push_back(h);
  const auto docs = detail::encode_emf(s, {});
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_NE(docs[0].json.find(R"("size":{"Values":[0.5,1.5,2],"Counts":[100000,1000000,8000000],)"
                              R"("Count":9100000,"Sum":10,"Min":0.5,"Max":2})"),
            std::string::npos)
      << docs[0].json;
}

TEST(EmfEncoding, LimitsHoldFor250MetricsAnd40Labels) {
  MetricsSnapshot s;
  s.timestamp = 5;
  std::vector<std::string> names, values;
  for (int i = 0; i < 40; ++i) {
    names.push_back("label_" + std::to_string(i));
    values.push_back(i == 7 ? "" : std::string(i == 3 ? 2000 : 5, 'v'));
  }
  double total = 0;
  for (int m = 0; m < 250; ++m) {
    MetricFamily f{.name = "metric_" + std::to_string(m),
                   .type = metrics::MetricType::kGauge,
                   .label_names = names};
    f.points.push_back({.label_values = values, .value = m + 0.5});
    total += m + 0.5;
    s.families.push_back(std::move(f));
  }
  EmfExporterOptions o;
  o.high_resolution = true;
  auto docs = parse_all(detail::encode_emf(s, o));
  ASSERT_EQ(docs.size(), 3u);  // 100 + 100 + 50 metrics
  double seen = 0;
  std::set<std::string> metrics;
  for (const auto& d : docs) {
    const json& set = d["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0];
    EXPECT_EQ(set.size(), 30u);
    EXPECT_FALSE(d.contains("label_7"));                       // empty value: not a dimension
    EXPECT_EQ(d["label_3"].get<std::string>().size(), 1024u);  // cut at 1024
    for (const auto& m : d["_aws"]["CloudWatchMetrics"][0]["Metrics"]) {
      EXPECT_EQ(m["StorageResolution"], 1);
      metrics.insert(m["Name"]);
      seen += d[m["Name"].get<std::string>()].get<double>();
    }
  }
  EXPECT_EQ(metrics.size(), 250u);
  EXPECT_EQ(seen, total);
}

TEST(EmfEncoding, SeriesOutsideTheDimensionsAreCombinedWithin100Values) {
  MetricsSnapshot s;
  s.timestamp = 5;
  MetricFamily g{
      .name = "temp", .type = metrics::MetricType::kGauge, .label_names = {"region", "sensor"}};
  MetricFamily c{
      .name = "hits", .type = metrics::MetricType::kCounter, .label_names = {"region", "sensor"}};
  MetricFamily h{
      .name = "size", .type = metrics::MetricType::kHistogram, .label_names = {"region", "sensor"}};
  for (int i = 0; i < 300; ++i) h.bounds.push_back(i + 1.0);
  double gauge_sum = 0;
  for (int i = 0; i < 250; ++i) {
    g.points.push_back({.label_values = {"eu", std::to_string(i)}, .value = i * 2.0});
    gauge_sum += i * 2.0;
    c.points.push_back({.label_values = {"eu", std::to_string(i)}, .value = 1});
  }
  // Two series, one observation in each of the 301 buckets: 602 observations.
  for (int k = 0; k < 2; ++k) {
    MetricPoint p{.label_values = {"eu", std::to_string(k)}, .count = 301, .sum = 10};
    for (uint64_t b = 1; b <= 301; ++b) p.buckets.push_back(b);
    h.points.push_back(p);
  }
  s.families = {g, c, h};
  EmfExporterOptions o;
  o.all_labels_as_dimensions = false;
  o.dimensions = {"region", "missing"};
  auto docs = parse_all(detail::encode_emf(s, o));
  ASSERT_EQ(docs.size(), 3u);  // 250 gauge values in chunks of 100
  double seen_gauge = 0;
  std::size_t gauge_values = 0;
  for (const auto& d : docs) {
    EXPECT_EQ(d["_aws"]["CloudWatchMetrics"][0]["Dimensions"], json::parse(R"([["region"]])"));
    EXPECT_EQ(d["region"], "eu");
    for (const auto& v : d["temp"]) {
      seen_gauge += v.get<double>();
      ++gauge_values;
    }
  }
  EXPECT_EQ(gauge_values, 250u);
  EXPECT_EQ(seen_gauge, gauge_sum);
  EXPECT_EQ(docs[0]["hits"], 250.0);  // counters added
  const json& hist = docs[0]["size"];
  EXPECT_LE(hist["Values"].size(), 100u);
  EXPECT_EQ(hist["Count"], 602);
  EXPECT_EQ(hist["Sum"], 20.0);
  EXPECT_FALSE(docs[1].contains("hits"));
}

TEST(EmfEncoding, NamesAreSanitised) {
  MetricsSnapshot s;
  s.timestamp = 1;
  MetricFamily g{
      .name = "region", .type = metrics::MetricType::kGauge, .label_names = {"region", "_aws"}};
  g.points.push_back({.label_values = {"eu", "x"}, .value = 1});
  MetricFamily n{.name = "nan_gauge", .type = metrics::MetricType::kGauge};
  n.points.push_back({.value = NAN});
  s.families = {g, n};
  EmfExporterOptions o;
  o.prefix = std::string(300, 'p');
  auto docs = parse_all(detail::encode_emf(s, o));
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_TRUE(docs[0].contains("_aws_"));
  for (const auto& m : docs[0]["_aws"]["CloudWatchMetrics"][0]["Metrics"]) {
    EXPECT_EQ(m["Name"].get<std::string>().size(), 255u);
  }

  o.prefix = "";
  docs = parse_all(detail::encode_emf(s, o));
  EXPECT_EQ(docs[0]["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"], "region_");
  EXPECT_EQ(docs[0]["region_"], 1.0);
  EXPECT_EQ(docs[0]["region"], "eu");
}

TEST(EmfEncoding, EscapesDimensionValues) {
  MetricsSnapshot s;
  s.timestamp = 1;
  MetricFamily g{.name = "g", .type = metrics::MetricType::kGauge, .label_names = {"k"}};
  g.points.push_back({.label_values = {"a\"b\nc"}, .value = 2});
  s.families.push_back(g);
  auto docs = parse_all(detail::encode_emf(s, {}));
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_EQ(docs[0]["k"], "a\"b\nc");
  EXPECT_EQ(docs[0]["g"], 2.0);
}

TEST(EmfEncoding, UnitMapping) {
  EXPECT_EQ(detail::emf_unit("seconds", false), "Seconds");
  EXPECT_EQ(detail::emf_unit("bytes", false), "Bytes");
  EXPECT_EQ(detail::emf_unit("percent", false), "Percent");
  EXPECT_EQ(detail::emf_unit("ratio", false), "None");
  EXPECT_EQ(detail::emf_unit("", true), "Count");
  EXPECT_EQ(detail::emf_unit("", false), "None");
  EXPECT_EQ(detail::emf_unit("celsius", false), "None");
}

TEST(EmfExporter, RealRegistryThroughCollectSnapshot) {
  metrics::Registry r;
  auto& c = r.counter("jobs_total", "Jobs", {"queue"});
  c.labels("mail").inc(3);
  r.gauge("depth_bytes", "Depth", {}, {.unit = "bytes"}).get().set(42);
  auto docs = parse_all(detail::encode_emf(DeltaTracker().deltas(collect_snapshot(r)), {}));
  const json* mail = find_doc(docs, {{"queue", "mail"}});
  ASSERT_NE(mail, nullptr);
  EXPECT_EQ((*mail)["jobs"], 3.0);
  const json* none = find_doc(docs, {});
  ASSERT_NE(none, nullptr);
  EXPECT_EQ((*none)["depth_bytes"], 42.0);
}

TEST(EmfExporter, AppendsToAFileAndFlushes) {
  const auto path =
      std::filesystem::temp_directory_path() / ("vigil_emf_" + std::to_string(::getpid()) + ".log");
  std::filesystem::remove(path);
  EmfExporterOptions o;
  o.destination = path.string();
  EmfExporter e(o);
  EXPECT_EQ(e.name(), "emf");
  auto r1 =
      e.export_metrics(sample(1, 1, {0, 0, 0, 0}, 0, 0), Clock::now() + std::chrono::seconds(1));
  ASSERT_TRUE(r1.ok) << r1.error;
  auto r2 =
      e.export_metrics(sample(2, 3, {0, 1, 1, 1}, 1, 0.2), Clock::now() + std::chrono::seconds(1));
  ASSERT_TRUE(r2.ok) << r2.error;
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();  // read while the exporter still holds the file: flushed
  auto docs = parse_lines(text.str());
  EXPECT_EQ(docs.size(), r1.requests + r2.requests);
  EXPECT_EQ(r1.bytes + r2.bytes, text.str().size());
  EXPECT_EQ(docs.back()["_aws"]["Timestamp"], 2000);
  e.close();
  std::filesystem::remove(path);
  EXPECT_EQ(e.stats().documents, docs.size());
}

TEST(EmfExporter, WritesToStdout) {
  EmfExporter e({});
  ::testing::internal::CaptureStdout();
  auto r =
      e.export_metrics(sample(3, 1, {0, 0, 0, 0}, 0, 0), Clock::now() + std::chrono::seconds(1));
  const std::string out = ::testing::internal::GetCapturedStdout();
  ASSERT_TRUE(r.ok) << r.error;
  auto docs = parse_lines(out);
  EXPECT_EQ(docs.size(), r.requests);
  EXPECT_GT(r.points, 0u);
}

int bound_socket(int type, uint16_t& port) {
  const int fd = ::socket(AF_INET, type, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  port = ntohs(addr.sin_port);
  return fd;
}

// Reads from `fd` until `lines` newline-terminated lines arrived or 3 s passed.
std::string read_lines(int fd, std::size_t lines) {
  std::string got;
  const auto until = Clock::now() + std::chrono::seconds(3);
  while (static_cast<std::size_t>(std::count(got.begin(), got.end(), '\n')) < lines &&
         Clock::now() < until) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[70000];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<std::size_t>(n));
  }
  return got;
}

TEST(EmfExporter, SendsToTheAgentOverTcp) {
  uint16_t port = 0;
  const int listener = bound_socket(SOCK_STREAM, port);
  ASSERT_EQ(::listen(listener, 4), 0);
  EmfExporterOptions o;
  o.destination = "tcp://127.0.0.1:" + std::to_string(port);
  EmfExporter e(o);
  auto r1 =
      e.export_metrics(sample(1, 1, {0, 0, 0, 0}, 0, 0), Clock::now() + std::chrono::seconds(2));
  ASSERT_TRUE(r1.ok) << r1.error;
  auto r2 =
      e.export_metrics(sample(2, 5, {0, 0, 0, 0}, 0, 0), Clock::now() + std::chrono::seconds(2));
  ASSERT_TRUE(r2.ok) << r2.error;
  const int conn = ::accept(listener, nullptr, nullptr);
  ASSERT_GE(conn, 0);
  auto docs = parse_lines(read_lines(conn, r1.requests + r2.requests));
  ASSERT_EQ(docs.size(), r1.requests + r2.requests);  // one connection, both exports
  const json* get = find_doc(docs, {{"service", "api"}, {"method", "GET"}});
  ASSERT_NE(get, nullptr);
  EXPECT_EQ((*get)["requests"], 1.0);
  EXPECT_EQ(docs.back()["_aws"]["Timestamp"], 2000);
  double last_get = 0;
  for (const auto& d : docs) {
    if (d.contains("method") && d["method"] == "GET" && d.contains("requests"))
      last_get = d["requests"];
  }
  EXPECT_EQ(last_get, 4.0);  // 5 - 1
  e.close();
  ::close(conn);
  ::close(listener);
}

TEST(EmfExporter, SendsToTheAgentOverUdp) {
  uint16_t port = 0;
  const int fd = bound_socket(SOCK_DGRAM, port);
  EmfExporterOptions o;
  o.destination = "udp://127.0.0.1:" + std::to_string(port);
  EmfExporter e(o);
  auto r =
      e.export_metrics(sample(1, 7, {0, 1, 1, 1}, 1, 0.3), Clock::now() + std::chrono::seconds(2));
  ASSERT_TRUE(r.ok) << r.error;
  std::size_t datagrams = 0;
  std::vector<json> docs;
  const auto until = Clock::now() + std::chrono::seconds(3);
  while (datagrams < r.requests && Clock::now() < until) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[70000];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    ASSERT_GT(n, 0);
    ++datagrams;
    const std::string d(buf, static_cast<std::size_t>(n));
    EXPECT_EQ(d.back(), '\n');
    EXPECT_EQ(std::count(d.begin(), d.end(), '\n'), 1);  // one document per datagram
    for (auto& j : parse_lines(d)) docs.push_back(std::move(j));
  }
  EXPECT_EQ(datagrams, r.requests);
  const json* get = find_doc(docs, {{"service", "api"}, {"method", "GET"}});
  ASSERT_NE(get, nullptr);
  EXPECT_EQ((*get)["requests"], 7.0);
  ASSERT_EQ((*get)["latency"]["Values"].size(), 1u);
  EXPECT_NEAR((*get)["latency"]["Values"][0].get<double>(), 0.3, 1e-12);
  EXPECT_EQ((*get)["latency"]["Counts"], json::parse("[1]"));
  ::close(fd);
}

TEST(EmfExporter, AgentDownIsCounted) {
  uint16_t port = 0;
  const int fd = bound_socket(SOCK_STREAM, port);  // bound, not listening: refuses
  EmfExporterOptions o;
  o.destination = "tcp://127.0.0.1:" + std::to_string(port);
  EmfExporter e(o);
  const auto s = sample(1, 1, {0, 0, 0, 0}, 0, 0);
  auto r = e.export_metrics(s, Clock::now() + std::chrono::seconds(2));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "connection");
  EXPECT_EQ(r.points, 0u);
  // counters 2 + gauge 1 + summary count/sum/2 quantiles (the empty histogram is not sent).
  EXPECT_EQ(r.dropped_points, 7u);
  EXPECT_NE(r.error.find("cannot connect"), std::string::npos) << r.error;
  const auto st = e.stats();
  EXPECT_EQ(st.failed_exports, 1u);
  EXPECT_EQ(st.dropped_points, 7u);
  ::close(fd);
}

TEST(EmfExporter, UdpAgentDownIsCounted) {
  // A UDP port nobody listens on: loopback answers the first datagram with ICMP port
  // unreachable, and the connected socket reports it on the next send.
  uint16_t port = 0;
  ::close(bound_socket(SOCK_DGRAM, port));
  EmfExporterOptions o;
  o.destination = "udp://127.0.0.1:" + std::to_string(port);
  EmfExporter e(o);
  auto r =
      e.export_metrics(sample(1, 1, {0, 0, 0, 0}, 0, 0), Clock::now() + std::chrono::seconds(2));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "connection");
  EXPECT_GT(r.dropped_points, 0u);
  EXPECT_EQ(r.points + r.dropped_points, 7u);  // nothing uncounted
  EXPECT_NE(r.error.find("refused"), std::string::npos) << r.error;
}

TEST(EmfExporter, FileThatCannotBeOpenedIsCounted) {
  EmfExporterOptions o;
  o.destination = "/nonexistent-dir-vigil/metrics.log";
  EmfExporter e(o);
  auto r =
      e.export_metrics(sample(1, 1, {0, 0, 0, 0}, 0, 0), Clock::now() + std::chrono::seconds(1));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "io");
  EXPECT_EQ(r.dropped_points, 7u);
}

TEST(EmfExporterOptions, Validate) {
  EmfExporterOptions o;
  EXPECT_NO_THROW(o.validate());
  for (const char* bad : {"tcp://", "udp://h:0", "tcp://h:99999", "http://x", "tcp://[::1"}) {
    o.destination = bad;
    EXPECT_THROW(o.validate(), Error) << bad;
  }
  o.destination = "tcp://127.0.0.1";  // default port
  EXPECT_NO_THROW(o.validate());
  o.namespace_ = "AWS/EC2";
  EXPECT_THROW(o.validate(), Error);
  o.namespace_ = "";
  EXPECT_THROW(o.validate(), Error);
  o.namespace_ = "ok";
  o.dimensions = {"a", "a"};
  EXPECT_THROW(o.validate(), Error);
  o.dimensions.assign(31, "x");
  EXPECT_THROW(o.validate(), Error);
}

TEST(EmfExporterOptions, FromEnvironment) {
  std::vector<std::string> warnings;
  auto warn = [&](std::string_view w) { warnings.emplace_back(w); };
  EXPECT_FALSE(EmfExporterOptions::from_environment(
      trace::Environment(std::map<std::string, std::string, std::less<>>{}, warn)));
  auto o = EmfExporterOptions::from_environment(
      trace::Environment({{"VIGIL_EMF", "udp://127.0.0.1:25888"},
                          {"OTEL_SERVICE_NAME", "shop"},
                          {"VIGIL_EMF_DIMENSIONS", "service, method"}},
                         warn));
  ASSERT_TRUE(o);
  EXPECT_EQ(o->destination, "udp://127.0.0.1:25888");
  EXPECT_EQ(o->namespace_, "shop");
  EXPECT_FALSE(o->all_labels_as_dimensions);
  EXPECT_EQ(o->dimensions, (std::vector<std::string>{"service", "method"}));
  o = EmfExporterOptions::from_environment(
      trace::Environment({{"VIGIL_EMF", "stdout"},
                          {"VIGIL_EMF_NAMESPACE", "Ns"},
                          {"OTEL_SERVICE_NAME", "shop"},
                          {"VIGIL_EMF_DIMENSIONS", "none"},
                          {"VIGIL_EMF_HIGH_RESOLUTION", "true"}},
                         warn));
  ASSERT_TRUE(o);
  EXPECT_EQ(o->namespace_, "Ns");
  EXPECT_TRUE(o->dimensions.empty());
  EXPECT_FALSE(o->all_labels_as_dimensions);
  EXPECT_TRUE(o->high_resolution);
  o = EmfExporterOptions::from_environment(trace::Environment({{"VIGIL_EMF", "/tmp/x.log"}}, warn));
  ASSERT_TRUE(o);
  EXPECT_EQ(o->namespace_, "vigil");
  EXPECT_TRUE(o->all_labels_as_dimensions);
  EXPECT_TRUE(warnings.empty());
  EXPECT_FALSE(
      EmfExporterOptions::from_environment(trace::Environment({{"VIGIL_EMF", "tcp://:x"}}, warn)));
  EXPECT_EQ(warnings.size(), 1u);
}

}  // namespace
}  // namespace vigil::exporters
