#!/usr/bin/env bash
# scripts/stack.sh: the whole picture on one machine. Starts vigil-demo (building it when
# needed), a Prometheus that scrapes it and evaluates deploy/prometheus/*rules*.yml, an
# Alertmanager (deploy/alertmanager/alertmanager.yml) that receives Prometheus' alerts and
# vigil-demo's own (--alertmanager), and a small webhook receiver that logs what Alertmanager
# sends. Prometheus and Alertmanager come from Debian (bash scripts/install-deps.sh). Everything
# listens on 127.0.0.1 only, on free ports unless given; data lives in a temporary directory.
# Ctrl-C (or SIGTERM) stops all of it and removes the directory.
#
#   bash scripts/stack.sh                                   # until Ctrl-C
#   bash scripts/stack.sh --outage-every 60 --outage-for 30   # arguments go to vigil-demo
#   VIGIL_STACK_DEMO_PORT=9464 VIGIL_STACK_PROMETHEUS_PORT=9090 bash scripts/stack.sh
#
# Environment (all optional):
#   VIGIL_DEMO                     vigil-demo binary to run (default: build/release/demo/vigil-demo,
#                                  built with cmake when missing or stale)
#   VIGIL_STACK_DEMO_PORT          ports; 0 or unset: a free port each
#   VIGIL_STACK_PROMETHEUS_PORT
#   VIGIL_STACK_ALERTMANAGER_PORT
#   VIGIL_STACK_WEBHOOK_PORT
#   VIGIL_STACK_SCRAPE_INTERVAL    Prometheus scrape interval (default 5s)
#   VIGIL_STACK_EVAL_INTERVAL      Prometheus rule evaluation interval (default 5s)
#   VIGIL_STACK_DURATION           stop after this many seconds (default: until Ctrl-C)
#   VIGIL_STACK_DIR                data directory (default: a new temporary one, removed on exit)
#   VIGIL_STACK_KEEP=1             keep the data directory on exit
#   VIGIL_JOBS                     parallel build jobs (default 2)
# Exit status: 0 after Ctrl-C, SIGTERM or VIGIL_STACK_DURATION; 1 when something does not start
# or a process of the stack dies; 77 when prometheus or prometheus-alertmanager is missing.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
say() { echo "stack: $*"; }
die() {
  echo "stack: error: $*" >&2
  exit 1
}

# --- tools ------------------------------------------------------------------------------------
prometheus_bin=$(command -v prometheus || true)
alertmanager_bin=$(command -v prometheus-alertmanager || command -v alertmanager || true)
python_bin=$(command -v python3 || true)
for pair in "prometheus:$prometheus_bin" "prometheus-alertmanager:$alertmanager_bin" \
  "python3:$python_bin"; do
  if [[ -z "${pair#*:}" ]]; then
    echo "stack: ${pair%%:*} not found: install it with bash scripts/install-deps.sh" >&2
    exit 77
  fi
done

demo="${VIGIL_DEMO:-}"
if [[ -z "$demo" ]]; then
  demo="$root/build/release/demo/vigil-demo"
  jobs=${VIGIL_JOBS:-2}
  if [[ ! -f "$root/build/release/build.ninja" && ! -f "$root/build/release/Makefile" ]]; then
    say "configuring build/release (cmake --preset release)"
    (cd "$root" && cmake --preset release >/dev/null) || die "cmake configure failed"
  fi
  say "building vigil-demo (-j${jobs})"
  (cd "$root" && cmake --build build/release --target vigil-demo -j "$jobs" >/dev/null) ||
    die "building vigil-demo failed (run: cmake --build build/release --target vigil-demo)"
fi
[[ -x "$demo" ]] || die "vigil-demo binary '$demo' is not executable"

# --- ports and directory ----------------------------------------------------------------------
free_ports() {  # N: N distinct free 127.0.0.1 ports
  "$python_bin" - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(*[s.getsockname()[1] for s in socks])
for s in socks:
    s.close()
PY
}
read -r p1 p2 p3 p4 < <(free_ports 4)
demo_port=${VIGIL_STACK_DEMO_PORT:-0}
prom_port=${VIGIL_STACK_PROMETHEUS_PORT:-0}
am_port=${VIGIL_STACK_ALERTMANAGER_PORT:-0}
hook_port=${VIGIL_STACK_WEBHOOK_PORT:-0}
[[ "$demo_port" == 0 ]] && demo_port=$p1
[[ "$prom_port" == 0 ]] && prom_port=$p2
[[ "$am_port" == 0 ]] && am_port=$p3
[[ "$hook_port" == 0 ]] && hook_port=$p4
scrape=${VIGIL_STACK_SCRAPE_INTERVAL:-5s}
evaluate=${VIGIL_STACK_EVAL_INTERVAL:-5s}

remove_dir=0
if [[ -n "${VIGIL_STACK_DIR:-}" ]]; then
  dir=$VIGIL_STACK_DIR
  mkdir -p "$dir" || die "cannot create $dir"
else
  dir=$(mktemp -d "${TMPDIR:-/tmp}/vigil-stack.XXXXXX") || die "mktemp failed"
  remove_dir=1
fi
[[ "${VIGIL_STACK_KEEP:-0}" == 1 ]] && remove_dir=0

# --- stopping ---------------------------------------------------------------------------------
pids=()
names=()
stopping=0
stop_all() {
  local i pid n
  [[ $stopping == 1 ]] && return
  stopping=1
  # Reverse order: the demo first (it resolves its alerts in Alertmanager), the receiver last.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    pid=${pids[$i]}
    kill -TERM "$pid" 2>/dev/null || continue
    for ((n = 0; n < 100; n++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      say "${names[$i]} (pid $pid) did not stop within 10 s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
  done
  if [[ $remove_dir == 1 ]]; then
    rm -rf "$dir"
  else
    say "data and logs kept in $dir"
  fi
}
on_signal() {
  echo
  say "stopping"
  stop_all
  say "stopped"
  exit 0
}
trap on_signal INT TERM
trap stop_all EXIT

# Each process runs in a session of its own (setsid), so a Ctrl-C in the terminal reaches only
# this script, which then stops them in order; without it Prometheus and Alertmanager would also
# take the terminal's SIGINT and exit on their own while the script is still watching them.
setsid_bin=$(command -v setsid || true)
start() {  # NAME LOG COMMAND...
  local name=$1 logfile=$2
  shift 2
  if [[ -n "$setsid_bin" ]]; then
    "$setsid_bin" "$@" >"$logfile" 2>&1 &
  else
    "$@" >"$logfile" 2>&1 &
  fi
  pids+=($!)
  names+=("$name")
}

wait_http() {  # NAME URL PID: until URL answers 200 (30 s)
  local deadline=$((SECONDS + 30))
  until curl -fs --max-time 2 -o /dev/null "$2" 2>/dev/null; do
    kill -0 "$3" 2>/dev/null || die "$1 exited: see $dir/$1.log: $(tail -5 "$dir/$1.log")"
    ((SECONDS < deadline)) || die "$1 did not answer $2 within 30 s (log: $dir/$1.log)"
    sleep 0.2
  done
}
command -v curl >/dev/null 2>&1 || die "curl not found (bash scripts/install-deps.sh)"

# --- configuration ----------------------------------------------------------------------------
# Prometheus: the demo's scrape job and the rule files of deploy/prometheus/prometheus.yml, with
# this stack's ports and intervals.
cat >"$dir/prometheus.yml" <<EOF
# Written by scripts/stack.sh from deploy/prometheus/prometheus.yml (ports and intervals of
# this run).
global:
  scrape_interval: $scrape
  scrape_timeout: $scrape
  evaluation_interval: $evaluate
rule_files:
  - $root/deploy/prometheus/alert_rules.yml
  - $root/deploy/prometheus/slo_rules.yml
  - $root/deploy/prometheus/scrape_rules.yml
alerting:
  alertmanagers:
    - api_version: v2
      static_configs:
        - targets: ['127.0.0.1:$am_port']
scrape_configs:
  - job_name: vigil-demo
    static_configs:
      - targets: ['127.0.0.1:$demo_port']
        labels:
          service: agent-gateway
          env: demo
  - job_name: prometheus
    static_configs:
      - targets: ['127.0.0.1:$prom_port']
EOF
# Alertmanager: deploy/alertmanager/alertmanager.yml with its webhooks on this run's receiver.
sed "s#127\.0\.0\.1:5001#127.0.0.1:${hook_port}#g" "$root/deploy/alertmanager/alertmanager.yml" \
  >"$dir/alertmanager.yml"

# The webhook receiver: one line per notification in webhook.jsonl.
cat >"$dir/webhook.py" <<'PY'
import json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
out = open(sys.argv[2], "a", encoding="utf-8")
class Hook(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            doc = json.loads(body)
            line = {"path": self.path, "status": doc.get("status"),
                    "alerts": [a.get("labels", {}).get("alertname") for a in doc.get("alerts", [])]}
        except ValueError:
            line = {"path": self.path, "invalid": True}
        out.write(json.dumps(line) + "\n")
        out.flush()
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
HTTPServer(("127.0.0.1", int(sys.argv[1])), Hook).serve_forever()
PY

# --- start ------------------------------------------------------------------------------------
say "data directory $dir"
start webhook "$dir/webhook.log" "$python_bin" "$dir/webhook.py" "$hook_port" "$dir/webhook.jsonl"
start alertmanager "$dir/alertmanager.log" "$alertmanager_bin" \
  --config.file="$dir/alertmanager.yml" --storage.path="$dir/alertmanager" \
  --web.listen-address="127.0.0.1:$am_port" --cluster.listen-address=
wait_http alertmanager "http://127.0.0.1:$am_port/-/ready" "${pids[1]}"
start prometheus "$dir/prometheus.log" "$prometheus_bin" \
  --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/prometheus" \
  --web.listen-address="127.0.0.1:$prom_port" --web.external-url="http://127.0.0.1:$prom_port/"
wait_http prometheus "http://127.0.0.1:$prom_port/-/ready" "${pids[2]}"
start demo "$dir/demo.log" "$demo" --listen "127.0.0.1:$demo_port" \
  --alertmanager "http://127.0.0.1:$am_port" "$@"
wait_http demo "http://127.0.0.1:$demo_port/health/live" "${pids[3]}"

cat <<EOF
stack: running (Ctrl-C stops everything)
  vigil-demo:    http://127.0.0.1:$demo_port/   metrics /metrics, health /health/ready, alerts /api/v1/alerts
  Prometheus:    http://127.0.0.1:$prom_port/   alerts /alerts, rules /rules, targets /targets
                 e.g. http://127.0.0.1:$prom_port/graph?g0.expr=sum%20by%20(status)%20(rate(agent_requests_total%5B1m%5D))
  Alertmanager:  http://127.0.0.1:$am_port/     API /api/v2/alerts (amtool --alertmanager.url=http://127.0.0.1:$am_port alert)
  Webhook:       http://127.0.0.1:$hook_port/   notifications logged to $dir/webhook.jsonl
  Logs:          $dir/{demo,prometheus,alertmanager,webhook}.log
  Processes:     webhook ${pids[0]}, alertmanager ${pids[1]}, prometheus ${pids[2]}, demo ${pids[3]}
EOF

# --- run --------------------------------------------------------------------------------------
end=0
[[ -n "${VIGIL_STACK_DURATION:-}" ]] && end=$((SECONDS + VIGIL_STACK_DURATION))
while :; do
  for i in "${!pids[@]}"; do
    if ! kill -0 "${pids[$i]}" 2>/dev/null; then
      echo "stack: error: ${names[$i]} exited; its log:" >&2
      tail -20 "$dir/${names[$i]}.log" >&2
      exit 1
    fi
  done
  if ((end > 0 && SECONDS >= end)); then
    say "VIGIL_STACK_DURATION reached: stopping"
    stop_all
    say "stopped"
    exit 0
  fi
  sleep 0.5
done
