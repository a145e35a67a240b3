#!/usr/bin/env bash
# integration.demo_push: vigil-demo with push exporters turned on by environment variables only
# (docs/exporters.md): the real Pushgateway, a DogStatsD listener on UDP and CloudWatch EMF to a
# file, every 1 s. Checks /api/v1/exporters (each exporter exporting, nothing failed), what each
# destination received, and that the values pushed at shutdown are the demo's final ones: the
# Pushgateway's agent_requests_total summed over its series equals the request count the demo
# prints when it stops.
#
#   demo_push_test.sh VIGIL_DEMO
set -euo pipefail
demo=$1
log() { echo "demo-push: $*"; }
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
require_tools curl python3 prometheus-pushgateway
require_executable "$demo"

tmp=$(mktemp -d)
gw_pid="" demo_pid="" udp_pid=""
cleanup() {
  stop_process "$demo_pid" vigil-demo
  stop_process "$gw_pid" pushgateway
  stop_process "$udp_pid" udp-listener
  finish_test_dir "$tmp"
}
trap cleanup EXIT

read -r gw_port udp_port < <(free_ports 2)
prometheus-pushgateway --web.listen-address="127.0.0.1:${gw_port}" >"$tmp/gw.log" 2>&1 &
gw_pid=$!
# DogStatsD listener: every datagram's lines appended to a file.
/usr/bin/python3 - "$udp_port" "$tmp/statsd.txt" >"$tmp/udp.log" 2>&1 <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.settimeout(0.5)
end = time.time() + 60
with open(sys.argv[2], "ab", buffering=0) as out:
    while time.time() < end:
        try:
            out.write(s.recv(65535) + b"\n")
        except socket.timeout:
            pass
PY
udp_pid=$!
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:${gw_port}/-/ready" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -sf "http://127.0.0.1:${gw_port}/-/ready" >/dev/null || fail "the Pushgateway did not start"

VIGIL_PUSHGATEWAY_URL="http://127.0.0.1:${gw_port}" VIGIL_PUSHGATEWAY_JOB=vigil-demo \
  VIGIL_STATSD_ADDRESS="127.0.0.1:${udp_port}" VIGIL_EMF="$tmp/emf.jsonl" \
  VIGIL_EXPORT_INTERVAL=1 \
  "$demo" --listen 127.0.0.1:0 --rate 50 --duration 60 >"$tmp/demo.log" 2>&1 &
demo_pid=$!
url=""
for _ in $(seq 1 100); do
  url=$(sed -n 's|^  Prometheus text: *\(http://[0-9.:]*\)/.*|\1|p' "$tmp/demo.log" | head -1)
  [[ -n "$url" ]] && break
  kill -0 "$demo_pid" 2>/dev/null || { cat "$tmp/demo.log"; fail "the demo exited"; }
  sleep 0.1
done
[[ -n "$url" ]] || fail "no URL printed"
# (the banner is printed a line at a time: wait for the line rather than read it once)
for _ in $(seq 1 100); do
  grep -q '^  Push export:     dogstatsd, emf, pushgateway every 1s' "$tmp/demo.log" && break
  sleep 0.1
done
grep -q '^  Push export:     dogstatsd, emf, pushgateway every 1s' "$tmp/demo.log" ||
  { cat "$tmp/demo.log"; fail "the banner does not list the push exporters"; }

# /api/v1/exporters: all three export, none fails (up to 15 s for two exports each).
ok=0
for _ in $(seq 1 150); do
  if curl -sf "$url/api/v1/exporters" >"$tmp/exporters.json" &&
     /usr/bin/python3 - "$tmp/exporters.json" 2>/dev/null <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))["data"]["exporters"]
by = {e["name"]: e for e in d}
assert set(by) == {"dogstatsd", "emf", "pushgateway"}, by.keys()
assert all(e["exports"] >= 2 and e["failures"] == 0 for e in d), d
PY
  then ok=1; break; fi
  sleep 0.1
done
[[ $ok -eq 1 ]] || { cat "$tmp/exporters.json"; fail "/api/v1/exporters: not every exporter exported twice without failures"; }
log "ok   /api/v1/exporters: dogstatsd, emf and pushgateway exporting, no failures"

# The engine's own figures are metrics too (the dashboard's Exporters card reads them).
# (to a file first: grep -q would close the pipe early and, with pipefail, fail on curl's SIGPIPE)
curl -sf "$url/metrics" >"$tmp/metrics.txt" || fail "GET /metrics failed"
grep -q '^vigil_metric_exports_total{exporter="pushgateway"} [1-9]' "$tmp/metrics.txt" ||
  fail "vigil_metric_exports_total{exporter=\"pushgateway\"} missing from /metrics"

# What each destination holds.
grep -Eq '^agent_requests:[0-9]+\|c\|#provider:[a-z]+,model:' "$tmp/statsd.txt" ||
  { head -c 2000 "$tmp/statsd.txt"; fail "no DogStatsD agent_requests counter line"; }
log "ok   DogStatsD lines received ($(wc -l <"$tmp/statsd.txt") lines)"
/usr/bin/python3 - "$tmp/emf.jsonl" <<'PY' || fail "EMF file check"
import json, sys
docs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
names = set()
for d in docs:
    for m in d["_aws"]["CloudWatchMetrics"]:
        for x in m["Metrics"]:
            assert x["Name"] in d, x
            names.add(x["Name"])
assert "agent_requests" in names, sorted(names)[:20]
print("demo-push: ok   EMF: %d documents, %d metrics" % (len(docs), len(names)))
PY

# Stop the demo: its shutdown pushes the final values.
kill -TERM "$demo_pid"
for _ in $(seq 1 100); do kill -0 "$demo_pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$demo_pid" 2>/dev/null && fail "the demo did not stop within 10 s"
wait "$demo_pid" || true
demo_pid=""
total=$(sed -n 's/^vigil-demo: simulated \([0-9]*\) agent requests.*/\1/p' "$tmp/demo.log")
[[ -n "$total" ]] || { tail -5 "$tmp/demo.log"; fail "no closing summary"; }
pushed=$(curl -sf "http://127.0.0.1:${gw_port}/metrics" |
  awk '/^agent_requests_total\{/ && /job="vigil-demo"/ {s += $NF} END {printf "%d", s}')
[[ "$pushed" == "$total" ]] ||
  fail "the Pushgateway holds agent_requests_total = ${pushed}, the demo counted ${total}"
log "ok   the last push at shutdown: agent_requests_total ${pushed} = the demo's ${total} requests"
log "PASS"
