// tests/guardrail/guide_snapshots.h: guide 000's snapshots (milliseconds), shared by the
// monitor's tests and the admin endpoint tests: its baseline, its bad current figures (success
// rate 10 points lower: triggers), and a healthy current.
#pragma once

#include "vigil/guardrail/snapshot.h"

namespace vigil::guardrail::testing {

inline const PerformanceSnapshot kGuideBaseline{
    .success_rate = 0.95, .p50_latency = 700, .p95_latency = 1500, .error_rate = 0.02};
inline const PerformanceSnapshot kGuideBad{
    .success_rate = 0.85, .p50_latency = 720, .p95_latency = 1600, .error_rate = 0.03};
inline const PerformanceSnapshot kGuideGood{
    .success_rate = 0.95, .p50_latency = 705, .p95_latency = 1520, .error_rate = 0.02};

}  // namespace vigil::guardrail::testing
