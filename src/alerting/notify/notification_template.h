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
// .Names, .Values, .Remove), .ExternalURL. Functions: Alertmanager's (toUpper, toLower, title,
// trimSpace, join, match, reReplaceAll, safeHtml, safeUrl, urlUnescape, stringSlice, date, tz,
// since, humanizeDuration) and Go's built-ins.
//
// Thread-safety: a parsed template is immutable; render_notification is safe from any thread.
#pragma once

#include <string_view>

#include "alerting/template.h"
#include "core/detail/parse_result.h"
#include "vigil/alerting/notifier.h"

namespace vigil::alerting {

// Parses `text` (errors: "template: name:line: message").
vigil::detail::ParseResult<tmpl::Template> parse_notification_template(std::string_view text,
                                                                       std::string_view name);
// Expands `t` with `group`'s data. Never throws (except std::bad_alloc).
vigil::detail::ParseResult<std::string> render_notification(const tmpl::Template& t,
                                                            const NotificationGroup& group);

// Alertmanager's default templates (default.tmpl), expanded inline (no `template` calls).
extern const std::string_view kDefaultSlackTitle;
extern const std::string_view kDefaultSlackTitleLink;
extern const std::string_view kDefaultSlackText;
extern const std::string_view kDefaultEmailSubject;
extern const std::string_view kDefaultEmailHtml;
extern const std::string_view kDefaultEmailText;
extern const std::string_view kDefaultPagerDutyDescription;

}  // namespace vigil::alerting
