// vigil/metrics/names.h: the Prometheus rules for metric names, label names and units.
//
//   vigil::metrics::is_valid_metric_name("http_requests_total");  // true
//   vigil::metrics::is_valid_label_name("__name__");              // false: reserved prefix
//
// Registration checks these and throws vigil::Error naming the rule that was broken; the
// functions are public so that applications can check names from configuration up front.
// All are pure, thread-safe and cost a few nanoseconds per character.
#pragma once

#include <string>
#include <string_view>

namespace vigil::metrics {

// [a-zA-Z_:][a-zA-Z0-9_:]*
bool is_valid_metric_name(std::string_view name) noexcept;
// [a-zA-Z_][a-zA-Z0-9_]* and not starting with "__" (reserved for Prometheus' own use).
bool is_valid_label_name(std::string_view name) noexcept;
// [a-zA-Z0-9_]+ : a base unit such as "seconds", "bytes", "ratio".
bool is_valid_unit(std::string_view unit) noexcept;
// True for well-formed UTF-8 (no overlong forms, no surrogates, at most U+10FFFF).
bool is_valid_utf8(std::string_view text) noexcept;

// The Prometheus metric name for an OpenTelemetry-style name, by the rule of OpenTelemetry's
// "Prometheus and OpenMetrics Compatibility" specification (the one its Prometheus exporters
// apply): every character other than [a-zA-Z0-9_:] becomes '_', runs of '_' become one '_',
// and a name that would start with a digit gets a leading '_'.
//   "playbook.bullets.added" -> "playbook_bullets_added"
//   "http.server.request.duration" -> "http_server_request_duration"
//   "a..b--c" -> "a_b_c"    "2xx.count" -> "_2xx_count"    "ns:rule.x" -> "ns:rule_x"
// A multi-byte UTF-8 character becomes one '_' (its bytes collapse). Empty in, empty out
// (not a valid name). Suffixes (_total, units) are not added here. Allocates the result.
std::string prometheus_metric_name(std::string_view name);
// The same for a label name: ':' is replaced too ([a-zA-Z0-9_] kept), and a leading '_' is
// added before a digit. Collapsing the '_' runs means the result never starts with the
// reserved "__". "http.request.method" -> "http_request_method".
std::string prometheus_label_name(std::string_view name);

}  // namespace vigil::metrics
