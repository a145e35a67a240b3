#!/usr/bin/env bash
# End-to-end alert delivery latency (issue 10, section 6): the time from a metric's change to
# the notification arriving at a webhook receiver, for real Prometheus + real Alertmanager, and
# (section marked below) for vigil on the same machine.
#
#   bench/delivery_e2e_compare.sh [BUILD_DIR] [REPETITIONS]
#     BUILD_DIR    build/release (used by the vigil side)
#     REPETITIONS  flips measured (default 10)
#
# Prometheus side: a tiny exporter and webhook receiver in one Python process (http.server on
# 127.0.0.1) serves a gauge bench_flip{rep="N"}; at a known time (recorded by the exporter when
# it switches) repetition N's gauge goes to 1. Prometheus (Debian's 2.42) scrapes it every 1 s
# and evaluates `bench_flip == 1` (for: 0) every 1 s, and sends to Alertmanager (0.25) with
# group_wait 0, grouped by every label (each repetition is a new group: no group_interval wait),
# whose webhook receiver is the same Python process, which records the arrival time. The delay
# flip -> arrival is reported per repetition, then median and max. Between repetitions the
# previous gauge returns to 0 and the script waits 1.5-2.5 s (random), so that flips fall at
# different phases of the scrape and evaluation ticks. Everything on 127.0.0.1, temporary
# directories, processes stopped at exit.
set -euo pipefail
BUILD=${1:-build/release}
REPS=${2:-10}
PROMETHEUS=${PROMETHEUS:-/usr/bin/prometheus}
ALERTMANAGER=${ALERTMANAGER:-$(command -v alertmanager || command -v prometheus-alertmanager || true)}
PYTHON=${PYTHON:-python3}
[[ -x "$PROMETHEUS" ]] || { echo "prometheus not found (PROMETHEUS=...)"; exit 1; }
[[ -n "$ALERTMANAGER" && -x "$ALERTMANAGER" ]] || { echo "alertmanager not found (ALERTMANAGER=...)"; exit 1; }

tmp=$(mktemp -d)
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT

free_port() {
  "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_ready() {  # wait_ready URL NAME: up to 20 s for a 200
  for _ in $(seq 200); do
    curl -sf -o /dev/null "$1" && return 0
    sleep 0.1
  done
  echo "$2 did not become ready ($1)"
  exit 1
}

# ---- the exporter + webhook receiver (one process, one port)
#   GET  /metrics          bench_flip{rep="N"} for every repetition started (1 for the current)
#   POST /flip?rep=N       repetition N's gauge goes to 1 (the previous ones to 0); time recorded
#   POST /hook             an Alertmanager (or vigil) webhook: arrival time per firing rep
#   GET  /delay?rep=N      seconds from flip to the first arrival, or "pending"
cat >"$tmp/receiver.py" <<'PY'
import json, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse, parse_qs

lock = threading.Lock()
flips = {}     # rep -> flip time
arrivals = {}  # rep -> first arrival time
current = None

class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass
    def reply(self, code, body, ctype="text/plain"):
        b = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
    def do_GET(self):
        u = urlparse(self.path)
        if u.path == "/metrics":
            with lock:
                lines = ["# TYPE bench_flip gauge"]
                lines += ['bench_flip{rep="%s"} %d' % (r, 1 if r == current else 0) for r in flips]
            self.reply(200, "\n".join(lines) + "\n", "text/plain; version=0.0.4")
        elif u.path == "/delay":
            rep = parse_qs(u.query)["rep"][0]
            with lock:
                d = arrivals.get(rep)
                self.reply(200, "pending" if d is None else "%.6f" % (d - flips[rep]))
        else:
            self.reply(404, "")
    def do_POST(self):
        global current
        now = time.time()
        u = urlparse(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if u.path == "/flip":
            rep = parse_qs(u.query)["rep"][0]
            with lock:
                current = rep
                flips[rep] = time.time()
            self.reply(200, "ok")
        elif u.path == "/hook":
            data = json.loads(body)
            with lock:
                for a in data.get("alerts", []):
                    rep = a.get("labels", {}).get("rep")
                    if a.get("status") == "firing" and rep is not None and rep not in arrivals:
                        arrivals[rep] = now
            self.reply(200, "ok")
        else:
            self.reply(404, "")

srv = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H)
srv.serve_forever()
PY
recv_port=$(free_port)
"$PYTHON" "$tmp/receiver.py" "$recv_port" >"$tmp/receiver.log" 2>&1 &
pids+=($!)
recv="http://127.0.0.1:$recv_port"
wait_ready "$recv/metrics" receiver

# run_reps LABEL: flips REPS repetitions (rep ids LABEL-1..N) and prints each delay, then
# "LABEL: median X s, max Y s".
run_reps() {
  local label=$1 i rep d delays=()
  for ((i = 1; i <= REPS; i++)); do
    rep="$label-$i"
    curl -sf -X POST "$recv/flip?rep=$rep" >/dev/null  # the receiver records the flip time
    # The vigil side flips its own gauge right after (a few ms later: counted against vigil).
    [[ -n "${FLIP_ALSO:-}" ]] && curl -sf -X POST "$FLIP_ALSO?rep=$rep" >/dev/null
    d=pending
    for _ in $(seq 300); do  # up to 30 s
      d=$(curl -sf "$recv/delay?rep=$rep")
      [[ "$d" != pending ]] && break
      sleep 0.1
    done
    [[ "$d" == pending ]] && { echo "  $rep: no notification within 30 s"; exit 1; }
    printf '  %s: %.3f s\n' "$rep" "$d"
    delays+=("$d")
    sleep "$("$PYTHON" -c 'import random; print(1.5 + random.random())')"
  done
  printf '%s\n' "${delays[@]}" | "$PYTHON" -c '
import statistics, sys
d = [float(x) for x in sys.stdin.read().split()]
print(f"'"$label"': flip -> webhook over {len(d)} repetitions: median {statistics.median(d):.3f} s, "
      f"max {max(d):.3f} s, min {min(d):.3f} s")'
}

# ==== Prometheus side: Prometheus 2.42 -> Alertmanager 0.25 -> webhook ====
am_port=$(free_port)
cat >"$tmp/alertmanager.yml" <<YAML
route:
  receiver: hook
  group_by: ['...']
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: $recv/hook
        send_resolved: false
YAML
"$ALERTMANAGER" --config.file="$tmp/alertmanager.yml" --storage.path="$tmp/am-data" \
  --web.listen-address="127.0.0.1:$am_port" --cluster.listen-address= \
  >"$tmp/alertmanager.log" 2>&1 &
pids+=($!)
wait_ready "http://127.0.0.1:$am_port/-/ready" alertmanager

prom_port=$(free_port)
cat >"$tmp/rules.yml" <<'YAML'
groups:
  - name: e2e
    rules:
      - alert: E2EFlip
        expr: bench_flip == 1
        for: 0s
YAML
cat >"$tmp/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  scrape_timeout: 900ms
  evaluation_interval: 1s
rule_files:
  - $tmp/rules.yml
alerting:
  alertmanagers:
    - static_configs:
        - targets: ['127.0.0.1:$am_port']
scrape_configs:
  - job_name: e2e
    static_configs:
      - targets: ['127.0.0.1:$recv_port']
YAML
"$PROMETHEUS" --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/prom-data" \
  --web.listen-address="127.0.0.1:$prom_port" >"$tmp/prometheus.log" 2>&1 &
pids+=($!)
prom="http://127.0.0.1:$prom_port"
wait_ready "$prom/-/ready" prometheus
# Until Prometheus has scraped the receiver and discovered Alertmanager.
for _ in $(seq 200); do
  curl -s "$prom/api/v1/alertmanagers" | grep -q "$am_port" &&
    curl -s "$prom/api/v1/query?query=up" | grep -q '"1"\]' && break
  sleep 0.1
done
echo "prometheus $("$PROMETHEUS" --version 2>&1 | head -1 | awk '{print $3}'), alertmanager" \
  "$("$ALERTMANAGER" --version 2>&1 | head -1 | awk '{print $3}'): scrape 1 s, evaluation 1 s," \
  "for 0, group_wait 0"
run_reps prometheus

# ==== vigil side: vigil's AlertManager (evaluation every 1 s, for 0) -> Dispatcher (group_wait 0)
# -> make_webhook_notifier -> the same receiver. The process holds the gauge in its own registry
# (what vigil is for); /flip on it sets bench_flip{rep} right after the receiver recorded the flip.
VIGIL_BIN="$BUILD/bench/delivery_e2e_vigil"
[[ -x "$VIGIL_BIN" ]] || { echo "$VIGIL_BIN not built (cmake --build $BUILD --target delivery_e2e_vigil)"; exit 1; }
# Stop Prometheus and Alertmanager first so both sides run on the same quiet machine.
for pid in "${pids[@]:1}"; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true; done
pids=("${pids[0]}")
"$VIGIL_BIN" --webhook="$recv/hook" >"$tmp/vigil.out" 2>"$tmp/vigil.log" &
pids+=($!)
for _ in $(seq 100); do grep -q '^PORT ' "$tmp/vigil.out" 2>/dev/null && break; sleep 0.1; done
vigil_port=$(sed -n 's/^PORT //p' "$tmp/vigil.out")
[[ -n "$vigil_port" ]] || { echo "delivery_e2e_vigil did not start"; cat "$tmp/vigil.log"; exit 1; }
echo "vigil: evaluation 1 s, for 0, group_wait 0 (in-process gauge, webhook notifier)"
FLIP_ALSO="http://127.0.0.1:$vigil_port/flip" run_reps vigil
