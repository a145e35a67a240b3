// The guardrail endpoints (see vigil/admin/guardrail_endpoints.h).
#include "vigil/admin/guardrail_endpoints.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/detail/rfc3339.h"
#include "routes.h"
#include "vigil/core/error.h"
#include "vigil/guardrail/monitor.h"

namespace vigil::admin {

namespace {

using Json = nlohmann::ordered_json;
using guardrail::Decision;
using guardrail::GuardrailMonitor;
using guardrail::TimePoint;

constexpr std::string_view kPrefix = "/api/v1/guardrails/";

struct Registry {
  std::map<std::string, GuardrailMonitor*, std::less<>> monitors;
  GuardrailEndpointOptions options;

  GuardrailMonitor* find(std::string_view name) const {
    auto it = monitors.find(name);
    return it == monitors.end() ? nullptr : it->second;
  }
};

Response json_response(int status, const Json& body) {
  Response r;
  r.status = status;
  r.content_type = "application/json";
  r.body = body.dump(-1, ' ', false, Json::error_handler_t::replace);
  return r;
}

Response error_response(int status, const std::string& why) {
  return json_response(status, Json{{"status", "error"}, {"error", why}});
}

// A figure, or null when it is not a number.
Json number(double v) {
  if (!std::isfinite(v)) return nullptr;
  return v;
}

Json time_or_null(TimePoint t) {
  if (t == TimePoint{}) return nullptr;
  return vigil::detail::format_rfc3339(t);
}

Json snapshot_json(const std::optional<guardrail::PerformanceSnapshot>& s) {
  if (!s) return nullptr;
  Json j;
  j["success_rate"] = number(s->success_rate);
  j["p50_latency"] = number(s->p50_latency);
  j["p95_latency"] = number(s->p95_latency);
  j["p99_latency"] = number(s->p99_latency);
  j["error_rate"] = number(s->error_rate);
  j["request_count"] = s->request_count;
  j["timestamp"] = time_or_null(s->timestamp);
  return j;
}

// What ran and how it ended, in words.
std::string action_summary(const Decision& d) {
  if (d.actions.empty()) return d.triggered ? "triggered; no action registered" : "none";
  std::string out;
  for (const auto& a : d.actions) {
    if (!out.empty()) out += "; ";
    out += a.action + ": " + a.outcome;
  }
  return out;
}

Json decision_json(const Decision& d) {
  Json j;
  j["id"] = d.id;
  j["time"] = vigil::detail::format_rfc3339(d.time);
  j["monitor"] = d.monitor;
  j["mode"] = d.mode;
  j["result"] = std::string(guardrail::result_name(d.result));
  j["reason"] = d.reason;
  j["metric"] = d.metric;
  j["threshold"] = number(d.threshold);
  j["observed"] = number(d.observed);
  j["baseline"] = number(d.baseline);
  j["triggered"] = d.triggered;
  j["action"] = action_summary(d);
  Json actions = Json::array();
  for (const auto& a : d.actions) {
    actions.push_back({{"action", a.action},
                       {"outcome", a.outcome},
                       {"duration_seconds", number(a.duration_seconds)},
                       {"started", time_or_null(a.started)}});
  }
  j["actions"] = std::move(actions);
  Json conds = Json::array();
  for (const auto& c : d.conditions) {
    conds.push_back({{"metric", c.metric},
                     {"result", std::string(guardrail::result_name(c.result))},
                     {"reason", c.reason},
                     {"baseline", number(c.baseline)},
                     {"observed", number(c.observed)},
                     {"threshold", number(c.threshold)},
                     {"statistic", number(c.statistic)},
                     {"p_value", number(c.p_value)},
                     {"alpha", number(c.alpha)}});
  }
  j["conditions"] = std::move(conds);
  j["baseline_requests"] = d.baseline_requests;
  j["current_requests"] = d.current_requests;
  j["window_start"] = time_or_null(d.window_start);
  j["window_end"] = time_or_null(d.window_end);
  return j;
}

Json monitor_json(const GuardrailMonitor& m, const GuardrailEndpointOptions& o) {
  const guardrail::MonitorStatus s = m.status();
  Json j;
  j["name"] = s.name;
  j["state"] = std::string(guardrail::state_name(s.state));
  j["mode"] = s.mode;
  j["baseline"] = snapshot_json(s.baseline);
  j["current"] = snapshot_json(s.current);
  Json cohorts;
  cohorts["baseline"] = s.baseline_cohort;
  cohorts["canary"] = s.canary_cohort;
  cohorts["watched"] = m.options().cohort;
  cohorts["comparison_start"] = time_or_null(s.comparison_start);
  cohorts["seen"] = m.cohorts();
  j["cohorts"] = std::move(cohorts);
  Json th = Json::array();
  for (const auto& t : m.options().thresholds) th.push_back(t.describe());
  j["thresholds"] = std::move(th);
  j["counters"] = {{"checks", s.checks},
                   {"triggers", s.triggers},
                   {"action_failures", s.action_failures},
                   {"action_timeouts", s.action_timeouts},
                   {"consecutive_failures", s.consecutive_failures},
                   {"consecutive_inconclusive", s.consecutive_inconclusive},
                   {"consecutive_errors", s.consecutive_errors},
                   {"consecutive_passes", s.consecutive_passes}};
  j["last_trigger"] = time_or_null(s.last_trigger);
  j["rearm_not_before"] = time_or_null(s.rearm_not_before);
  j["running"] = s.running;
  j["interval_seconds"] = std::chrono::duration<double>(s.interval).count();
  j["window_seconds"] = std::chrono::duration<double>(s.window).count();
  Json last = Json::array();
  guardrail::DecisionQuery q;
  q.limit = o.last_verdicts;
  for (const Decision& d : m.decisions(q)) last.push_back(decision_json(d));
  j["last_verdicts"] = std::move(last);
  j["audit"] = {{"path", s.audit_path},
                {"ok", !s.audit_path.empty() && s.audit_error.empty()},
                {"error", s.audit_error}};
  return j;
}

// RFC 3339 or Unix seconds (with an optional fraction).
std::optional<TimePoint> parse_time(std::string_view text) {
  if (text.empty()) return std::nullopt;
  if (text.find('T') != std::string_view::npos || text.find('-', 1) != std::string_view::npos) {
    return vigil::detail::parse_rfc3339(text);
  }
  double secs = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), secs);
  if (ec != std::errc() || p != text.data() + text.size() || !std::isfinite(secs) || secs < 0 ||
      secs > 1e11) {
    return std::nullopt;
  }
  return TimePoint(
      std::chrono::duration_cast<TimePoint::duration>(std::chrono::duration<double>(secs)));
}

// The common query parameters; an error message on bad input.
struct Query {
  guardrail::DecisionQuery q;
  std::vector<GuardrailMonitor*> monitors;
};

std::optional<std::string> parse_query(const Registry& reg, const Request& req, bool with_result,
                                       Query& out, int& status) {
  status = 400;
  if (auto m = req.query_param("monitor")) {
    GuardrailMonitor* g = reg.find(*m);
    if (g == nullptr) {
      status = 404;
      return "unknown monitor \"" + *m + "\"";
    }
    out.monitors.push_back(g);
  } else {
    for (const auto& [name, g] : reg.monitors) out.monitors.push_back(g);
  }
  for (const char* key : {"since", "until"}) {
    if (auto v = req.query_param(key)) {
      std::optional<TimePoint> t = parse_time(*v);
      if (!t) {
        return std::string("bad ") + key + " \"" + *v +
               "\": expected an RFC 3339 time or Unix seconds";
      }
      (std::string_view(key) == "since" ? out.q.since : out.q.until) = *t;
    }
  }
  if (out.q.since != TimePoint{} && out.q.until != TimePoint{} && out.q.until <= out.q.since) {
    return std::string("until must be after since");
  }
  out.q.limit = 100;
  if (auto v = req.query_param("limit")) {
    size_t n = 0;
    auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
    if (v->empty() || ec != std::errc() || p != v->data() + v->size() || n == 0 ||
        n > reg.options.max_limit) {
      return "bad limit \"" + *v + "\": expected an integer from 1 to " +
             std::to_string(reg.options.max_limit);
    }
    out.q.limit = n;
  }
  if (auto v = req.query_param("result")) {
    if (!with_result) return std::string("result is not a parameter of this endpoint");
    for (auto r : {guardrail::Result::kPass, guardrail::Result::kFail,
                   guardrail::Result::kInconclusive, guardrail::Result::kError}) {
      if (guardrail::result_name(r) == *v) out.q.result = r;
    }
    if (!out.q.result) {
      return "bad result \"" + *v + "\": expected pass, fail, inconclusive or error";
    }
  }
  return std::nullopt;
}

Response list_handler(const Registry& reg) {
  Json list = Json::array();
  for (const auto& [name, m] : reg.monitors) list.push_back(monitor_json(*m, reg.options));
  return json_response(200, Json{{"monitors", std::move(list)}});
}

Response decisions_handler(const Registry& reg, const Request& req) {
  Query query;
  int status = 400;
  if (auto err = parse_query(reg, req, true, query, status)) return error_response(status, *err);
  std::vector<Decision> all;
  for (GuardrailMonitor* m : query.monitors) {
    std::vector<Decision> ds = m->decisions(query.q);
    all.insert(all.end(), std::make_move_iterator(ds.begin()), std::make_move_iterator(ds.end()));
  }
  std::stable_sort(all.begin(), all.end(), [](const Decision& a, const Decision& b) {
    return a.time != b.time ? a.time > b.time : a.id > b.id;
  });
  if (all.size() > query.q.limit) all.resize(query.q.limit);
  Json list = Json::array();
  for (const Decision& d : all) list.push_back(decision_json(d));
  return json_response(200, Json{{"decisions", std::move(list)}});
}

Response events_handler(const Registry& reg, const Request& req) {
  Query query;
  int status = 400;
  if (auto err = parse_query(reg, req, false, query, status)) return error_response(status, *err);
  std::vector<guardrail::AuditEvent> all;
  for (GuardrailMonitor* m : query.monitors) {
    std::vector<guardrail::AuditEvent> es = m->events(query.q);
    all.insert(all.end(), es.begin(), es.end());
  }
  std::stable_sort(all.begin(), all.end(),
                   [](const guardrail::AuditEvent& a, const guardrail::AuditEvent& b) {
                     return a.time != b.time ? a.time > b.time : a.id > b.id;
                   });
  if (all.size() > query.q.limit) all.resize(query.q.limit);
  Json list = Json::array();
  for (const auto& e : all) {
    list.push_back({{"id", e.id},
                    {"time", vigil::detail::format_rfc3339(e.time)},
                    {"monitor", e.monitor},
                    {"kind", e.kind},
                    {"detail", e.detail}});
  }
  return json_response(200, Json{{"events", std::move(list)}});
}

// A time in a JSON body: an RFC 3339 string or Unix seconds.
std::optional<TimePoint> json_time(const Json& v) {
  if (v.is_string()) return parse_time(v.get<std::string>());
  if (v.is_number() && !v.is_number_float()) {
    if (v.is_number_unsigned() || v.get<int64_t>() >= 0) {
      return TimePoint(std::chrono::seconds(v.get<int64_t>()));
    }
    return std::nullopt;
  }
  if (v.is_number_float()) return parse_time(std::to_string(v.get<double>()));
  return std::nullopt;
}

std::string who_of(const Request& req, const Json& body) {
  std::string who;
  if (body.is_object() && body.contains("who") && body["who"].is_string()) {
    who = body["who"].get<std::string>();
  }
  if (who.empty()) who = "admin API";
  return who + " (" + std::string(req.remote_address) + ")";
}

Response baseline_post(GuardrailMonitor& m, const Json& body) {
  if (!body.is_object()) return error_response(400, "the body must be a JSON object");
  std::string why = "admin API";
  if (body.contains("why")) {
    if (!body["why"].is_string()) return error_response(400, "why must be a string");
    why = body["why"].get<std::string>();
  }
  try {
    if (body.contains("baseline_cohort") || body.contains("canary_cohort")) {
      for (const auto& [k, v] : body.items()) {
        if (k != "baseline_cohort" && k != "canary_cohort" && k != "why") {
          return error_response(400, "unknown field \"" + k + "\" in a cohort comparison");
        }
        if (!v.is_string()) return error_response(400, k + " must be a string");
      }
      if (!body.contains("baseline_cohort") || !body.contains("canary_cohort")) {
        return error_response(400, "a cohort comparison needs baseline_cohort and canary_cohort");
      }
      m.compare_cohorts(body["baseline_cohort"].get<std::string>(),
                        body["canary_cohort"].get<std::string>(), why);
    } else if (body.contains("from") || body.contains("to")) {
      for (const auto& [k, v] : body.items()) {
        if (k != "from" && k != "to" && k != "why") {
          return error_response(400, "unknown field \"" + k + "\" in a baseline window");
        }
      }
      if (!body.contains("from") || !body.contains("to")) {
        return error_response(400, "a baseline window needs from and to");
      }
      std::optional<TimePoint> from = json_time(body["from"]);
      std::optional<TimePoint> to = json_time(body["to"]);
      if (!from || !to) {
        return error_response(400, "from and to must be RFC 3339 times or Unix seconds");
      }
      m.set_baseline_window(*from, *to, why);
    } else {
      guardrail::PerformanceSnapshot s;
      bool any = false;
      for (const auto& [k, v] : body.items()) {
        if (k == "why") continue;
        if (k == "request_count") {
          if (!v.is_number_unsigned()) {
            return error_response(400, "request_count must be a non-negative integer");
          }
          s.request_count = v.get<uint64_t>();
          continue;
        }
        const std::optional<guardrail::Metric> metric = guardrail::parse_metric(k);
        if (!metric) {
          return error_response(400, "unknown metric \"" + k +
                                         "\": expected success_rate, error_rate, p50_latency, "
                                         "p95_latency, p99_latency or request_count");
        }
        if (!v.is_number()) return error_response(400, k + " must be a number");
        const double x = v.get<double>();
        switch (*metric) {
          case guardrail::Metric::kSuccessRate:
            s.success_rate = x;
            break;
          case guardrail::Metric::kErrorRate:
            s.error_rate = x;
            break;
          case guardrail::Metric::kP50Latency:
            s.p50_latency = x;
            break;
          case guardrail::Metric::kP95Latency:
            s.p95_latency = x;
            break;
          case guardrail::Metric::kP99Latency:
            s.p99_latency = x;
            break;
        }
        any = true;
      }
      if (!any) {
        return error_response(400,
                              "the body names no figure: send a snapshot, {\"from\", \"to\"} or "
                              "{\"baseline_cohort\", \"canary_cohort\"}");
      }
      if (!body.contains("error_rate") && body.contains("success_rate")) {
        s.error_rate = 1 - s.success_rate;
      }
      m.set_baseline(s, why);
    }
  } catch (const Error& e) {
    return error_response(400, e.what());
  }
  const guardrail::MonitorStatus st = m.status();
  return json_response(200, Json{{"status", "success"},
                                 {"monitor", st.name},
                                 {"mode", st.mode},
                                 {"state", std::string(guardrail::state_name(st.state))},
                                 {"baseline", snapshot_json(st.baseline)}});
}

Response post_handler(const Registry& reg, const Request& req) {
  std::string_view rest = req.path.substr(std::min(kPrefix.size(), req.path.size()));
  const size_t slash = rest.find('/');
  if (slash == std::string_view::npos) {
    return error_response(404, "expected /api/v1/guardrails/<name>/(baseline|pause|resume)");
  }
  const std::string_view name = rest.substr(0, slash);
  const std::string_view op = rest.substr(slash + 1);
  GuardrailMonitor* m = reg.find(name);
  if (m == nullptr) return error_response(404, "unknown monitor \"" + std::string(name) + "\"");
  if (op != "baseline" && op != "pause" && op != "resume") {
    return error_response(
        404, "unknown operation \"" + std::string(op) + "\": expected baseline, pause or resume");
  }
  Json body;
  const std::string_view text = req.body;
  if (!text.empty() && text.find_first_not_of(" \t\r\n") != std::string_view::npos) {
    body = Json::parse(text.begin(), text.end(), nullptr, false);
    if (body.is_discarded()) return error_response(400, "the body is not valid JSON");
  }
  if (op == "baseline") {
    if (body.is_null()) return error_response(400, "baseline needs a JSON body");
    return baseline_post(*m, body);
  }
  if (!body.is_null() && !body.is_object()) {
    return error_response(400, "the body must be a JSON object");
  }
  if (op == "pause")
    m->pause(who_of(req, body));
  else
    m->resume(who_of(req, body));
  const guardrail::MonitorStatus st = m->status();
  return json_response(200, Json{{"status", "success"},
                                 {"monitor", st.name},
                                 {"state", std::string(guardrail::state_name(st.state))}});
}

using Route = detail::RouteSpec;

}  // namespace

void add_guardrail_endpoints(Server& server, std::vector<guardrail::GuardrailMonitor*> monitors,
                             GuardrailEndpointOptions options) {
  auto reg = std::make_shared<Registry>();
  reg->options = options;
  if (reg->options.max_limit == 0) reg->options.max_limit = 1;
  for (GuardrailMonitor* m : monitors) {
    if (m == nullptr) throw Error("add_guardrail_endpoints: a monitor is null");
    if (!reg->monitors.emplace(m->name(), m).second) {
      throw Error("add_guardrail_endpoints: two monitors are named \"" + m->name() + "\"");
    }
  }
  std::shared_ptr<const Registry> r = reg;
  std::vector<Route> routes;
  routes.push_back({"/api/v1/guardrails",
                    false,
                    {"GET"},
                    [r](const Request&) { return list_handler(*r); },
                    "guardrail monitors: state, baseline, current figures, last verdicts",
                    Access::kDefault});
  routes.push_back({"/api/v1/guardrails/decisions",
                    false,
                    {"GET"},
                    [r](const Request& req) { return decisions_handler(*r, req); },
                    "guardrail decisions, newest first (?monitor, since, until, limit, result)",
                    Access::kDefault});
  routes.push_back({"/api/v1/guardrails/events",
                    false,
                    {"GET"},
                    [r](const Request& req) { return events_handler(*r, req); },
                    "guardrail baseline changes, pauses and resumes, newest first",
                    Access::kDefault});
  routes.push_back({std::string(kPrefix),
                    true,
                    {"POST"},
                    [r](const Request& req) { return post_handler(*r, req); },
                    "POST <name>/baseline, <name>/pause, <name>/resume (admin token)",
                    Access::kAdminToken});
  detail::add_routes(server, std::move(routes));
}

}  // namespace vigil::admin
