// Notification templates: Alertmanager's template.Data built from a NotificationGroup, and
// Alertmanager 0.25's default templates written inline (see notification_template.h).
#include "alerting/notify/notification_template.h"

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <utility>

namespace vigil::alerting {

namespace {

// Go's regexp.QuoteMeta: a backslash before every one of \.+*?()|[]{}^$ (Alertmanager's
// template.Data quotes the receiver name so that it can go into a matcher of a URL).
std::string quote_meta(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (std::string_view("\\.+*?()|[]{}^$").find(c) != std::string_view::npos) out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

// A time point as Go's time.Time in UTC; the zero time point (an unknown time) is Go's zero
// time, as Alertmanager prints an unset time.
tmpl::GoTime go_time(TimePoint t) {
  if (t.time_since_epoch().count() == 0) return tmpl::kGoZeroTime;
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch());
  int64_t secs = ns.count() / 1'000'000'000;
  int64_t rem = ns.count() % 1'000'000'000;
  if (rem < 0) {
    rem += 1'000'000'000;
    --secs;
  }
  return tmpl::GoTime{secs, static_cast<int32_t>(rem)};
}

std::map<std::string, std::string> to_map(const LabelList& l) {
  std::map<std::string, std::string> m;
  for (const auto& [k, v] : l) m[k] = v;
  return m;
}

}  // namespace

tmpl::NotificationData notification_data(const NotificationGroup& group) {
  tmpl::NotificationData d;
  d.receiver = quote_meta(group.receiver);
  d.status = std::string(group.status());
  d.alerts.reserve(group.alerts.size());
  for (const NotifiedAlert& a : group.alerts) {
    tmpl::NotificationAlertData x;
    x.status = std::string(a.status());
    x.labels = to_map(a.labels);
    x.annotations = to_map(a.annotations);
    x.starts_at = go_time(a.starts_at);
    // Alertmanager hands its integrations firing alerts with a zero EndsAt (the webhook body
    // shows "0001-01-01T00:00:00Z"; the notifiers' test compares with a real Alertmanager).
    x.ends_at = go_time(a.resolved ? a.ends_at : TimePoint{});
    x.generator_url = a.generator_url;
    x.fingerprint = a.fingerprint_hex();
    d.alerts.push_back(std::move(x));
  }
  d.group_labels = to_map(group.group_labels);
  d.common_labels = to_map(group.common_labels);
  d.common_annotations = to_map(group.common_annotations);
  d.external_url = group.external_url;
  return d;
}

namespace {
const tmpl::Template& library();
}  // namespace

vigil::detail::ParseResult<tmpl::Template> parse_notification_template(std::string_view text,
                                                                       std::string_view name) {
  return tmpl::Template::parse(text, name, tmpl::Dialect::kAlertmanager, &library());
}

vigil::detail::ParseResult<std::string> render_notification(const tmpl::Template& t,
                                                            const NotificationGroup& group) {
  return t.execute_notification(notification_data(group));
}

// default.tmpl's "__subject".
#define VIGIL_AM_SUBJECT                                                                        \
  "[{{ .Status | toUpper }}{{ if eq .Status \"firing\" }}:{{ .Alerts.Firing | len }}{{ end }}]" \
  " {{ .GroupLabels.SortedPairs.Values | join \" \" }} {{ if gt (len .CommonLabels) (len "      \
  ".GroupLabels) }}({{ with .CommonLabels.Remove .GroupLabels.Names }}{{ .Values | join \" \" " \
  "}}{{ end }}){{ end }}"

// default.tmpl's "__alertmanagerURL".
#define VIGIL_AM_URL "{{ .ExternalURL }}/#/alerts?receiver={{ .Receiver | urlquery }}"

// default.tmpl's "__text_alert_list" over the alerts of `list`.
#define VIGIL_AM_TEXT_ALERT_LIST(list)                                  \
  "{{ range " list                                                      \
  " }}Labels:\n"                                                        \
  "{{ range .Labels.SortedPairs }} - {{ .Name }} = {{ .Value }}\n"      \
  "{{ end }}Annotations:\n"                                             \
  "{{ range .Annotations.SortedPairs }} - {{ .Name }} = {{ .Value }}\n" \
  "{{ end }}Source: {{ .GeneratorURL }}\n"                              \
  "{{ end }}"

const std::string_view kDefaultSlackTitle = VIGIL_AM_SUBJECT;
const std::string_view kDefaultSlackTitleLink = VIGIL_AM_URL;
// Alertmanager's slack.default.text is empty.
const std::string_view kDefaultSlackText = "";
const std::string_view kDefaultEmailSubject = VIGIL_AM_SUBJECT;
const std::string_view kDefaultPagerDutyDescription = VIGIL_AM_SUBJECT;

// Alertmanager has no default plain-text e-mail body (it sends HTML only): vigil's is what
// default.tmpl's "wechat.default.message" renders (subject, common annotations, the firing
// and resolved alerts with their labels, annotations and source, the link back).
const std::string_view kDefaultEmailText =
    VIGIL_AM_SUBJECT
    "\n{{ .CommonAnnotations.SortedPairs.Values | join \" \" }}\n"
    "{{ if gt (len .Alerts.Firing) 0 -}}\n"
    "Alerts Firing:\n" VIGIL_AM_TEXT_ALERT_LIST(".Alerts.Firing") "\n{{- end }}\n"
    "{{ if gt (len .Alerts.Resolved) 0 -}}\n"
    "Alerts Resolved:\n" VIGIL_AM_TEXT_ALERT_LIST(".Alerts.Resolved") "\n{{- end }}\n"
    "AlertmanagerUrl:\n" VIGIL_AM_URL;

// A plainer HTML body than email.tmpl's "email.default.html" (no inline CSS), with the same
// content: the subject as title, "N alert(s) for <group labels>", the link back, the firing
// and resolved alerts with labels, annotations and source link. Every action carries the
// escapers that html/template would insert in its context (vigil runs text/template).
#define VIGIL_HTML_ESC " | _html_template_htmlescaper"
#define VIGIL_HTML_URL \
  " | _html_template_urlfilter | _html_template_urlnormalizer | _html_template_attrescaper"
#define VIGIL_HTML_ALERTS(list)                                                             \
  "{{ range " list                                                                          \
  " }}<p>\n"                                                                                \
  "<strong>Labels</strong><br>\n"                                                           \
  "{{ range .Labels.SortedPairs }}{{ .Name" VIGIL_HTML_ESC " }} = {{ .Value" VIGIL_HTML_ESC \
  " }}<br>\n"                                                                               \
  "{{ end }}{{ if gt (len .Annotations) 0 }}<strong>Annotations</strong><br>\n"             \
  "{{ end }}{{ range .Annotations.SortedPairs }}{{ .Name" VIGIL_HTML_ESC                    \
  " }} = {{ .Value" VIGIL_HTML_ESC                                                          \
  " }}<br>\n"                                                                               \
  "{{ end }}<a href=\"{{ .GeneratorURL" VIGIL_HTML_URL                                      \
  " }}\">Source</a>\n"                                                                      \
  "</p>\n"                                                                                  \
  "{{ end }}"

const std::string_view kDefaultEmailHtml =
    "<!DOCTYPE html>\n"
    "<html>\n"
    "<head>\n"
    "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=UTF-8\">\n"
    "<title>[{{ .Status | toUpper | _html_template_rcdataescaper }}{{ if eq .Status \"firing\" "
    "}}:{{ .Alerts.Firing | len | _html_template_rcdataescaper }}{{ end }}] {{ "
    ".GroupLabels.SortedPairs.Values | join \" \" | _html_template_rcdataescaper }} {{ if gt (len "
    ".CommonLabels) (len .GroupLabels) }}({{ with .CommonLabels.Remove .GroupLabels.Names }}{{ "
    ".Values | join \" \" | _html_template_rcdataescaper }}{{ end }}){{ end }}</title>\n"
    "</head>\n"
    "<body>\n"
    "<h2>{{ .Alerts | len" VIGIL_HTML_ESC
    " }} alert{{ if gt (len .Alerts) 1 }}s{{ end }} for {{ range .GroupLabels.SortedPairs }}"
    "{{ .Name" VIGIL_HTML_ESC " }}={{ .Value" VIGIL_HTML_ESC
    " }} {{ end }}</h2>\n"
    "<p><a href=\"{{ .ExternalURL" VIGIL_HTML_URL
    " }}/#/alerts?receiver={{ .Receiver | urlquery | _html_template_attrescaper }}\">View in "
    "Alertmanager</a></p>\n"
    "{{ if gt (len .Alerts.Firing) 0 }}<h3>[{{ .Alerts.Firing | len" VIGIL_HTML_ESC
    " }}] Firing</h3>\n" VIGIL_HTML_ALERTS(".Alerts.Firing") "{{ end }}"
    "{{ if gt (len .Alerts.Resolved) 0 }}<h3>[{{ .Alerts.Resolved | len" VIGIL_HTML_ESC
    " }}] Resolved</h3>\n" VIGIL_HTML_ALERTS(".Alerts.Resolved") "{{ end }}"
    "<p><a href=\"{{ .ExternalURL" VIGIL_HTML_URL " }}\">Sent by Alertmanager</a></p>\n"
    "</body>\n"
    "</html>\n";

namespace {

// The named templates of Alertmanager's default.tmpl that the Slack, PagerDuty and e-mail
// notifiers use, for `{{ template "slack.default.title" . }}` in a configuration;
// email.default.html is vigil's plainer body (kDefaultEmailHtml), and email.default.text and
// wechat.default.message are kDefaultEmailText.
const tmpl::Template& library() {
  static const tmpl::Template lib = [] {
    std::string text;
    auto define = [&text](std::string_view name, std::string_view body) {
      text += "{{ define \"";
      text += name;
      text += "\" }}";
      text += body;
      text += "{{ end }}";
    };
    define("__alertmanager", "Alertmanager");
    define("__alertmanagerURL", VIGIL_AM_URL);
    define("__subject", VIGIL_AM_SUBJECT);
    define("__description", "");
    define("__text_alert_list", VIGIL_AM_TEXT_ALERT_LIST("."));
    define("slack.default.title", "{{ template \"__subject\" . }}");
    define("slack.default.username", "{{ template \"__alertmanager\" . }}");
    define("slack.default.fallback",
           "{{ template \"slack.default.title\" . }} | {{ template \"slack.default.titlelink\" . "
           "}}");
    define("slack.default.callbackid", "");
    define("slack.default.pretext", "");
    define("slack.default.titlelink", "{{ template \"__alertmanagerURL\" . }}");
    define("slack.default.iconemoji", "");
    define("slack.default.iconurl", "");
    define("slack.default.text", "");
    define("slack.default.footer", "");
    define("pagerduty.default.description", "{{ template \"__subject\" . }}");
    define("pagerduty.default.client", "{{ template \"__alertmanager\" . }}");
    define("pagerduty.default.clientURL", "{{ template \"__alertmanagerURL\" . }}");
    define("pagerduty.default.instances", "{{ template \"__text_alert_list\" . }}");
    define("email.default.subject", "{{ template \"__subject\" . }}");
    define("email.default.html", kDefaultEmailHtml);
    define("email.default.text", kDefaultEmailText);
    define("wechat.default.message", kDefaultEmailText);
    auto t = tmpl::Template::parse(text, "default.tmpl", tmpl::Dialect::kAlertmanager);
    return t ? std::move(*t) : tmpl::Template{};
  }();
  return lib;
}

}  // namespace

#undef VIGIL_HTML_ALERTS
#undef VIGIL_HTML_URL
#undef VIGIL_HTML_ESC
#undef VIGIL_AM_TEXT_ALERT_LIST
#undef VIGIL_AM_URL
#undef VIGIL_AM_SUBJECT

}  // namespace vigil::alerting
