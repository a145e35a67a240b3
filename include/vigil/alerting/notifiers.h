// vigil/alerting/notifiers.h: the built-in notification channels, configured as Alertmanager
// configures its receivers (webhook_configs, slack_configs, email_configs, pagerduty_configs),
// and a callback channel (the guides' send_alert).
//
//   auto slack = vigil::alerting::make_slack_notifier(
//       {.api_url = std::getenv("SLACK_WEBHOOK_URL"), .channel = "#alerts"});
//   auto hook = vigil::alerting::make_webhook_notifier({.url = "http://127.0.0.1:5001/hook"});
//   auto log = vigil::alerting::make_callback_notifier(
//       [](const NotificationGroup& g) { std::cerr << g.status() << " " << g.group_key << "\n"; });
//
// Templates (titles, texts, subjects, bodies, descriptions) are Go templates over Alertmanager's
// notification data (`.Status`, `.Receiver`, `.GroupLabels`, `.CommonLabels`,
// `.CommonAnnotations`, `.ExternalURL`, `.Alerts` with `.Alerts.Firing` / `.Alerts.Resolved`,
// each alert's `.Labels`, `.Annotations`, `.StartsAt`, `.EndsAt`, `.Fingerprint`); an empty
// template means Alertmanager's default for that field. Each notifier sends one attempt per
// notify() over vigil's one HTTP client (libcurl; SMTP for email) and reports 429 and 5xx,
// connection errors and timeouts as kRetry, other 4xx as kFailed.
//
// Secrets: webhook URLs, tokens, passwords and routing keys are never written to logs, metrics,
// errors or API output; errors name the integration and the URL's scheme and host only.
//
// Errors: a factory throws vigil::Error on a bad configuration (empty URL, unparsable template,
// no recipient), naming the field. Thread-safety: see Notifier.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "vigil/alerting/notifier.h"

namespace vigil::alerting {

// HTTP options every HTTP channel has (Alertmanager's http_config, the part that fits).
struct HttpChannelOptions {
  std::chrono::milliseconds timeout{10'000};  // per attempt
  std::string bearer_token;                   // Authorization: Bearer ...
  std::string basic_auth_username;            // Authorization: Basic ... (with the password)
  std::string basic_auth_password;
  std::vector<std::pair<std::string, std::string>> headers;  // extra request headers
  std::string ca_file;                                       // PEM bundle for https
  bool verify_tls = true;
};

// POSTs Alertmanager's webhook payload (version "4") as JSON.
struct WebhookConfig {
  std::string url;
  bool send_resolved = true;
  size_t max_alerts = 0;  // 0: all; otherwise the rest are cut and counted in truncatedAlerts
  HttpChannelOptions http;
};

// A Slack incoming webhook (or chat.postMessage with a bearer token and `channel`).
struct SlackConfig {
  std::string api_url;
  std::string channel;  // "" = the webhook's own
  std::string username;
  std::string icon_emoji;
  std::string icon_url;
  std::string title;       // template; "" = Alertmanager's slack.default.title
  std::string title_link;  // template; "" = slack.default.titlelink
  std::string text;        // template; "" = slack.default.text
  std::string color;       // template; "" = danger when firing, good when resolved
  std::string footer;      // template
  bool blocks = false;     // send Block Kit blocks (header + section) as well as the attachment
  bool send_resolved = false;
  HttpChannelOptions http;
};

// PagerDuty Events API v2: trigger, and resolve when the group resolves; the dedup key is the
// group key's SHA-256 (as Alertmanager does), so one incident per alert group.
struct PagerDutyConfig {
  std::string routing_key;
  std::string url = "https://events.pagerduty.com/v2/enqueue";
  std::string client = "vigil";
  std::string client_url;   // template; "" = the external URL
  std::string description;  // template (summary); "" = Alertmanager's pagerduty.default.description
  std::string severity;     // template; "" = from the alerts' severity (critical, error,
                            // warning, info: PagerDuty's four)
  std::string component;    // templates
  std::string group;
  std::string class_name;
  std::string source;  // template; "" = the client
  LabelList details;   // custom_details (templates); empty = firing/resolved/num_* as Alertmanager
  std::vector<std::pair<std::string, std::string>> links;  // (href, text) templates; "" href: none
  bool send_resolved = true;
  HttpChannelOptions http;
};

// Email over SMTP (libcurl): STARTTLS when the server offers it (required unless require_tls is
// false), or implicit TLS (smtps, port 465); AUTH PLAIN/LOGIN when a username is set.
struct EmailConfig {
  std::string smarthost;  // "host:port"
  std::string from;
  std::vector<std::string> to;  // one or more addresses
  std::string hello = "localhost";
  std::string auth_username;
  std::string auth_password;
  bool require_tls = true;    // STARTTLS must succeed (ignored with implicit TLS)
  bool implicit_tls = false;  // smtps:// (true by default when the port is 465)
  std::string subject;        // template; "" = Alertmanager's email.default.subject
  std::string text;           // template; plain-text part ("" = none unless html is empty too)
  std::string html;           // template; "" = Alertmanager's email.default.html-like body
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers (templates)
  std::chrono::milliseconds timeout{30'000};
  std::string ca_file;
  bool verify_tls = true;
  bool send_resolved = false;
};

std::unique_ptr<Notifier> make_webhook_notifier(WebhookConfig config);
std::unique_ptr<Notifier> make_slack_notifier(SlackConfig config);
std::unique_ptr<Notifier> make_pagerduty_notifier(PagerDutyConfig config);
std::unique_ptr<Notifier> make_email_notifier(EmailConfig config);
// Calls `fn` on the delivery thread; an exception from it is a kFailed attempt (not retried).
std::unique_ptr<Notifier> make_callback_notifier(std::function<void(const NotificationGroup&)> fn,
                                                 bool send_resolved = true);

// Alertmanager's webhook payload (version "4") for `group`: receiver, status, alerts,
// groupLabels, commonLabels, commonAnnotations, externalURL, version, groupKey,
// truncatedAlerts (alerts past max_alerts are cut; 0 = all).
std::string webhook_payload(const NotificationGroup& group, size_t max_alerts = 0);

}  // namespace vigil::alerting
