// The PagerDuty notifier: Events API v2 (Alertmanager's notify/pagerduty/pagerduty.go, v2 path).
// One incident per alert group: the dedup key is the SHA-256 of the group key.
#include <openssl/evp.h>

#include <algorithm>
#include <utility>

#include "alerting/notify/http_channel.h"
#include "alerting/notify/notification_template.h"
#include "core/detail/hex.h"
#include "core/detail/json_writer.h"
#include "vigil/alerting/notifiers.h"
#include "vigil/core/error.h"

namespace vigil::alerting {
namespace {

using notify_detail::TemplateField;
using vigil::detail::JsonWriter;

constexpr std::string_view kConfig = "pagerduty_configs";

std::string sha256_hex(std::string_view s) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(s.data(), s.size(), digest, &len, EVP_sha256(), nullptr) != 1) return "";
  std::string out;
  out.reserve(2 * len);
  for (unsigned int i = 0; i < len; ++i) vigil::detail::append_hex(out, digest[i]);
  return out;
}

// Alertmanager's pagerduty.default.instances (its __text_alert_list) for the firing or the
// resolved alerts of `group`.
std::string alert_list(const NotificationGroup& group, bool resolved) {
  std::string out;
  for (const NotifiedAlert& a : group.alerts) {
    if (a.resolved != resolved) continue;
    LabelList labels = a.labels;
    LabelList annotations = a.annotations;
    std::sort(labels.begin(), labels.end());
    std::sort(annotations.begin(), annotations.end());
    out += "Labels:\n";
    for (const auto& [k, v] : labels) out += " - " + k + " = " + v + "\n";
    out += "Annotations:\n";
    for (const auto& [k, v] : annotations) out += " - " + k + " = " + v + "\n";
    out += "Source: " + a.generator_url + "\n";
  }
  return out;
}

// The highest severity of the firing alerts (of all when none fires), as PagerDuty names them.
std::string_view group_severity(const NotificationGroup& group) {
  const bool any_firing = group.firing_count() > 0;
  bool found = false;
  Severity top = Severity::kInfo;
  for (const NotifiedAlert& a : group.alerts) {
    if (any_firing && a.resolved) continue;
    if (!found || a.severity > top) top = a.severity;
    found = true;
  }
  if (!found) return "error";  // Alertmanager's default
  return to_string(top);       // critical, error, warning, info: PagerDuty's four
}

class PagerDutyNotifier final : public Notifier {
 public:
  explicit PagerDutyNotifier(PagerDutyConfig config)
      : config_(validate(std::move(config))),
        http_("pagerduty", kConfig, "url", config_.url, config_.http),
        client_(TemplateField::parse(kConfig, "client", config_.client)),
        client_url_(TemplateField::parse(kConfig, "client_url", config_.client_url)),
        description_(TemplateField::parse(kConfig, "description",
                                          config_.description.empty()
                                              ? kDefaultPagerDutyDescription
                                              : std::string_view(config_.description))),
        severity_(TemplateField::parse(kConfig, "severity", config_.severity)),
        source_(TemplateField::parse(kConfig, "source", config_.source)),
        component_(TemplateField::parse(kConfig, "component", config_.component)),
        group_(TemplateField::parse(kConfig, "group", config_.group)),
        class_(TemplateField::parse(kConfig, "class", config_.class_name)) {
    for (const auto& [k, v] : config_.details) {
      details_.emplace_back(k, TemplateField::parse(kConfig, "details." + k, v));
    }
    for (size_t i = 0; i < config_.links.size(); ++i) {
      const std::string n = "links[" + std::to_string(i) + "]";
      links_.emplace_back(TemplateField::parse(kConfig, n + ".href", config_.links[i].first),
                          TemplateField::parse(kConfig, n + ".text", config_.links[i].second));
    }
  }

  std::string_view integration() const noexcept override { return "pagerduty"; }
  bool send_resolved() const noexcept override { return config_.send_resolved; }
  void abort() noexcept override { http_.abort(); }

  DeliveryResult notify(const NotificationGroup& group, const DeliveryContext& ctx) override {
    std::string error;
    const auto render = [&](const TemplateField& f) {
      if (!error.empty()) return std::string();
      auto r = f.render(group);
      if (!r) {
        error = r.error;
        return std::string();
      }
      return std::move(*r);
    };
    const std::string client = render(client_);
    std::string client_url = render(client_url_);
    if (config_.client_url.empty()) client_url = group.external_url;
    const std::string summary = notify_detail::truncate_runes(render(description_), 1024);
    std::string severity = render(severity_);
    if (config_.severity.empty()) severity = std::string(group_severity(group));
    std::string source = render(source_);
    if (config_.source.empty()) source = client;
    const std::string component = render(component_);
    const std::string group_name = render(group_);
    const std::string class_name = render(class_);
    LabelList details;
    if (details_.empty()) {
      details = {{"firing", alert_list(group, false)},
                 {"num_firing", std::to_string(group.firing_count())},
                 {"num_resolved", std::to_string(group.resolved_count())},
                 {"resolved", alert_list(group, true)}};
    } else {
      for (const auto& [k, f] : details_) details.emplace_back(k, render(f));
      std::sort(details.begin(), details.end());
    }
    std::vector<std::pair<std::string, std::string>> links;
    for (const auto& [href, text] : links_) {
      std::string h = render(href);
      std::string t = render(text);
      if (!h.empty()) links.emplace_back(std::move(h), std::move(t));
    }
    if (!error.empty()) return DeliveryResult::failed("pagerduty: template: " + error);

    const bool firing = group.status() == "firing";
    // When: the first firing alert's start for a trigger, the last end for a resolve.
    TimePoint when{};
    for (const NotifiedAlert& a : group.alerts) {
      if (firing && !a.resolved && (when == TimePoint{} || a.starts_at < when)) when = a.starts_at;
      if (!firing && a.ends_at > when) when = a.ends_at;
    }

    std::string body;
    JsonWriter w(body);
    w.open_object();
    w.string_member("routing_key", config_.routing_key);
    w.string_member("dedup_key", sha256_hex(group.group_key));
    w.string_member("event_action", firing ? "trigger" : "resolve");
    w.key("payload");
    w.open_object();
    w.string_member("summary", summary);
    w.string_member("source", source);
    w.string_member("severity", severity);
    if (when != TimePoint{}) w.string_member("timestamp", notify_detail::go_time(when));
    if (!class_name.empty()) w.string_member("class", class_name);
    if (!component.empty()) w.string_member("component", component);
    if (!group_name.empty()) w.string_member("group", group_name);
    w.key("custom_details");
    w.open_object();
    for (size_t i = 0; i < details.size(); ++i) {
      if (i > 0 && details[i].first == details[i - 1].first) continue;
      w.escaped_key(details[i].first);
      w.string(details[i].second);
    }
    w.close_object();
    w.close_object();
    if (!client.empty()) w.string_member("client", client);
    if (!client_url.empty()) w.string_member("client_url", client_url);
    if (!links.empty()) {
      w.key("links");
      w.open_array();
      for (const auto& [h, t] : links) {
        w.element();
        w.open_object();
        w.string_member("href", h);
        w.string_member("text", t);
        w.close_object();
      }
      w.close_array();
    }
    w.close_object();
    notify_detail::go_escape_html(body);
    return http_.post_json(body, ctx);
  }

 private:
  static PagerDutyConfig validate(PagerDutyConfig c) {
    if (c.routing_key.empty()) throw Error("pagerduty_configs: routing_key: is empty (required)");
    if (c.routing_key.find("{{") != std::string::npos) {
      throw Error("pagerduty_configs: routing_key: templates are not supported here");
    }
    return c;
  }

  PagerDutyConfig config_;
  notify_detail::HttpChannel http_;
  TemplateField client_, client_url_, description_, severity_, source_, component_, group_, class_;
  std::vector<std::pair<std::string, TemplateField>> details_;
  std::vector<std::pair<TemplateField, TemplateField>> links_;
};

}  // namespace

std::unique_ptr<Notifier> make_pagerduty_notifier(PagerDutyConfig config) {
  return std::make_unique<PagerDutyNotifier>(std::move(config));
}

}  // namespace vigil::alerting
