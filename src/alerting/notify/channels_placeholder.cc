// Placeholder factories until the notifiers land (replaced by the wt-notifiers work): each
// throws vigil::Error so that a configuration that names a channel fails loudly.
#include "vigil/alerting/notifiers.h"
#include "vigil/core/error.h"

namespace vigil::alerting {

std::unique_ptr<Notifier> make_webhook_notifier(WebhookConfig) {
  throw Error("webhook notifier: not built yet");
}
std::unique_ptr<Notifier> make_slack_notifier(SlackConfig) {
  throw Error("slack notifier: not built yet");
}
std::unique_ptr<Notifier> make_pagerduty_notifier(PagerDutyConfig) {
  throw Error("pagerduty notifier: not built yet");
}
std::unique_ptr<Notifier> make_email_notifier(EmailConfig) {
  throw Error("email notifier: not built yet");
}
std::string webhook_payload(const NotificationGroup&, size_t) {
  throw Error("webhook payload: not built yet");
}

}  // namespace vigil::alerting
