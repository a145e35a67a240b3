// GET /api/v1/exporters over real HTTP (vigil's admin server, libcurl): each exporter's outcomes
// as the engine's status() has them, times in RFC 3339 or null, the engine's interval.
#include "vigil/admin/exporter_endpoints.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>

#include "fake_metric_exporter.h"
#include "http_client.h"
#include "vigil/admin/server.h"
#include "vigil/core/error.h"
#include "vigil/exporters/metric_exporter.h"
#include "vigil/metrics/registry.h"

namespace vigil::admin {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// "2026-11-30T13:00:10.123Z" -> Unix seconds.
double parse_millis(const std::string& s) {
  std::tm tm{};
  EXPECT_TRUE(strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm) != nullptr) << s;
  const double whole = static_cast<double>(timegm(&tm));
  return whole + std::stod(s.substr(19, 4));  // ".123"
}

TEST(ExporterEndpoints, ListsEveryExporterWithItsOutcomes) {
  metrics::Registry source;
  source.counter("work_total", "Work").get().inc(3);
  auto good = std::make_shared<exporters::testing::FakeExportState>();
  good->result = exporters::ExportOutcome{.ok = true, .bytes = 77, .requests = 1, .retries = 2};
  auto bad = std::make_shared<exporters::testing::FakeExportState>();
  bad->result = exporters::ExportOutcome{
      .ok = false, .error = "HTTP 503 from collector", .reason = "http_error", .dropped_points = 4};
  bad->result_points_from_snapshot = false;
  exporters::PeriodicExporter engine(source, {.interval = 15s, .timeout = 2500ms});
  engine.add(exporters::testing::fake("good", good));
  engine.add(exporters::testing::fake("bad", bad));
  EXPECT_FALSE(engine.flush(5s));  // "bad" failed

  Server server(ServerOptions{.listen = "127.0.0.1:0", .threads = 2});
  add_exporter_endpoints(server, engine);
  EXPECT_THROW(add_exporter_endpoints(server, engine), Error);  // the path is taken
  server.start();
  const auto r = testing::http("GET", server.url() + "/api/v1/exporters");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "application/json");
  const json j = json::parse(r.body);
  EXPECT_EQ(j["status"], "success");
  EXPECT_EQ(j["data"]["interval"], 15.0);
  EXPECT_EQ(j["data"]["timeout"], 2.5);
  const json& list = j["data"]["exporters"];
  ASSERT_EQ(list.size(), 2u);
  const auto status = engine.status();

  const json& g = list[0];
  EXPECT_EQ(g["name"], "good");
  EXPECT_EQ(g["exports"], 1);
  EXPECT_EQ(g["failures"], 0);
  EXPECT_EQ(g["retries"], 2);
  EXPECT_EQ(g["points"], good->series[0]);
  EXPECT_EQ(g["droppedPoints"], 0);
  EXPECT_EQ(g["bytes"], 77);
  EXPECT_EQ(g["skipped"], 0);
  EXPECT_EQ(g["lastError"], "");
  EXPECT_EQ(g["busy"], false);
  const std::regex rfc3339(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)");
  ASSERT_TRUE(g["lastSuccess"].is_string());
  const std::string success = g["lastSuccess"];
  EXPECT_TRUE(std::regex_match(success, rfc3339)) << success;
  EXPECT_NEAR(parse_millis(success), status[0].last_success, 0.001);
  ASSERT_TRUE(g["lastAttempt"].is_string());
  EXPECT_NEAR(parse_millis(g["lastAttempt"]), status[0].last_attempt, 0.001);
  EXPECT_GE(g["lastDuration"].get<double>(), 0);
  EXPECT_EQ(g["lastDuration"].get<double>(), status[0].last_duration);

  const json& b = list[1];
  EXPECT_EQ(b["name"], "bad");
  EXPECT_EQ(b["exports"], 0);
  EXPECT_EQ(b["failures"], 1);
  EXPECT_EQ(b["points"], 0);
  EXPECT_EQ(b["droppedPoints"], 4);
  EXPECT_EQ(b["lastError"], "HTTP 503 from collector");
  EXPECT_TRUE(b["lastSuccess"].is_null());
  EXPECT_TRUE(b["lastAttempt"].is_string());

  // Read-only.
  EXPECT_EQ(testing::http("POST", server.url() + "/api/v1/exporters", "{}").status, 405);
  server.stop();
  EXPECT_FALSE(engine.shutdown(2s));
}

TEST(ExporterEndpoints, NoExporterYet) {
  metrics::Registry source;
  exporters::PeriodicExporter engine(source);
  Server server(ServerOptions{.listen = "127.0.0.1:0", .threads = 1});
  add_exporter_endpoints(server, engine);
  server.start();
  const auto r = testing::http("GET", server.url() + "/api/v1/exporters");
  ASSERT_EQ(r.status, 200) << r.body;
  const json j = json::parse(r.body);
  EXPECT_EQ(j["data"]["interval"], 10.0);
  EXPECT_TRUE(j["data"]["exporters"].is_array());
  EXPECT_TRUE(j["data"]["exporters"].empty());
  server.stop();
}

}  // namespace
}  // namespace vigil::admin
