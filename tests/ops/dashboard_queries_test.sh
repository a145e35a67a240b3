#!/usr/bin/env bash
# tests/ops/dashboard_queries_test.sh: every query of the checked-in demo dashboards runs on a
# real Prometheus scraping vigil-demo, and returns series.
#
#   dashboard_queries_test.sh DEMO_BINARY PROMETHEUS_BINARY DASHBOARD_DIR
#
# Starts vigil-demo (with a webhook and an Alertmanager to deliver to, both closed ports, so the
# delivery families the dashboards show exist) and Prometheus scraping it every second (both on
# free 127.0.0.1 ports), waits until rate() over the last 10 s has data, then runs each target's
# query with the dashboard variables substituted ($job=vigil-demo, $instance=.*,
# $__rate_interval=10s). Fails when a query is refused or when one returns no series, except the
# queries of series that need what this run does not have (Prometheus alert rules, failing
# rule evaluations). Bounded waits; the processes started here are stopped on exit.
# Exit status: 0 passed, 1 failed, 77 skipped (prometheus, curl or python3 missing; CI unset).
set -uo pipefail
demo=${1:?usage: dashboard_queries_test.sh DEMO_BINARY PROMETHEUS_BINARY DASHBOARD_DIR}
prometheus=${2:?}
dashboards=${3:?}

log() { echo "dashboard_queries_test: $*"; }
# shellcheck source=../integration/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../integration/common.sh"
require_tools "$prometheus" curl python3
require_executable "$demo"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vigil-dashboard-queries.XXXXXX")
demo_pid=""
prom_pid=""
cleanup() {
  local rc=$?
  stop_process "$prom_pid" prometheus
  stop_process "$demo_pid" vigil-demo
  if [[ $rc -ne 0 ]]; then
    tail -n 20 "$tmp/demo.log" "$tmp/prometheus.log" 2>/dev/null
  fi
  finish_test_dir "$tmp"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

read -r demo_port prom_port closed_port < <(free_ports 3)
cat >"$tmp/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: vigil-demo
    static_configs:
      - targets: ['127.0.0.1:${demo_port}']
YAML
# --bad-release-at 2: a model release the guardrail rolls back a few seconds later, so the
# guardrail panels (triggers, rollback action duration) have series.
env -i PATH="$PATH" "$demo" --listen "127.0.0.1:${demo_port}" --duration 120 --bad-release-at 2 \
  --webhook "http://127.0.0.1:${closed_port}/" --alertmanager "http://127.0.0.1:${closed_port}" \
  >"$tmp/demo.log" 2>&1 &
demo_pid=$!
"$prometheus" --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/data" \
  --web.listen-address="127.0.0.1:${prom_port}" >"$tmp/prometheus.log" 2>&1 &
prom_pid=$!

python3 - "http://127.0.0.1:${prom_port}" "$dashboards" <<'PY'
import glob, json, sys, time, urllib.parse, urllib.request

base, folder = sys.argv[1], sys.argv[2]
# Series this run cannot have: Prometheus evaluates no alert rules here, and the demo's rules
# evaluate without failures.
MAY_BE_EMPTY = {"Firing alerts by name (Prometheus)",
                "vigil_alerting_rule_evaluation_failures per second"}


def query(expr):
    url = base + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        return json.loads(e.read() or b"{}")


deadline = time.time() + 60
probe = 'rate(agent_requests_total{job="vigil-demo"}[10s])'
while True:
    try:
        if query(probe).get("data", {}).get("result"):
            break
    except OSError:
        pass
    if time.time() > deadline:
        sys.exit("dashboard_queries_test: FAIL: no rate() data from Prometheus after 60 s")
    time.sleep(1)
time.sleep(12)  # a few delivery attempts and health check runs

total, failures, empty = 0, [], []
for path in sorted(glob.glob(folder + "/*.json")):
    d = json.load(open(path))
    for p in d["panels"]:
        for t in p.get("targets", []):
            expr = (t["expr"].replace("$__rate_interval", "10s")
                    .replace("$job", "vigil-demo").replace("$instance", ".*"))
            total += 1
            r = query(expr)
            if r.get("status") != "success":
                failures.append(f'{d["title"]} / {p["title"]}: {r.get("error")}: {expr}')
            elif not r["data"]["result"] and p["title"] not in MAY_BE_EMPTY:
                empty.append(f'{d["title"]} / {p["title"]}: {expr}')
for f in failures:
    print("dashboard_queries_test: refused:", f)
for e in empty:
    print("dashboard_queries_test: no series:", e)
print(f"dashboard_queries_test: {total} queries, {len(failures)} refused, {len(empty)} without series")
sys.exit(1 if failures or empty else 0)
PY
