// vigil/admin/exporter_endpoints.h: the push export engine over the admin server: each metric
// exporter's outcomes (exports, failures, retries, points, dropped points, bytes, skipped
// snapshots, last error, last success), as the dashboard and operators read them.
//
// Registers (available when vigil is built with VIGIL_BUILD_EXPORTERS):
//   GET /api/v1/exporters   {"status":"success","data":{"interval":10.0,"timeout":5.0,
//                           "exporters":[{"name":"statsd","exports":12,"failures":0,
//                           "retries":0,"points":5400,"droppedPoints":0,"bytes":81234,
//                           "skipped":0,"lastError":"","lastSuccess":"2026-11-30T13:00:10.123Z",
//                           "lastAttempt":"2026-11-30T13:00:10.120Z","lastDuration":0.003,
//                           "busy":false}]}}
// interval, timeout and lastDuration are in seconds; lastSuccess and lastAttempt are RFC 3339
// (UTC, milliseconds) or null when it never happened. Exporters are listed in the order they
// were added.
//
//   vigil::exporters::PeriodicExporter engine(registry, {.interval = std::chrono::seconds(10)});
//   vigil::admin::add_exporter_endpoints(server, engine);
//
// Nothing here mutates; reads follow the server's Access::kDefault rule. Errors shown are the
// exporters' own, which never carry secrets (API keys, passwords). Thread-safety: the handler
// calls only PeriodicExporter::status() and options(), which are thread-safe.
#pragma once

#include "vigil/admin/server.h"

namespace vigil::exporters {
class PeriodicExporter;
}  // namespace vigil::exporters

namespace vigil::admin {

// Registers GET /api/v1/exporters for `engine`, which must outlive the registration (or the
// server). Throws vigil::Error when the path is already registered (nothing is registered then).
void add_exporter_endpoints(Server& server, const exporters::PeriodicExporter& engine);

}  // namespace vigil::admin
