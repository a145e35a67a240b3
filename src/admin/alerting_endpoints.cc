// The alerting endpoints (see vigil/admin/alerting_endpoints.h). Shapes follow Prometheus 2.42's
// web/api/v1 (alerts, rules) and Alertmanager 0.25's api/v2 (silences).
#include "vigil/admin/alerting_endpoints.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <ctime>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "alerting/rule_def.h"
#include "core/detail/percent.h"
#include "core/detail/rfc3339.h"
#include "core/detail/text.h"
#include "routes.h"
#include "vigil/alerting/manager.h"
#include "vigil/core/error.h"

namespace vigil::admin {

namespace {

using Json = nlohmann::ordered_json;
using alerting::AlertManager;
using alerting::MatchType;
using alerting::Silence;
using alerting::SilenceMatcher;
using alerting::SilenceState;
using alerting::TimePoint;
using vigil::detail::parse_rfc3339;

std::string rfc3339(TimePoint t, bool millis_only = false) {
  return vigil::detail::format_rfc3339(t, millis_only);
}

// ---- formatting as Go does ----

// strconv.FormatFloat(v, 'e', -1, 64), as Prometheus prints alert values.
std::string go_float_e(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  return std::string(buf, r.ptr);
}

// Seconds as a JSON number; whole numbers without a fraction, as Go's encoding/json prints them.
Json seconds(std::chrono::nanoseconds d) {
  const double s = std::chrono::duration<double>(d).count();
  if (s == std::floor(s) && std::fabs(s) < 1e15) return Json(static_cast<int64_t>(s));
  return Json(s);
}

Json labels_object(const alerting::LabelList& labels) {
  Json j = Json::object();
  for (const auto& [k, v] : labels) j[k] = v;
  return j;
}

// ---- responses ----

Response json_response(int status, const Json& body) {
  Response r;
  r.status = status;
  r.content_type = "application/json";
  r.body = body.dump(-1, ' ', false, Json::error_handler_t::replace);
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

Response prom_success(Json data) {
  Json j;
  j["status"] = "success";
  j["data"] = std::move(data);
  return json_response(200, j);
}

Response prom_error(int status, std::string_view type, std::string message) {
  Json j;
  j["status"] = "error";
  j["errorType"] = type;
  j["error"] = std::move(message);
  return json_response(status, j);
}

// Alertmanager's error payloads are JSON strings.
Response am_error(int status, std::string message) { return json_response(status, Json(message)); }

TimePoint manager_now(const AlertManager& m) {
  const auto& clock = m.options().clock;
  return clock ? clock() : std::chrono::system_clock::now();
}

// ---- /api/v1/alerts ----

Json alert_json(const alerting::Alert& a) {
  Json j;
  j["labels"] = labels_object(a.labels);
  j["annotations"] = labels_object(a.annotations);
  j["state"] = std::string(to_string(a.state));
  j["activeAt"] = rfc3339(a.active_at);
  if (a.keep_firing_since != TimePoint{}) j["keepFiringSince"] = rfc3339(a.keep_firing_since);
  j["value"] = go_float_e(a.value);
  // vigil's own (not in Prometheus' shape): the silences that mute it, for the dashboard.
  if (a.silenced) j["silencedBy"] = a.silenced_by;
  return j;
}

Response alerts_handler(AlertManager& m) {
  Json alerts = Json::array();
  for (const alerting::Alert& a : m.active_alerts()) alerts.push_back(alert_json(a));
  Json data;
  data["alerts"] = std::move(alerts);
  return prom_success(std::move(data));
}

// ---- /api/v1/alerts/history (vigil's own: alerts that ended, newest first) ----

Response history_handler(AlertManager& m, const Request& req) {
  size_t limit = 50;
  if (auto text = req.query_param("limit")) {
    size_t v = 0;
    const char* end = text->data() + text->size();
    auto [p, ec] = std::from_chars(text->data(), end, v);
    if (ec != std::errc() || p != end || text->empty()) {
      return prom_error(400, "bad_data", "limit must be a non-negative integer");
    }
    limit = v == 0 ? 1000 : std::min<size_t>(v, 1000);
  }
  std::vector<alerting::HistoryEntry> entries = m.history(limit);
  Json history = Json::array();
  for (const alerting::HistoryEntry& e : entries) {
    Json j;
    j["name"] = e.name;
    j["group"] = e.group;
    j["labels"] = labels_object(e.labels);
    j["annotations"] = labels_object(e.annotations);
    j["severity"] = std::string(to_string(e.severity));
    j["startedAt"] = rfc3339(e.started_at);
    if (e.fired) j["firedAt"] = rfc3339(e.fired_at);
    j["endedAt"] = rfc3339(e.ended_at);
    j["fired"] = e.fired;
    j["peakValue"] = go_float_e(e.peak_value);
    j["lastValue"] = go_float_e(e.last_value);
    history.push_back(std::move(j));
  }
  Json data;
  data["history"] = std::move(history);
  return prom_success(std::move(data));
}

// ---- /api/v1/rules ----

Response rules_handler(AlertManager& m, const AlertingEndpointOptions& options,
                       const Request& req) {
  bool want_alerting = true, want_recording = true;
  if (auto type = req.query_param("type"); type && !type->empty()) {
    std::string t = *type;
    std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
    if (t == "alert") {
      want_recording = false;
    } else if (t == "record") {
      want_alerting = false;
    } else {
      return prom_error(400, "bad_data", "not supported value \"" + *type + "\"");
    }
  }
  const std::vector<alerting::AlertRule> rules = m.rules();
  const std::vector<alerting::RuleStatus> statuses = m.rule_status();
  std::map<std::pair<std::string, std::string>, const alerting::RuleStatus*> status_of;
  for (const auto& s : statuses) status_of[{s.group, s.name}] = &s;
  std::map<std::pair<std::string, std::string>, std::vector<const alerting::Alert*>> alerts_of;
  const std::vector<alerting::Alert> active = m.active_alerts();
  for (const auto& a : active) alerts_of[{a.group, a.name}].push_back(&a);

  struct Group {
    std::string name;
    Json rules = Json::array();
    std::chrono::milliseconds interval{0};
    int limit = 0;
    std::chrono::nanoseconds took{0};
    TimePoint last;
  };
  std::vector<Group> groups;
  std::map<std::string, size_t> index;
  for (const alerting::AlertRule& rule : rules) {
    const vigil::detail::RuleDef& def = *rule.def();
    auto [it, added] = index.emplace(def.group, groups.size());
    if (added) {
      Group g;
      g.name = def.group;
      g.interval = def.interval.count() > 0 ? def.interval : m.options().evaluation_interval;
      g.limit = def.limit;
      groups.push_back(std::move(g));
    }
    Group& g = groups[it->second];
    const alerting::RuleStatus* st = nullptr;
    if (auto s = status_of.find({def.group, def.name}); s != status_of.end()) st = s->second;
    if (st != nullptr) {
      g.took += st->evaluation_duration;
      g.last = std::max(g.last, st->last_evaluation);
    }
    if (def.recording ? !want_recording : !want_alerting) continue;

    alerting::LabelList labels = def.labels;
    if (def.severity_set && std::none_of(labels.begin(), labels.end(),
                                         [](const auto& l) { return l.first == "severity"; })) {
      labels.emplace_back("severity", std::string(to_string(def.severity)));
    }
    Json r;
    if (!def.recording) {
      alerting::AlertState state = st != nullptr ? st->state : alerting::AlertState::kInactive;
      if (state == alerting::AlertState::kResolved) state = alerting::AlertState::kInactive;
      r["state"] = std::string(to_string(state));
    }
    r["name"] = def.name;
    r["query"] = def.expr;
    if (!def.recording) {
      r["duration"] = seconds(def.for_duration);
      r["keepFiringFor"] = seconds(def.keep_firing_for);
      r["labels"] = labels_object(labels);
      alerting::LabelList annotations = def.annotations;
      if (!def.description.empty()) annotations.emplace_back("description", def.description);
      r["annotations"] = labels_object(annotations);
      Json alerts = Json::array();
      if (auto a = alerts_of.find({def.group, def.name}); a != alerts_of.end()) {
        for (const alerting::Alert* al : a->second) alerts.push_back(alert_json(*al));
      }
      r["alerts"] = std::move(alerts);
    } else if (!labels.empty()) {
      r["labels"] = labels_object(labels);
    }
    r["health"] =
        std::string(to_string(st != nullptr ? st->health : alerting::RuleHealth::kUnknown));
    if (st != nullptr && !st->last_error.empty()) r["lastError"] = st->last_error;
    r["evaluationTime"] =
        seconds(st != nullptr ? st->evaluation_duration : std::chrono::nanoseconds{0});
    r["lastEvaluation"] = rfc3339(st != nullptr ? st->last_evaluation : TimePoint{});
    r["type"] = def.recording ? "recording" : "alerting";
    g.rules.push_back(std::move(r));
  }
  Json out = Json::array();
  for (Group& g : groups) {
    Json j;
    j["name"] = g.name;
    j["file"] = options.rule_file;
    j["rules"] = std::move(g.rules);
    j["interval"] = seconds(g.interval);
    j["limit"] = g.limit;
    j["evaluationTime"] = seconds(g.took);
    j["lastEvaluation"] = rfc3339(g.last);
    out.push_back(std::move(j));
  }
  Json data;
  data["groups"] = std::move(out);
  return prom_success(std::move(data));
}

// ---- /api/v2/silences ----

Json silence_json(const Silence& s, TimePoint now) {
  Json j;
  j["id"] = s.id;
  Json status;
  status["state"] = std::string(to_string(s.state(now)));
  j["status"] = std::move(status);
  j["updatedAt"] = rfc3339(s.updated_at, true);
  Json matchers = Json::array();
  for (const SilenceMatcher& m : s.matchers) {
    Json mj;
    mj["name"] = m.name;
    mj["value"] = m.value;
    mj["isRegex"] = m.type == MatchType::kRegexMatch || m.type == MatchType::kRegexNoMatch;
    mj["isEqual"] = m.type == MatchType::kEqual || m.type == MatchType::kRegexMatch;
    matchers.push_back(std::move(mj));
  }
  j["matchers"] = std::move(matchers);
  j["startsAt"] = rfc3339(s.starts_at, true);
  j["endsAt"] = rfc3339(s.ends_at, true);
  j["createdBy"] = s.created_by;
  j["comment"] = s.comment;
  return j;
}

// One matcher of a `filter` parameter: name op value, the value quoted or not
// (`alertname="x"`, `env=~prod.*`); several may be given as `{a="b",c!="d"}`.
bool parse_filter(std::string_view text, std::vector<SilenceMatcher>& out, std::string& error) {
  std::string_view s = vigil::detail::trim(text);
  if (!s.empty() && s.front() == '{') {
    if (s.back() != '}') {
      error = "bad matcher format: " + std::string(text);
      return false;
    }
    s = s.substr(1, s.size() - 2);
  }
  size_t i = 0;
  auto skip_ws = [&] {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  };
  while (true) {
    skip_ws();
    if (i >= s.size()) break;
    size_t start = i;
    while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '_')) ++i;
    SilenceMatcher m;
    m.name = std::string(s.substr(start, i - start));
    skip_ws();
    auto starts = [&](std::string_view op) { return s.substr(i, op.size()) == op; };
    if (starts("=~")) {
      m.type = MatchType::kRegexMatch;
      i += 2;
    } else if (starts("!~")) {
      m.type = MatchType::kRegexNoMatch;
      i += 2;
    } else if (starts("!=")) {
      m.type = MatchType::kNotEqual;
      i += 2;
    } else if (starts("=")) {
      m.type = MatchType::kEqual;
      i += 1;
    } else {
      error = "bad matcher format: " + std::string(text);
      return false;
    }
    if (m.name.empty()) {
      error = "bad matcher format: " + std::string(text);
      return false;
    }
    skip_ws();
    if (i < s.size() && s[i] == '"') {
      ++i;
      bool closed = false;
      while (i < s.size()) {
        char c = s[i++];
        if (c == '\\' && i < s.size()) {
          char e = s[i++];
          m.value += e == 'n' ? '\n' : e;
        } else if (c == '"') {
          closed = true;
          break;
        } else {
          m.value += c;
        }
      }
      if (!closed) {
        error = "bad matcher format: " + std::string(text);
        return false;
      }
    } else {
      size_t vs = i;
      while (i < s.size() && s[i] != ',') ++i;
      m.value = std::string(vigil::detail::trim(s.substr(vs, i - vs)));
    }
    out.push_back(std::move(m));
    skip_ws();
    if (i < s.size()) {
      if (s[i] != ',') {
        error = "bad matcher format: " + std::string(text);
        return false;
      }
      ++i;
    }
  }
  return true;
}

// Every `filter` value of the query.
bool filters_of(const Request& req, std::vector<SilenceMatcher>& out, std::string& error) {
  return vigil::detail::for_each_list_member(req.query, '&', [&](std::string_view part) {
    const auto kv = vigil::detail::split_pair(part, '=');
    if (!kv.found || kv.first != "filter") return true;
    auto value = vigil::detail::percent_decode(kv.second, {.plus_is_space = true});
    if (!value) {
      error = "bad filter: " + value.error;
      return false;
    }
    return parse_filter(*value, out, error);
  });
}

// Alertmanager's filter: the silence's matchers, read as a label set (name -> value), must
// satisfy every filter matcher.
bool filter_matches(const Silence& s, const std::vector<SilenceMatcher>& filters) {
  if (filters.empty()) return true;
  alerting::LabelList set;
  for (const SilenceMatcher& m : s.matchers) set.emplace_back(m.name, m.value);
  std::sort(set.begin(), set.end());
  Silence probe;
  probe.matchers = filters;
  try {
    return alerting::silence_matches(probe, set);
  } catch (const Error&) {
    return false;
  }
}

Response list_silences(AlertManager& m, const Request& req) {
  std::vector<SilenceMatcher> filters;
  std::string error;
  if (!filters_of(req, filters, error)) return am_error(400, error);
  const TimePoint now = manager_now(m);
  std::vector<Silence> silences = m.silences();
  // Alertmanager's order: active (ending first), pending (starting first), expired (newest end
  // first).
  std::stable_sort(silences.begin(), silences.end(), [now](const Silence& a, const Silence& b) {
    const auto sa = a.state(now), sb = b.state(now);
    auto rank = [](SilenceState s) {
      return s == SilenceState::kActive ? 0 : s == SilenceState::kPending ? 1 : 2;
    };
    if (rank(sa) != rank(sb)) return rank(sa) < rank(sb);
    if (sa == SilenceState::kActive) return a.ends_at < b.ends_at;
    if (sa == SilenceState::kPending) return a.starts_at < b.starts_at;
    return a.ends_at > b.ends_at;
  });
  Json out = Json::array();
  for (const Silence& s : silences) {
    if (filter_matches(s, filters)) out.push_back(silence_json(s, now));
  }
  return json_response(200, out);
}

std::optional<Silence> find_silence(AlertManager& m, std::string_view id) {
  for (Silence& s : m.silences()) {
    if (s.id == id) return std::move(s);
  }
  return std::nullopt;
}

Response post_silence(AlertManager& m, const Request& req) {
  Json body = Json::parse(req.body, nullptr, false);
  if (body.is_discarded()) return am_error(400, "parsing body as JSON failed: invalid JSON");
  if (!body.is_object()) return am_error(400, "the body must be a JSON object (postableSilence)");
  auto str = [&](const char* key, bool required, std::string& out) -> std::optional<Response> {
    auto it = body.find(key);
    if (it == body.end() || it->is_null()) {
      if (required) return am_error(400, std::string(key) + " in body is required");
      return std::nullopt;
    }
    if (!it->is_string())
      return am_error(400, std::string(key) + " in body must be of type string");
    out = it->get<std::string>();
    return std::nullopt;
  };
  Silence s;
  std::string starts, ends;
  if (auto e = str("id", false, s.id)) return *e;
  if (auto e = str("startsAt", true, starts)) return *e;
  if (auto e = str("endsAt", true, ends)) return *e;
  if (auto e = str("createdBy", true, s.created_by)) return *e;
  if (auto e = str("comment", true, s.comment)) return *e;
  auto st = parse_rfc3339(starts);
  if (!st) return am_error(400, "startsAt in body must be of type date-time: \"" + starts + "\"");
  auto en = parse_rfc3339(ends);
  if (!en) return am_error(400, "endsAt in body must be of type date-time: \"" + ends + "\"");
  s.starts_at = *st;
  s.ends_at = *en;

  auto matchers = body.find("matchers");
  if (matchers == body.end() || !matchers->is_array()) {
    return am_error(400, "matchers in body is required (an array)");
  }
  if (matchers->empty()) return am_error(400, "matchers in body should have at least 1 items");
  for (const Json& mj : *matchers) {
    if (!mj.is_object()) return am_error(400, "matchers: each matcher must be an object");
    auto name = mj.find("name"), value = mj.find("value"), is_regex = mj.find("isRegex"),
         is_equal = mj.find("isEqual");
    if (name == mj.end() || !name->is_string()) {
      return am_error(400, "matchers.name in body is required (a string)");
    }
    if (value == mj.end() || !value->is_string()) {
      return am_error(400, "matchers.value in body is required (a string)");
    }
    if (is_regex == mj.end() || !is_regex->is_boolean()) {
      return am_error(400, "matchers.isRegex in body is required (a boolean)");
    }
    if (is_equal != mj.end() && !is_equal->is_null() && !is_equal->is_boolean()) {
      return am_error(400, "matchers.isEqual in body must be of type boolean");
    }
    const bool regex = is_regex->get<bool>();
    const bool equal = is_equal == mj.end() || is_equal->is_null() || is_equal->get<bool>();
    SilenceMatcher sm;
    sm.name = name->get<std::string>();
    sm.value = value->get<std::string>();
    sm.type = regex ? (equal ? MatchType::kRegexMatch : MatchType::kRegexNoMatch)
                    : (equal ? MatchType::kEqual : MatchType::kNotEqual);
    s.matchers.push_back(std::move(sm));
  }

  // Alertmanager's checks, with its words.
  if (s.starts_at >= s.ends_at) {
    return am_error(400, "Failed to create silence: start time must be before end time");
  }
  const TimePoint now = manager_now(m);
  if (s.ends_at < now) {
    return am_error(400, "Failed to create silence: end time can't be in the past");
  }
  // A start in the past means now (Alertmanager), except that an active silence being updated
  // keeps its start.
  std::optional<Silence> old;
  if (!s.id.empty()) {
    old = find_silence(m, s.id);
    if (!old) return am_error(404, "silence not found");
  }
  if (s.starts_at < now) {
    s.starts_at = old && old->state(now) == SilenceState::kActive ? old->starts_at : now;
  }
  try {
    const std::string id = m.add_silence(std::move(s));
    Json j;
    j["silenceID"] = id;
    return json_response(200, j);
  } catch (const Error& e) {
    return am_error(400, e.what());
  }
}

Response silence_by_id(AlertManager& m, const Request& req, std::string_view prefix) {
  const std::string_view id = req.path.substr(std::min(prefix.size(), req.path.size()));
  if (id.empty() || id.find('/') != std::string_view::npos) {
    return am_error(404, "silence not found");
  }
  std::optional<Silence> s = find_silence(m, id);
  if (!s) return am_error(404, "silence not found");
  if (req.method == "DELETE") {
    if (s->state(manager_now(m)) == SilenceState::kExpired) {
      // Alertmanager answers 500 here (its API defines no 400 for DELETE; amtool shows this).
      return am_error(500, "silence " + std::string(id) + " already expired");
    }
    if (!m.expire_silence(id)) return am_error(404, "silence not found");
    Response r;
    r.status = 200;
    r.content_type = "application/json";
    return r;
  }
  return json_response(200, silence_json(*s, manager_now(m)));
}

// The minimum of Alertmanager's /api/v2/status that clients (amtool) read.
Response status_handler() {
  Json j;
  j["cluster"] = {{"status", "disabled"}, {"peers", Json::array()}};
  j["versionInfo"] = {{"branch", ""},    {"buildDate", ""}, {"buildUser", ""},
                      {"goVersion", ""}, {"revision", ""},  {"version", "vigil"}};
  j["config"] = {{"original", ""}};
  j["uptime"] = rfc3339(std::chrono::system_clock::now(), true);
  return json_response(200, j);
}

// GET: public on loopback, the admin token on an exposed server; POST and DELETE: always the
// admin token (refused when the server has none): Access::kDefault, RouteSpec's default.
using Route = detail::RouteSpec;

}  // namespace

void add_alerting_endpoints(Server& server, alerting::AlertManager& manager,
                            AlertingEndpointOptions options) {
  AlertManager* m = &manager;
  auto opts = std::make_shared<const AlertingEndpointOptions>(std::move(options));
  std::vector<Route> routes;
  routes.push_back({"/api/v1/alerts",
                    false,
                    {"GET"},
                    [m](const Request&) { return alerts_handler(*m); },
                    "active alerts (Prometheus /api/v1/alerts)"});
  routes.push_back({"/api/v1/alerts/history",
                    false,
                    {"GET"},
                    [m](const Request& req) { return history_handler(*m, req); },
                    "alerts that ended, newest first (vigil's own; ?limit=N, default 50)"});
  routes.push_back({"/api/v1/rules",
                    false,
                    {"GET"},
                    [m, opts](const Request& req) { return rules_handler(*m, *opts, req); },
                    "rule groups and health (Prometheus /api/v1/rules; ?type=alert|record)"});
  if (opts->silences) {
    routes.push_back({"/api/v2/silences",
                      false,
                      {"GET", "POST"},
                      [m](const Request& req) {
                        return req.method == "POST" ? post_silence(*m, req)
                                                    : list_silences(*m, req);
                      },
                      "silences (Alertmanager API v2; POST needs the admin token)"});
    const std::string prefix = "/api/v2/silence/";
    routes.push_back({prefix,
                      true,
                      {"GET", "DELETE"},
                      [m, prefix](const Request& req) { return silence_by_id(*m, req, prefix); },
                      "one silence; DELETE expires it (needs the admin token)"});
    routes.push_back({"/api/v2/status",
                      false,
                      {"GET"},
                      [](const Request&) { return status_handler(); },
                      "Alertmanager status (minimal, for amtool)"});
  }
  detail::add_routes(server, std::move(routes));
}

}  // namespace vigil::admin
