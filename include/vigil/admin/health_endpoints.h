// vigil/admin/health_endpoints.h: serve a HealthMonitor's probes over the admin server.
//
// Registers, under `path` (default "/health"):
//   GET /health/live      liveness   (Kubernetes livenessProbe)
//   GET /health/ready     readiness  (readinessProbe, load balancers)
//   GET /health/startup   startup    (startupProbe)
//   GET /health           every check
//   GET /health/<group>   a user-defined group (404 for a group without checks)
// Each answers `application/health+json` (vigil::health::to_json) with HTTP 200 when the status
// is pass or warn and 503 when it is fail, and `Cache-Control: no-store`. HEAD works too.
//
//   vigil::health::HealthMonitor monitor({.service_id = "agent-gateway", .version = "1.4.2"});
//   vigil::admin::Server server({.listen = "0.0.0.0:9464"});
//   vigil::admin::add_health_endpoints(server, monitor, {.bearer_token = token});
//   server.start();
//   // curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:9464/health/ready
//
// Detail: by default everyone sees full details on a server bound to loopback. On an exposed
// server (any other address), or when a bearer token or an `authenticate` predicate is set,
// callers that do not authenticate (here or with the server's admin token) get the status only
// ({"status":"pass","overall_status":"healthy"}) unless unauthenticated_detail says otherwise;
// the HTTP status code is the same for both, so probes need no credentials.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "vigil/admin/server.h"
#include "vigil/health/report.h"

namespace vigil::health {
class HealthMonitor;
}  // namespace vigil::health

namespace vigil::admin {

struct HealthEndpointOptions {
  // Base path; the probes are <path>/live, <path>/ready, <path>/startup, <path>/<group>.
  std::string path = "/health";
  // A request whose Authorization header is "Bearer <token>" is authenticated (compared in
  // constant time). Empty: no token.
  std::string bearer_token;
  // A request for which this returns true is authenticated (e.g. checks a client certificate
  // header set by a proxy, or the remote address). Called on server threads: thread-safe.
  // An exception from it counts as not authenticated.
  std::function<bool(const Request&)> authenticate;
  // Detail for requests that are not authenticated. Default: kStatusOnly when a token or a
  // predicate is set or the server is exposed (Request::exposed), kFull otherwise. Requests
  // authenticated here or with the server's admin token (Request::authenticated) get kFull.
  std::optional<health::Detail> unauthenticated_detail;
  // Also serve user-defined groups at <path>/<group>.
  bool group_endpoints = true;
};

// Registers the endpoints on `server`. `monitor` is held by reference: it must outlive the
// registrations (remove them with Server::remove, or stop the server, before destroying it).
// Throws vigil::Error when `path` is invalid or one of the paths is already registered
// (nothing is registered then). Thread-safe like Server::handle.
// Cost per request: one evaluation (see HealthMonitor::evaluate) plus serialization.
void add_health_endpoints(Server& server, health::HealthMonitor& monitor,
                          HealthEndpointOptions options = {});

}  // namespace vigil::admin
