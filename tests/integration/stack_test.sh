#!/usr/bin/env bash
# integration.stack: scripts/stack.sh runs vigil-demo, Prometheus and Alertmanager together.
#   1. the stack starts and prints where to look (ports read from its banner);
#   2. Prometheus scrapes the demo (up == 1, the demo's series such as agent_requests_total) and
#      has loaded the rule groups of deploy/prometheus/*rules*.yml without evaluation errors;
#   3. during the demo's simulated vector-store outage (early: --outage-every 40 --outage-for
#      34 starts it 6 s in), Alertmanager's /api/v2/alerts holds DependencyDown sent by
#      Prometheus (generatorURL of this Prometheus) and VectorStoreOutage sent by vigil-demo
#      itself (--alertmanager), and the webhook receiver got a notification;
#   4. SIGINT to its process group (Ctrl-C) stops the stack with status 0 and leaves none of its
#      processes behind.
# Scrape and evaluation every second. About 30 s.
#
#   stack_test.sh DEMO STACK_SCRIPT
set -uo pipefail
log() { echo "stack: $*" >&2; }
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

demo=$1
stack=$2
require_executable "$demo"
require_tools prometheus prometheus-alertmanager curl python3

tmp=$(mktemp -d)
stack_pid=
cleanup() {
  stop_process "$stack_pid" stack.sh
  finish_test_dir "$tmp"
}
trap cleanup EXIT
checks=0
pass() {
  checks=$((checks + 1))
  log "ok: $*"
}

# Job control on: the stack runs in its own process group and receives SIGINT as from a
# terminal (without it, bash starts background jobs with SIGINT ignored).
set -m
VIGIL_DEMO="$demo" VIGIL_STACK_DIR="$tmp/stack" VIGIL_STACK_SCRAPE_INTERVAL=1s \
  VIGIL_STACK_EVAL_INTERVAL=1s VIGIL_STACK_DURATION=120 \
  bash "$stack" --outage-every 40 --outage-for 34 --warmup 1 --rate 50 --workers 4 \
  >"$tmp/stack.out" 2>&1 &
stack_pid=$!
set +m

# 1. The banner.
deadline=$((SECONDS + 30))
until grep -q '^stack: running' "$tmp/stack.out"; do
  kill -0 "$stack_pid" 2>/dev/null || fail "stack.sh exited: $(cat "$tmp/stack.out")"
  ((SECONDS < deadline)) || fail "stack.sh did not start within 30 s: $(cat "$tmp/stack.out")"
  sleep 0.2
done
port_of() { sed -n "s#^  $1: *http://127\.0\.0\.1:\([0-9]*\)/.*#\1#p" "$tmp/stack.out"; }
demo_port=$(port_of vigil-demo)
prom_port=$(port_of Prometheus)
am_port=$(port_of Alertmanager)
read -r -a procs < <(sed -n 's/^  Processes: *//p' "$tmp/stack.out" | grep -o '[0-9]\+' | tr '\n' ' ')
[[ -n "$demo_port" && -n "$prom_port" && -n "$am_port" && ${#procs[@]} -eq 4 ]] ||
  fail "cannot read the ports and processes from the banner: $(cat "$tmp/stack.out")"
pass "stack.sh started: demo :$demo_port, Prometheus :$prom_port, Alertmanager :$am_port, pids ${procs[*]}"

prom="http://127.0.0.1:$prom_port"
query() {  # PROMQL: prints the number of series in the result and the first value
  curl -s --max-time 3 -G --data-urlencode "query=$1" "$prom/api/v1/query" | python3 -c '
import json, sys
try:
    d = json.load(sys.stdin)["data"]["result"]
except Exception:
    print(0, "nan"); sys.exit()
print(len(d), d[0]["value"][1] if d else "nan")'
}

# 2. Prometheus has the demo's series and the rules.
deadline=$((SECONDS + 20))
while :; do
  read -r n_up up < <(query 'up{job="vigil-demo"}')
  read -r n_req _ < <(query 'agent_requests_total{job="vigil-demo"}')
  read -r _ n_series < <(query 'count({job="vigil-demo"})')
  [[ "$up" == 1 && "$n_req" -gt 0 && "${n_series%.*}" -gt 100 ]] 2>/dev/null && break
  ((SECONDS < deadline)) ||
    fail "Prometheus does not have the demo's series within 20 s (up=$up, agent_requests_total: $n_req series)"
  sleep 0.5
done
pass "Prometheus scrapes the demo: up 1, $n_req agent_requests_total series, $n_series series in all"

curl -s --max-time 3 "$prom/api/v1/rules" >"$tmp/rules.json"
python3 - "$tmp/rules.json" <<'PY' || fail "the rule groups are not all loaded and healthy"
import json, sys
groups = json.load(open(sys.argv[1]))["data"]["groups"]
names = {g["name"] for g in groups}
need = {"agent-gateway", "agent-gateway-dependencies", "agent-gateway-tools", "agent-gateway-cache",
        "agent-gateway-resources", "agent-gateway-business", "agent-gateway-tokens",
        "agent-gateway-quality", "agent-gateway-availability", "slo:agent-requests",
        "agent-gateway-scrape"}
missing = need - names
assert not missing, f"missing groups {missing}"
bad = [(r["name"], r.get("lastError")) for g in groups for r in g["rules"]
       if r.get("health") not in ("ok", "unknown")]
assert not bad, f"rules with errors: {bad}"

PY
pass "Prometheus loaded the $(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["data"]["groups"]))' "$tmp/rules.json") rule groups of deploy/prometheus without errors"

# 3. The outage alerts reach Alertmanager, from Prometheus and from vigil-demo.
am_alerts() {
  curl -s --max-time 3 "http://127.0.0.1:$am_port/api/v2/alerts" | python3 -c '
import json, sys
prom = sys.argv[1]
try:
    alerts = json.load(sys.stdin)
except Exception:
    sys.exit()
for a in alerts:
    name = a["labels"].get("alertname")
    source = "prometheus" if a.get("generatorURL", "").startswith(prom) else "vigil"
    print(name, source, a["status"]["state"], a["labels"].get("job", "-"))' "$prom"
}
deadline=$((SECONDS + 45))
while :; do
  am_alerts >"$tmp/am.txt"
  if grep -q '^DependencyDown prometheus active vigil-demo$' "$tmp/am.txt" &&
    grep -q '^VectorStoreOutage vigil active' "$tmp/am.txt"; then
    break
  fi
  ((SECONDS < deadline)) || fail "the outage alerts did not reach Alertmanager within 45 s: $(cat "$tmp/am.txt")"
  sleep 1
done
pass "Alertmanager holds DependencyDown from Prometheus and VectorStoreOutage from vigil-demo ($(tr '\n' ';' <"$tmp/am.txt"))"
deadline=$((SECONDS + 15))
until grep -q '"firing"' "$tmp/stack/webhook.jsonl" 2>/dev/null; do
  ((SECONDS < deadline)) || fail "Alertmanager notified no webhook within 15 s"
  sleep 0.5
done
pass "Alertmanager notified the webhook receiver: $(head -1 "$tmp/stack/webhook.jsonl")"

# 4. Ctrl-C: SIGINT to the script's whole process group, as a terminal sends it.
kill -INT -- "-$stack_pid"
deadline=$((SECONDS + 30))
while kill -0 "$stack_pid" 2>/dev/null; do
  ((SECONDS < deadline)) || fail "stack.sh did not stop within 30 s of SIGINT"
  sleep 0.2
done
wait "$stack_pid"
status=$?
stack_pid=
[[ $status -eq 0 ]] || fail "stack.sh exited with $status after SIGINT: $(tail -5 "$tmp/stack.out")"
for pid in "${procs[@]}"; do
  kill -0 "$pid" 2>/dev/null && fail "process $pid of the stack is still running after Ctrl-C"
done
grep -q '^stack: stopped' "$tmp/stack.out" || fail "no 'stopped' line: $(tail -3 "$tmp/stack.out")"
pass "SIGINT stopped the stack (status 0) and its ${#procs[@]} processes"

log "PASS ($checks checks, ${SECONDS}s)"
