// The Slack notifier: an incoming-webhook (or chat.postMessage) message with one attachment, as
// Alertmanager's notify/slack/slack.go sends it, and Block Kit blocks when asked.
#include <nlohmann/json.hpp>
#include <utility>

#include "alerting/notify/http_channel.h"
#include "alerting/notify/notification_template.h"
#include "core/detail/json_writer.h"
#include "vigil/alerting/notifiers.h"

namespace vigil::alerting {
namespace {

using notify_detail::TemplateField;
using vigil::detail::JsonWriter;

constexpr std::string_view kConfig = "slack_configs";

TemplateField field(std::string_view name, const std::string& text, std::string_view fallback) {
  return TemplateField::parse(kConfig, name, text.empty() ? fallback : std::string_view(text));
}

class SlackNotifier final : public Notifier {
 public:
  explicit SlackNotifier(SlackConfig config)
      : config_(std::move(config)),
        http_("slack", kConfig, "api_url", config_.api_url, config_.http),
        channel_(field("channel", config_.channel, "")),
        username_(field("username", config_.username, "")),
        icon_emoji_(field("icon_emoji", config_.icon_emoji, "")),
        icon_url_(field("icon_url", config_.icon_url, "")),
        title_(field("title", config_.title, kDefaultSlackTitle)),
        title_link_(field("title_link", config_.title_link, kDefaultSlackTitleLink)),
        text_(field("text", config_.text, kDefaultSlackText)),
        color_(field("color", config_.color, "")),
        footer_(field("footer", config_.footer, "")) {}

  std::string_view integration() const noexcept override { return "slack"; }
  bool send_resolved() const noexcept override { return config_.send_resolved; }
  void abort() noexcept override { http_.abort(); }

  DeliveryResult notify(const NotificationGroup& group, const DeliveryContext& ctx) override {
    std::string values[9];
    const TemplateField* fields[9] = {&channel_,    &username_, &icon_emoji_, &icon_url_, &title_,
                                      &title_link_, &text_,     &color_,      &footer_};
    for (int i = 0; i < 9; ++i) {
      auto r = fields[i]->render(group);
      if (!r) return DeliveryResult::failed("slack: template: " + r.error);
      values[i] = std::move(*r);
    }
    auto& [channel, username, icon_emoji, icon_url, title, title_link, text, color, footer] =
        values;
    if (config_.color.empty()) color = group.status() == "firing" ? "danger" : "good";
    title = notify_detail::truncate_runes(title, 1024);  // Slack's limit, as Alertmanager cuts
    const std::string fallback = title + " | " + title_link;

    std::string body;
    JsonWriter w(body);
    w.open_object();
    if (!channel.empty()) w.string_member("channel", channel);
    if (!username.empty()) w.string_member("username", username);
    if (!icon_emoji.empty()) w.string_member("icon_emoji", icon_emoji);
    if (!icon_url.empty()) w.string_member("icon_url", icon_url);
    w.key("attachments");
    w.open_array();
    w.element();
    w.open_object();
    if (!title.empty()) w.string_member("title", title);
    if (!title_link.empty()) w.string_member("title_link", title_link);
    w.string_member("text", text);
    w.string_member("fallback", fallback);
    w.string_member("callback_id", "");
    w.string_member("footer", footer);
    if (!color.empty()) w.string_member("color", color);
    w.key("mrkdwn_in");
    w.open_array();
    for (std::string_view f : {"fallback", "pretext", "text"}) {
      w.element();
      w.string(f);
    }
    w.close_array();
    w.close_object();
    w.close_array();
    if (config_.blocks) {
      // Block Kit: a header (plain text, at most 150 characters) and a section (mrkdwn, at most
      // 3000), and the footer as a context block.
      w.key("blocks");
      w.open_array();
      w.element();
      w.open_object();
      w.string_member("type", "header");
      w.key("text");
      w.open_object();
      w.string_member("type", "plain_text");
      w.string_member("text", notify_detail::truncate_runes(title.empty() ? " " : title, 150));
      w.close_object();
      w.close_object();
      w.element();
      w.open_object();
      w.string_member("type", "section");
      w.key("text");
      w.open_object();
      w.string_member("type", "mrkdwn");
      w.string_member("text", notify_detail::truncate_runes(text.empty() ? " " : text, 3000));
      w.close_object();
      w.close_object();
      if (!footer.empty()) {
        w.element();
        w.open_object();
        w.string_member("type", "context");
        w.key("elements");
        w.open_array();
        w.element();
        w.open_object();
        w.string_member("type", "mrkdwn");
        w.string_member("text", notify_detail::truncate_runes(footer, 3000));
        w.close_object();
        w.close_array();
        w.close_object();
      }
      w.close_array();
    }
    w.close_object();
    notify_detail::go_escape_html(body);

    std::string response;
    DeliveryResult r = http_.post_json(body, ctx, &response);
    if (r.ok()) {
      // chat.postMessage answers 200 with {"ok": false, "error": "..."} when it refuses.
      const auto j = nlohmann::json::parse(response, nullptr, false);
      if (j.is_object() && j.contains("ok") && j["ok"].is_boolean() && !j["ok"].get<bool>()) {
        std::string why = "slack: POST " + http_.shown_url() + ": refused";
        if (j.contains("error") && j["error"].is_string()) {
          why += ": " + http_.scrub(j["error"].get<std::string>().substr(0, 200));
        }
        const long status = r.http_status;
        r = DeliveryResult::failed(std::move(why));
        r.http_status = status;
      }
    }
    return r;
  }

 private:
  SlackConfig config_;
  notify_detail::HttpChannel http_;
  TemplateField channel_, username_, icon_emoji_, icon_url_, title_, title_link_, text_, color_,
      footer_;
};

}  // namespace

std::unique_ptr<Notifier> make_slack_notifier(SlackConfig config) {
  return std::make_unique<SlackNotifier>(std::move(config));
}

}  // namespace vigil::alerting
