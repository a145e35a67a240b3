#!/usr/bin/env bash
# tests/integration/demo_guardrail_test.sh: the demo's model release is judged and rolled back by
# the guardrail, and without a release the guardrail stays quiet.
#
#   demo_guardrail_test.sh DEMO_BINARY
#
# Two demos run at the same time on free 127.0.0.1 ports (short intervals through the flags):
#   A. --bad-release-at 5 --guardrail-interval 1 --state DB: within 40 s
#      1. /api/v1/guardrails/decisions lists a decision of "model-release" with result "fail" on
#         success_rate or a latency, that triggered, whose action route-to-stable has outcome "ok";
#      2. the console shows the release, the rollback and the decision with its conditions;
#      3. v2 stops receiving traffic: sum(agent_requests_total{version="v2"}) is > 0 and does not
#         grow over the next 3 s, while v1's does;
#      4. the audit trail is in the --state database (guardrail_decisions has the fail row).
#   B. no --bad-release-at, for 20 s with --guardrail-interval 0.5: the monitor checks (decisions
#      are listed) but none is a failure, and no request is served by v2.
# Every wait is bounded; the demos are stopped on exit whatever happens.
#
# Exit status: 0 passed, 1 failed (with the reason), 77 skipped (curl or python3 missing and CI
# unset).
set -uo pipefail

demo=${1:?usage: demo_guardrail_test.sh DEMO_BINARY}

log() { echo "demo_guardrail_test: $*"; }

# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

require_tools curl python3
require_executable "$demo"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vigil-guardrail-test.XXXXXX")
pid_a=""
pid_b=""

cleanup() {
  local rc=$?
  stop_process "$pid_a" "vigil-demo (release)"
  stop_process "$pid_b" "vigil-demo (no release)"
  if [[ $rc -ne 0 ]]; then
    log "--- last lines of the release demo's log ---"
    tail -n 30 "$tmp/a.log" 2>/dev/null
    log "--- last lines of the quiet demo's log ---"
    tail -n 10 "$tmp/b.log" 2>/dev/null
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

read -r port_a port_b < <(free_ports 2)
[[ -n "$port_a" && -n "$port_b" ]] || fail "could not find free ports"
base_a="http://127.0.0.1:${port_a}"
base_b="http://127.0.0.1:${port_b}"
common_flags=(--rate 120 --workers 8 --outage-every 0 --warmup 0 --no-default-rules)

log "starting the quiet demo (no release) on ${base_b}"
"$demo" --listen "127.0.0.1:${port_b}" --duration 60 "${common_flags[@]}" \
  --guardrail-interval 0.5 >"$tmp/b.log" 2>&1 &
pid_b=$!
started_b=$SECONDS
log "starting the release demo (--bad-release-at 5) on ${base_a}"
"$demo" --listen "127.0.0.1:${port_a}" --duration 60 "${common_flags[@]}" \
  --bad-release-at 5 --release-share 0.3 --guardrail-interval 1 \
  --state "$tmp/state.db" >"$tmp/a.log" 2>&1 &
pid_a=$!
started_a=$SECONDS

# decisions BASE [QUERY]: the decisions JSON into $tmp/decisions.json; false when unavailable.
decisions() {
  local code
  code=$(curl -s --max-time 3 -o "$tmp/decisions.json" -w '%{http_code}' \
    "$1/api/v1/guardrails/decisions?monitor=model-release&limit=1000${2:-}" 2>/dev/null || true)
  [[ "$code" == 200 ]]
}

# The decision that rolled the release back: "<id> <metric> <outcome of route-to-stable>", or
# nothing.
rollback_decision() {
  python3 - "$tmp/decisions.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
ds = doc["decisions"] if isinstance(doc, dict) else doc
for d in ds:
    if d.get("result") != "fail" or not d.get("triggered"):
        continue
    metric = d.get("metric", "")
    if metric != "success_rate" and not metric.endswith("latency"):
        continue
    outcome = "none"
    for a in d.get("actions", []):
        if a.get("action") == "route-to-stable":
            outcome = a.get("outcome", "")
    print(d.get("id"), metric, outcome)
    break
PY
}

# v2_requests BASE: "<v1 total> <v2 total>" from /metrics (0 for a version without series).
requests_by_version() {
  curl -s --max-time 3 "$1/metrics" 2>/dev/null | python3 -c '
import re, sys
totals = {"v1": 0.0, "v2": 0.0}
for line in sys.stdin:
    if not line.startswith("agent_requests_total{"):
        continue
    m = re.search(r"version=\"(v[12])\"", line)
    if m:
        totals[m.group(1)] += float(line.rsplit(" ", 1)[1])
print(int(totals["v1"]), int(totals["v2"]))
'
}

# --- A: the bad release is rolled back ------------------------------------------------------
found=""
while ((SECONDS - started_a < 40)); do
  kill -0 "$pid_a" 2>/dev/null || fail "the release demo exited early"
  if decisions "$base_a" "&result=fail"; then
    found=$(rollback_decision)
    [[ -n "$found" && "$found" != *" none" && "$found" != *" running" ]] && break
  fi
  sleep 0.5
done
[[ -n "$found" ]] || fail "no triggered fail decision on success_rate or a latency within 40 s"
read -r id metric outcome <<<"$found"
[[ "$outcome" == ok ]] || fail "decision $id failed on $metric but route-to-stable's outcome is '$outcome'"
pass "decision $id: fail on $metric at t=$((SECONDS - started_a))s, route-to-stable: ok"

grep -q "RELEASE v2 takes 30% of the traffic" "$tmp/a.log" || fail "the console does not show the release"
grep -q "GUARDRAIL ROLLBACK model-release: v2 failed on" "$tmp/a.log" || fail "the console does not show the rollback"
grep -q "GUARDRAIL FAIL model-release, decision" "$tmp/a.log" ||
  fail "the console does not show the decision"
grep -q "^    action route-to-stable: ok" "$tmp/a.log" || fail "the console does not show the action's outcome"
pass "the console shows the release, the rollback, the decision and its conditions"

read -r v1_before v2_before < <(requests_by_version "$base_a")
[[ "${v2_before:-0}" -gt 0 ]] || fail "v2 never served a request (agent_requests_total{version=\"v2\"})"
sleep 3
read -r v1_after v2_after < <(requests_by_version "$base_a")
[[ "$v2_after" == "$v2_before" ]] ||
  fail "v2 still receives traffic after the rollback: $v2_before then $v2_after requests"
[[ "$v1_after" -gt "$v1_before" ]] || fail "v1 stopped too: $v1_before then $v1_after requests"
pass "v2 stopped at $v2_before requests after the rollback; v1 went on ($v1_before -> $v1_after)"

rows=$(python3 - "$tmp/state.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print(db.execute("SELECT COUNT(*) FROM guardrail_decisions WHERE monitor = 'model-release' "
                 "AND result = 1 AND triggered = 1").fetchone()[0])
PY
)
[[ "${rows:-0}" -ge 1 ]] || fail "the --state database has no triggered fail decision (got '${rows}')"
pass "the audit trail in --state has the triggered fail decision"

# --- B: no release, no failure --------------------------------------------------------------
while ((SECONDS - started_b < 20)); do
  kill -0 "$pid_b" 2>/dev/null || fail "the quiet demo exited early"
  sleep 1
done
decisions "$base_b" || fail "GET /api/v1/guardrails/decisions on the quiet demo failed"
summary=$(python3 - "$tmp/decisions.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
ds = doc["decisions"] if isinstance(doc, dict) else doc
print(len(ds), sum(1 for d in ds if d.get("result") == "fail"))
PY
)
read -r total fails <<<"$summary"
[[ "${total:-0}" -ge 10 ]] || fail "the quiet demo's guardrail made only ${total} decisions in 20 s"
[[ "$fails" == 0 ]] || fail "the quiet demo's guardrail failed ${fails} of ${total} checks"
read -r _ v2_quiet < <(requests_by_version "$base_b")
[[ "$v2_quiet" == 0 ]] || fail "v2 served ${v2_quiet} requests without a release"
! grep -q "GUARDRAIL" "$tmp/b.log" || fail "the quiet demo printed a guardrail line"
pass "without a release: ${total} decisions in 20 s, none a failure, v2 unused"

log "PASS (${checks} checks)"
exit 0
