// src/alerting/template.h (internal): the Go text/template engine that expands the `labels` and
// `annotations` of alerting rules exactly as Prometheus 2.42 does (template/template.go,
// rules/alerting.go), plus the brace style `{name}` of rules written in C++.
//
//   auto t = vigil::alerting::tmpl::Template::parse_alert(
//       "{{ $labels.job }} is at {{ $value | humanizePercentage }}", "HighErrorRate");
//   if (!t) report(t.error);  // "template: __alert_HighErrorRate:1: function \"x\" not defined"
//   vigil::alerting::tmpl::TemplateData data;
//   data.labels = {{"job", "api"}};
//   data.value = 0.1234;
//   auto out = t->execute(data);  // *out == "api is at 12.34%"
//
// Supported: text, actions with trim markers `{{-` `-}}`, comments, pipelines, variables
// (`$labels`, `$value`, `$externalLabels`, `$externalURL`, `$x := ...`, `$x = ...`), field
// access (`.Labels.job`, `$labels.job`), `if` / `else if` / `else`, `range` (with `break` and
// `continue`), `with`, literals, Go's built-in functions (and or not len index print printf
// println eq ne lt le gt ge html urlquery slice) and Prometheus' functions (humanize,
// humanize1024, humanizeDuration, humanizePercentage, humanizeTimestamp, toTime, title, toUpper,
// toLower, match, reReplaceAll, stripPort, stripDomain, safeHtml, graphLink, tableLink,
// parseDuration, pathPrefix, externalURL, args). Functions that need a query engine or Go
// values (`query`, `first`, `label`, `value`, `strvalue`, `sortByLabel`, `call`, `js`) and
// `define` / `template` / `block` (Dialect::kPrometheus) and complex-number constants are
// refused at parse time with
// "not supported in-process: X".
// Known differences: toUpper / toLower / title change ASCII letters only; toTime's result is
// printed like a time.Time but has no methods.
//
// Dialect::kAlertmanager (notification templates, alerting/notify/notification_template.h):
// Alertmanager 0.25's functions instead of Prometheus' (see Dialect), over NotificationData:
// lists (range, len, index, slice over .Alerts, .SortedPairs, []string), structs with fields
// (.Status, .Labels, .StartsAt, ...), the methods of Alertmanager's types (.Alerts.Firing,
// .Alerts.Resolved, KV .SortedPairs / .Names / .Values / .Remove, Pairs .Names / .Values,
// time.Time .Format / .Unix / ...), printed as Go's fmt prints them, with Go's error messages.
// It also accepts html/template's escapers (_html_template_htmlescaper, _attrescaper,
// _rcdataescaper, _urlfilter, _urlnormalizer) so that an HTML body can spell out the escaping
// html/template would insert (vigil has no contextual auto-escaping).
//
// Execution is bounded: at most kMaxSteps evaluation steps, kMaxOutput bytes of output and
// kMaxDepth nested parentheses / blocks; exceeding a bound is an execution error.
//
// Thread-safety: a parsed Template is immutable; execute() is safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/detail/parse_result.h"

namespace vigil::alerting::tmpl {

inline constexpr std::size_t kMaxOutput = 64 * 1024;
inline constexpr std::size_t kMaxSteps = 100'000;
inline constexpr int kMaxDepth = 64;

// What an alert template sees: `.Labels`, `.ExternalLabels`, `.ExternalURL`, `.Value`.
struct TemplateData {
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> external_labels;
  std::string external_url;
  double value = 0;
};

// Which functions a template may call, and how the shared ones behave.
enum class Dialect : uint8_t {
  // Prometheus 2.42 rule templates (template/template.go): humanize*, graphLink, ...; `title`
  // is strings.Title.
  kPrometheus,
  // Alertmanager 0.25 notification templates (template/template.go DefaultFuncs): toUpper,
  // toLower, title (golang.org/x/text cases.Title: "hELLO" -> "Hello"), trimSpace, join, match,
  // safeHtml, reReplaceAll, stringSlice, and Go's built-ins. missingkey=zero, as both use.
  kAlertmanager,
};

// Go's time.Time as a notification template sees it: Unix seconds and nanoseconds, in UTC.
// Go's zero time (0001-01-01 00:00:00 UTC) is kGoZeroTime.
struct GoTime {
  int64_t unix_seconds = 0;
  int32_t nanos = 0;  // 0 .. 999'999'999
};
inline constexpr GoTime kGoZeroTime{-62135596800, 0};

// Alertmanager's template.Alert (template/template.go).
struct NotificationAlertData {
  std::string status;  // "firing" / "resolved"
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  GoTime starts_at;
  GoTime ends_at;
  std::string generator_url;
  std::string fingerprint;  // 16 hex digits
};

// Alertmanager's template.Data, the dot of a notification template. Labels and annotations
// are KV: `.SortedPairs` (alertname first, then by name; each pair has .Name and .Value),
// `.Names`, `.Values`, `.Remove <[]string>`; `.Alerts` has `.Firing` and `.Resolved`; times
// print as Go prints a time.Time ("2026-11-30 06:15:27.5 +0000 UTC") and have `.Format`,
// `.Unix`, `.UnixMilli`, `.IsZero`, `.UTC`, `.String`. The dot is a *template.Data, as
// Alertmanager's notifiers pass it (`{{ . }}` prints "&{...}").
struct NotificationData {
  std::string receiver;
  std::string status;
  std::vector<NotificationAlertData> alerts;
  std::map<std::string, std::string> group_labels;
  std::map<std::string, std::string> common_labels;
  std::map<std::string, std::string> common_annotations;
  std::string external_url;
};

struct Program;  // the parsed template (template.cc)

class Template {
 public:
  // Parses `text` as a Go template named `name` (errors: "template: name:line: message").
  // In Dialect::kAlertmanager, `text` may define named templates (`define`, `block`) and call
  // them (`template`); names it does not define are looked up in `library`'s definitions
  // (Alertmanager's default.tmpl, for notification templates); the parsed template keeps a
  // shared reference to the library.
  static vigil::detail::ParseResult<Template> parse(std::string_view text, std::string_view name,
                                                    Dialect dialect = Dialect::kPrometheus,
                                                    const Template* library = nullptr);
  // Parses like Prometheus parses a rule's label or annotation: prefixed with the definitions
  // of $labels, $externalLabels, $externalURL and $value, named "__alert_" + alert_name.
  static vigil::detail::ParseResult<Template> parse_alert(std::string_view text,
                                                          std::string_view alert_name);

  // Expands the template. Errors are Go's ("template: name:1:25: executing \"name\" at <...>:
  // ..."); never throws (except std::bad_alloc).
  vigil::detail::ParseResult<std::string> execute(const TemplateData& data) const;
  // Expands the template with Alertmanager's notification data as the dot (any dialect; the
  // Prometheus-only functions that read TemplateData see empty values).
  vigil::detail::ParseResult<std::string> execute_notification(const NotificationData& data) const;

  const std::string& name() const noexcept;

 private:
  std::shared_ptr<const Program> program_;
};

// Go's fmt: `%v` of a float64 ("0.1", "1e+06", "+Inf", "NaN").
std::string format_float_v(double v);
// Go's fmt.Sprintf(format, float64 value) for one float argument ("%.2f", "%g", "%5.1e", ...).
std::string format_float(std::string_view format, double v);

// Prometheus' humanize functions (template.go), exact to the byte.
std::string humanize(double v);             // 1234567 -> "1.235M", 0.001234 -> "1.234m"
std::string humanize1024(double v);         // 2048 -> "2ki"
std::string humanize_duration(double v);    // 90 -> "1m 30s"
std::string humanize_percentage(double v);  // 0.1234 -> "12.34%"
// Seconds since the epoch as Go prints a UTC time.Time ("2015-06-23 13:19:44.128 +0000 UTC");
// fails when the value overflows int64 nanoseconds.
vigil::detail::ParseResult<std::string> humanize_timestamp(double v);

// The brace style of rules written in C++: `{value}` (Go's %v), `{value:.2f}` (any printf
// spec of a float), `{labels.x}` and `{x}` (label values); unknown names and malformed braces
// stay as written. expand_braces("{job} at {value:.1f}", {{"job", "api"}}, 0.25) == "api at 0.2"
std::string expand_braces(std::string_view text, const std::map<std::string, std::string>& labels,
                          double value);

}  // namespace vigil::alerting::tmpl
