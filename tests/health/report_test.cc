// The health+json body: the IETF draft's shape plus the guides' fields.
#include "vigil/health/report.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "vigil/health/monitor.h"

namespace vigil::health {
namespace {

using ::testing::MatchesRegex;
using Json = nlohmann::json;

HealthReport sample() {
  HealthReport r;
  r.group = "readiness";
  r.status = Status::kFail;
  r.output = "vector_store: connection refused";
  r.service_id = "agent-gateway";
  r.version = "1.4.2";
  r.release_id = "1.4.2-rc1";
  r.description = "readiness of agent-gateway";
  r.time = 1737084998.25;
  r.uptime_seconds = 812.4;
  r.duration_seconds = 0.0031;
  r.started = true;
  CheckReport c;
  c.name = "vector_store";
  c.measurement = "responseTime";
  c.component_type = "datastore";
  c.groups = {"readiness"};
  c.status = Status::kFail;
  c.output = "connection refused";
  c.observed_value = 3000;
  c.observed_unit = "ms";
  c.duration_seconds = 3.0004;
  c.time = 1737084998.12;
  r.checks.push_back(c);
  CheckReport plain;
  plain.name = "memory";
  plain.groups = {"readiness", "liveness"};
  plain.critical = false;
  plain.cached = true;
  plain.time = 1737084998.0;
  r.checks.push_back(plain);
  return r;
}

TEST(HealthJson, FullShape) {
  const std::string body = to_json(sample());
  ASSERT_FALSE(body.empty());
  EXPECT_EQ(body.back(), '\n');
  const Json j = Json::parse(body);
  EXPECT_EQ(j["status"], "fail");
  EXPECT_EQ(j["overall_status"], "unhealthy");
  EXPECT_EQ(j["version"], "1.4.2");
  EXPECT_EQ(j["releaseId"], "1.4.2-rc1");
  EXPECT_EQ(j["serviceId"], "agent-gateway");
  EXPECT_EQ(j["description"], "readiness of agent-gateway");
  EXPECT_EQ(j["output"], "vector_store: connection refused");
  EXPECT_EQ(j["group"], "readiness");
  EXPECT_EQ(j["started"], true);
  EXPECT_DOUBLE_EQ(j["uptime_seconds"].get<double>(), 812.4);
  EXPECT_DOUBLE_EQ(j["duration_ms"].get<double>(), 3.1);
  EXPECT_EQ(j["time"], "2025-01-17T03:36:38.250Z");

  ASSERT_TRUE(j["checks"].is_object());
  ASSERT_TRUE(j["checks"].contains("vector_store:responseTime"));
  const Json& arr = j["checks"]["vector_store:responseTime"];
  ASSERT_TRUE(arr.is_array());
  ASSERT_EQ(arr.size(), 1u);
  const Json& c = arr[0];
  EXPECT_EQ(c["componentType"], "datastore");
  EXPECT_EQ(c["observedValue"], 3000);
  EXPECT_EQ(c["observedUnit"], "ms");
  EXPECT_EQ(c["status"], "fail");
  EXPECT_EQ(c["time"], "2025-01-17T03:36:38.120Z");
  EXPECT_EQ(c["output"], "connection refused");
  EXPECT_DOUBLE_EQ(c["duration_ms"].get<double>(), 3000.4);
  EXPECT_EQ(c["critical"], true);
  EXPECT_EQ(c["groups"], Json::array({"readiness"}));
  EXPECT_FALSE(c.contains("cached"));

  // Without a measurement the key is the name; empty fields are left out.
  const Json& m = j["checks"]["memory"][0];
  EXPECT_EQ(m["status"], "pass");
  EXPECT_FALSE(m.contains("output"));
  EXPECT_FALSE(m.contains("observedValue"));
  EXPECT_FALSE(m.contains("componentType"));
  EXPECT_EQ(m["critical"], false);
  EXPECT_EQ(m["cached"], true);
}

TEST(HealthJson, StatusOnly) {
  const Json j = Json::parse(to_json(sample(), Detail::kStatusOnly));
  EXPECT_EQ(j, Json::parse(R"({"status":"fail","overall_status":"unhealthy"})"));
  HealthReport ok;
  ok.status = Status::kWarn;
  EXPECT_EQ(Json::parse(to_json(ok, Detail::kStatusOnly))["overall_status"], "degraded");
}

TEST(HealthJson, KeysStatusFirst) {
  const std::string body = to_json(sample());
  EXPECT_THAT(body, MatchesRegex("^\\{\n  \"status\": \"fail\",\n  \"overall_status\"(.|\n)*"));
}

TEST(HealthJson, RepairsInvalidUtf8AndNonFiniteValues) {
  HealthReport r;
  CheckReport c;
  c.name = "bad";
  c.output = std::string("caf\xc3", 4) + "\xff";
  c.observed_value = std::numeric_limits<double>::quiet_NaN();
  r.checks.push_back(c);
  const Json j = Json::parse(to_json(r));
  EXPECT_EQ(j["checks"]["bad"][0]["output"], "caf\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_TRUE(j["checks"]["bad"][0]["observedValue"].is_null());
}

TEST(HealthJson, HttpStatus) {
  EXPECT_EQ(http_status(Status::kPass), 200);
  EXPECT_EQ(http_status(Status::kWarn), 200);
  EXPECT_EQ(http_status(Status::kFail), 503);
}

TEST(HealthJson, StatusNames) {
  EXPECT_EQ(to_string(Status::kPass), "pass");
  EXPECT_EQ(to_string(Status::kWarn), "warn");
  EXPECT_EQ(to_string(Status::kFail), "fail");
  EXPECT_EQ(overall_name(Status::kPass), "healthy");
  EXPECT_EQ(overall_name(Status::kWarn), "degraded");
  EXPECT_EQ(overall_name(Status::kFail), "unhealthy");
  EXPECT_EQ(metric_value(Status::kPass), 1.0);
  EXPECT_EQ(metric_value(Status::kWarn), 0.5);
  EXPECT_EQ(metric_value(Status::kFail), 0.0);
  EXPECT_EQ(worst(Status::kWarn, Status::kPass), Status::kWarn);
  EXPECT_EQ(worst(Status::kWarn, Status::kFail), Status::kFail);
}

TEST(HealthJson, FromAMonitor) {
  HealthMonitor m({.service_id = "svc", .version = "9"});
  m.add_check("db", [] { return CheckResult::pass("ok").observe(1.5, "ms"); },
              {.component_type = "datastore", .measurement = "responseTime"});
  const Json j = Json::parse(to_json(m.readiness()));
  EXPECT_EQ(j["status"], "pass");
  EXPECT_EQ(j["overall_status"], "healthy");
  EXPECT_EQ(j["serviceId"], "svc");
  EXPECT_EQ(j["checks"]["db:responseTime"][0]["observedValue"], 1.5);
  EXPECT_THAT(j["checks"]["db:responseTime"][0]["time"].get<std::string>(),
              MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z"));
  EXPECT_GE(j["checks"]["db:responseTime"][0]["duration_ms"].get<double>(), 0);
}

}  // namespace
}  // namespace vigil::health
