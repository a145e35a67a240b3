// The delivery endpoints (see vigil/admin/notification_endpoints.h).
#include "vigil/admin/notification_endpoints.h"

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "core/detail/rfc3339.h"
#include "routes.h"
#include "vigil/alerting/alertmanager_client.h"
#include "vigil/alerting/dispatcher.h"

namespace vigil::admin {

namespace {

using Json = nlohmann::ordered_json;
using alerting::TimePoint;

Response json_response(const Json& body) {
  Response r;
  r.content_type = "application/json";
  r.body = body.dump(-1, ' ', false, Json::error_handler_t::replace);
  return r;
}

Response prom_success(Json data) {
  Json j;
  j["status"] = "success";
  j["data"] = std::move(data);
  return json_response(j);
}

// A time, or null when it never happened.
Json time_or_null(TimePoint t) {
  if (t == TimePoint{}) return nullptr;
  return vigil::detail::format_rfc3339(t, true);
}

Json labels_object(const alerting::LabelList& labels) {
  Json j = Json::object();
  for (const auto& [k, v] : labels) j[k] = v;
  return j;
}

Json alertmanagers_json(const alerting::AlertmanagerClient& client) {
  Json list = Json::array();
  for (const alerting::AlertmanagerStatus& s : client.status()) {
    Json a;
    a["url"] = s.url;
    a["sent"] = s.sent;
    a["errors"] = s.errors;
    a["requests"] = s.requests;
    a["lastError"] = s.last_error;
    a["lastSuccess"] = time_or_null(s.last_success);
    list.push_back(std::move(a));
  }
  return list;
}

Response notifications_handler(const NotificationEndpointSources& src) {
  Json data;
  Json receivers = Json::array();
  if (src.dispatcher != nullptr) {
    const alerting::DispatcherStatus st = src.dispatcher->status();
    for (const alerting::ReceiverStatus& r : st.receivers) {
      Json jr;
      jr["name"] = r.name;
      jr["queued"] = r.queued;
      Json ints = Json::array();
      for (const alerting::IntegrationStatus& i : r.integrations) {
        Json ji;
        ji["integration"] = i.integration;
        ji["index"] = i.index;
        ji["sent"] = i.sent;
        ji["failed"] = i.failed;
        ji["retried"] = i.retried;
        ji["dropped"] = i.dropped;
        ji["lastError"] = i.last_error;
        ji["lastSuccess"] = time_or_null(i.last_success);
        ji["lastAttempt"] = time_or_null(i.last_attempt);
        ints.push_back(std::move(ji));
      }
      jr["integrations"] = std::move(ints);
      receivers.push_back(std::move(jr));
    }
    data["receivers"] = std::move(receivers);
    data["alerts"] = st.alerts;
    data["alertsDropped"] = st.alerts_dropped;
    data["inhibited"] = st.inhibited;
    data["redelivered"] = st.redelivered;
    data["log"] = {{"ok", st.log_ok}, {"error", st.log_error}};
  } else {
    data["receivers"] = std::move(receivers);
  }
  if (src.alertmanagers != nullptr) {
    data["alertmanagers"] = alertmanagers_json(*src.alertmanagers);
    data["alertmanagerQueue"] = src.alertmanagers->queued();
    data["alertmanagerDropped"] = src.alertmanagers->dropped();
  } else {
    data["alertmanagers"] = Json::array();
  }
  return prom_success(std::move(data));
}

// Alertmanager's alertGroups (api/v2 models): labels, receiver, alerts as gettableAlerts.
Response groups_handler(const alerting::Dispatcher& d) {
  Json out = Json::array();
  for (const alerting::GroupStatus& g : d.groups()) {
    Json jg;
    jg["labels"] = labels_object(g.group_labels);
    jg["receiver"] = {{"name", g.receiver}};
    Json alerts = Json::array();
    for (const alerting::NotifiedAlert& a : g.alerts) {
      Json ja;
      ja["annotations"] = labels_object(a.annotations);
      ja["endsAt"] = vigil::detail::format_rfc3339(a.ends_at, true);
      ja["fingerprint"] = a.fingerprint_hex();
      ja["receivers"] = Json::array({{{"name", g.receiver}}});
      ja["startsAt"] = vigil::detail::format_rfc3339(a.starts_at, true);
      ja["status"] = {{"inhibitedBy", Json::array()},
                      {"silencedBy", Json::array()},
                      {"state", a.silenced ? "suppressed" : "active"}};
      ja["updatedAt"] = vigil::detail::format_rfc3339(a.starts_at, true);
      if (!a.generator_url.empty()) ja["generatorURL"] = a.generator_url;
      ja["labels"] = labels_object(a.labels);
      alerts.push_back(std::move(ja));
    }
    jg["alerts"] = std::move(alerts);
    out.push_back(std::move(jg));
  }
  return json_response(out);
}

Response alertmanagers_handler(const alerting::AlertmanagerClient& c) {
  Json data;
  data["activeAlertmanagers"] = alertmanagers_json(c);
  data["droppedAlertmanagers"] = Json::array();
  return prom_success(std::move(data));
}

}  // namespace

void add_notification_endpoints(Server& server, NotificationEndpointSources sources) {
  std::vector<detail::RouteSpec> routes;
  routes.push_back({"/api/v1/notifications",
                    false,
                    {"GET"},
                    [sources](const Request&) { return notifications_handler(sources); },
                    "alert delivery: receivers, queues, outcomes, last errors"});
  if (sources.dispatcher != nullptr) {
    alerting::Dispatcher* d = sources.dispatcher;
    routes.push_back({"/api/v2/alerts/groups",
                      false,
                      {"GET"},
                      [d](const Request&) { return groups_handler(*d); },
                      "the dispatcher's aggregation groups (Alertmanager API v2 shape)"});
  }
  if (sources.alertmanagers != nullptr) {
    alerting::AlertmanagerClient* c = sources.alertmanagers;
    routes.push_back({"/api/v1/alertmanagers",
                      false,
                      {"GET"},
                      [c](const Request&) { return alertmanagers_handler(*c); },
                      "the Alertmanager instances alerts are posted to (Prometheus shape)"});
  }
  detail::add_routes(server, std::move(routes));
}

}  // namespace vigil::admin
