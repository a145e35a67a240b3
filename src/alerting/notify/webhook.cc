// The webhook notifier: Alertmanager's webhook payload (version "4", notify/webhook/webhook.go and
// template.Data) POSTed as JSON.
#include <algorithm>
#include <utility>

#include "alerting/notify/http_channel.h"
#include "core/detail/json_writer.h"
#include "vigil/alerting/notifiers.h"
#include "vigil/core/error.h"

namespace vigil::alerting {
namespace {

using vigil::detail::JsonWriter;

// A KV map as Go's encoding/json writes a map[string]string: keys sorted, `{}` when empty.
void write_kv(JsonWriter& w, LabelList kv) {
  std::sort(kv.begin(), kv.end());
  w.open_object();
  for (size_t i = 0; i < kv.size(); ++i) {
    if (i > 0 && kv[i].first == kv[i - 1].first) continue;  // a map holds one value per key
    w.escaped_key(kv[i].first);
    w.string(kv[i].second);
  }
  w.close_object();
}

class WebhookNotifier final : public Notifier {
 public:
  explicit WebhookNotifier(WebhookConfig config)
      : config_(std::move(config)),
        http_("webhook", "webhook_configs", "url", config_.url, config_.http) {}
  std::string_view integration() const noexcept override { return "webhook"; }
  bool send_resolved() const noexcept override { return config_.send_resolved; }
  DeliveryResult notify(const NotificationGroup& group, const DeliveryContext& ctx) override {
    return http_.post_json(webhook_payload(group, config_.max_alerts), ctx);
  }
  void abort() noexcept override { http_.abort(); }

 private:
  WebhookConfig config_;
  notify_detail::HttpChannel http_;
};

}  // namespace

std::string webhook_payload(const NotificationGroup& group, size_t max_alerts) {
  // As Alertmanager: the alerts past max_alerts are cut before the template data (status,
  // common labels and annotations) is computed from the rest.
  const NotificationGroup* data = &group;
  NotificationGroup cut;
  uint64_t truncated = 0;
  if (max_alerts != 0 && group.alerts.size() > max_alerts) {
    truncated = group.alerts.size() - max_alerts;
    cut.receiver = group.receiver;
    cut.group_key = group.group_key;
    cut.group_labels = group.group_labels;
    cut.external_url = group.external_url;
    cut.alerts.assign(group.alerts.begin(),
                      group.alerts.begin() + static_cast<std::ptrdiff_t>(max_alerts));
    cut.compute_common();
    data = &cut;
  }
  std::string out;
  out.reserve(512 + 384 * data->alerts.size());
  JsonWriter w(out);
  w.open_object();
  w.string_member("receiver", data->receiver);
  w.string_member("status", data->status());
  w.key("alerts");
  w.open_array();
  for (const NotifiedAlert& a : data->alerts) {
    w.element();
    w.open_object();
    w.string_member("status", a.status());
    w.key("labels");
    write_kv(w, a.labels);
    w.key("annotations");
    write_kv(w, a.annotations);
    w.string_member("startsAt", notify_detail::go_time(a.starts_at));
    // As Alertmanager (types.Alerts): a firing alert is sent with the zero endsAt.
    w.string_member("endsAt", notify_detail::go_time(a.resolved ? a.ends_at : TimePoint{}));
    w.string_member("generatorURL", a.generator_url);
    w.string_member("fingerprint", a.fingerprint_hex());
    w.close_object();
  }
  w.close_array();
  w.key("groupLabels");
  write_kv(w, data->group_labels);
  w.key("commonLabels");
  write_kv(w, data->common_labels);
  w.key("commonAnnotations");
  write_kv(w, data->common_annotations);
  w.string_member("externalURL", data->external_url);
  w.string_member("version", "4");
  w.string_member("groupKey", data->group_key);
  w.uint64_member("truncatedAlerts", truncated);
  w.close_object();
  notify_detail::go_escape_html(out);
  return out;
}

std::unique_ptr<Notifier> make_webhook_notifier(WebhookConfig config) {
  return std::make_unique<WebhookNotifier>(std::move(config));
}

}  // namespace vigil::alerting
