// vigil/admin/dashboard_endpoint.h: a live dashboard on the admin server, and the small
// Prometheus-compatible query API its charts read.
//
// Registers (available when vigil is built with VIGIL_BUILD_ALERTING, whose PromQL engine
// evaluates the queries):
//   GET /  and  /dashboard      the page (HTML; its scripts and styles are files under
//                               /dashboard/, embedded into the library at build time)
//   GET /dashboard/config.json  what the page needs: title, poll interval, step, which paths to
//   read GET /api/v1/query           Prometheus' instant query (query, time) GET
//   /api/v1/query_range     Prometheus' range query (query, start, end, step) GET /api/v1/series
//   series matching match[] (start, end) GET /api/v1/labels          label names (match[] optional)
//   GET /api/v1/label/<name>/values
//   GET /api/v1/metadata        families: type, help, unit (metric, limit)
//   GET /api/v1/status/buildinfo
// The query API answers in Prometheus' response shape ({"status":"success","data":...}; errors
// {"status":"error","errorType":"bad_data","error":"..."} with 400, evaluation errors 422), so
// the page, tests and Grafana's Prometheus data source (HTTP method GET) read the same thing.
// /api/v1/query and /api/v1/query_range also take POST with a form body, which needs the admin
// token like every POST. See docs/dashboard.md.
//
// The series come from a short ring of the registry's samples kept here: every
// `sample_interval` (default 5 s) a thread owned by the endpoint samples the registry under
// Prometheus' series names (counters as <name>_total, histograms as <name>_bucket{le} ...), and
// samples older than `retention` (default 15 min) are dropped. At most `max_series` series are
// kept (new ones beyond it are skipped); memory is about 12 bytes per sample plus the labels, i.e.
// at the defaults about 2.5 KB per series (the demo: 480-640 series, 1.7-2.1 MB; 25 MB at
// 10,000 series). Range-query points at or before the last sample never change, so they are
// cached (32 queries, each at most max_points points and 1,000 series): a page polling the same
// charts evaluates only the newest step or two per poll.
//
//   vigil::admin::Server server({.listen = "127.0.0.1:9464"});
//   vigil::admin::add_metrics_endpoint(server, registry);
//   vigil::admin::add_health_endpoints(server, monitor);
//   vigil::admin::add_dashboard_endpoint(server, registry);  // http://127.0.0.1:9464/
//   server.start();
//
// Safety: nothing here mutates. The page and config are public; the /api/v1/ paths follow the
// server's Access::kDefault rule (public GET on loopback, the admin token on an exposed server).
// Every response of the page carries a Content-Security-Policy without 'unsafe-inline' or
// 'unsafe-eval' (no inline script or style), X-Frame-Options DENY and Referrer-Policy
// no-referrer; the page writes every value with textContent.
//
// Thread-safety: the handlers run on the server's threads; the ring is guarded by a
// reader-writer lock (queries read concurrently; a sampling round writes). The registry is held
// by reference and must outlive the registrations and the sampling thread (both end when the
// server is destroyed or the paths are removed, whichever is later).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>

#include "vigil/admin/server.h"

namespace vigil::metrics {
class Registry;
}  // namespace vigil::metrics

namespace vigil::admin {

struct DashboardOptions {
  // Shown in the page's title bar.
  std::string title = "vigil";
  // How often the registry is sampled into the ring; 100 ms to 1 h. Also the page's chart step.
  std::chrono::milliseconds sample_interval{5000};
  // How long samples are kept; at least 2 sample intervals, at most 24 h.
  std::chrono::milliseconds retention{15 * 60 * 1000};
  // Series kept at most (new series beyond it are not sampled); 1 to 1,000,000.
  std::size_t max_series = 10000;
  // Points per series a range query may ask for at most (Prometheus: 11,000).
  std::size_t max_points = 11000;
  // How often the page polls (it starts the next poll only after every reply of the last one).
  std::chrono::milliseconds poll_interval{5000};
  // Paths the page reads; empty hides that panel. A path that answers 404 shows "not served".
  std::string health_path = "/health";
  std::string tracez_path = "/debug/tracez";
  std::string alerts_path = "/api/v1/alerts";
  std::string alert_history_path = "/api/v1/alerts/history";
  std::string silences_path = "/api/v2/silences";
  std::string notifications_path = "/api/v1/notifications";
  // The Guardrails card (vigil/admin/guardrail_endpoints.h); it hides itself when this answers
  // 404 (no guardrail registered).
  std::string guardrails_path = "/api/v1/guardrails";
  // Serve the page at "/" too (it replaces the server's index of registered paths there).
  bool serve_root = true;
  // false: no thread; the ring is sampled when a query arrives and a sample is due (tests).
  bool sample_thread = true;
  // The clock for sample and query times (tests inject one). Null: the system clock.
  std::function<std::chrono::system_clock::time_point()> clock;
};

// Registers the page, its files and the query API on `server`, and starts the sampling thread.
// Throws vigil::Error when an option is out of range or a path is already registered (nothing is
// registered then). Thread-safe like Server::handle. Cost: one sampling round per
// sample_interval (one Registry::collect plus an append per series).
void add_dashboard_endpoint(Server& server, const metrics::Registry& registry,
                            DashboardOptions options = {});

}  // namespace vigil::admin
