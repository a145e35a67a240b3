// demo/delivery.h: where the demo's alerts go. With --alertmanager URL (repeatable) they are
// posted to real Alertmanager instances (as Prometheus does); with --webhook URL (repeatable),
// VIGIL_SLACK_WEBHOOK_URL, VIGIL_SMTP_SMARTHOST + VIGIL_EMAIL_TO (+ VIGIL_SMTP_FROM,
// VIGIL_SMTP_USERNAME, VIGIL_SMTP_PASSWORD) or VIGIL_PAGERDUTY_ROUTING_KEY, vigil's own
// dispatcher groups and delivers them (one receiver "demo" with those channels, grouped by
// alertname); --routes FILE replaces that with a whole alertmanager.yml-style routing file. With
// none of these the demo delivers nowhere and says so.
//
//   vigil::demo::DemoDelivery delivery(manager, registry, flags, "http://127.0.0.1:9464");
//   std::cout << delivery.description() << "\n";
//   ...
//   delivery.shutdown();
//
// Secrets come from the environment (a command line shows in `ps`) and are never printed.
// Errors: the constructor throws vigil::Error on a routing file that does not load or a bad
// channel configuration. Thread-safety: construct, shut down and destroy from one thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "vigil/alerting/alertmanager_client.h"
#include "vigil/alerting/dispatcher.h"
#include "vigil/alerting/manager.h"
#include "vigil/metrics/registry.h"

namespace vigil::demo {

struct DeliveryFlags {
  std::vector<std::string> alertmanagers;  // --alertmanager URL
  std::vector<std::string> webhooks;       // --webhook URL
  std::string routes_file;                 // --routes FILE
  std::string state_path;                  // --state FILE: the notification log lives there too
};

// The channels configured by environment variables (VIGIL_SLACK_WEBHOOK_URL, ...), added to the
// demo receiver. `getenv` is injectable for tests.
std::vector<std::string> channels_from_environment(alerting::ReceiverConfig& receiver,
                                                   const char* (*getenv)(const char*));

class DemoDelivery {
 public:
  DemoDelivery(alerting::AlertManager& manager, metrics::Registry& registry,
               const DeliveryFlags& flags, std::string external_url);
  ~DemoDelivery();
  DemoDelivery(const DemoDelivery&) = delete;
  DemoDelivery& operator=(const DemoDelivery&) = delete;

  // One line for the banner: where alerts go, or that they go nowhere.
  std::string description() const { return description_; }
  alerting::Dispatcher* dispatcher() noexcept { return dispatcher_.get(); }
  alerting::AlertmanagerClient* alertmanagers() noexcept { return client_.get(); }
  // Sends what is queued within 5 s, then stops (called before the manager stops).
  void shutdown();

 private:
  alerting::AlertManager& manager_;
  std::unique_ptr<alerting::Dispatcher> dispatcher_;
  std::unique_ptr<alerting::AlertmanagerClient> client_;
  int dispatcher_callback_ = -1;
  int client_callback_ = -1;
  std::string description_;
};

}  // namespace vigil::demo
