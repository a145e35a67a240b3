#!/usr/bin/env bash
# Real Prometheus (Debian's 2.42, /usr/bin/prometheus) evaluating the rule file of
# bench/alerting_workload.h (100 alerting rules) over the same 10,000 series that
# bench/alerting_bench.cc's BM_RuleFile100 gives vigil, then vigil on the same machine, and the
# ratio.
#
#   bench/prometheus_rules_compare.sh [BUILD_DIR] [FILL_SECONDS] [READINGS]
#     BUILD_DIR     build/release (needs targets alerting_bench and alerting_exporter)
#     FILL_SECONDS  how long Prometheus scrapes before the readings start (default 330: the
#                   rules' 5 m windows filled, as in BM_RuleFile100)
#     READINGS      how many evaluations to read, one per evaluation interval (default 9: three
#                   repetitions of 3 consecutive evaluations)
#
# The exporter (bench/alerting_exporter.cc) serves the series on vigil's admin server; Prometheus
# scrapes it every 5 s (Prometheus text format) and evaluates the group every 5 s, with a temporary
# data directory, on 127.0.0.1. Each reading is prometheus_rule_group_last_duration_seconds of
# the group from Prometheus' own /metrics after a new evaluation
# (prometheus_rule_group_last_evaluation_timestamp_seconds moved); the figure is their median (and the medians of each 3 consecutive readings are printed,
# the repetitions). vigil's is the median of 3 repetitions of BM_RuleFile100
# (wall time of a whole AlertManager::evaluate() round: registry sampling, rules, alert states;
# and rules_ms, the rules' own evaluation time, which is what Prometheus' figure measures).
set -euo pipefail
BUILD=${1:-build/release}
FILL=${2:-330}
READINGS=${3:-9}
PROMETHEUS=${PROMETHEUS:-/usr/bin/prometheus}

tmp=$(mktemp -d)
exporter_pid=""
prom_pid=""
cleanup() {
  [[ -n "$prom_pid" ]] && kill "$prom_pid" 2>/dev/null && wait "$prom_pid" 2>/dev/null || true
  [[ -n "$exporter_pid" ]] && kill "$exporter_pid" 2>/dev/null && wait "$exporter_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

"$BUILD/bench/alerting_exporter" --listen=127.0.0.1:0 --rules-out="$tmp/rules.yml" \
  --interval=5s >"$tmp/exporter.out" 2>&1 &
exporter_pid=$!
for _ in $(seq 100); do
  grep -q '^PORT ' "$tmp/exporter.out" && break
  sleep 0.1
done
exporter_port=$(awk '/^PORT /{print $2}' "$tmp/exporter.out")
[[ -n "$exporter_port" ]] || { echo "exporter did not start"; cat "$tmp/exporter.out"; exit 1; }
series=$(curl -s "http://127.0.0.1:$exporter_port/metrics?format=prometheus" | grep -vc '^#')
echo "exporter: 127.0.0.1:$exporter_port, $series samples per scrape"

promtool check rules "$tmp/rules.yml" >/dev/null
prom_port=$(free_port)
cat >"$tmp/prometheus.yml" <<YAML
global:
  scrape_interval: 5s
  scrape_timeout: 4s
  evaluation_interval: 5s
rule_files:
  - $tmp/rules.yml
scrape_configs:
  - job_name: bench
    params:
      format: [prometheus]
    static_configs:
      - targets: ['127.0.0.1:$exporter_port']
YAML
"$PROMETHEUS" --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/data" \
  --web.listen-address="127.0.0.1:$prom_port" >"$tmp/prometheus.log" 2>&1 &
prom_pid=$!
prom="http://127.0.0.1:$prom_port"
echo "prometheus $("$PROMETHEUS" --version 2>&1 | head -1 | awk '{print $3}'): $prom, filling windows for ${FILL}s"
sleep "$FILL"

metric() {  # metric NAME: its value for the bench group
  curl -s "$prom/metrics" | awk -v n="$1" '$1 ~ "^"n"\\{" && $1 ~ /bench"/ {print $2}'
}
# A new evaluation has finished when its timestamp moves (Prometheus sets the duration and then
# the timestamp after evaluating; iterations_total counts at the start).
readings=()
last_eval=$(metric prometheus_rule_group_last_evaluation_timestamp_seconds)
while [[ ${#readings[@]} -lt $READINGS ]]; do
  sleep 0.5
  eval_ts=$(metric prometheus_rule_group_last_evaluation_timestamp_seconds)
  [[ "$eval_ts" == "$last_eval" ]] && continue
  last_eval=$eval_ts
  d=$(metric prometheus_rule_group_last_duration_seconds)
  readings+=("$d")
  echo "  evaluation at $eval_ts: $(python3 -c "print(f'{$d*1000:.1f}')") ms"
done
failures=$(curl -s "$prom/metrics" | awk '$1 ~ /^prometheus_rule_evaluation_failures_total\{/ && $1 ~ /bench"/ {print $2}')
head_series=$(curl -s "$prom/metrics" | awk '$1=="prometheus_tsdb_head_series"{print $2}')
alerts=$(curl -s "$prom/api/v1/alerts" | python3 -c '
import json, sys, collections
c = collections.Counter(a["state"] for a in json.load(sys.stdin)["data"]["alerts"])
print(c["firing"], "firing,", c["pending"], "pending")')
prom_ms=$(printf '%s\n' "${readings[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]*1000}')
triples=$(printf '%s\n' "${readings[@]}" | python3 -c '
import sys, statistics
r = [float(x) * 1000 for x in sys.stdin.read().split()]
print(", ".join(f"{statistics.median(r[i:i+3]):.1f}" for i in range(0, len(r) - 2, 3)))')
echo "prometheus: medians of 3 consecutive evaluations: $triples ms"
echo "prometheus: group of 100 rules, median of ${#readings[@]} evaluations: ${prom_ms} ms" \
  "(head series $head_series, rule failures $failures, alerts: $alerts)"
kill "$prom_pid"; wait "$prom_pid" 2>/dev/null || true; prom_pid=""
kill "$exporter_pid"; wait "$exporter_pid" 2>/dev/null || true; exporter_pid=""

echo "vigil: BM_RuleFile100, 3 repetitions"
"$BUILD/bench/alerting_bench" --benchmark_filter='^BM_RuleFile100/' --benchmark_repetitions=3 \
  --benchmark_out="$tmp/vigil.json" --benchmark_out_format=json >/dev/null 2>&1
python3 - "$tmp/vigil.json" "$prom_ms" <<'PY'
import json, sys, statistics
runs = [b for b in json.load(open(sys.argv[1]))["benchmarks"] if b.get("run_type") == "iteration"]
prom = float(sys.argv[2])
def unit(b, v):
    return v * {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[b["time_unit"]]
rounds = [unit(b, b["real_time"]) for b in runs]
rules = [b["rules_ms"] for b in runs]
r, e = statistics.median(rounds), statistics.median(rules)
print(f"vigil: evaluate() round {r:.2f} ms (runs {', '.join(f'{x:.2f}' for x in rounds)}), "
      f"rules alone {e:.2f} ms (runs {', '.join(f'{x:.2f}' for x in rules)}), "
      f"{runs[0].get('firing', 0):.0f} firing, {runs[0].get('pending', 0):.0f} pending")
print(f"ratio Prometheus / vigil: {prom / r:.1f}x (whole round), {prom / e:.1f}x (rules alone)")
PY
