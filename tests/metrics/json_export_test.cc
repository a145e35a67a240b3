// Tests for JsonSink: the document parses back with nlohmann::json and follows the schema in
// docs/metrics-exposition.md.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vigil/metrics/exposition.h"
#include "vigil/metrics/registry.h"

namespace vigil::metrics {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct TestFamily {
  std::string name;
  std::string help;
  std::string unit;
  MetricType type = MetricType::kGauge;
  std::vector<std::string> label_names;
  std::vector<LabelPair> const_labels;

  FamilyDesc desc() const {
    FamilyDesc d;
    d.name = name;
    d.help = help;
    d.unit = unit;
    d.type = type;
    d.label_names = label_names;
    d.const_labels = const_labels;
    return d;
  }
};

using Values = std::vector<std::string_view>;

// Every type once, with const labels, special values, UTF-8 and escaping.
std::string sample_document() {
  const TestFamily counter{"http_requests",      "Requests \"served\".\n", "",
                           MetricType::kCounter, {"method", "path"},       {{"service", "api"}}};
  const TestFamily gauge{"temperature_celsius", "Temperature.", "celsius",
                         MetricType::kGauge,    {"room"},       {}};
  const TestFamily histogram{"request_seconds",      "Latency.", "seconds",
                             MetricType::kHistogram, {},         {}};
  const TestFamily summary{"rpc_seconds",        "RPC latency.", "seconds",
                           MetricType::kSummary, {"service"},    {}};
  const TestFamily info{"build",           "Build information.",  "",
                        MetricType::kInfo, {"version", "commit"}, {}};
  const std::vector<double> bounds{0.005, 0.5, 1};
  const std::vector<uint64_t> cumulative{1, 2, 3, 4};
  const std::vector<std::pair<double, double>> quantiles{{0.5, 0.012}, {0.99, kNaN}};

  std::string out;
  JsonSink sink(out);
  sink.begin_family(counter.desc());
  sink.counter(Values{"GET", "/a\"b\\c\nd"}, 1027, 1700000000.5);
  sink.counter(Values{"POST", "/h\xC3\xA9llo \xE6\x97\xA5\xE6\x9C\xAC"}, 1e15, 0);
  sink.end_family();
  sink.begin_family(gauge.desc());
  sink.gauge(Values{"kitchen"}, 21.5);
  sink.gauge(Values{"oven"}, kInf);
  sink.gauge(Values{"freezer"}, -kInf);
  sink.gauge(Values{"broken"}, kNaN);
  sink.end_family();
  sink.begin_family(histogram.desc());
  sink.histogram({}, HistogramPoint{bounds, cumulative, 4, 12.5, 1700000000});
  sink.end_family();
  sink.begin_family(summary.desc());
  sink.summary(Values{"auth"}, SummaryPoint{quantiles, 17, 3.5, 0});
  sink.end_family();
  sink.begin_family(info.desc());
  sink.info(Values{"1.2.3", "abc123"});
  sink.end_family();
  sink.finish();
  return out;
}

TEST(JsonExport, ParsesBackWithTheDocumentedStructure) {
  const std::string text = sample_document();
  ASSERT_TRUE(json::accept(text)) << text;
  const json doc = json::parse(text);
  ASSERT_TRUE(doc.is_object());
  ASSERT_EQ(doc.size(), 1u);
  const json& metrics = doc.at("metrics");
  ASSERT_TRUE(metrics.is_array());
  ASSERT_EQ(metrics.size(), 5u);
  for (const json& family : metrics) {
    EXPECT_TRUE(family.at("name").is_string());
    EXPECT_TRUE(family.at("type").is_string());
    EXPECT_TRUE(family.at("help").is_string());
    EXPECT_TRUE(family.at("unit").is_string());
    ASSERT_TRUE(family.at("series").is_array());
    for (const json& series : family.at("series")) {
      ASSERT_TRUE(series.at("labels").is_object());
      for (const auto& [key, value] : series.at("labels").items()) EXPECT_TRUE(value.is_string());
    }
  }
}

TEST(JsonExport, Counter) {
  const json family = json::parse(sample_document()).at("metrics").at(0);
  EXPECT_EQ(family.at("name"), "http_requests");  // the family name, without _total
  EXPECT_EQ(family.at("type"), "counter");
  EXPECT_EQ(family.at("help"), "Requests \"served\".\n");
  EXPECT_EQ(family.at("unit"), "");
  const json& series = family.at("series");
  ASSERT_EQ(series.size(), 2u);
  EXPECT_EQ(series[0].at("labels"),
            (json{{"service", "api"}, {"method", "GET"}, {"path", "/a\"b\\c\nd"}}));
  EXPECT_EQ(series[0].at("value"), 1027);
  EXPECT_EQ(series[0].at("created"), 1700000000.5);
  EXPECT_EQ(series[1].at("labels").at("path"), "/h\xC3\xA9llo \xE6\x97\xA5\xE6\x9C\xAC");
  EXPECT_EQ(series[1].at("value").get<double>(), 1e15);
  EXPECT_FALSE(series[1].contains("created"));  // created unknown (0): omitted
}

TEST(JsonExport, LabelOrderIsConstLabelsThenLabelNames) {
  const ordered_json doc = ordered_json::parse(sample_document());
  const ordered_json& labels = doc.at("metrics").at(0).at("series").at(0).at("labels");
  std::vector<std::string> keys;
  for (const auto& [key, value] : labels.items()) keys.push_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{"service", "method", "path"}));
  // Keys of every object come in the documented order too.
  std::vector<std::string> family_keys;
  for (const auto& [key, value] : doc.at("metrics").at(0).items()) family_keys.push_back(key);
  EXPECT_EQ(family_keys, (std::vector<std::string>{"name", "type", "help", "unit", "series"}));
}

TEST(JsonExport, GaugeWithNonFiniteValuesAsStrings) {
  const json family = json::parse(sample_document()).at("metrics").at(1);
  EXPECT_EQ(family.at("name"), "temperature_celsius");
  EXPECT_EQ(family.at("type"), "gauge");
  EXPECT_EQ(family.at("unit"), "celsius");
  const json& series = family.at("series");
  ASSERT_EQ(series.size(), 4u);
  EXPECT_EQ(series[0].at("labels"), (json{{"room", "kitchen"}}));
  EXPECT_EQ(series[0].at("value"), 21.5);
  EXPECT_EQ(series[1].at("value"), "+Inf");
  EXPECT_EQ(series[2].at("value"), "-Inf");
  EXPECT_EQ(series[3].at("value"), "NaN");
  EXPECT_FALSE(series[0].contains("created"));
}

TEST(JsonExport, Histogram) {
  const json family = json::parse(sample_document()).at("metrics").at(2);
  EXPECT_EQ(family.at("type"), "histogram");
  EXPECT_EQ(family.at("unit"), "seconds");
  ASSERT_EQ(family.at("series").size(), 1u);
  const json& h = family.at("series").at(0);
  EXPECT_EQ(h.at("labels"), json::object());
  EXPECT_TRUE(h.at("count").is_number_unsigned());
  EXPECT_EQ(h.at("count"), 4u);
  EXPECT_EQ(h.at("sum"), 12.5);
  EXPECT_EQ(h.at("created"), 1700000000.0);
  const json& buckets = h.at("buckets");
  ASSERT_EQ(buckets.size(), 4u);
  EXPECT_EQ(buckets[0], (json{{"le", 0.005}, {"count", 1}}));
  EXPECT_EQ(buckets[1], (json{{"le", 0.5}, {"count", 2}}));
  EXPECT_EQ(buckets[2], (json{{"le", 1.0}, {"count", 3}}));
  EXPECT_EQ(buckets[3], (json{{"le", "+Inf"}, {"count", 4}}));  // cumulative: equals count
  for (const json& b : buckets) EXPECT_TRUE(b.at("count").is_number_unsigned());
}

TEST(JsonExport, Summary) {
  const json family = json::parse(sample_document()).at("metrics").at(3);
  EXPECT_EQ(family.at("type"), "summary");
  const json& s = family.at("series").at(0);
  EXPECT_EQ(s.at("labels"), (json{{"service", "auth"}}));
  EXPECT_EQ(s.at("count"), 17u);
  EXPECT_EQ(s.at("sum"), 3.5);
  EXPECT_FALSE(s.contains("created"));
  EXPECT_EQ(s.at("quantiles"), (json::array({json{{"quantile", 0.5}, {"value", 0.012}},
                                             json{{"quantile", 0.99}, {"value", "NaN"}}})));
}

TEST(JsonExport, Info) {
  const json family = json::parse(sample_document()).at("metrics").at(4);
  EXPECT_EQ(family.at("name"), "build");  // without _info
  EXPECT_EQ(family.at("type"), "info");
  EXPECT_EQ(family.at("series"),
            (json::array(
                {json{{"labels", {{"version", "1.2.3"}, {"commit", "abc123"}}}, {"value", 1}}})));
}

TEST(JsonExport, EmptyCollection) {
  std::string out;
  JsonSink sink(out);
  sink.finish();
  EXPECT_EQ(out, "{\"metrics\":[]}");
  sink.finish();  // idempotent
  EXPECT_EQ(out, "{\"metrics\":[]}");
}

TEST(JsonExport, FamilyWithoutSeries) {
  const TestFamily f{"idle", "", "", MetricType::kGauge, {"a"}, {}};
  std::string out;
  JsonSink sink(out);
  sink.begin_family(f.desc());
  sink.end_family();
  sink.finish();
  EXPECT_EQ(out,
            "{\"metrics\":[{\"name\":\"idle\",\"type\":\"gauge\",\"help\":\"\",\"unit\":\"\","
            "\"series\":[]}]}");
}

TEST(JsonExport, CompactOutput) {
  const std::string text = sample_document();
  EXPECT_EQ(text.find('\n'), std::string::npos);  // line feeds in strings are escaped
  EXPECT_EQ(text.rfind("{\"metrics\":[{\"name\":\"http_requests\",\"type\":\"counter\",", 0), 0u);
  EXPECT_EQ(text.substr(text.size() - 4), "]}]}");
  EXPECT_EQ(json::parse(text).dump(), json::parse(json::parse(text).dump()).dump());
}

TEST(JsonExport, SeriesOutsideAFamilyAreKept) {
  std::string out;
  JsonSink sink(out);
  sink.gauge({}, 5);  // a broken collector: no begin_family
  sink.finish();
  const json doc = json::parse(out);
  ASSERT_EQ(doc["metrics"].size(), 1u);
  EXPECT_EQ(doc["metrics"][0]["name"], "");
  EXPECT_EQ(doc["metrics"][0]["type"], "unknown");
  EXPECT_EQ(doc["metrics"][0]["series"][0]["value"], 5);
}

TEST(JsonExport, InvalidUtf8IsReplacedNotThrown) {
  const TestFamily f{"bad", "help \xFF", "", MetricType::kGauge, {"v"}, {}};
  std::string out;
  JsonSink sink(out);
  sink.begin_family(f.desc());
  sink.gauge(Values{"a\x80z"}, 1);
  sink.end_family();
  EXPECT_NO_THROW(sink.finish());
  const json doc = json::parse(out);
  EXPECT_EQ(doc["metrics"][0]["help"], "help \xEF\xBF\xBD");
  EXPECT_EQ(doc["metrics"][0]["series"][0]["labels"]["v"], "a\xEF\xBF\xBDz");
}

TEST(JsonExport, UnclosedFamilyIsFlushedByFinish) {
  const TestFamily f{"g", "", "", MetricType::kGauge, {}, {}};
  std::string out = "prefix:";
  JsonSink sink(out);
  sink.begin_family(f.desc());
  sink.gauge({}, 2);
  sink.finish();  // no end_family
  ASSERT_EQ(out.rfind("prefix:", 0), 0u);
  const json doc = json::parse(out.substr(7));
  ASSERT_EQ(doc["metrics"].size(), 1u);
  EXPECT_EQ(doc["metrics"][0]["series"][0]["value"], 2);
}

TEST(JsonExport, HistogramWithOnlyInfBucketAndSummaryWithoutQuantiles) {
  const TestFamily h{"h", "", "", MetricType::kHistogram, {}, {}};
  const TestFamily s{"s", "", "", MetricType::kSummary, {}, {}};
  const std::vector<double> no_bounds;
  const std::vector<uint64_t> inf_only{3};
  std::string out;
  JsonSink sink(out);
  sink.begin_family(h.desc());
  sink.histogram({}, HistogramPoint{no_bounds, inf_only, 3, -kInf, 0});
  sink.end_family();
  sink.begin_family(s.desc());
  sink.summary({}, SummaryPoint{{}, 0, 0, 0});
  sink.end_family();
  sink.finish();
  const json doc = json::parse(out);
  EXPECT_EQ(doc["metrics"][0]["series"][0],
            (json{{"labels", json::object()},
                  {"count", 3},
                  {"sum", "-Inf"},
                  {"buckets", json::array({json{{"le", "+Inf"}, {"count", 3}}})}}));
  EXPECT_EQ(
      doc["metrics"][1]["series"][0],
      (json{{"labels", json::object()}, {"count", 0}, {"sum", 0}, {"quantiles", json::array()}}));
}

TEST(JsonExport, LargeCountsStayExact) {
  const TestFamily f{"h", "", "", MetricType::kHistogram, {}, {}};
  const uint64_t big = std::numeric_limits<uint64_t>::max();
  const std::vector<double> bounds{1};
  const std::vector<uint64_t> cumulative{big - 1, big};
  std::string out;
  JsonSink sink(out);
  sink.begin_family(f.desc());
  sink.histogram({}, HistogramPoint{bounds, cumulative, big, 0, 0});
  sink.end_family();
  sink.finish();
  const json h = json::parse(out)["metrics"][0]["series"][0];
  EXPECT_EQ(h["count"].get<uint64_t>(), big);
  EXPECT_EQ(h["buckets"][0]["count"].get<uint64_t>(), big - 1);
}

TEST(JsonExport, SerializeARegistry) {
  Registry r;
  r.counter("jobs_total", "Jobs done.", {"queue"}).labels({"fast"}).inc(3);
  r.gauge("queue_depth", "Jobs waiting.").get().set(-kInf);
  std::string out = "x";
  serialize(r, Format::kJson, out);
  ASSERT_EQ(out.substr(0, 1), "x");
  const json doc = json::parse(out.substr(1));
  const json* jobs = nullptr;
  const json* depth = nullptr;
  for (const json& family : doc.at("metrics")) {
    if (family.at("name") == "jobs") jobs = &family;
    if (family.at("name") == "queue_depth") depth = &family;
  }
  ASSERT_NE(jobs, nullptr) << out;
  ASSERT_NE(depth, nullptr) << out;
  EXPECT_EQ(jobs->at("type"), "counter");
  EXPECT_EQ(jobs->at("help"), "Jobs done.");
  ASSERT_EQ(jobs->at("series").size(), 1u);
  EXPECT_EQ(jobs->at("series")[0].at("labels"), (json{{"queue", "fast"}}));
  EXPECT_EQ(jobs->at("series")[0].at("value"), 3);
  EXPECT_GT(jobs->at("series")[0].at("created").get<double>(), 1.5e9);
  EXPECT_EQ(depth->at("series")[0].at("value"), "-Inf");
  EXPECT_EQ(json::parse(serialize(r, Format::kJson)), doc);
}

}  // namespace
}  // namespace vigil::metrics
