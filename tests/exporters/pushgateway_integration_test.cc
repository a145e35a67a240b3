// PushgatewayExporter against the real Prometheus Pushgateway (started by
// pushgateway_integration_test.sh, which passes its URL in VIGIL_TEST_PUSHGATEWAY_URL): push,
// replace (PUT), push_add (POST), delete; every value read back from the gateway's /metrics equal
// to what vigil held; grouping keys with '/', empty and non-ASCII values read back through
// /api/v1/metrics; a metric carrying a grouping label refused.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/detail/http_sender.h"
#include "vigil/exporters/pushgateway_exporter.h"
#include "vigil/metrics/registry.h"

namespace vigil::exporters {
namespace {

using std::chrono::milliseconds;
using Labels = std::map<std::string, std::string>;

std::string gateway() {
  const char* url = std::getenv("VIGIL_TEST_PUSHGATEWAY_URL");
  return url != nullptr ? url : "";
}

std::string get(const std::string& path) {
  vigil::detail::HttpSender sender({.url = gateway() + path, .max_response_bytes = 8u << 20});
  const auto r = sender.get(vigil::detail::Clock::now() + milliseconds(3000));
  EXPECT_EQ(r.status, 200) << path << ": " << r.error;
  return r.body;
}

// One sample of the text exposition: name, labels (empty values dropped: Prometheus treats an
// empty label as an absent one), value.
struct Sample {
  std::string name;
  Labels labels;
  std::string value;
};

std::vector<Sample> parse_samples(const std::string& text) {
  std::vector<Sample> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty() || line[0] == '#') continue;
    Sample s;
    std::size_t i = line.find_first_of("{ ");
    s.name = line.substr(0, i);
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        const std::size_t eq = line.find('=', i);
        const std::string key = line.substr(i, eq - i);
        std::string value;
        i = eq + 2;  // past ="
        while (i < line.size() && line[i] != '"') {
          if (line[i] == '\\' && i + 1 < line.size()) {
            ++i;
            value += line[i] == 'n' ? '\n' : line[i];
          } else {
            value += line[i];
          }
          ++i;
        }
        ++i;  // closing quote
        if (i < line.size() && line[i] == ',') ++i;
        if (!value.empty()) s.labels[key] = value;
      }
      ++i;  // '}'
    }
    s.value = line.substr(line.find_first_not_of(' ', i));
    out.push_back(std::move(s));
  }
  return out;
}

std::optional<std::string> find(const std::vector<Sample>& samples, const std::string& name,
                                const Labels& labels) {
  for (const Sample& s : samples) {
    if (s.name == name && s.labels == labels) return s.value;
  }
  return std::nullopt;
}

bool has_metric_with_job(const std::vector<Sample>& samples, const std::string& name,
                         const std::string& job) {
  for (const Sample& s : samples) {
    if (s.name == name && s.labels.count("job") != 0 && s.labels.at("job") == job) return true;
  }
  return false;
}

// The Pushgateway applies a DELETE after answering it (202 Accepted): whether the group is gone
// from /metrics, polled for at most 3 s.
bool group_gone(const std::string& name, const std::string& job) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (has_metric_with_job(parse_samples(get("/metrics")), name, job)) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return true;
}

// The number as the exposition writes it (Go's strconv 'g' shortest form for these values).
std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  // Shortest representation that round-trips.
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

bool same_number(const std::string& got, double want) {
  return std::strtod(got.c_str(), nullptr) == want;
}

class PushgatewayIntegration : public ::testing::Test {
 protected:
  void SetUp() override {
    if (gateway().empty()) GTEST_SKIP() << "VIGIL_TEST_PUSHGATEWAY_URL is not set";
  }
};

PushgatewayExporterOptions options(std::string job,
                                   std::vector<std::pair<std::string, std::string>> grouping) {
  PushgatewayExporterOptions o;
  o.url = gateway();
  o.job = std::move(job);
  o.grouping_key = std::move(grouping);
  o.timeout = milliseconds(3000);
  return o;
}

// Every point of `snapshot` read back from the gateway with `group` labels added.
void expect_read_back(const MetricsSnapshot& snapshot, const Labels& group) {
  const std::vector<Sample> samples = parse_samples(get("/metrics"));
  int checked = 0;
  for (const MetricFamily& f : snapshot.families) {
    for (const MetricPoint& p : f.points) {
      Labels labels = group;
      for (std::size_t i = 0; i < f.label_names.size(); ++i) {
        if (!p.label_values[i].empty()) labels[f.label_names[i]] = p.label_values[i];
      }
      const auto expect = [&](const std::string& name, const Labels& l, double want) {
        const auto got = find(samples, name, l);
        ASSERT_TRUE(got.has_value()) << "missing " << name << " (want " << num(want) << ")";
        EXPECT_TRUE(same_number(*got, want)) << name << ": got " << *got << ", want " << want;
        ++checked;
      };
      switch (f.type) {
        case metrics::MetricType::kCounter:
          expect(f.name + "_total", labels, p.value);
          break;
        case metrics::MetricType::kGauge:
          expect(f.name, labels, p.value);
          break;
        case metrics::MetricType::kInfo:
          expect(f.name + "_info", labels, 1);
          break;
        case metrics::MetricType::kHistogram:
          for (std::size_t b = 0; b <= f.bounds.size(); ++b) {
            Labels l = labels;
            l["le"] = b < f.bounds.size() ? num(f.bounds[b]) : "+Inf";
            expect(f.name + "_bucket", l, static_cast<double>(p.buckets[b]));
          }
          expect(f.name + "_sum", labels, p.sum);
          expect(f.name + "_count", labels, static_cast<double>(p.count));
          break;
        case metrics::MetricType::kSummary:
          for (const auto& [q, v] : p.quantiles) {
            Labels l = labels;
            l["quantile"] = num(q);
            expect(f.name, l, v);
          }
          expect(f.name + "_sum", labels, p.sum);
          expect(f.name + "_count", labels, static_cast<double>(p.count));
          break;
      }
    }
  }
  EXPECT_GT(checked, 10);
}

TEST_F(PushgatewayIntegration, PushReadBackReplaceAddDelete) {
  metrics::Registry registry;
  auto& jobs = registry.counter("it_jobs_total", "Jobs done.", {"kind"});
  jobs.labels({"full"}).inc(3);
  jobs.labels({"incremental"}).inc(41.5);
  registry.gauge("it_temperature_celsius", "Temperature.").get().set(-12.25);
  auto& latency =
      registry.histogram("it_latency_seconds", "Latency.", {"route"}, {.buckets = {0.05, 0.5, 5}});
  for (double v : {0.01, 0.2, 0.3, 1.0, 7.0}) latency.labels({"/api/v1"}).observe(v);
  auto& rpc = registry.summary("it_rpc_seconds", "RPC.", {}, {.quantiles = {0.5, 0.9}});
  for (double v : {1.0, 2.0, 3.0, 4.0}) rpc.get().observe(v);
  registry.info("it_build", "Build.", {"version"}).labels({"1.2.3"});

  PushgatewayExporter exporter(options("vigil_it", {{"instance", "host-1"}}));
  const Labels group = {{"job", "vigil_it"}, {"instance", "host-1"}};

  // 1. push (PUT): every value equals what vigil held.
  const MetricsSnapshot first = collect_snapshot(registry, {.exemplars = false});
  ExportOutcome r = exporter.push(first, vigil::detail::Clock::now() + milliseconds(3000));
  ASSERT_TRUE(r.ok) << r.error;
  expect_read_back(first, group);

  // 2. replace (PUT): a family no longer present is removed, changed values replaced.
  ASSERT_TRUE(registry.remove("it_temperature_celsius"));
  jobs.labels({"full"}).inc(1);
  const MetricsSnapshot second = collect_snapshot(registry, {.exemplars = false});
  r = exporter.push(second, vigil::detail::Clock::now() + milliseconds(3000));
  ASSERT_TRUE(r.ok) << r.error;
  expect_read_back(second, group);
  auto samples = parse_samples(get("/metrics"));
  EXPECT_FALSE(find(samples, "it_temperature_celsius", group).has_value());
  Labels full = group;
  full["kind"] = "full";
  EXPECT_EQ(find(samples, "it_jobs_total", full).value_or(""), "4");

  // 3. push_add (POST): only the pushed names are replaced, the rest kept.
  MetricsSnapshot extra;
  MetricFamily added;
  added.name = "it_added";
  added.type = metrics::MetricType::kGauge;
  MetricPoint point;
  point.value = 99;
  added.points.push_back(point);
  extra.families.push_back(added);
  r = exporter.push_add(extra, vigil::detail::Clock::now() + milliseconds(3000));
  ASSERT_TRUE(r.ok) << r.error;
  samples = parse_samples(get("/metrics"));
  EXPECT_EQ(find(samples, "it_added", group).value_or(""), "99");
  EXPECT_EQ(find(samples, "it_jobs_total", full).value_or(""), "4");
  expect_read_back(second, group);

  // 4. delete: the group is gone.
  r = exporter.delete_group();
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_TRUE(group_gone("it_jobs_total", "vigil_it"));
  EXPECT_TRUE(group_gone("it_added", "vigil_it"));
}

TEST_F(PushgatewayIntegration, GroupingKeysWithSlashEmptyAndUnicodeReadBack) {
  metrics::Registry registry;
  registry.gauge("it_group_probe", "Probe.").get().set(7);
  const std::string job = "nightly/backup";
  const std::vector<std::pair<std::string, std::string>> grouping = {
      {"path", "/var/tmp"},
      {"empty", ""},
      {"owner", "Bj\xc3\xb6rn M\xc3\xbcller"},
      {"dot", "."},
      {"odd", "a b?c#d%e+f"}};
  PushgatewayExporter exporter(options(job, grouping));
  ExportOutcome r = exporter.push(registry);
  ASSERT_TRUE(r.ok) << r.error;

  // The group as the gateway stores it.
  const auto groups = nlohmann::json::parse(get("/api/v1/metrics"));
  bool found = false;
  for (const auto& g : groups["data"]) {
    const auto& labels = g["labels"];
    if (labels.value("job", "") != job) continue;
    found = true;
    EXPECT_EQ(labels.value("path", "?"), "/var/tmp");
    EXPECT_EQ(labels.value("empty", "?"), "");
    EXPECT_EQ(labels.value("owner", "?"), "Bj\xc3\xb6rn M\xc3\xbcller");
    EXPECT_EQ(labels.value("dot", "?"), ".");
    EXPECT_EQ(labels.value("odd", "?"), "a b?c#d%e+f");
  }
  EXPECT_TRUE(found) << groups.dump();

  // And on the metric in /metrics (the empty label is absent there).
  const auto samples = parse_samples(get("/metrics"));
  const Labels want = {{"job", job},
                       {"path", "/var/tmp"},
                       {"owner", "Bj\xc3\xb6rn M\xc3\xbcller"},
                       {"dot", "."},
                       {"odd", "a b?c#d%e+f"}};
  EXPECT_EQ(find(samples, "it_group_probe", want).value_or(""), "7");

  r = exporter.delete_group();
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_TRUE(group_gone("it_group_probe", job));
}

TEST_F(PushgatewayIntegration, MetricCarryingAGroupingLabelIsRefused) {
  metrics::Registry registry;
  registry.gauge("it_per_instance", "Bad.", {"instance"}).labels({"other"}).set(1);
  registry.gauge("it_fine", "Fine.").get().set(2);
  PushgatewayExporter exporter(options("vigil_it_refuse", {{"instance", "h1"}}));
  const ExportOutcome r = exporter.push(registry);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "rejected");
  EXPECT_NE(r.error.find("'it_per_instance' carries label 'instance'"), std::string::npos)
      << r.error;
  EXPECT_EQ(r.dropped_points, 1u);
  const auto samples = parse_samples(get("/metrics"));
  EXPECT_EQ(find(samples, "it_fine", {{"job", "vigil_it_refuse"}, {"instance", "h1"}}).value_or(""),
            "2");
  EXPECT_FALSE(has_metric_with_job(samples, "it_per_instance", "vigil_it_refuse"));

  // What the gateway itself does with such metrics, pushed by hand: it overwrites the metric's
  // own label with the grouping key's value (the information is silently lost), and rejects
  // the whole push (400) when series then collide. Refusing them up front loses nothing.
  vigil::detail::HttpSender raw(
      {.url = exporter.group_url(), .content_type = "text/plain; version=0.0.4", .method = "PUT"});
  auto answer = raw.post("it_per_instance{instance=\"a\"} 1\nit_per_instance{instance=\"b\"} 2\n",
                         vigil::detail::Clock::now() + milliseconds(3000));
  EXPECT_EQ(answer.status, 400) << answer.body;
  answer = raw.post("it_per_instance{instance=\"other\"} 1\n",
                    vigil::detail::Clock::now() + milliseconds(3000));
  EXPECT_EQ(answer.status, 200) << answer.body;
  EXPECT_EQ(find(parse_samples(get("/metrics")), "it_per_instance",
                 {{"job", "vigil_it_refuse"}, {"instance", "h1"}})
                .value_or(""),
            "1");
  ASSERT_TRUE(exporter.delete_group().ok);
}

}  // namespace
}  // namespace vigil::exporters
