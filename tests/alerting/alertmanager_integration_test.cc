// AlertmanagerClient against the real Alertmanager (0.25, Debian's prometheus-alertmanager):
// a C++ rule fires in vigil's AlertManager and the alert shows in Alertmanager's
// GET /api/v2/alerts with its labels, annotations, startsAt and endsAt; a silence made through
// Alertmanager's API suppresses it; after Alertmanager restarts with empty storage the manager's
// resend (past resend_delay) brings it back; resolving the rule takes it off the active list.
// Alertmanager runs on 127.0.0.1 (a free port), no cluster, storage in a temporary directory.
// Alertmanager uses real time: the manager's injected clock starts two minutes before now and
// stays in the past, so resolution times are in the past as Alertmanager sees them.
// Skipped when no alertmanager binary is found (failed under CI).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/detail/http_sender.h"
#include "vigil/alerting/alertmanager_client.h"

extern char** environ;

namespace vigil::alerting {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;
namespace fs = std::filesystem;

std::string find_alertmanager() {
  if (const char* env = std::getenv("VIGIL_ALERTMANAGER"); env != nullptr && *env != '\0')
    return env;
  const char* path = std::getenv("PATH");
  if (path == nullptr) return "";
  for (const char* name : {"alertmanager", "prometheus-alertmanager"}) {
    std::string dirs = path;
    size_t start = 0;
    while (start <= dirs.size()) {
      const size_t end = std::min(dirs.find(':', start), dirs.size());
      const fs::path candidate = fs::path(dirs.substr(start, end - start)) / name;
      if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
      start = end + 1;
    }
  }
  return "";
}

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// One HTTP request to Alertmanager; nullopt on a transport error.
std::optional<detail::HttpResult> http(const std::string& url, const std::string* post_body) {
  detail::HttpSender sender({.url = url, .content_type = "application/json"});
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  detail::HttpResult r =
      post_body != nullptr ? sender.post(*post_body, deadline) : sender.get(deadline);
  if (r.status == 0) return std::nullopt;
  return r;
}

// A running alertmanager process (stopped by the destructor).
class AlertmanagerProcess {
 public:
  AlertmanagerProcess(const std::string& binary, const fs::path& dir, int port) : port_(port) {
    fs::create_directories(dir / "data");
    const fs::path config = dir / "alertmanager.yml";
    std::ofstream(config) << "route:\n  receiver: blackhole\n  group_wait: 0s\n"
                             "receivers:\n  - name: blackhole\n";
    const std::string log = (dir / "alertmanager.log").string();
    std::vector<std::string> args = {binary,
                                     "--config.file=" + config.string(),
                                     "--storage.path=" + (dir / "data").string(),
                                     "--web.listen-address=127.0.0.1:" + std::to_string(port),
                                     "--cluster.listen-address=",
                                     "--log.level=warn"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    const int rc = ::posix_spawn(&pid_, binary.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) pid_ = -1;
  }
  ~AlertmanagerProcess() { stop(); }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // Waits (at most 15 s) for /-/ready.
  bool wait_ready() const {
    const auto until = std::chrono::steady_clock::now() + 15s;
    while (std::chrono::steady_clock::now() < until) {
      if (pid_ < 0) return false;
      const auto r = http(url() + "/-/ready", nullptr);
      if (r && r->status == 200) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }

  // SIGTERM, up to 5 s, then SIGKILL.
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 100; ++i) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(50ms);
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  int port_;
  pid_t pid_ = -1;
};

// GET /api/v2/alerts (active alerts) as JSON; an empty array on failure.
Json active_alerts(const std::string& am) {
  const auto r = http(am + "/api/v2/alerts", nullptr);
  if (!r || r->status != 200) return Json::array();
  return Json::parse(r->body, nullptr, false);
}

// Polls GET /api/v2/alerts (at most 10 s) until `pred` holds for the alert list.
template <typename Pred>
Json wait_alerts(const std::string& am, Pred pred) {
  const auto until = std::chrono::steady_clock::now() + 10s;
  Json alerts = active_alerts(am);
  while (!pred(alerts) && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(50ms);
    alerts = active_alerts(am);
  }
  return alerts;
}

// RFC 3339 with milliseconds, as Alertmanager prints times.
std::string millis_text(TimePoint t) {
  NotifiedAlert a;
  a.starts_at = t;
  const Json j = Json::parse(alertmanager_payload({a}));
  return j[0]["startsAt"].get<std::string>();
}

TEST(AlertmanagerIntegration, FiresIsSilencedComesBackAfterARestartAndResolves) {
  const std::string binary = find_alertmanager();
  if (binary.empty()) {
    if (std::getenv("CI") != nullptr) FAIL() << "alertmanager not found (scripts/install-deps.sh)";
    GTEST_SKIP() << "alertmanager (prometheus-alertmanager) not found";
  }
  const fs::path tmp =
      fs::temp_directory_path() /
      ("vigil-am-it-" + std::to_string(::getpid()) + "-" +
       std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  const int port = free_port();
  auto am = std::make_unique<AlertmanagerProcess>(binary, tmp / "run1", port);
  ASSERT_TRUE(am->wait_ready()) << "alertmanager did not start; see " << tmp;
  const std::string am_url = am->url();

  // The manager's clock: two minutes in the past, whole milliseconds.
  const auto real_now =
      std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
  std::atomic<int64_t> ms{real_now.time_since_epoch().count() - 120'000};
  const TimePoint t0 = TimePoint(std::chrono::milliseconds(ms.load()));
  AlertManagerOptions mo;
  mo.clock = [&] { return TimePoint(std::chrono::milliseconds(ms.load())); };
  mo.resend_delay = 60s;
  mo.evaluation_interval = 15s;
  mo.external_labels = {{"cluster", "it"}};
  AlertManager manager(mo);
  std::atomic<bool> cond{true};
  manager.add_rule(AlertRule::builder()
                       .name("AmClientIntegration")
                       .condition([&] { return cond.load(); })
                       .severity(Severity::kCritical)
                       .labels({{"service", "checkout"}})
                       .annotation("summary", "checkout is down")
                       .build());

  AlertmanagerClientOptions co;
  co.urls = {am_url};
  co.http.timeout = 2s;
  co.generator_url = "http://vigil.test/alerts";
  AlertmanagerClient client(co);
  client.attach(manager);

  // 1. Fires: Alertmanager has it with our labels, annotations and times.
  manager.evaluate();
  ASSERT_TRUE(client.flush(10s));
  ASSERT_EQ(client.status()[0].sent, 1u) << client.status()[0].last_error;
  Json alerts = wait_alerts(am_url, [](const Json& a) { return a.size() == 1; });
  ASSERT_EQ(alerts.size(), 1u) << alerts.dump();
  EXPECT_EQ(alerts[0]["labels"], (Json{{"alertname", "AmClientIntegration"},
                                       {"cluster", "it"},
                                       {"service", "checkout"},
                                       {"severity", "critical"}}));
  EXPECT_EQ(alerts[0]["annotations"], (Json{{"summary", "checkout is down"}}));
  EXPECT_EQ(alerts[0]["startsAt"], millis_text(t0));
  EXPECT_EQ(alerts[0]["endsAt"], millis_text(t0 + 4min));  // 4 x resend_delay
  EXPECT_EQ(alerts[0]["generatorURL"], "http://vigil.test/alerts");
  EXPECT_EQ(alerts[0]["status"]["state"], "active");

  // 2. A silence made in Alertmanager suppresses it.
  const auto now = std::chrono::system_clock::now();
  const std::string silence = Json{{"matchers", Json::array({Json{{"name", "alertname"},
                                                                  {"value", "AmClientIntegration"},
                                                                  {"isRegex", false},
                                                                  {"isEqual", true}}})},
                                   {"startsAt", millis_text(now)},
                                   {"endsAt", millis_text(now + 1h)},
                                   {"createdBy", "vigil-integration-test"},
                                   {"comment", "AlertmanagerClient integration"}}
                                  .dump();
  const auto created = http(am_url + "/api/v2/silences", &silence);
  ASSERT_TRUE(created && created->status == 200) << (created ? created->body : "no response");
  const std::string silence_id = Json::parse(created->body)["silenceID"].get<std::string>();
  alerts = wait_alerts(am_url, [](const Json& a) {
    return a.size() == 1 && a[0]["status"]["state"] == "suppressed";
  });
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0]["status"]["state"], "suppressed");
  EXPECT_EQ(alerts[0]["status"]["silencedBy"], Json::array({silence_id}));

  // 3. Alertmanager restarts with empty storage: the alert is gone until the manager resends
  // it (past resend_delay), with a new endsAt and the same startsAt.
  am.reset();
  am = std::make_unique<AlertmanagerProcess>(binary, tmp / "run2", port);
  ASSERT_TRUE(am->wait_ready()) << "alertmanager did not restart; see " << tmp;
  EXPECT_TRUE(active_alerts(am_url).empty());
  ms += 61'000;
  manager.evaluate();
  ASSERT_TRUE(client.flush(10s));
  alerts = wait_alerts(am_url, [](const Json& a) { return a.size() == 1; });
  ASSERT_EQ(alerts.size(), 1u) << alerts.dump() << " " << client.status()[0].last_error;
  EXPECT_EQ(alerts[0]["labels"]["alertname"], "AmClientIntegration");
  EXPECT_EQ(alerts[0]["startsAt"], millis_text(t0));
  EXPECT_EQ(alerts[0]["endsAt"], millis_text(t0 + 61s + 4min));
  EXPECT_EQ(alerts[0]["status"]["state"], "active");  // the silence went with the old storage

  // 4. Resolved (at t0 + 76 s, in the past): no longer active in Alertmanager.
  cond = false;
  ms += 15'000;
  manager.evaluate();
  ASSERT_TRUE(client.flush(10s));
  alerts = wait_alerts(am_url, [](const Json& a) { return a.empty(); });
  EXPECT_TRUE(alerts.empty()) << alerts.dump();

  const auto st = client.status()[0];
  EXPECT_EQ(st.errors, 0u) << st.last_error;
  EXPECT_EQ(st.sent, 3u);  // fired, resent, resolved
  client.shutdown(5s);
  am.reset();
  if (!HasFailure()) fs::remove_all(tmp);
}

}  // namespace
}  // namespace vigil::alerting
