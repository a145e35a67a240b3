// tests/exporters/test_metrics.h: a hand-built MetricsSnapshot with one family of every type,
// exemplars, an unknown start time and a constant label, for the OTLP metric tests (unit and
// interop). Times are exact in binary (whole or half seconds), so nanoseconds are exact.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "vigil/exporters/metric_exporter.h"

namespace vigil::exporters::testing {

inline constexpr const char* kTraceIdHex = "4bf92f3577b34da6a3ce929d0e0e4736";
inline constexpr const char* kSpanIdHex = "00f067aa0ba902b7";
inline constexpr double kSnapshotTime = 1700000100.5;

inline ExemplarValue test_exemplar(double value, double timestamp, bool user) {
  ExemplarValue e;
  e.labels = {{"trace_id", kTraceIdHex}, {"span_id", kSpanIdHex}};
  if (user) e.labels.emplace_back("user", "alice");
  e.value = value;
  e.timestamp = timestamp;
  return e;
}

// `scale` multiplies the counter, histogram and summary figures (1: the values below), to make
// a later snapshot of the same series.
inline MetricsSnapshot make_test_snapshot(uint64_t scale = 1, double timestamp = kSnapshotTime) {
  const double s = static_cast<double>(scale);
  MetricsSnapshot snap;
  snap.timestamp = timestamp;

  MetricFamily& counter = snap.families.emplace_back();
  counter.name = "http_requests";
  counter.help = "Requests served";
  counter.type = metrics::MetricType::kCounter;
  counter.label_names = {"method", "code"};
  MetricPoint& get = counter.points.emplace_back();
  get.label_values = {"GET", "200"};
  get.value = 42 * s;
  get.start_time = 1700000000.5;
  get.exemplar = test_exemplar(1, 1700000099.5, true);
  MetricPoint& post = counter.points.emplace_back();
  post.label_values = {"POST", "500"};
  post.value = 3 * s;
  post.start_time = 0;  // unknown

  MetricFamily& gauge = snap.families.emplace_back();
  gauge.name = "temperature";
  gauge.help = "Room temperature";
  gauge.unit = "celsius";
  gauge.type = metrics::MetricType::kGauge;
  gauge.points.emplace_back().value = -3.5;

  MetricFamily& hist = snap.families.emplace_back();
  hist.name = "request_duration";
  hist.help = "Request latency";
  hist.unit = "seconds";
  hist.type = metrics::MetricType::kHistogram;
  hist.label_names = {"route"};
  hist.bounds = {0.1, 0.5, 1};
  MetricPoint& h = hist.points.emplace_back();
  h.label_values = {"/a"};
  h.buckets = {2 * scale, 5 * scale, 9 * scale, 10 * scale};  // cumulative
  h.count = 10 * scale;
  h.sum = 4.25 * s;
  h.start_time = 1700000000;
  h.bucket_exemplars = {std::nullopt, test_exemplar(0.25, 1700000098, false), std::nullopt,
                        std::nullopt};

  MetricFamily& summary = snap.families.emplace_back();
  summary.name = "rpc_latency";
  summary.unit = "seconds";
  summary.type = metrics::MetricType::kSummary;
  MetricPoint& q = summary.points.emplace_back();
  q.count = 7 * scale;
  q.sum = 2.5 * s;
  q.quantiles = {{0.5, 0.25}, {0.99, 0.875}};
  q.start_time = 1700000001;

  MetricFamily& info = snap.families.emplace_back();
  info.name = "build";
  info.help = "Build information";
  info.type = metrics::MetricType::kInfo;
  info.label_names = {"version"};
  MetricPoint& i = info.points.emplace_back();
  i.label_values = {"1.2.3"};
  i.value = 1;

  MetricFamily& empty = snap.families.emplace_back();  // no series: no Metric
  empty.name = "unused";
  empty.type = metrics::MetricType::kCounter;
  return snap;
}

// ---- the expectation, computed by hand from make_test_snapshot() -----------------------------
// In the OTLP/JSON form (which the protobuf tests decode into the same shape), with the options
// the tests use: prefix "app_", constant attribute env=test, resource service.name=checkout,
// scope vigil 1.0, cumulative temporality.

using nlohmann::json;

inline json kv(const std::string& k, const std::string& v) {
  return {{"key", k}, {"value", {{"stringValue", v}}}};
}

inline constexpr const char* kNow = "1700000100500000000";

// `unknown_start`: what the exporter uses for series without a start time.
inline json expected_cumulative(const std::string& unknown_start) {
  const json env = kv("env", "test");
  const json exemplar_get = {{"filteredAttributes", {kv("user", "alice")}},
                             {"timeUnixNano", "1700000099500000000"},
                             {"asDouble", 1},
                             {"spanId", kSpanIdHex},
                             {"traceId", kTraceIdHex}};
  const json exemplar_bucket = {{"timeUnixNano", "1700000098000000000"},
                                {"asDouble", 0.25},
                                {"spanId", kSpanIdHex},
                                {"traceId", kTraceIdHex}};
  json metrics = json::array();
  metrics.push_back({{"name", "app_http_requests"},
                     {"description", "Requests served"},
                     {"sum",
                      {{"dataPoints",
                        {{{"attributes", {env, kv("method", "GET"), kv("code", "200")}},
                          {"startTimeUnixNano", "1700000000500000000"},
                          {"timeUnixNano", kNow},
                          {"asDouble", 42},
                          {"exemplars", {exemplar_get}}},
                         {{"attributes", {env, kv("method", "POST"), kv("code", "500")}},
                          {"startTimeUnixNano", unknown_start},
                          {"timeUnixNano", kNow},
                          {"asDouble", 3}}}},
                       {"aggregationTemporality", 2},
                       {"isMonotonic", true}}}});
  metrics.push_back(
      {{"name", "app_temperature"},
       {"description", "Room temperature"},
       {"unit", "Cel"},
       {"gauge",
        {{"dataPoints", {{{"attributes", {env}}, {"timeUnixNano", kNow}, {"asDouble", -3.5}}}}}}});
  metrics.push_back(
      {{"name", "app_request_duration"},
       {"description", "Request latency"},
       {"unit", "s"},
       {"histogram",
        {{"dataPoints",
          {{{"attributes", {env, kv("route", "/a")}},
            {"startTimeUnixNano", "1700000000000000000"},
            {"timeUnixNano", kNow},
            {"count", "10"},
            {"sum", 4.25},
            {"bucketCounts", {"2", "3", "4", "1"}},  // per bucket, from cumulative 2,5,9,10
            {"explicitBounds", {0.1, 0.5, 1}},
            {"exemplars", {exemplar_bucket}}}}},
         {"aggregationTemporality", 2}}}});
  metrics.push_back(
      {{"name", "app_rpc_latency"},
       {"unit", "s"},
       {"summary",
        {{"dataPoints",
          {{{"attributes", {env}},
            {"startTimeUnixNano", "1700000001000000000"},
            {"timeUnixNano", kNow},
            {"count", "7"},
            {"sum", 2.5},
            {"quantileValues",
             {{{"quantile", 0.5}, {"value", 0.25}}, {{"quantile", 0.99}, {"value", 0.875}}}}}}}}}});
  metrics.push_back({{"name", "app_build_info"},
                     {"description", "Build information"},
                     {"sum",
                      {{"dataPoints",
                        {{{"attributes", {env, kv("version", "1.2.3")}},
                          {"startTimeUnixNano", unknown_start},
                          {"timeUnixNano", kNow},
                          {"asInt", "1"}}}},
                       {"aggregationTemporality", 2}}}});
  return {{"resourceMetrics",
           {{{"resource", {{"attributes", {kv("service.name", "checkout")}}}},
             {"scopeMetrics",
              {{{"scope", {{"name", "vigil"}, {"version", "1.0"}}}, {"metrics", metrics}}}}}}}};
}

}  // namespace vigil::exporters::testing
