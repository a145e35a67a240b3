// The health endpoints over real HTTP (libcurl): status codes, the health+json shape, detail
// exposure, user groups, timeouts seen from a client, and concurrent requests while checks
// change state.
#include "vigil/admin/health_endpoints.h"

#include <curl/curl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "test_util.h"
#include "vigil/core/error.h"
#include "vigil/health/monitor.h"

namespace vigil::admin {
namespace {

using health::CheckResult;
using health::HealthMonitor;
using health::Status;
using health::testing::Gate;
using health::testing::Stopwatch;
using health::testing::Switch;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using Json = nlohmann::json;
using namespace std::chrono_literals;

struct HttpResponse {
  CURLcode code = CURLE_OK;
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
};

size_t on_body(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  std::string line(data, size * n);
  const size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    const size_t b = value.find_first_not_of(" \t");
    const size_t e = value.find_last_not_of(" \t\r\n");
    value = b == std::string::npos ? std::string() : value.substr(b, e - b + 1);
    static_cast<HttpResponse*>(user)->headers[name] = value;
  }
  return size * n;
}

HttpResponse request(const std::string& url, const std::vector<std::string>& headers = {},
                     bool head = false) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  HttpResponse res;
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 15000L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &res.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &res);
  if (head) curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  curl_slist* list = nullptr;
  for (const std::string& h : headers) list = curl_slist_append(list, h.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  res.code = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &res.status);
  curl_slist_free_all(list);
  curl_easy_cleanup(curl);
  return res;
}

class HealthEndpointsTest : public ::testing::Test {
 protected:
  void start(HealthEndpointOptions options = {}) {
    server_ = std::make_unique<Server>(ServerOptions{.listen = "127.0.0.1:0", .threads = 8});
    add_health_endpoints(*server_, monitor_, std::move(options));
    server_->start();
  }
  void TearDown() override {
    if (server_) server_->stop();
  }
  // Stops the server and joins the monitor's threads: call it before locals that checks
  // capture go out of scope (background or hung checks may still be running).
  void stop_all() {
    if (server_) server_->stop();
    monitor_.shutdown(5s);
  }
  HttpResponse get(const std::string& path, const std::vector<std::string>& headers = {}) {
    return request(server_->url() + path, headers);
  }

  HealthMonitor monitor_{{.service_id = "agent-gateway", .version = "1.4.2"}};
  std::unique_ptr<Server> server_;
};

void expect_health_json(const HttpResponse& r) {
  EXPECT_EQ(r.code, CURLE_OK);
  EXPECT_EQ(r.headers.at("content-type"), "application/health+json");
  EXPECT_EQ(r.headers.at("cache-control"), "no-store");
  EXPECT_TRUE(Json::accept(r.body)) << r.body;
}

TEST_F(HealthEndpointsTest, EveryEndpointAnswersWithTheRightCode) {
  Switch live, ready, boot(Status::kFail, "loading models");
  monitor_.add_liveness_check("process", live.fn());
  monitor_.add_readiness_check("database", ready.fn());
  monitor_.add_startup_check("models", boot.fn());
  start();

  HttpResponse r = get("/health/live");
  expect_health_json(r);
  EXPECT_EQ(r.status, 200);
  r = get("/health/startup");
  expect_health_json(r);
  EXPECT_EQ(r.status, 503);
  EXPECT_THAT(Json::parse(r.body)["output"].get<std::string>(),
              HasSubstr("startup not complete after"));
  r = get("/health/ready");  // gated by startup
  EXPECT_EQ(r.status, 503);
  r = get("/health");
  EXPECT_EQ(r.status, 503);

  boot.set(Status::kPass);
  EXPECT_EQ(get("/health/startup").status, 200);
  EXPECT_EQ(get("/health/ready").status, 200);
  EXPECT_EQ(get("/health").status, 200);

  ready.set(Status::kWarn, "slow");  // warn is still 200
  r = get("/health/ready");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Json::parse(r.body)["status"], "warn");
  EXPECT_EQ(Json::parse(r.body)["overall_status"], "degraded");

  ready.set(Status::kFail, "connection refused");
  r = get("/health/ready");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(get("/health/live").status, 200);  // liveness does not depend on the database
  EXPECT_EQ(get("/health").status, 503);

  live.set(Status::kFail, "deadlocked");
  EXPECT_EQ(get("/health/live").status, 503);
}

TEST_F(HealthEndpointsTest, JsonShape) {
  monitor_.add_readiness_check(
      "vector_store", [] { return CheckResult::fail("connection refused").observe(3000, "ms"); },
      {.component_type = "datastore", .measurement = "responseTime"});
  monitor_.add_check("cache", [] { return true; }, {.groups = {"readiness", "liveness"}});
  start();
  const HttpResponse r = get("/health/ready");
  EXPECT_EQ(r.status, 503);
  const Json j = Json::parse(r.body);
  EXPECT_EQ(j["status"], "fail");
  EXPECT_EQ(j["overall_status"], "unhealthy");
  EXPECT_EQ(j["version"], "1.4.2");
  EXPECT_EQ(j["serviceId"], "agent-gateway");
  EXPECT_EQ(j["description"], "readiness of agent-gateway");
  EXPECT_EQ(j["output"], "vector_store: connection refused");
  EXPECT_TRUE(j["uptime_seconds"].is_number());
  EXPECT_TRUE(j["duration_ms"].is_number());
  const Json& vs = j["checks"]["vector_store:responseTime"];
  ASSERT_TRUE(vs.is_array());
  EXPECT_EQ(vs[0]["componentType"], "datastore");
  EXPECT_EQ(vs[0]["observedValue"], 3000);
  EXPECT_EQ(vs[0]["observedUnit"], "ms");
  EXPECT_EQ(vs[0]["status"], "fail");
  EXPECT_EQ(vs[0]["output"], "connection refused");
  EXPECT_TRUE(vs[0]["time"].is_string());
  EXPECT_TRUE(vs[0]["duration_ms"].is_number());
  EXPECT_EQ(j["checks"]["cache"][0]["status"], "pass");

  const Json all = Json::parse(get("/health").body);
  EXPECT_EQ(all["group"], "all");
  EXPECT_EQ(all["checks"].size(), 2u);
  const Json live = Json::parse(get("/health/live").body);
  EXPECT_EQ(live["checks"].size(), 1u);
}

TEST_F(HealthEndpointsTest, HeadAndMethods) {
  start();
  const HttpResponse head = request(server_->url() + "/health/live", {}, true);
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
  CURL* curl = curl_easy_init();
  const std::string url = server_->url() + "/health/ready";
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "POST");
  curl_easy_setopt(
      curl, CURLOPT_WRITEFUNCTION, +[](char*, size_t s, size_t n, void*) { return s * n; });
  curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(curl);
  EXPECT_EQ(status, 405);
}

TEST_F(HealthEndpointsTest, UserGroups) {
  Switch deps(Status::kFail, "queue down");
  monitor_.add_check("queue", deps.fn(), {.groups = {"dependencies"}});
  start();
  HttpResponse r = get("/health/dependencies");
  expect_health_json(r);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(Json::parse(r.body)["group"], "dependencies");
  EXPECT_EQ(get("/health/ready").status, 200);  // not a readiness check
  r = get("/health/unknown");
  EXPECT_EQ(r.status, 404);
  EXPECT_THAT(r.body, HasSubstr("no health check group \"unknown\""));
  EXPECT_EQ(get("/health/dependencies/x").status, 404);
}

TEST_F(HealthEndpointsTest, BearerTokenControlsDetail) {
  monitor_.add_readiness_check("db", [] { return CheckResult::fail("password rejected"); });
  start({.bearer_token = "s3cret"});
  HttpResponse r = get("/health/ready");
  EXPECT_EQ(r.status, 503);  // the same code for everyone
  EXPECT_EQ(Json::parse(r.body), Json::parse(R"({"status":"fail","overall_status":"unhealthy"})"));
  EXPECT_THAT(r.body, Not(HasSubstr("password")));
  r = get("/health/ready", {"Authorization: Bearer wrong"});
  EXPECT_FALSE(Json::parse(r.body).contains("checks"));
  r = get("/health/ready", {"Authorization: Bearer s3cret"});
  EXPECT_EQ(r.status, 503);
  EXPECT_TRUE(Json::parse(r.body).contains("checks"));
  EXPECT_THAT(r.body, HasSubstr("password rejected"));
  r = get("/health/ready", {"Authorization: bearer   s3cret "});
  EXPECT_TRUE(Json::parse(r.body).contains("checks"));
}

TEST_F(HealthEndpointsTest, PredicateControlsDetail) {
  monitor_.add_readiness_check("db", [] { return true; });
  start({.authenticate = [](const Request& req) {
    return req.header("X-Internal").value_or("") == "yes";
  }});
  EXPECT_FALSE(Json::parse(get("/health").body).contains("checks"));
  EXPECT_TRUE(Json::parse(get("/health", {"X-Internal: yes"}).body).contains("checks"));
}

TEST_F(HealthEndpointsTest, StatusOnlyForEveryone) {
  monitor_.add_readiness_check("db", [] { return true; });
  start({.unauthenticated_detail = health::Detail::kStatusOnly});
  EXPECT_EQ(Json::parse(get("/health/ready").body),
            Json::parse(R"({"status":"pass","overall_status":"healthy"})"));
}

TEST_F(HealthEndpointsTest, HungCheckAnswersAtItsTimeout) {
  Gate gate;
  monitor_.add_readiness_check("hung", [&] { return gate.wait(10s); }, {.timeout = 300ms});
  monitor_.add_liveness_check("alive", [] { return true; });
  start();
  Stopwatch sw;
  const HttpResponse r = get("/health/ready");
  const double ms = sw.ms();
  EXPECT_EQ(r.status, 503);
  EXPECT_GE(ms, 290);
  EXPECT_LT(ms, 300 + 1500);
  EXPECT_THAT(r.body, HasSubstr("timed out: no result within 300 ms"));
  // Liveness is unaffected, and answers at once.
  Stopwatch sw2;
  EXPECT_EQ(get("/health/live").status, 200);
  EXPECT_LT(sw2.ms(), 250);
  gate.open();
  stop_all();
}

TEST_F(HealthEndpointsTest, KeepAliveRequestsDoNotWaitForDelayedAcks) {
  // Regression: without TCP_NODELAY on the server, every request after the first on a
  // keep-alive connection waited ~40 ms (Nagle's algorithm against the client's delayed ACK).
  monitor_.add_readiness_check("db", [] { return true; }, {.interval = 1h});
  start();
  CURL* curl = curl_easy_init();
  const std::string url = server_->url() + "/health/ready";
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(
      curl, CURLOPT_WRITEFUNCTION, +[](char*, size_t s, size_t n, void*) { return s * n; });
  ASSERT_EQ(curl_easy_perform(curl), CURLE_OK);  // opens the connection
  std::vector<double> ms;
  for (int i = 0; i < 9; ++i) {
    Stopwatch sw;
    ASSERT_EQ(curl_easy_perform(curl), CURLE_OK);
    ms.push_back(sw.ms());
  }
  long reused = 0;
  curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &reused);
  curl_easy_cleanup(curl);
  EXPECT_EQ(reused, 0);  // the last request opened no new connection
  std::sort(ms.begin(), ms.end());
  EXPECT_LT(ms[ms.size() / 2], 25.0) << "median of keep-alive requests in ms";
}

TEST_F(HealthEndpointsTest, CustomPath) {
  monitor_.add_readiness_check("db", [] { return true; });
  start({.path = "/probes/"});
  EXPECT_EQ(get("/probes/ready").status, 200);
  EXPECT_EQ(get("/probes").status, 200);
  EXPECT_EQ(get("/health/ready").status, 404);
}

TEST_F(HealthEndpointsTest, RegistrationIsAllOrNothing) {
  server_ = std::make_unique<Server>(ServerOptions{.listen = "127.0.0.1:0"});
  server_->handle("/health/startup", [](const Request&) { return Response{}; });
  EXPECT_THROW(add_health_endpoints(*server_, monitor_), vigil::Error);
  server_->start();
  EXPECT_EQ(get("/health/live").status, 404);  // rolled back
  EXPECT_THROW(add_health_endpoints(*server_, monitor_, {.path = "health"}), vigil::Error);
}

TEST_F(HealthEndpointsTest, ConcurrentRequestsWhileChecksChangeState) {
  std::atomic<int> state{0};
  auto flaky = [&] { return CheckResult{static_cast<Status>(state.load()), "", {}, {}}; };
  monitor_.add_readiness_check("flaky", flaky);
  monitor_.add_check("cached", flaky, {.groups = {"readiness", "liveness"}, .cache_ttl = 5ms});
  monitor_.add_check("bg", flaky, {.groups = {"liveness"}, .interval = 5ms});
  start();
  std::atomic<bool> stop{false};
  std::atomic<int> requests{0}, bad{0};
  std::vector<std::thread> clients;
  const std::vector<std::string> paths = {"/health/ready", "/health/live", "/health",
                                          "/health/startup"};
  for (int i = 0; i < 4; ++i) {
    clients.emplace_back([&, i] {
      while (!stop) {
        const HttpResponse r = get(paths[static_cast<size_t>(i) % paths.size()]);
        requests.fetch_add(1);
        if (r.code != CURLE_OK || !Json::accept(r.body)) {
          bad.fetch_add(1);
          continue;
        }
        const std::string status = Json::parse(r.body)["status"];
        // The code always matches the body.
        if ((r.status == 503) != (status == "fail") || (r.status != 200 && r.status != 503)) {
          bad.fetch_add(1);
        }
      }
    });
  }
  std::thread flipper([&] {
    int s = 0;
    while (!stop) {
      state = s++ % 3;
      std::this_thread::sleep_for(3ms);
    }
  });
  std::this_thread::sleep_for(1500ms);
  stop = true;
  for (auto& t : clients) t.join();
  flipper.join();
  stop_all();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GT(requests.load(), 20);
}

}  // namespace
}  // namespace vigil::admin
