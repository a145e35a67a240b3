// demo/delivery.cc: see delivery.h.
#include "delivery.h"

#include <chrono>
#include <cstdlib>
#include <utility>

#include "vigil/alerting/routing.h"
#include "vigil/core/error.h"

namespace vigil::demo {

namespace {
using namespace std::chrono_literals;

std::string env_or_empty(const char* (*getenv)(const char*), const char* name) {
  const char* v = getenv(name);
  return v != nullptr ? std::string(v) : std::string();
}

const char* std_getenv(const char* name) { return std::getenv(name); }
}  // namespace

std::vector<std::string> channels_from_environment(alerting::ReceiverConfig& receiver,
                                                   const char* (*getenv)(const char*)) {
  std::vector<std::string> names;
  if (std::string url = env_or_empty(getenv, "VIGIL_SLACK_WEBHOOK_URL"); !url.empty()) {
    alerting::SlackConfig s;
    s.api_url = std::move(url);
    s.channel = env_or_empty(getenv, "VIGIL_SLACK_CHANNEL");
    s.send_resolved = true;
    receiver.slack_configs.push_back(std::move(s));
    names.emplace_back("Slack");
  }
  const std::string smarthost = env_or_empty(getenv, "VIGIL_SMTP_SMARTHOST");
  const std::string to = env_or_empty(getenv, "VIGIL_EMAIL_TO");
  if (!smarthost.empty() || !to.empty()) {
    if (smarthost.empty() || to.empty()) {
      throw Error("email: set both VIGIL_SMTP_SMARTHOST (host:port) and VIGIL_EMAIL_TO");
    }
    alerting::EmailConfig e;
    e.smarthost = smarthost;
    e.to = {to};
    e.from = env_or_empty(getenv, "VIGIL_SMTP_FROM");
    if (e.from.empty()) e.from = "vigil-demo@localhost";
    e.auth_username = env_or_empty(getenv, "VIGIL_SMTP_USERNAME");
    e.auth_password = env_or_empty(getenv, "VIGIL_SMTP_PASSWORD");
    e.require_tls = env_or_empty(getenv, "VIGIL_SMTP_REQUIRE_TLS") != "false";
    e.send_resolved = true;
    receiver.email_configs.push_back(std::move(e));
    names.emplace_back("email to " + to);
  }
  if (std::string key = env_or_empty(getenv, "VIGIL_PAGERDUTY_ROUTING_KEY"); !key.empty()) {
    alerting::PagerDutyConfig p;
    p.routing_key = std::move(key);
    if (std::string url = env_or_empty(getenv, "VIGIL_PAGERDUTY_URL"); !url.empty()) {
      p.url = std::move(url);
    }
    receiver.pagerduty_configs.push_back(std::move(p));
    names.emplace_back("PagerDuty");
  }
  return names;
}

DemoDelivery::DemoDelivery(alerting::AlertManager& manager, metrics::Registry& registry,
                           const DeliveryFlags& flags, std::string external_url)
    : manager_(manager) {
  std::vector<std::string> where;

  // Vigil's own dispatcher: a routing file, or one receiver with the channels given.
  alerting::DispatcherOptions o;
  o.external_url = external_url;
  o.self_metrics = &registry;
  o.state_path = flags.state_path;
  bool dispatch = false;
  if (!flags.routes_file.empty()) {
    alerting::RoutingFileResult r = alerting::load_routing_file(flags.routes_file);
    if (!r) throw Error("cannot load routing file " + flags.routes_file + ": " + r.error);
    o.routing = std::move(*r.config);
    dispatch = true;
    where.push_back("the routes of " + flags.routes_file);
  } else {
    alerting::ReceiverConfig demo;
    demo.name = "demo";
    for (const std::string& url : flags.webhooks) {
      alerting::WebhookConfig w;
      w.url = url;
      demo.webhook_configs.push_back(std::move(w));
    }
    if (!flags.webhooks.empty()) {
      where.push_back(std::to_string(flags.webhooks.size()) + " webhook(s)");
    }
    for (std::string& n : channels_from_environment(demo, &std_getenv)) where.push_back(n);
    dispatch = !demo.webhook_configs.empty() || !demo.slack_configs.empty() ||
               !demo.email_configs.empty() || !demo.pagerduty_configs.empty();
    o.routing.route.receiver = "demo";
    o.routing.route.group_by = std::vector<std::string>{"alertname"};
    o.routing.route.group_wait = 2s;
    o.routing.route.group_interval = 30s;
    o.routing.route.repeat_interval = 4h;
    o.routing.receivers.push_back(std::move(demo));
  }
  if (dispatch) {
    dispatcher_ = std::make_unique<alerting::Dispatcher>(std::move(o));
    dispatcher_->start();
    dispatcher_callback_ = dispatcher_->attach(manager);
  }

  // Real Alertmanager instances, as Prometheus sends to them.
  if (!flags.alertmanagers.empty()) {
    alerting::AlertmanagerClientOptions co;
    co.urls = flags.alertmanagers;
    co.self_metrics = &registry;
    co.generator_url = external_url + "/api/v1/alerts";
    client_ = std::make_unique<alerting::AlertmanagerClient>(std::move(co));
    client_callback_ = client_->attach(manager);
    // The client's status URL has any user:password@ removed (the banner must not show it).
    where.push_back(std::to_string(flags.alertmanagers.size()) + " Alertmanager(s) (" +
                    client_->status().front().url +
                    (flags.alertmanagers.size() > 1 ? ", ..." : "") + ")");
  }

  if (where.empty()) {
    description_ =
        "nowhere (printed only; --alertmanager URL, --webhook URL, --routes FILE or "
        "VIGIL_SLACK_WEBHOOK_URL / VIGIL_SMTP_SMARTHOST + VIGIL_EMAIL_TO / "
        "VIGIL_PAGERDUTY_ROUTING_KEY deliver them)";
  } else {
    for (size_t i = 0; i < where.size(); ++i) description_ += (i ? ", " : "") + where[i];
  }
}

DemoDelivery::~DemoDelivery() { shutdown(); }

void DemoDelivery::shutdown() {
  if (dispatcher_ && dispatcher_callback_ >= 0) {
    dispatcher_->detach(manager_, dispatcher_callback_);
    dispatcher_callback_ = -1;
    dispatcher_->shutdown(5s);
  }
  if (client_ && client_callback_ >= 0) {
    client_->detach(manager_, client_callback_);
    client_callback_ = -1;
    client_->shutdown(5s);
  }
}

}  // namespace vigil::demo
