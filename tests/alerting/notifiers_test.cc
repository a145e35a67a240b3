// The built-in notifiers (webhook, Slack, PagerDuty, email) against real peers on 127.0.0.1: HTTP
// receivers on vigil's admin server that check the exact payloads, and a real SMTP server
// (aiosmtpd, tests/alerting/smtp_receiver.py) with and without STARTTLS, implicit TLS and AUTH.
#include "vigil/alerting/notifiers.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "core/detail/http_sender.h"
#include "vigil/admin/server.h"
#include "vigil/alerting/notifier.h"
#include "vigil/core/error.h"

namespace vigil::alerting {
namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;
using namespace std::chrono_literals;

// ---------------------------------------------------------------- fixtures

struct Received {
  std::string path;
  std::string query;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
};

// An HTTP receiver on vigil's admin server: records every POST, answers as `respond` says.
class Receiver {
 public:
  using Responder = std::function<admin::Response(int n)>;
  explicit Receiver(Responder respond = nullptr)
      : respond_(std::move(respond)), server_({.listen = "127.0.0.1:0", .threads = 4}) {
    server_.handle(
        "/",
        [this](const admin::Request& req) {
          int n = 0;
          {
            std::lock_guard lock(mu_);
            Received r{std::string(req.path), std::string(req.query), std::string(req.body), {}};
            for (const auto& h : req.headers) {
              std::string name(h.name);
              for (char& c : name)
                c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
              r.headers[name] = std::string(h.value);
            }
            n = static_cast<int>(received_.size());
            received_.push_back(std::move(r));
          }
          cv_.notify_all();
          if (respond_) return respond_(n);
          return admin::Response{.status = 200, .body = "ok"};
        },
        {.prefix = true, .methods = {"POST"}, .access = admin::Access::kPublic});
    server_.start();
  }
  std::string url(std::string_view path) const { return server_.url() + std::string(path); }
  std::string base() const { return server_.url(); }
  std::vector<Received> received() const {
    std::lock_guard lock(mu_);
    return received_;
  }
  // Waits (at most 10 s) until `n` requests arrived.
  bool wait_for(size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 10s, [&] { return received_.size() >= n; });
  }

 private:
  Responder respond_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Received> received_;
  admin::Server server_;  // last: stopped first
};

// A gate a hanging handler waits on (at most 10 s), opened by the test.
class Gate {
 public:
  void wait() {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, 10s, [&] { return open_; });
  }
  void open() {
    {
      std::lock_guard lock(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

// A port on 127.0.0.1 that refuses connections: bound, never listening.
class RefusingPort {
 public:
  RefusingPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) ADD_FAILURE();
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~RefusingPort() { ::close(fd_); }
  uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

TimePoint at(int64_t secs, int64_t nanos = 0) {
  return TimePoint(std::chrono::duration_cast<TimePoint::duration>(
      std::chrono::seconds(secs) + std::chrono::nanoseconds(nanos)));
}
constexpr int64_t kT0 = 1767323045;  // 2026-01-02T03:04:05Z
constexpr int64_t kT1 = 1767323345;  // 2026-01-02T03:09:05Z

// Two alerts of one group: one firing (critical), one resolved (warning).
NotificationGroup sample_group() {
  NotificationGroup g;
  g.receiver = "team-x";
  g.group_key = "{}/{severity=\"critical\"}:{alertname=\"HighErrorRate\"}";
  g.group_labels = {{"alertname", "HighErrorRate"}};
  g.external_url = "http://vigil.example:9464";
  NotifiedAlert a;
  a.labels = {{"alertname", "HighErrorRate"}, {"instance", "a:1"}, {"severity", "critical"}};
  a.ends_at = at(kT1 + 3600);  // valid until; sent as the zero time while firing
  a.annotations = {{"summary", "errors high"}, {"description", "5% \"errors\""}};
  a.starts_at = at(kT0, 120'000'000);
  a.generator_url = "http://vigil.example:9464/graph?g0.expr=x";
  a.fingerprint = 0x0123456789abcdef;
  a.severity = Severity::kCritical;
  NotifiedAlert b;
  b.labels = {{"alertname", "HighErrorRate"}, {"instance", "b:2"}, {"severity", "warning"}};
  b.annotations = {{"summary", "errors high"}};
  b.starts_at = at(kT0);
  b.ends_at = at(kT1, 5);
  b.generator_url = "http://vigil.example:9464/graph?g0.expr=x";
  b.fingerprint = 0xfedcba9876543210;
  b.severity = Severity::kWarning;
  b.resolved = true;
  g.alerts = {a, b};
  g.compute_common();
  return g;
}

DeliveryContext ctx(std::chrono::milliseconds budget = 10s) {
  return DeliveryContext{Clock::now() + budget, 1};
}

bool is_rfc3339(const std::string& s) {
  static const std::regex re(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$)");
  return std::regex_match(s, re);
}

// ---------------------------------------------------------------- webhook payload

TEST(WebhookPayload, ExactVersion4Shape) {
  const NotificationGroup g = sample_group();
  // Written by hand from Alertmanager's webhook.Message and template.Data: member order as the Go
  // structs, map keys sorted, time.Time as RFC 3339 with trimmed nanoseconds, the zero endsAt as
  // Go's zero time, fingerprints as 16 hex digits.
  const std::string expected =
      R"({"receiver":"team-x","status":"firing","alerts":[)"
      R"({"status":"firing","labels":{"alertname":"HighErrorRate","instance":"a:1","severity":"critical"},)"
      R"("annotations":{"description":"5% \"errors\"","summary":"errors high"},)"
      R"("startsAt":"2026-01-02T03:04:05.12Z","endsAt":"0001-01-01T00:00:00Z",)"
      R"("generatorURL":"http://vigil.example:9464/graph?g0.expr=x","fingerprint":"0123456789abcdef"},)"
      R"({"status":"resolved","labels":{"alertname":"HighErrorRate","instance":"b:2","severity":"warning"},)"
      R"("annotations":{"summary":"errors high"},)"
      R"("startsAt":"2026-01-02T03:04:05Z","endsAt":"2026-01-02T03:09:05.000000005Z",)"
      R"("generatorURL":"http://vigil.example:9464/graph?g0.expr=x","fingerprint":"fedcba9876543210"}],)"
      R"("groupLabels":{"alertname":"HighErrorRate"},"commonLabels":{"alertname":"HighErrorRate"},)"
      R"("commonAnnotations":{"summary":"errors high"},"externalURL":"http://vigil.example:9464",)"
      R"("version":"4","groupKey":"{}/{severity=\"critical\"}:{alertname=\"HighErrorRate\"}",)"
      R"("truncatedAlerts":0})";
  EXPECT_EQ(webhook_payload(g), expected);
  EXPECT_EQ(webhook_payload(g, 2), expected);  // max_alerts not exceeded
  EXPECT_EQ(webhook_payload(g, 5), expected);
}

TEST(WebhookPayload, MaxAlertsCutsAndCountsAndRecomputesTheData) {
  NotificationGroup g = sample_group();
  std::swap(g.alerts[0], g.alerts[1]);  // resolved first: the kept one is resolved
  const Json j = Json::parse(webhook_payload(g, 1));
  EXPECT_EQ(j["truncatedAlerts"], 1);
  ASSERT_EQ(j["alerts"].size(), 1u);
  EXPECT_EQ(j["alerts"][0]["fingerprint"], "fedcba9876543210");
  // As Alertmanager: the data is computed from the alerts sent.
  EXPECT_EQ(j["status"], "resolved");
  EXPECT_EQ(j["commonLabels"],
            Json({{"alertname", "HighErrorRate"}, {"instance", "b:2"}, {"severity", "warning"}}));
  EXPECT_EQ(j["groupLabels"], Json({{"alertname", "HighErrorRate"}}));
}

TEST(WebhookPayload, EscapesHtmlCharactersAsGo) {
  NotificationGroup g;
  g.receiver = "r";
  g.group_key = "{}:{}";
  NotifiedAlert a;
  a.annotations = {{"html", "<b>a & b</b>\xE2\x80\xA8"}};
  a.generator_url = "http://h/graph?g0.expr=up&g0.tab=1";
  g.alerts = {a};
  const std::string body = webhook_payload(g);
  EXPECT_NE(body.find(R"("html":"\u003cb\u003ea \u0026 b\u003c/b\u003e\u2028")"), std::string::npos)
      << body;
  EXPECT_NE(body.find(R"("generatorURL":"http://h/graph?g0.expr=up\u0026g0.tab=1")"),
            std::string::npos)
      << body;
  EXPECT_EQ(Json::parse(body)["alerts"][0]["annotations"]["html"], "<b>a & b</b>\xE2\x80\xA8");
}

TEST(WebhookPayload, EmptyMapsAreObjects) {
  NotificationGroup g;
  g.receiver = "r";
  g.group_key = "{}:{}";
  NotifiedAlert a;
  a.fingerprint = 1;
  g.alerts = {a};
  const Json j = Json::parse(webhook_payload(g));
  EXPECT_TRUE(j["groupLabels"].is_object());
  EXPECT_TRUE(j["alerts"][0]["labels"].is_object());
  EXPECT_TRUE(j["alerts"][0]["annotations"].is_object());
  EXPECT_EQ(j["alerts"][0]["fingerprint"], "0000000000000001");
  EXPECT_EQ(j["alerts"][0]["startsAt"], "0001-01-01T00:00:00Z");
}

// ---------------------------------------------------------------- webhook over HTTP

// Checks `j` against Alertmanager's documented webhook schema: every member, with its type.
void expect_webhook_schema(const Json& j) {
  ASSERT_TRUE(j.is_object());
  const std::vector<std::string> members = {
      "receiver",          "status",      "alerts",  "groupLabels", "commonLabels",
      "commonAnnotations", "externalURL", "version", "groupKey",    "truncatedAlerts"};
  EXPECT_EQ(j.size(), members.size());
  for (const auto& m : members) EXPECT_TRUE(j.contains(m)) << m;
  EXPECT_TRUE(j["receiver"].is_string());
  EXPECT_TRUE(j["status"] == "firing" || j["status"] == "resolved");
  EXPECT_EQ(j["version"], "4");
  EXPECT_TRUE(j["groupKey"].is_string());
  EXPECT_TRUE(j["truncatedAlerts"].is_number_unsigned());
  for (const char* kv : {"groupLabels", "commonLabels", "commonAnnotations"}) {
    ASSERT_TRUE(j[kv].is_object()) << kv;
    for (const auto& [k, v] : j[kv].items()) EXPECT_TRUE(v.is_string()) << k;
  }
  ASSERT_TRUE(j["alerts"].is_array());
  for (const Json& a : j["alerts"]) {
    EXPECT_EQ(a.size(), 7u);
    EXPECT_TRUE(a["status"] == "firing" || a["status"] == "resolved");
    EXPECT_TRUE(a["labels"].is_object());
    EXPECT_TRUE(a["annotations"].is_object());
    EXPECT_TRUE(is_rfc3339(a["startsAt"].get<std::string>())) << a["startsAt"];
    EXPECT_TRUE(is_rfc3339(a["endsAt"].get<std::string>())) << a["endsAt"];
    EXPECT_TRUE(a["generatorURL"].is_string());
    EXPECT_TRUE(std::regex_match(a["fingerprint"].get<std::string>(), std::regex("[0-9a-f]{16}")));
  }
}

TEST(WebhookNotifier, PostsThePayloadWithBearerAndCustomHeaders) {
  Receiver rx;
  WebhookConfig c{.url = rx.url("/hook/T0KEN-123?x=1")};
  c.http.bearer_token = "bearer-secret";
  c.http.headers = {{"X-Team", "payments"}, {"X-Env", "prod"}};
  auto n = make_webhook_notifier(c);
  EXPECT_EQ(n->integration(), "webhook");
  EXPECT_TRUE(n->send_resolved());
  const NotificationGroup g = sample_group();
  const DeliveryResult r = n->notify(g, ctx());
  EXPECT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.http_status, 200);
  const auto got = rx.received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].path, "/hook/T0KEN-123");
  EXPECT_EQ(got[0].query, "x=1");
  EXPECT_EQ(got[0].body, webhook_payload(g));
  EXPECT_EQ(got[0].headers.at("content-type"), "application/json");
  EXPECT_EQ(got[0].headers.at("authorization"), "Bearer bearer-secret");
  EXPECT_EQ(got[0].headers.at("x-team"), "payments");
  EXPECT_EQ(got[0].headers.at("x-env"), "prod");
  expect_webhook_schema(Json::parse(got[0].body));
}

TEST(WebhookNotifier, BasicAuthAndMaxAlerts) {
  Receiver rx;
  WebhookConfig c{.url = rx.url("/hook"), .send_resolved = false, .max_alerts = 1};
  c.http.basic_auth_username = "alice";
  c.http.basic_auth_password = "wonder land";
  auto n = make_webhook_notifier(c);
  EXPECT_FALSE(n->send_resolved());
  ASSERT_TRUE(n->notify(sample_group(), ctx()).ok());
  const auto got = rx.received();
  ASSERT_EQ(got.size(), 1u);
  // base64("alice:wonder land")
  EXPECT_EQ(got[0].headers.at("authorization"), "Basic YWxpY2U6d29uZGVyIGxhbmQ=");
  const Json j = Json::parse(got[0].body);
  expect_webhook_schema(j);
  EXPECT_EQ(j["truncatedAlerts"], 1);
  EXPECT_EQ(j["alerts"].size(), 1u);
}

TEST(WebhookNotifier, StatusesMapToResults) {
  Receiver rx([](int n) {
    switch (n) {
      case 0:
        return admin::Response{.status = 500, .body = "boom"};
      case 1:
        return admin::Response{.status = 429, .body = "", .headers = {{"Retry-After", "7"}}};
      case 2:
        return admin::Response{.status = 400, .body = "bad payload"};
      case 3:
        return admin::Response{.status = 503, .body = ""};
      case 4:
        return admin::Response{.status = 404, .body = ""};
      default:
        return admin::Response{.status = 202, .body = ""};
    }
  });
  auto n = make_webhook_notifier({.url = rx.url("/hooks/s3cr3t-path-token")});
  const NotificationGroup g = sample_group();
  const std::string shown = "webhook: POST " + rx.base() + ": ";

  DeliveryResult r = n->notify(g, ctx());
  EXPECT_EQ(r.status, DeliveryStatus::kRetry);
  EXPECT_EQ(r.http_status, 500);
  EXPECT_EQ(r.error, shown + "HTTP 500: boom");
  EXPECT_FALSE(r.retry_after.has_value());

  r = n->notify(g, ctx());
  EXPECT_EQ(r.status, DeliveryStatus::kRetry);
  EXPECT_EQ(r.http_status, 429);
  ASSERT_TRUE(r.retry_after.has_value());
  EXPECT_EQ(*r.retry_after, 7s);

  r = n->notify(g, ctx());
  EXPECT_EQ(r.status, DeliveryStatus::kFailed);
  EXPECT_EQ(r.http_status, 400);
  EXPECT_EQ(r.error, shown + "HTTP 400: bad payload");

  r = n->notify(g, ctx());
  EXPECT_EQ(r.status, DeliveryStatus::kRetry);
  EXPECT_EQ(r.http_status, 503);

  r = n->notify(g, ctx());
  EXPECT_EQ(r.status, DeliveryStatus::kFailed);
  EXPECT_EQ(r.http_status, 404);
  EXPECT_EQ(r.error.find("s3cr3t"), std::string::npos) << r.error;

  r = n->notify(g, ctx());
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.http_status, 202);
}

TEST(WebhookNotifier, ConnectionRefusedIsRetryWithoutTheToken) {
  RefusingPort port;
  const std::string url =
      "http://user:pw@127.0.0.1:" + std::to_string(port.port()) + "/hook/TOKEN-abc?k=v";
  auto n = make_webhook_notifier({.url = url});
  const DeliveryResult r = n->notify(sample_group(), ctx());
  EXPECT_EQ(r.status, DeliveryStatus::kRetry);
  EXPECT_EQ(r.http_status, 0);
  EXPECT_EQ(
      r.error.rfind("webhook: POST http://127.0.0.1:" + std::to_string(port.port()) + ": ", 0), 0u)
      << r.error;
  for (const char* secret : {"TOKEN-abc", "k=v", "pw@", "/hook"}) {
    EXPECT_EQ(r.error.find(secret), std::string::npos) << secret << " in " << r.error;
  }
}

TEST(WebhookNotifier, HangingReceiverIsRetryByTheDeadline) {
  Gate gate;
  Receiver rx([&](int) {
    gate.wait();
    return admin::Response{.status = 200, .body = ""};
  });
  WebhookConfig c{.url = rx.url("/hook")};
  c.http.timeout = 300ms;
  auto n = make_webhook_notifier(c);
  auto start = Clock::now();
  DeliveryResult r = n->notify(sample_group(), ctx(10s));
  auto took = Clock::now() - start;
  EXPECT_EQ(r.status, DeliveryStatus::kRetry);
  EXPECT_NE(r.error.find("timed out"), std::string::npos) << r.error;
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 3s);
  // The context's deadline caps the notifier's own timeout.
  c.http.timeout = 10s;
  auto n2 = make_webhook_notifier(c);
  start = Clock::now();
  r = n2->notify(sample_group(), ctx(200ms));
  took = Clock::now() - start;
  EXPECT_EQ(r.status, DeliveryStatus::kRetry);
  EXPECT_LT(took, 3s);
  gate.open();
}

TEST(WebhookNotifier, AbortEndsARunningNotifyAndLaterOnes) {
  Gate gate;
  Receiver rx([&](int) {
    gate.wait();
    return admin::Response{.status = 200, .body = ""};
  });
  auto n = make_webhook_notifier({.url = rx.url("/hook")});
  DeliveryResult r;
  const auto start = Clock::now();
  std::thread t([&] { r = n->notify(sample_group(), ctx(30s)); });
  ASSERT_TRUE(rx.wait_for(1));
  n->abort();
  t.join();
  EXPECT_LT(Clock::now() - start, 5s);
  EXPECT_EQ(r.status, DeliveryStatus::kRetry);
  EXPECT_NE(r.error.find("aborted"), std::string::npos) << r.error;
  const auto again = Clock::now();
  r = n->notify(sample_group(), ctx(30s));
  EXPECT_NE(r.error.find("aborted"), std::string::npos);
  EXPECT_LT(Clock::now() - again, 1s);
  gate.open();
}

void expect_config_error(const std::function<void()>& make, const std::string& contains,
                         const std::string& secret = "") {
  try {
    make();
    ADD_FAILURE() << "no vigil::Error, expected one containing " << contains;
  } catch (const vigil::Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(contains), std::string::npos) << what;
    if (!secret.empty()) {
      EXPECT_EQ(what.find(secret), std::string::npos) << what;
    }
  }
}

TEST(WebhookNotifier, BadConfigurationThrowsNamingTheField) {
  expect_config_error([] { make_webhook_notifier({}); }, "webhook_configs: url: is empty");
  expect_config_error([] { make_webhook_notifier({.url = "ftp://h/TOKEN"}); },
                      "webhook_configs: url: scheme must be http or https", "TOKEN");
  expect_config_error([] { make_webhook_notifier({.url = "hooks.example/TOKEN"}); },
                      "webhook_configs: url:", "TOKEN");
  WebhookConfig both{.url = "http://127.0.0.1:1/x"};
  both.http.bearer_token = "b";
  both.http.basic_auth_username = "u";
  expect_config_error([&] { make_webhook_notifier(both); }, "exclusive");
}

// The same alerts through a real Alertmanager 0.25 (webhook_configs) and through webhook_payload:
// the bodies must be identical to the byte (Go's Encoder adds a final newline).
std::string find_alertmanager() {
  if (const char* env = std::getenv("VIGIL_ALERTMANAGER"); env != nullptr && *env != '\0') {
    return env;
  }
  for (const char* dir : {"/usr/local/bin", "/usr/bin", "/bin"}) {
    for (const char* name : {"alertmanager", "prometheus-alertmanager"}) {
      const std::string p = std::string(dir) + "/" + name;
      if (::access(p.c_str(), X_OK) == 0) return p;
    }
  }
  return "";
}

uint16_t free_port() {
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

// A child process with stdout and stderr to a log file; SIGTERM then SIGKILL at the end.
class Child {
 public:
  Child(std::vector<std::string> argv, const std::string& log) {
    pid_ = ::fork();
    if (pid_ == 0) {
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
  }
  ~Child() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 100; ++i) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) return;
      ::poll(nullptr, 0, 50);
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
  }

 private:
  pid_t pid_ = -1;
};

TEST(WebhookPayload, ByteIdenticalToAlertmanager) {
  const std::string am = find_alertmanager();
  if (am.empty()) GTEST_SKIP() << "alertmanager (or prometheus-alertmanager) not installed";
  Receiver rx;
  char tmpl[] = "/tmp/vigil-am-XXXXXX";
  const std::string dir = ::mkdtemp(tmpl);
  const uint16_t port = free_port();
  {
    std::ofstream cfg(dir + "/am.yml");
    cfg << "route:\n  receiver: hook\n  group_by: [alertname]\n  group_wait: 1s\n"
           "  group_interval: 1h\n  repeat_interval: 1h\n"
           "receivers:\n- name: hook\n  webhook_configs:\n  - url: "
        << rx.url("/am") << "\n    max_alerts: 0\n";
  }
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  Child child({am, "--config.file=" + dir + "/am.yml", "--storage.path=" + dir,
               "--web.listen-address=127.0.0.1:" + std::to_string(port),
               "--cluster.listen-address=", "--web.external-url=http://vigil.example:9464"},
              dir + "/am.log");
  vigil::detail::HttpSender ready({.url = base + "/-/ready"});
  bool up = false;
  for (int i = 0; i < 200 && !up; ++i) {  // up to ~10 s
    up = ready.get(Clock::now() + 1s).status == 200;
    if (!up) ::poll(nullptr, 0, 50);
  }
  ASSERT_TRUE(up) << "alertmanager did not start; see " << dir << "/am.log";

  const Json alerts = Json::parse(R"([
    {"labels": {"alertname": "HighErrorRate", "instance": "a:1", "severity": "critical"},
     "annotations": {"summary": "errors high", "description": "5% <b>\"errors\"</b> & more"},
     "startsAt": "2026-01-02T03:04:05.12Z", "endsAt": "2099-01-02T03:09:05.000000005Z",
     "generatorURL": "http://vigil.example:9464/graph?g0.expr=x&g0.tab=1"},
    {"labels": {"alertname": "HighErrorRate", "instance": "b:2", "severity": "warning"},
     "annotations": {"summary": "errors high"},
     "startsAt": "2026-01-02T03:04:05Z", "endsAt": "2099-01-02T03:09:05Z",
     "generatorURL": "http://vigil.example:9464/graph?g0.expr=x"}])");
  vigil::detail::HttpSender post(
      {.url = base + "/api/v2/alerts", .content_type = "application/json"});
  const auto posted = post.post(alerts.dump(), Clock::now() + 5s);
  ASSERT_EQ(posted.status, 200) << posted.body;
  ASSERT_TRUE(rx.wait_for(1)) << "alertmanager sent no webhook";
  const std::string from_am = rx.received().at(0).body;
  const Json got = Json::parse(from_am);

  NotificationGroup g;
  g.receiver = "hook";
  g.group_key = got["groupKey"];
  g.group_labels = {{"alertname", "HighErrorRate"}};
  g.external_url = "http://vigil.example:9464";
  // In Alertmanager's order (it sorts a group's alerts).
  for (const Json& sent : got["alerts"]) {
    for (const Json& a : alerts) {
      if (a["labels"] != sent["labels"]) continue;
      NotifiedAlert n;
      for (const auto& [k, v] : a["labels"].items()) n.labels.emplace_back(k, v);
      for (const auto& [k, v] : a["annotations"].items()) n.annotations.emplace_back(k, v);
      n.starts_at = a["startsAt"] == alerts[0]["startsAt"] ? at(kT0, 120'000'000) : at(kT0);
      n.ends_at = at(4071006545, a["endsAt"] == alerts[0]["endsAt"] ? 5 : 0);
      n.generator_url = a["generatorURL"];
      n.fingerprint = label_fingerprint(n.labels);
      g.alerts.push_back(n);
    }
  }
  ASSERT_EQ(g.alerts.size(), 2u);
  g.compute_common();
  EXPECT_EQ(webhook_payload(g) + "\n", from_am);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

// ---------------------------------------------------------------- Slack

TEST(SlackNotifier, SendsTheAttachmentAsAlertmanager) {
  Receiver rx;
  SlackConfig c{.api_url = rx.url("/services/T000/B000/XXXXSECRET"),
                .channel = "#alerts",
                .username = "vigil",
                .icon_emoji = ":fire:",
                .icon_url = "http://img.example/i.png",
                .title = "High error rate",
                .title_link = "http://vigil.example:9464/alerts",
                .text = "*5%* of requests fail",
                .color = "#ff0000",
                .footer = "vigil"};
  auto n = make_slack_notifier(c);
  EXPECT_EQ(n->integration(), "slack");
  EXPECT_FALSE(n->send_resolved());
  const DeliveryResult r = n->notify(sample_group(), ctx());
  ASSERT_TRUE(r.ok()) << r.error;
  const auto got = rx.received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].path, "/services/T000/B000/XXXXSECRET");
  EXPECT_EQ(got[0].headers.at("content-type"), "application/json");
  const Json expected = Json::parse(R"({
    "channel": "#alerts", "username": "vigil", "icon_emoji": ":fire:",
    "icon_url": "http://img.example/i.png",
    "attachments": [{
      "title": "High error rate", "title_link": "http://vigil.example:9464/alerts",
      "text": "*5%* of requests fail",
      "fallback": "High error rate | http://vigil.example:9464/alerts",
      "callback_id": "", "footer": "vigil", "color": "#ff0000",
      "mrkdwn_in": ["fallback", "pretext", "text"]}]})");
  EXPECT_EQ(Json::parse(got[0].body), expected) << got[0].body;
  EXPECT_EQ(got[0].body.find("\"blocks\""), std::string::npos);
}

TEST(SlackNotifier, DefaultColorOmittedFieldsAndBlocks) {
  Receiver rx;
  auto n = make_slack_notifier({.api_url = rx.url("/hook"),
                                .title = "T",
                                .title_link = "L",
                                .text = "body",
                                .footer = "foot",
                                .blocks = true,
                                .send_resolved = true});
  NotificationGroup g = sample_group();
  ASSERT_TRUE(n->notify(g, ctx()).ok());
  for (auto& a : g.alerts) a.resolved = true;
  ASSERT_TRUE(n->notify(g, ctx()).ok());
  const auto got = rx.received();
  ASSERT_EQ(got.size(), 2u);
  const Json firing = Json::parse(got[0].body);
  for (const char* absent : {"channel", "username", "icon_emoji", "icon_url"}) {
    EXPECT_FALSE(firing.contains(absent)) << absent;
  }
  EXPECT_EQ(firing["attachments"][0]["color"], "danger");
  EXPECT_EQ(Json::parse(got[1].body)["attachments"][0]["color"], "good");
  const Json blocks = Json::parse(R"([
    {"type": "header", "text": {"type": "plain_text", "text": "T"}},
    {"type": "section", "text": {"type": "mrkdwn", "text": "body"}},
    {"type": "context", "elements": [{"type": "mrkdwn", "text": "foot"}]}])");
  EXPECT_EQ(firing["blocks"], blocks);
}

TEST(SlackNotifier, LongTitleIsCutTo1024Runes) {
  Receiver rx;
  std::string title;
  for (int i = 0; i < 1100; ++i) title += "\xC3\xA9";  // é
  auto n = make_slack_notifier({.api_url = rx.url("/hook"), .title = title, .text = "x"});
  ASSERT_TRUE(n->notify(sample_group(), ctx()).ok());
  const std::string got = Json::parse(rx.received().at(0).body)["attachments"][0]["title"];
  std::string expected;
  for (int i = 0; i < 1023; ++i) expected += "\xC3\xA9";
  expected += "\xE2\x80\xA6";
  EXPECT_EQ(got, expected);
}

TEST(SlackNotifier, ErrorsHideTheWebhookPath) {
  Receiver rx([](int n) {
    if (n == 0) return admin::Response{.status = 404, .body = "no_service"};
    if (n == 1) return admin::Response{.status = 500, .body = ""};
    return admin::Response{.status = 200,
                           .content_type = "application/json",
                           .body = R"({"ok":false,"error":"channel_not_found"})"};
  });
  auto n = make_slack_notifier(
      {.api_url = rx.url("/services/T1/B2/SECRETTOKEN"), .title = "t", .text = "x"});
  DeliveryResult r = n->notify(sample_group(), ctx());
  EXPECT_EQ(r.status, DeliveryStatus::kFailed);
  EXPECT_EQ(r.error, "slack: POST " + rx.base() + ": HTTP 404: no_service");
  r = n->notify(sample_group(), ctx());
  EXPECT_EQ(r.status, DeliveryStatus::kRetry);
  EXPECT_EQ(r.error, "slack: POST " + rx.base() + ": HTTP 500");
  r = n->notify(sample_group(), ctx());  // chat.postMessage's refusal
  EXPECT_EQ(r.status, DeliveryStatus::kFailed);
  EXPECT_EQ(r.error, "slack: POST " + rx.base() + ": refused: channel_not_found");
  EXPECT_EQ(r.http_status, 200);
}

TEST(SlackNotifier, TemplatesParseAtConstructionAndRenderErrorsFail) {
  expect_config_error(
      [] { make_slack_notifier({.api_url = "http://127.0.0.1:1/SECRET", .title = "{{ .Status "}); },
      "slack_configs: title:", "SECRET");
  expect_config_error([] { make_slack_notifier({.api_url = ""}); },
                      "slack_configs: api_url: is empty");
  Receiver rx;
  auto n = make_slack_notifier(
      {.api_url = rx.url("/hook"), .title = "t", .text = "{{ index .Alerts 5 }}"});
  const DeliveryResult r = n->notify(sample_group(), ctx());
  EXPECT_EQ(r.status, DeliveryStatus::kFailed);
  EXPECT_EQ(r.error.rfind("slack: template: text: ", 0), 0u) << r.error;
  EXPECT_TRUE(rx.received().empty());
}

TEST(SlackNotifier, DefaultsAndTemplatesRenderAlertmanagersData) {
  Receiver rx;
  auto n = make_slack_notifier(
      {.api_url = rx.url("/hook"),
       .channel = "#{{ .CommonLabels.alertname | toLower }}",
       .text = "{{ range .Alerts.Firing }}{{ .Annotations.summary }} on {{ .Labels.instance }}"
               "{{ end }}",
       .footer = "{{ len .Alerts }} alerts"});
  ASSERT_TRUE(n->notify(sample_group(), ctx()).ok());
  const Json j = Json::parse(rx.received().at(0).body);
  EXPECT_EQ(j["channel"], "#higherrorrate");
  const Json& a = j["attachments"][0];
  // Alertmanager's slack.default.title (__subject) and slack.default.titlelink: group labels
  // only, since the common labels are no more than the group labels; note the trailing space.
  EXPECT_EQ(a["title"], "[FIRING:1] HighErrorRate ");
  EXPECT_EQ(a["title_link"], "http://vigil.example:9464/#/alerts?receiver=team-x");
  EXPECT_EQ(a["fallback"],
            "[FIRING:1] HighErrorRate  | http://vigil.example:9464/#/alerts?receiver=team-x");
  EXPECT_EQ(a["text"], "errors high on a:1");
  EXPECT_EQ(a["footer"], "2 alerts");
}

// ---------------------------------------------------------------- PagerDuty

TEST(PagerDutyNotifier, TriggerEventV2) {
  Receiver rx([](int) {
    return admin::Response{.status = 202,
                           .content_type = "application/json",
                           .body = R"({"status":"success","message":"Event processed"})"};
  });
  PagerDutyConfig c{.routing_key = "R0UTINGKEY0123456789",
                    .url = rx.url("/v2/enqueue"),
                    .client_url = "http://vigil.example:9464/alerts",
                    .description = "High error rate on a:1",
                    .component = "api",
                    .group = "payments",
                    .class_name = "errors",
                    .links = {{"http://runbook.example/x", "Runbook"}, {"", "dropped"}}};
  auto n = make_pagerduty_notifier(c);
  EXPECT_EQ(n->integration(), "pagerduty");
  EXPECT_TRUE(n->send_resolved());
  const DeliveryResult r = n->notify(sample_group(), ctx());
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.http_status, 202);
  const auto got = rx.received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].headers.at("content-type"), "application/json");
  const Json j = Json::parse(got[0].body);
  const std::string firing_list =
      "Labels:\n - alertname = HighErrorRate\n - instance = a:1\n - severity = critical\n"
      "Annotations:\n - description = 5% \"errors\"\n - summary = errors high\n"
      "Source: http://vigil.example:9464/graph?g0.expr=x\n";
  const std::string resolved_list =
      "Labels:\n - alertname = HighErrorRate\n - instance = b:2\n - severity = warning\n"
      "Annotations:\n - summary = errors high\n"
      "Source: http://vigil.example:9464/graph?g0.expr=x\n";
  const Json expected = {
      {"routing_key", "R0UTINGKEY0123456789"},
      // sha256 of the group key, computed with Python's hashlib.
      {"dedup_key", "558b79073d7341d427c63af07b90f482a501267929ebae0c3c90273093254c92"},
      {"event_action", "trigger"},
      {"payload",
       {{"summary", "High error rate on a:1"},
        {"source", "vigil"},
        {"severity", "critical"},
        {"timestamp", "2026-01-02T03:04:05.12Z"},
        {"class", "errors"},
        {"component", "api"},
        {"group", "payments"},
        {"custom_details",
         {{"firing", firing_list},
          {"resolved", resolved_list},
          {"num_firing", "1"},
          {"num_resolved", "1"}}}}},
      {"client", "vigil"},
      {"client_url", "http://vigil.example:9464/alerts"},
      {"links", Json::array({{{"href", "http://runbook.example/x"}, {"text", "Runbook"}}})}};
  EXPECT_EQ(j, expected) << j.dump(2);
  EXPECT_TRUE(is_rfc3339(j["payload"]["timestamp"].get<std::string>()));
}

TEST(PagerDutyNotifier, ResolveSeverityDetailsAndSummaryCut) {
  Receiver rx([](int) { return admin::Response{.status = 202, .body = ""}; });
  std::string long_summary(1500, 'x');
  PagerDutyConfig c{.routing_key = "rk",
                    .url = rx.url("/v2/enqueue"),
                    .description = long_summary,
                    .details = {{"team", "payments"}, {"runbook", "http://r"}}};
  auto n = make_pagerduty_notifier(c);
  NotificationGroup g = sample_group();
  g.alerts[0].severity = Severity::kInfo;  // firing: info; resolved: warning (ignored)
  ASSERT_TRUE(n->notify(g, ctx()).ok());
  for (auto& a : g.alerts) a.resolved = true;
  g.alerts[0].ends_at = at(kT1 + 60);
  ASSERT_TRUE(n->notify(g, ctx()).ok());
  const auto got = rx.received();
  ASSERT_EQ(got.size(), 2u);
  const Json trigger = Json::parse(got[0].body);
  EXPECT_EQ(trigger["payload"]["severity"], "info");
  EXPECT_EQ(trigger["payload"]["custom_details"],
            Json({{"team", "payments"}, {"runbook", "http://r"}}));
  EXPECT_EQ(trigger["client_url"], "http://vigil.example:9464");  // the external URL
  EXPECT_FALSE(trigger.contains("links"));
  EXPECT_FALSE(trigger["payload"].contains("component"));
  const std::string summary = trigger["payload"]["summary"];
  EXPECT_EQ(summary, std::string(1023, 'x') + "\xE2\x80\xA6");
  const Json resolve = Json::parse(got[1].body);
  EXPECT_EQ(resolve["event_action"], "resolve");
  EXPECT_EQ(resolve["dedup_key"], trigger["dedup_key"]);
  EXPECT_EQ(resolve["payload"]["severity"], "warning");  // highest of all when none fires
  EXPECT_EQ(resolve["payload"]["timestamp"], "2026-01-02T03:10:05Z");  // the last end
}

TEST(PagerDutyNotifier, DefaultDescriptionAndTemplates) {
  Receiver rx([](int) { return admin::Response{.status = 202, .body = ""}; });
  PagerDutyConfig c{.routing_key = "rk",
                    .url = rx.url("/v2/enqueue"),
                    .severity = "{{ if eq .Status \"firing\" }}critical{{ else }}info{{ end }}",
                    .component = "{{ .GroupLabels.alertname }}",
                    .details = {{"count", "{{ len .Alerts.Firing }}"}},
                    .links = {{"{{ .ExternalURL }}/alerts", "{{ .Receiver }}"}}};
  NotificationGroup g = sample_group();
  g.alerts[0].severity = Severity::kWarning;  // the severity template wins
  ASSERT_TRUE(make_pagerduty_notifier(c)->notify(g, ctx()).ok());
  const Json j = Json::parse(rx.received().at(0).body);
  EXPECT_EQ(j["payload"]["summary"], "[FIRING:1] HighErrorRate ");
  EXPECT_EQ(j["payload"]["severity"], "critical");
  EXPECT_EQ(j["payload"]["component"], "HighErrorRate");
  EXPECT_EQ(j["payload"]["custom_details"], Json({{"count", "1"}}));
  EXPECT_EQ(j["links"],
            Json::array({{{"href", "http://vigil.example:9464/alerts"}, {"text", "team-x"}}}));
  // A template that fails to render is a failed attempt: nothing is sent.
  c.description = "{{ index .Alerts 9 }}";
  const DeliveryResult r = make_pagerduty_notifier(c)->notify(g, ctx());
  EXPECT_EQ(r.status, DeliveryStatus::kFailed);
  EXPECT_EQ(r.error.rfind("pagerduty: template: description: ", 0), 0u) << r.error;
  EXPECT_EQ(rx.received().size(), 1u);
}

TEST(PagerDutyNotifier, ErrorsNeverShowTheRoutingKey) {
  Receiver rx([](int n) {
    if (n == 0) {
      return admin::Response{
          .status = 400,
          .body = R"({"status":"invalid event","message":"Event object is invalid"})"};
    }
    return admin::Response{.status = 429, .body = "", .headers = {{"Retry-After", "2"}}};
  });
  auto n = make_pagerduty_notifier(
      {.routing_key = "SECRET-ROUTING-KEY", .url = rx.url("/v2/enqueue"), .description = "d"});
  DeliveryResult r = n->notify(sample_group(), ctx());
  EXPECT_EQ(r.status, DeliveryStatus::kFailed);
  EXPECT_EQ(r.http_status, 400);
  EXPECT_EQ(r.error.find("SECRET-ROUTING-KEY"), std::string::npos);
  EXPECT_EQ(r.error.rfind("pagerduty: POST " + rx.base() + ": HTTP 400", 0), 0u) << r.error;
  r = n->notify(sample_group(), ctx());
  EXPECT_EQ(r.status, DeliveryStatus::kRetry);
  EXPECT_EQ(r.retry_after, std::optional<std::chrono::milliseconds>(2s));
  expect_config_error([] { make_pagerduty_notifier({}); }, "pagerduty_configs: routing_key");
  expect_config_error(
      [] { make_pagerduty_notifier({.routing_key = "SECRET-RK", .url = "gopher://x"}); },
      "pagerduty_configs: url:", "SECRET-RK");
}

// ---------------------------------------------------------------- email (aiosmtpd)

const char* kPython = "/usr/bin/python3";

bool have_aiosmtpd() {
  static const bool have = [] {
    if (::access(kPython, X_OK) != 0) return false;
    const std::string cmd = std::string(kPython) + " -c 'import aiosmtpd' >/dev/null 2>&1";
    return std::system(cmd.c_str()) == 0;
  }();
  return have;
}

std::string script_path() { return VIGIL_SMTP_RECEIVER; }

// A self-signed certificate for 127.0.0.1 made with `openssl req`, in a temp directory.
class TlsFiles {
 public:
  TlsFiles() {
    char tmpl[] = "/tmp/vigil-smtp-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    const std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -keyout " + key() +
                            " -out " + cert() +
                            " -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1"
                            " >/dev/null 2>&1";
    ok_ = std::system(cmd.c_str()) == 0;
  }
  ~TlsFiles() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  bool ok() const { return ok_; }
  std::string cert() const { return dir_ + "/cert.pem"; }
  std::string key() const { return dir_ + "/key.pem"; }

 private:
  std::string dir_;
  bool ok_ = false;
};

// smtp_receiver.py as a child process: its stdout gives the port, then one JSON line a message.
class SmtpServer {
 public:
  explicit SmtpServer(std::vector<std::string> args) {
    int in[2], out[2];
    if (::pipe(in) != 0 || ::pipe(out) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      ::close(in[1]);
      ::close(out[0]);
      std::vector<std::string> all = {kPython, script_path()};
      all.insert(all.end(), args.begin(), args.end());
      std::vector<char*> argv;
      for (auto& a : all) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(kPython, argv.data());
      ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    stdin_ = in[1];
    stdout_ = out[0];
    const std::string first = read_line(10s);
    if (first.rfind("PORT ", 0) == 0) port_ = std::stoi(first.substr(5));
  }
  ~SmtpServer() {
    if (stdin_ >= 0) ::close(stdin_);  // the script exits at EOF
    if (pid_ > 0) {
      int status = 0;
      for (int i = 0; i < 100; ++i) {  // up to 5 s, then kill our child
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
          pid_ = -1;
          break;
        }
        ::poll(nullptr, 0, 50);
      }
      if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
      }
    }
    if (stdout_ >= 0) ::close(stdout_);
  }
  int port() const { return port_; }
  std::string smarthost() const { return "127.0.0.1:" + std::to_string(port_); }

  // The next received message (waits at most 10 s); null when none came.
  Json next_message() {
    const std::string line = read_line(10s);
    if (line.empty()) return nullptr;
    return Json::parse(line, nullptr, false);
  }

 private:
  std::string read_line(std::chrono::milliseconds wait) {
    const auto until = Clock::now() + wait;
    while (true) {
      const size_t nl = buffer_.find('\n');
      if (nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return line;
      }
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
      if (left <= 0 || stdout_ < 0) return "";
      pollfd p{stdout_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) <= 0) return "";
      char buf[65536];
      const ssize_t n = ::read(stdout_, buf, sizeof buf);
      if (n <= 0) return "";
      buffer_.append(buf, static_cast<size_t>(n));
    }
  }

  pid_t pid_ = -1;
  int stdin_ = -1;
  int stdout_ = -1;
  int port_ = 0;
  std::string buffer_;
};

#define SKIP_WITHOUT_AIOSMTPD()                                                    \
  do {                                                                             \
    if (!have_aiosmtpd()) {                                                        \
      GTEST_SKIP() << "aiosmtpd: /usr/bin/python3 cannot import aiosmtpd (Debian " \
                      "python3-aiosmtpd)";                                         \
    }                                                                              \
  } while (0)

EmailConfig email_config(const SmtpServer& s) {
  EmailConfig c;
  c.smarthost = s.smarthost();
  c.from = "Vigil Alerts <alerts@vigil.test>";
  c.to = {"oncall@team.test", "Zoë Müller <zoe@team.test>"};
  c.hello = "vigil.test";
  c.require_tls = false;
  c.subject = "[FIRING:1] HighErrorRate — ünïcödé";
  c.text = "5% of requests fail.\nLine with = sign and a very long tail: " + std::string(100, 'a');
  c.html = "<p>5% of <b>requests</b> fail — ✓</p>";
  c.headers = {{"X-Vigil-Group", "payments"}};
  c.timeout = 10s;
  return c;
}

void expect_message(const Json& m, const EmailConfig& c) {
  ASSERT_TRUE(m.is_object()) << "no message arrived";
  EXPECT_EQ(m["helo"], c.hello);  // EHLO vigil.test
  EXPECT_EQ(m["mail_from"], "alerts@vigil.test");
  EXPECT_EQ(m["rcpt_tos"], Json::array({"oncall@team.test", "zoe@team.test"}));
  const Json& h = m["headers"];
  EXPECT_EQ(h["Subject"], c.subject);
  EXPECT_EQ(h["From"], "Vigil Alerts <alerts@vigil.test>");
  EXPECT_EQ(h["To"], "oncall@team.test, Zoë Müller <zoe@team.test>");
  EXPECT_EQ(h["X-Vigil-Group"], "payments");
  EXPECT_EQ(h["MIME-Version"], "1.0");
  EXPECT_TRUE(std::regex_match(
      h["Date"].get<std::string>(),
      std::regex(R"([A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d \+0000)")))
      << h["Date"];
  EXPECT_TRUE(
      std::regex_match(h["Message-Id"].get<std::string>(), std::regex(R"(<\d+\.\d+@vigil\.test>)")))
      << h["Message-Id"];
  EXPECT_EQ(m["content_type"], "multipart/alternative");
  ASSERT_EQ(m["parts"].size(), 2u);
  EXPECT_EQ(m["parts"][0]["type"], "text/plain");
  EXPECT_EQ(m["parts"][0]["charset"], "utf-8");
  EXPECT_EQ(m["parts"][0]["cte"], "quoted-printable");
  // The server sees CRLF line ends; the text had a bare LF.
  std::string text = c.text;
  text.replace(text.find('\n'), 1, "\r\n");
  EXPECT_EQ(m["parts"][0]["text"], text);  // the CRLF before a boundary belongs to it
  EXPECT_EQ(m["parts"][1]["type"], "text/html");
  EXPECT_EQ(m["parts"][1]["text"], c.html);
  // Raw lines stay within RFC 5322's 78 characters, and the raw message is 7-bit.
  const std::string raw = m["raw"];
  size_t start = 0;
  while (start < raw.size()) {
    size_t end = raw.find('\n', start);
    if (end == std::string::npos) end = raw.size();
    EXPECT_LE(end - start, 79u) << raw.substr(start, end - start);
    start = end + 1;
  }
  for (char ch : raw) EXPECT_LT(static_cast<unsigned char>(ch), 0x80);
}

TEST(EmailNotifier, PlainSmtpDeliversAMultipartMessage) {
  SKIP_WITHOUT_AIOSMTPD();
  SmtpServer server({});
  ASSERT_NE(server.port(), 0);
  const EmailConfig c = email_config(server);
  auto n = make_email_notifier(c);
  EXPECT_EQ(n->integration(), "email");
  EXPECT_FALSE(n->send_resolved());
  const DeliveryResult r = n->notify(sample_group(), ctx());
  ASSERT_TRUE(r.ok()) << r.error;
  const Json m = server.next_message();
  expect_message(m, c);
  EXPECT_FALSE(m["tls"].get<bool>());
}

TEST(EmailNotifier, StartTlsWithAuth) {
  SKIP_WITHOUT_AIOSMTPD();
  TlsFiles tls;
  ASSERT_TRUE(tls.ok()) << "openssl req failed";
  SmtpServer server({"--tls", "starttls", "--cert", tls.cert(), "--key", tls.key(),
                     "--require-starttls", "--auth", "alerts:s3cret-pw", "--auth-require-tls"});
  ASSERT_NE(server.port(), 0);
  EmailConfig c = email_config(server);
  c.require_tls = true;
  c.ca_file = tls.cert();
  c.auth_username = "alerts";
  c.auth_password = "s3cret-pw";
  auto n = make_email_notifier(c);
  const DeliveryResult r = n->notify(sample_group(), ctx());
  ASSERT_TRUE(r.ok()) << r.error;
  const Json m = server.next_message();
  expect_message(m, c);
  EXPECT_TRUE(m["tls"].get<bool>());
  EXPECT_EQ(m["login"], "alerts");

  // A wrong password: 535, not retried; the password is not in the error.
  c.auth_password = "wrong-pw";
  const DeliveryResult bad = make_email_notifier(c)->notify(sample_group(), ctx());
  EXPECT_EQ(bad.status, DeliveryStatus::kFailed) << bad.error;
  EXPECT_NE(bad.error.find("535"), std::string::npos) << bad.error;
  EXPECT_EQ(bad.error.find("wrong-pw"), std::string::npos) << bad.error;
  EXPECT_EQ(bad.error.rfind("email: SMTP smtp://" + server.smarthost() + ": ", 0), 0u) << bad.error;

  // An untrusted certificate (no ca_file): refused for good.
  c.auth_password = "s3cret-pw";
  c.ca_file.clear();
  const DeliveryResult untrusted = make_email_notifier(c)->notify(sample_group(), ctx());
  EXPECT_EQ(untrusted.status, DeliveryStatus::kFailed) << untrusted.error;
}

TEST(EmailNotifier, AuthWithoutTlsAndRequiredTlsMissing) {
  SKIP_WITHOUT_AIOSMTPD();
  SmtpServer server({"--auth", "bob:pw-123"});
  ASSERT_NE(server.port(), 0);
  EmailConfig c = email_config(server);
  c.auth_username = "bob";
  c.auth_password = "pw-123";
  c.require_tls = false;  // opportunistic: the server offers no STARTTLS
  ASSERT_TRUE(make_email_notifier(c)->notify(sample_group(), ctx()).ok());
  const Json m = server.next_message();
  expect_message(m, c);
  EXPECT_EQ(m["login"], "bob");
  EXPECT_FALSE(m["tls"].get<bool>());
  // require_tls against a server without STARTTLS: refused for good, nothing sent.
  c.require_tls = true;
  const DeliveryResult r = make_email_notifier(c)->notify(sample_group(), ctx());
  EXPECT_EQ(r.status, DeliveryStatus::kFailed) << r.error;
}

TEST(EmailNotifier, ImplicitTls) {
  SKIP_WITHOUT_AIOSMTPD();
  TlsFiles tls;
  ASSERT_TRUE(tls.ok());
  SmtpServer server({"--tls", "implicit", "--cert", tls.cert(), "--key", tls.key()});
  ASSERT_NE(server.port(), 0);
  EmailConfig c = email_config(server);
  c.implicit_tls = true;
  c.ca_file = tls.cert();
  c.text.clear();  // HTML only: one part
  auto n = make_email_notifier(c);
  const DeliveryResult r = n->notify(sample_group(), ctx());
  ASSERT_TRUE(r.ok()) << r.error;
  const Json m = server.next_message();
  ASSERT_TRUE(m.is_object());
  EXPECT_TRUE(m["tls"].get<bool>());
  EXPECT_EQ(m["content_type"], "text/html");
  ASSERT_EQ(m["parts"].size(), 1u);
  EXPECT_EQ(m["parts"][0]["text"], c.html + "\r\n");
  EXPECT_EQ(m["headers"]["Subject"], c.subject);
}

TEST(EmailNotifier, DefaultBodiesAndTemplatedSubjectAndHeaders) {
  SKIP_WITHOUT_AIOSMTPD();
  SmtpServer server({});
  ASSERT_NE(server.port(), 0);
  EmailConfig c = email_config(server);
  c.subject = "{{ .Status | toUpper }}: {{ .CommonLabels.alertname }} ({{ len .Alerts }})";
  c.text.clear();
  c.html.clear();  // both empty: Alertmanager-like text and HTML bodies
  c.headers = {{"X-Receiver", "{{ .Receiver }}"}};
  ASSERT_TRUE(make_email_notifier(c)->notify(sample_group(), ctx()).ok());
  const Json m = server.next_message();
  ASSERT_TRUE(m.is_object());
  EXPECT_EQ(m["headers"]["Subject"], "FIRING: HighErrorRate (2)");
  EXPECT_EQ(m["headers"]["X-Receiver"], "team-x");
  EXPECT_EQ(m["content_type"], "multipart/alternative");
  ASSERT_EQ(m["parts"].size(), 2u);
  const std::string text = m["parts"][0]["text"];
  const std::string html = m["parts"][1]["text"];
  EXPECT_EQ(text.rfind("[FIRING:1] HighErrorRate ", 0), 0u) << text;
  EXPECT_NE(text.find("Alerts Firing:"), std::string::npos) << text;
  EXPECT_NE(text.find(" - instance = a:1"), std::string::npos) << text;
  EXPECT_NE(html.find("<!DOCTYPE html>"), std::string::npos) << html;
  EXPECT_NE(html.find("5% &#34;errors&#34;"), std::string::npos) << html;  // escaped
}

TEST(EmailNotifier, DeadServerIsRetryAndAbortStops) {
  RefusingPort port;
  EmailConfig c;
  c.smarthost = "127.0.0.1:" + std::to_string(port.port());
  c.from = "a@b.test";
  c.to = {"c@d.test"};
  c.subject = "s";
  c.text = "t";
  c.auth_username = "u";
  c.auth_password = "top-secret";
  auto n = make_email_notifier(c);
  DeliveryResult r = n->notify(sample_group(), ctx());
  EXPECT_EQ(r.status, DeliveryStatus::kRetry) << r.error;
  EXPECT_EQ(r.error.rfind("email: SMTP smtp://" + c.smarthost + ": ", 0), 0u) << r.error;
  EXPECT_EQ(r.error.find("top-secret"), std::string::npos);
  n->abort();
  const auto start = Clock::now();
  r = n->notify(sample_group(), ctx());
  EXPECT_EQ(r.status, DeliveryStatus::kRetry);
  EXPECT_NE(r.error.find("aborted"), std::string::npos) << r.error;
  EXPECT_LT(Clock::now() - start, 1s);
}

TEST(EmailNotifier, AbortEndsAHangingSession) {
  // A server that accepts and never greets: the session hangs until abort().
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 4), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  EmailConfig c;
  c.smarthost = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  c.from = "a@b.test";
  c.to = {"c@d.test"};
  c.text = "t";
  c.subject = "s";
  c.timeout = 300ms;
  auto n = make_email_notifier(c);
  auto start = Clock::now();
  DeliveryResult r = n->notify(sample_group(), ctx());  // the timeout
  EXPECT_EQ(r.status, DeliveryStatus::kRetry) << r.error;
  EXPECT_LT(Clock::now() - start, 3s);
  c.timeout = 30s;
  auto n2 = make_email_notifier(c);
  start = Clock::now();
  std::thread t([&] { r = n2->notify(sample_group(), ctx(30s)); });
  ::poll(nullptr, 0, 100);  // let the session start (the abort works at any point anyway)
  n2->abort();
  t.join();
  EXPECT_EQ(r.status, DeliveryStatus::kRetry);
  EXPECT_NE(r.error.find("aborted"), std::string::npos) << r.error;
  EXPECT_LT(Clock::now() - start, 5s);
  ::close(fd);
}

TEST(EmailNotifier, BadConfigurationThrowsNamingTheField) {
  const auto base = [] {
    EmailConfig c;
    c.smarthost = "mail.test:25";
    c.from = "a@b.test";
    c.to = {"c@d.test"};
    c.auth_username = "u";
    c.auth_password = "PASSWORD-XYZ";
    return c;
  };
  EmailConfig c = base();
  c.to.clear();
  expect_config_error([&] { make_email_notifier(c); }, "email_configs: to:");
  c = base();
  c.to = {"not an address"};
  expect_config_error([&] { make_email_notifier(c); }, "email_configs: to:");
  c = base();
  c.from.clear();
  expect_config_error([&] { make_email_notifier(c); }, "email_configs: from:");
  for (const char* host :
       {"", "mail.test", "mail.test:0", "mail.test:99999", ":25", "::1:25", "mail.test:2x5"}) {
    c = base();
    c.smarthost = host;
    expect_config_error([&] { make_email_notifier(c); },
                        "email_configs: smarthost:", "PASSWORD-XYZ");
  }
  c = base();
  c.subject = "{{ .Status ";
  expect_config_error([&] { make_email_notifier(c); }, "email_configs: subject:");
  c = base();
  c.headers = {{"Bad Name", "v"}};
  expect_config_error([&] { make_email_notifier(c); }, "email_configs: headers:");
  c = base();
  c.smarthost = "[::1]:2525";
  EXPECT_NO_THROW(make_email_notifier(c));
}

}  // namespace
}  // namespace vigil::alerting
