// vigil/admin/metrics_endpoint.h: serve a metrics Registry over the admin server.
//
// Registers GET (and HEAD) <path> on a Server. Each scrape serializes the registry in the format
// the client asks for: the Accept header chooses between Prometheus text 0.0.4, OpenMetrics 1.0
// and JSON (vigil::metrics::negotiate_format), and a `?format=prometheus|openmetrics|json` query
// parameter overrides it (handy from a browser). Large bodies are gzipped for clients that
// accept it, as every admin response is.
//
//   vigil::metrics::Registry registry;
//   vigil::admin::Server server({.listen = "127.0.0.1:9464"});
//   vigil::admin::add_metrics_endpoint(server, registry);  // GET /metrics
//   server.start();
//   // curl -H 'Accept: application/openmetrics-text' http://127.0.0.1:9464/metrics
#pragma once

#include <string>

#include "vigil/admin/server.h"

namespace vigil::metrics {
class Registry;
}  // namespace vigil::metrics

namespace vigil::admin {

// Serves GET <path> with the registry's metrics in the format chosen by the Accept header or a
// `format` query parameter. An unknown `format` value gets 400 listing the valid ones. Responses
// carry `Cache-Control: no-store`.
//
// `registry` is held by reference: it must outlive the server, or the registration (see
// Server::remove). Thread-safe like Server::handle; scrapes run concurrently with recording and
// with each other. Throws vigil::Error when `path` is invalid or already registered.
// Cost per scrape: linear in the number of series (plus gzip for large bodies).
void add_metrics_endpoint(Server& server, const metrics::Registry& registry,
                          std::string path = "/metrics");

}  // namespace vigil::admin
