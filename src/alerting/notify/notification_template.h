// src/alerting/notify/notification_template.h (internal): Go templates over Alertmanager's
// notification data (template/template.go Data), for the titles, texts, subjects and bodies of
// the notifiers. Built on the rule engine's template engine (alerting/template.h).
//
//   auto t = vigil::alerting::parse_notification_template(
//       "[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }}", "slack.title");
//   if (!t) throw vigil::Error("slack_configs: title: " + t.error);
//   auto text = vigil::alerting::render_notification(*t, group);  // "[FIRING] HighErrorRate"
//
// Data, as Alertmanager's: .Receiver, .Status ("firing"/"resolved"), .Alerts (each with .Status,
// .Labels, .Annotations, .StartsAt, .EndsAt, .GeneratorURL, .Fingerprint; the list has .Firing
// and .Resolved), .GroupLabels, .CommonLabels, .CommonAnnotations (KV maps with .SortedPairs,
// .Names, .Values, .Remove), .ExternalURL; times print as Go's time.Time and have .Format,
// .Unix, .UnixMilli, .IsZero, .UTC. Functions: Alertmanager 0.25's (toUpper, toLower, title,
// trimSpace, join, match, reReplaceAll, safeHtml, stringSlice) and Go's built-ins; the later
// Alertmanager functions (safeUrl, urlUnescape, date, tz, since, humanizeDuration) are not in
// 0.25 and are refused ("function \"date\" not defined"), as 0.25 refuses them.
// Known differences from Alertmanager: templates run as text/template, also for HTML bodies
// (no contextual auto-escaping: kDefaultEmailHtml writes html/template's escapers out);
// toUpper / toLower / title map Latin, Greek and Cyrillic letters only; `{{ . }}` of the data
// prints as a *template.Data (Alertmanager's notifiers pass a pointer; amtool a value).
// Named templates: a template may `define`, `block` and call `template`; the names
// Alertmanager's default.tmpl defines for Slack, PagerDuty and e-mail (__subject,
// __alertmanagerURL, __text_alert_list, slack.default.*, pagerduty.default.*,
// email.default.subject / .html / .text, wechat.default.message) are predefined, so
// `{{ template "slack.default.title" . }}` works as in an Alertmanager configuration.
//
// Thread-safety: a parsed template is immutable; render_notification is safe from any thread.
#pragma once

#include <string_view>

#include "alerting/template.h"
#include "core/detail/parse_result.h"
#include "vigil/alerting/notifier.h"

namespace vigil::alerting {

// Alertmanager's template.Data of `group`: the receiver name regexp-quoted (as Alertmanager
// does: "team.a" -> "team\.a"), the status, the alerts (fingerprint as 16 hex digits, a zero
// time point as Go's zero time), group labels, common labels and annotations, external URL.
tmpl::NotificationData notification_data(const NotificationGroup& group);

// Parses `text` in Alertmanager's dialect (errors: "template: name:line: message").
vigil::detail::ParseResult<tmpl::Template> parse_notification_template(std::string_view text,
                                                                       std::string_view name);
// Expands `t` with `group`'s data. Never throws (except std::bad_alloc).
vigil::detail::ParseResult<std::string> render_notification(const tmpl::Template& t,
                                                            const NotificationGroup& group);

// Alertmanager 0.25's default templates (default.tmpl), expanded inline (no `template` calls):
// slack.default.title, slack.default.titlelink, slack.default.text (empty, as Alertmanager's),
// email.default.subject, pagerduty.default.description render byte for byte as Alertmanager's.
// kDefaultEmailText (Alertmanager has no default text body) renders as its
// wechat.default.message; kDefaultEmailHtml is a plainer body than email.default.html (same
// content, no inline CSS) with html/template's escaping.
extern const std::string_view kDefaultSlackTitle;
extern const std::string_view kDefaultSlackTitleLink;
extern const std::string_view kDefaultSlackText;
extern const std::string_view kDefaultEmailSubject;
extern const std::string_view kDefaultEmailHtml;
extern const std::string_view kDefaultEmailText;
extern const std::string_view kDefaultPagerDutyDescription;

}  // namespace vigil::alerting
