// vigil/admin/alerting_endpoints.h: an AlertManager's alerts, rules and silences over the admin
// server, in the shapes Prometheus' HTTP API and Alertmanager's API v2 use, so that existing
// tools (amtool, dashboards, scripts written for Prometheus) read and manage them.
//
// Registers (available when vigil is built with VIGIL_BUILD_ALERTING):
//   GET    /api/v1/alerts            {"status":"success","data":{"alerts":[{labels, annotations,
//                                    state, activeAt, value, silencedBy (vigil's own, when
//                                    silenced)}]}} (Prometheus /api/v1/alerts)
//   GET    /api/v1/alerts/history[?limit=N]
//                                    {"status":"success","data":{"history":[{name, group, labels,
//                                    annotations, severity, startedAt, firedAt (when it fired),
//                                    endedAt, fired, peakValue, lastValue}]}}: alerts that ended,
//                                    newest first (vigil's own; limit default 50, at most 1000)
//   GET    /api/v1/rules[?type=alert|record]
//                                    {"status":"success","data":{"groups":[{name, file, interval,
//                                    limit, rules:[...], evaluationTime, lastEvaluation}]}}
//   GET    /api/v2/silences[?filter=<matcher>...]   Alertmanager gettableSilences
//   POST   /api/v2/silences          postableSilence -> {"silenceID": id} (create or update)
//   GET    /api/v2/silence/{id}      one gettableSilence (404 when unknown)
//   DELETE /api/v2/silence/{id}      expires it (404 when unknown)
//   GET    /api/v2/status            the minimum of Alertmanager's status (for amtool)
//
//   vigil::admin::Server server({.listen = "127.0.0.1:9464", .admin_token = token});
//   vigil::admin::add_alerting_endpoints(server, manager);
//   server.start();
//   // amtool --alertmanager.url=http://127.0.0.1:9464 silence query
//   // curl -H "Authorization: Bearer $TOKEN" -XDELETE http://127.0.0.1:9464/api/v2/silence/ID
//
// Access: reads follow the server's Access::kDefault rule (public on loopback, the admin token
// on an exposed server when protect_when_exposed); POST and DELETE always need the server's
// admin token (ServerOptions::admin_token), and are refused (403) when it has none. Bad input
// (malformed JSON, an invalid matcher or regex, endsAt not after startsAt, endsAt in the past)
// gets 400, an unknown silence id 404, each with the reason as a JSON string, as Alertmanager
// answers.
//
// Thread-safety: the handlers run on the server's threads and only call the manager's
// thread-safe members.
#pragma once

#include <string>

#include "vigil/admin/server.h"

namespace vigil::alerting {
class AlertManager;
}  // namespace vigil::alerting

namespace vigil::admin {

struct AlertingEndpointOptions {
  // Register the Alertmanager silence endpoints (/api/v2/...).
  bool silences = true;
  // Shown as the groups' "file" in /api/v1/rules (vigil does not keep where a group came from).
  std::string rule_file;
};

// Registers the endpoints on `server`. `manager` is held by reference: it must outlive the
// registrations (stop the server or remove them first). Throws vigil::Error when one of the
// paths is already registered (nothing is registered then).
void add_alerting_endpoints(Server& server, alerting::AlertManager& manager,
                            AlertingEndpointOptions options = {});

}  // namespace vigil::admin
