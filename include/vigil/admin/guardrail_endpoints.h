// vigil/admin/guardrail_endpoints.h: guardrail monitors over the admin server: their state,
// baselines and verdicts, the audit trail of decisions, and the controls (set a baseline, pause,
// resume).
//
// Registers (available when vigil is built with VIGIL_BUILD_GUARDRAIL):
//   GET  /api/v1/guardrails             {"monitors":[{name, state, mode, baseline, current,
//                                       cohorts:{baseline, canary, watched, comparison_start,
//                                       seen}, thresholds, counters:{checks, triggers,
//                                       action_failures, action_timeouts, consecutive_*},
//                                       last_trigger, rearm_not_before, running, interval_seconds,
//                                       window_seconds, last_verdicts:[decision...],
//                                       audit:{path, ok, error}}]}
//   GET  /api/v1/guardrails/decisions   {"decisions":[decision...]} newest first; query
//                                       parameters monitor, since, until (RFC 3339 or Unix
//                                       seconds), limit (1..max_limit, default 100), result
//                                       (pass|fail|inconclusive|error)
//   GET  /api/v1/guardrails/events      {"events":[{id, time, monitor, kind, detail}]} newest
//                                       first; monitor, since, until, limit as above
//   POST /api/v1/guardrails/<name>/baseline   body: a snapshot {"success_rate": 0.95,
//                                       "p50_latency": .., "p95_latency": .., "p99_latency": ..,
//                                       "error_rate": .., "request_count": ..}, or a window
//                                       {"from": t, "to": t}, or cohorts {"baseline_cohort": "v1",
//                                       "canary_cohort": "v2"}; optional "why"
//   POST /api/v1/guardrails/<name>/pause, .../resume   optional body {"who": "..."}
//
// A decision: {id, time (RFC 3339), monitor, mode, result, reason, metric, threshold, observed,
// baseline, triggered, action (what ran and its outcome in words: "route-to-stable: ok", or
// "none"), actions:[{action, outcome, duration_seconds, started}], conditions:[{metric, result,
// reason, baseline, observed, threshold, statistic, p_value, alpha}], baseline_requests,
// current_requests, window_start, window_end}. Figures that are not numbers (NaN) are null.
//
//   vigil::admin::add_guardrail_endpoints(server, {&monitor});
//   // curl http://127.0.0.1:9464/api/v1/guardrails/decisions?result=fail&limit=5
//   // curl -H "Authorization: Bearer $TOKEN" -XPOST
//   //   http://127.0.0.1:9464/api/v1/guardrails/model-release/pause
//
// Access: reads follow the server's Access::kDefault rule (public on loopback, the admin token
// on an exposed server when protect_when_exposed); POSTs always need the server's admin token
// (refused with 403 when the server has none, 401 without it). Bad input (malformed JSON, an
// unknown field or metric, a value of the wrong type or out of range, a bad query parameter)
// gets 400 and an unknown monitor or operation 404, each with {"status":"error","error":
// "<why>"}.
//
// Thread-safety: the handlers run on the server's threads and only call the monitors'
// thread-safe members.
#pragma once

#include <cstddef>
#include <vector>

#include "vigil/admin/server.h"

namespace vigil::guardrail {
class GuardrailMonitor;
}  // namespace vigil::guardrail

namespace vigil::admin {

struct GuardrailEndpointOptions {
  size_t max_limit = 1000;   // largest `limit` accepted
  size_t last_verdicts = 5;  // decisions shown per monitor in /api/v1/guardrails
};

// Registers the endpoints for `monitors` (not owned: they must outlive the registrations; stop
// the server or remove the paths first). Throws vigil::Error for a null monitor, two monitors of
// the same name, or a path already registered (nothing is registered then).
void add_guardrail_endpoints(Server& server, std::vector<guardrail::GuardrailMonitor*> monitors,
                             GuardrailEndpointOptions options = {});

}  // namespace vigil::admin
