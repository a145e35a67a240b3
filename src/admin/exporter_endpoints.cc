// The push export engine's endpoint (see vigil/admin/exporter_endpoints.h).
#include "vigil/admin/exporter_endpoints.h"

#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "core/detail/rfc3339.h"
#include "routes.h"
#include "vigil/exporters/metric_exporter.h"

namespace vigil::admin {

namespace {

using Json = nlohmann::ordered_json;

// Unix seconds as RFC 3339 (milliseconds), or null for 0 (never).
Json time_or_null(double unix_seconds) {
  if (!(unix_seconds > 0) || !std::isfinite(unix_seconds)) return nullptr;
  const auto ns = std::chrono::nanoseconds(static_cast<int64_t>(std::llround(unix_seconds * 1e9)));
  const std::chrono::system_clock::time_point t(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(ns));
  return vigil::detail::format_rfc3339(t, true);
}

double seconds(std::chrono::milliseconds d) { return static_cast<double>(d.count()) / 1000.0; }

Response exporters_handler(const exporters::PeriodicExporter& engine) {
  Json list = Json::array();
  for (const exporters::ExporterStatus& s : engine.status()) {
    Json e;
    e["name"] = s.name;
    e["exports"] = s.exports;
    e["failures"] = s.failures;
    e["retries"] = s.retries;
    e["points"] = s.points;
    e["droppedPoints"] = s.dropped_points;
    e["bytes"] = s.bytes;
    e["skipped"] = s.skipped;
    e["lastError"] = s.last_error;
    e["lastSuccess"] = time_or_null(s.last_success);
    e["lastAttempt"] = time_or_null(s.last_attempt);
    e["lastDuration"] = s.last_duration;
    e["busy"] = s.busy;
    list.push_back(std::move(e));
  }
  Json data;
  data["interval"] = seconds(engine.options().interval);
  data["timeout"] = seconds(engine.options().timeout);
  data["exporters"] = std::move(list);
  Json body;
  body["status"] = "success";
  body["data"] = std::move(data);
  Response r;
  r.content_type = "application/json";
  r.body = body.dump(-1, ' ', false, Json::error_handler_t::replace);
  return r;
}

}  // namespace

void add_exporter_endpoints(Server& server, const exporters::PeriodicExporter& engine) {
  const exporters::PeriodicExporter* e = &engine;
  std::vector<detail::RouteSpec> routes;
  routes.push_back({"/api/v1/exporters",
                    false,
                    {"GET"},
                    [e](const Request&) { return exporters_handler(*e); },
                    "metric push exporters: exports, failures, points, bytes, last error"});
  detail::add_routes(server, std::move(routes));
}

}  // namespace vigil::admin
