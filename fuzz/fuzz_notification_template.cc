// libFuzzer target: notification templates (Alertmanager's dialect and data model) on their
// own. The first byte picks the notification group (firing, resolved, empty, odd labels) and
// whether the default templates are rendered too; the rest is the template. Checks: never
// crashes or hangs; a parse result is a template xor an error; rendering returns output xor an
// error, and output never exceeds kMaxOutput; the default templates always render.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "alerting/notify/notification_template.h"

namespace {

using vigil::alerting::NotificationGroup;
using vigil::alerting::NotifiedAlert;
using vigil::alerting::TimePoint;

NotificationGroup make_group(uint8_t kind) {
  NotificationGroup g;
  g.receiver = (kind & 1) != 0 ? "team (a).b+" : "team-a";
  g.external_url = "http://vigil.example:9090";
  if ((kind & 6) == 6) return g;  // no alerts
  for (int i = 0; i < 3; ++i) {
    NotifiedAlert a;
    a.labels = {{"alertname", "HighLatency"},
                {"instance", "host-" + std::to_string(i) + ":9100"},
                {"job", "api"}};
    if ((kind & 2) != 0) a.labels.emplace_back("zz", "\"<b>\" & ü\x01");
    a.annotations = {{"summary", "p99 > 1s"}, {"description", "on {{ $labels.instance }}"}};
    a.starts_at = TimePoint(std::chrono::seconds(1796019327 + i));
    if (i == 1) a.ends_at = a.starts_at + std::chrono::milliseconds(1500);
    a.generator_url = "http://vigil/graph?g0.expr=up%3D%3D0&g0.tab=1";
    a.fingerprint = 0x0123456789abcdefULL * static_cast<uint64_t>(i + 1);
    a.resolved = (kind & 4) != 0 || i == 2;
    g.alerts.push_back(std::move(a));
  }
  g.group_labels = {{"alertname", "HighLatency"}};
  g.compute_common();
  return g;
}

void check_render(const vigil::alerting::tmpl::Template& t, const NotificationGroup& g) {
  const auto out = vigil::alerting::render_notification(t, g);
  if (out.has_value() != out.error.empty()) std::abort();
  if (out && out->size() > vigil::alerting::tmpl::kMaxOutput) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace a = vigil::alerting;
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  const NotificationGroup g = make_group(mode);
  if ((mode & 8) != 0) {
    for (std::string_view d :
         {a::kDefaultSlackTitle, a::kDefaultSlackTitleLink, a::kDefaultEmailSubject,
          a::kDefaultEmailText, a::kDefaultEmailHtml, a::kDefaultPagerDutyDescription}) {
      const auto t = a::parse_notification_template(d, "default");
      if (!t) std::abort();
      const auto out = a::render_notification(*t, g);
      if (!out) std::abort();
    }
  }
  const auto parsed = a::parse_notification_template(text, "fuzz");
  if (parsed.has_value() != parsed.error.empty()) std::abort();
  if (!parsed) return 0;
  check_render(*parsed, g);
  return 0;
}
