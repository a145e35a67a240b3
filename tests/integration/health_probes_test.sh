#!/usr/bin/env bash
# tests/integration/health_probes_test.sh: the demo's health probes behave as Kubernetes needs
# during a dependency outage.
#
#   health_probes_test.sh DEMO_BINARY
#
# Starts vigil-demo on a free 127.0.0.1 port with a short, frequent vector store outage
# (--outage-every 10 --outage-for 4, warm-up 2 s) and polls with curl:
#   1. /health/startup and /health/ready answer 503 during the warm-up, then 200;
#   2. /health/ready turns 503 when the vector store goes down (its check fails twice), with
#      application/health+json naming vector_store, and vigil_health_check_status shows 0;
#   3. /health/ready returns to 200 when it is back;
#   4. /health/live answers 200 on every poll throughout, and every probe answers quickly.
# Every wait is bounded; the demo is killed on exit whatever happens.
#
# Exit status: 0 passed, 1 failed (with the reason), 77 skipped (curl or python3 missing and CI
# unset).
set -uo pipefail

demo=${1:?usage: health_probes_test.sh DEMO_BINARY}

log() { echo "health_probes_test: $*"; }

# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

require_tools curl python3
require_executable "$demo"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vigil-health-test.XXXXXX")
demo_pid=""
started=$SECONDS

cleanup() {
  local rc=$?
  stop_process "$demo_pid" vigil-demo
  if [[ $rc -ne 0 ]]; then
    log "--- last lines of the vigil-demo log ---"
    tail -n 20 "$tmp/demo.log" 2>/dev/null
    log "--- last probes ---"
    tail -n 20 "$tmp/probes.log" 2>/dev/null
  fi
  finish_test_dir "$tmp"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

checks=0
pass() {
  checks=$((checks + 1))
  log "ok: $*"
}

port=$(free_ports 1)
[[ -n "$port" ]] || fail "could not find a free port"
base="http://127.0.0.1:${port}"

log "starting $demo --listen 127.0.0.1:${port} --outage-every 10 --outage-for 4 --warmup 2"
"$demo" --listen "127.0.0.1:${port}" --duration 90 --rate 50 --workers 4 \
  --outage-every 10 --outage-for 4 --warmup 2 >"$tmp/demo.log" 2>&1 &
demo_pid=$!

# probe PATH: prints the HTTP status code (000 when the request failed); the body goes to
# $tmp/last.json. Every probe must answer within 3 s (the checks refresh in the background).
probe() {
  curl -s --max-time 3 -o "$tmp/last.json" -w '%{http_code}' "${base}$1" 2>/dev/null || true
}

# The server is up.
deadline=$((SECONDS + 15))
until [[ "$(probe /health/live)" == 200 ]]; do
  kill -0 "$demo_pid" 2>/dev/null || fail "vigil-demo exited early: $(cat "$tmp/demo.log")"
  ((SECONDS < deadline)) || fail "/health/live did not answer 200 within 15 s"
  sleep 0.2
done
pass "/health/live answers 200"

ct=$(curl -s --max-time 3 -o "$tmp/live.json" -w '%{content_type}' "${base}/health/live")
[[ "$ct" == "application/health+json" ]] || fail "/health/live Content-Type is '${ct}'"
python3 - "$tmp/live.json" <<'EOF' || fail "/health/live body has the wrong shape (see above)"
import json, sys
doc = json.load(open(sys.argv[1], encoding="utf-8"))
problems = []
for key in ("status", "overall_status", "version", "serviceId", "checks", "uptime_seconds"):
    if key not in doc:
        problems.append(f"no '{key}'")
if doc.get("status") != "pass":
    problems.append(f"status is {doc.get('status')!r}")
if "dispatch_loop:heartbeat" not in doc.get("checks", {}):
    problems.append("no dispatch_loop:heartbeat check")
for key, entries in doc.get("checks", {}).items():
    if not isinstance(entries, list) or not entries:
        problems.append(f"checks[{key!r}] is not a non-empty array")
        continue
    for field in ("status", "time", "duration_ms"):
        if field not in entries[0]:
            problems.append(f"checks[{key!r}][0] has no '{field}'")
for p in problems:
    print("live:", p)
sys.exit(1 if problems else 0)
EOF
pass "/health/live is application/health+json with status, version, serviceId, checks"

# Poll every 0.25 s: ready must go 200 (after the warm-up), then 503 (outage), then 200 again,
# while live stays 200 on every poll.
phase=warmup
saw_warmup_503=0
live_polls=0
deadline=$((SECONDS + 45))
: >"$tmp/probes.log"
while ((SECONDS < deadline)); do
  kill -0 "$demo_pid" 2>/dev/null || fail "vigil-demo exited during the test"
  live=$(probe /health/live)
  live_polls=$((live_polls + 1))
  [[ "$live" == 200 ]] || fail "/health/live answered ${live} during phase '${phase}' (must stay 200)"
  ready=$(probe /health/ready)
  cp "$tmp/last.json" "$tmp/ready.json" 2>/dev/null
  echo "t=$((SECONDS - started))s phase=${phase} live=${live} ready=${ready}" >>"$tmp/probes.log"
  case "$phase:$ready" in
    warmup:503)
      saw_warmup_503=1
      ;;
    warmup:200)
      pass "/health/ready answers 200 once started (503 during the warm-up seen: ${saw_warmup_503})"
      [[ "$(probe /health/startup)" == 200 ]] || fail "/health/startup is not 200 after the warm-up"
      pass "/health/startup answers 200 after the warm-up"
      phase=up
      ;;
    up:503)
      python3 - "$tmp/ready.json" <<'EOF' || fail "the 503 body does not blame the vector store"
import json, sys
doc = json.load(open(sys.argv[1], encoding="utf-8"))
vs = doc["checks"]["vector_store:responseTime"][0]
assert doc["status"] == "fail" and doc["overall_status"] == "unhealthy", doc["status"]
assert vs["status"] == "fail", vs
assert "connection refused" in vs["output"], vs["output"]
assert "vector_store" in doc["output"], doc["output"]
print("ready during the outage:", doc["output"])
EOF
      pass "/health/ready answers 503 during the outage, blaming vector_store"
      metrics=$(curl -s --max-time 3 "${base}/metrics")
      grep -q '^vigil_health_check_status{check="vector_store",group="readiness"} 0$' <<<"$metrics" ||
        fail "vigil_health_check_status for vector_store is not 0 during the outage"
      grep -q '^vigil_health_status{group="readiness"} 0$' <<<"$metrics" ||
        fail "vigil_health_status{group=\"readiness\"} is not 0 during the outage"
      grep -q '^vigil_health_status{group="liveness"} 1$' <<<"$metrics" ||
        fail "vigil_health_status{group=\"liveness\"} is not 1 during the outage"
      pass "the metrics show the outage (vector_store 0, readiness 0, liveness 1)"
      phase=down
      ;;
    down:200)
      pass "/health/ready is back to 200 after the outage"
      phase=recovered
      break
      ;;
    up:200 | down:503) ;;
    *)
      fail "unexpected /health/ready answer '${ready}' in phase '${phase}'"
      ;;
  esac
  sleep 0.25
done
[[ "$phase" == recovered ]] || fail "timed out in phase '${phase}' (see the probes below)"
pass "/health/live answered 200 on all ${live_polls} polls"

grep -q 'vector_store is DOWN' "$tmp/demo.log" || fail "the demo did not log the outage"
code=$(probe /health/dependencies)
[[ "$code" == 200 || "$code" == 503 ]] || fail "/health/dependencies answered ${code}"
[[ "$(probe /health/nonexistent)" == 404 ]] || fail "/health/nonexistent is not 404"
pass "/health/dependencies answers, an unknown group is 404"

log "PASS: ${checks} checks in $((SECONDS - started))s"
