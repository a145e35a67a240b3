// vigil/admin/notification_endpoints.h: where alerts go, over the admin server: the dispatcher's
// receivers (delivery outcomes, queues, last errors), its aggregation groups in Alertmanager's
// shape, and the Alertmanager instances alerts are posted to in Prometheus' shape.
//
// Registers (available when vigil is built with VIGIL_BUILD_ALERTING), for the sources given:
//   GET /api/v1/notifications     {"status":"success","data":{"receivers":[{name, queued,
//                                 integrations:[{integration, index, sent, failed, retried,
//                                 dropped, lastError, lastSuccess, lastAttempt}]}], alerts,
//                                 alertsDropped, inhibited, redelivered, log:{ok, error},
//                                 alertmanagers:[...]}}   (dispatcher and/or Alertmanager client)
//   GET /api/v2/alerts/groups     Alertmanager's alertGroups: [{labels, receiver:{name},
//                                 alerts:[gettableAlert]}]                   (dispatcher)
//   GET /api/v1/alertmanagers     Prometheus' {"status":"success","data":{"activeAlertmanagers":
//                                 [{"url": ...}], "droppedAlertmanagers": []}}, each active one
//                                 with vigil's counts added (sent, errors, lastError,
//                                 lastSuccess)                               (Alertmanager client)
//
//   vigil::admin::add_notification_endpoints(server, {.dispatcher = &dispatcher,
//                                                     .alertmanagers = &client});
//
// Nothing here mutates; reads follow the server's Access::kDefault rule. Errors and URLs never
// carry secrets (the sources strip them). Thread-safety: handlers call only thread-safe members.
#pragma once

#include "vigil/admin/server.h"

namespace vigil::alerting {
class Dispatcher;
class AlertmanagerClient;
}  // namespace vigil::alerting

namespace vigil::admin {

struct NotificationEndpointSources {
  alerting::Dispatcher* dispatcher = nullptr;             // not owned; may be null
  alerting::AlertmanagerClient* alertmanagers = nullptr;  // not owned; may be null
};

// Registers the endpoints whose source is set (both null: /api/v1/notifications answers with
// empty lists). The sources must outlive the registrations. Throws vigil::Error when a path is
// already registered (nothing is registered then).
void add_notification_endpoints(Server& server, NotificationEndpointSources sources);

}  // namespace vigil::admin
