#!/usr/bin/env bash
# tests/integration/prometheus_scrape_test.sh: a real Prometheus scrapes vigil-demo.
#
#   prometheus_scrape_test.sh DEMO_BINARY [PROMETHEUS_BINARY]
#
# Starts vigil-demo and a Prometheus server (both on free 127.0.0.1 ports, Prometheus with a
# throw-away TSDB in a temporary directory) that scrapes the demo every second with two jobs:
#   vigil-demo       Prometheus' default Accept header, which asks for OpenMetrics: the demo's
#                    OpenMetrics output goes through Prometheus' strict OpenMetrics parser;
#   vigil-demo-text  ?format=prometheus: the Prometheus text format 0.0.4 and its parser.
# Then it queries the Prometheus HTTP API and checks real values for both jobs: targets up with
# no scrape error, counters (also fractional ones) growing between two queries, histogram
# buckets with their `le` labels and histogram_quantile() over rate(), summary quantiles, the
# info metric's labels, a callback gauge, the process collector's metrics, OpenMetrics-only
# data (`_created` series, units in the target metadata), exemplars (Prometheus runs with
# --enable-feature=exemplar-storage; /api/v1/query_exemplars must return exemplars of the request
# latency histogram and the requests counter whose trace_id is 32 hex digits and span_id 16,
# from the OpenMetrics job only), and finally that the demo stops cleanly on SIGTERM with its
# summary line.
#
# Every wait is bounded; every process started here is killed on exit. Exit status: 0 passed,
# 1 failed (with a message saying what), 77 skipped (prometheus, curl or python3 missing and
# CI unset; under CI a missing tool is a failure).
set -uo pipefail

demo=${1:?usage: prometheus_scrape_test.sh DEMO_BINARY [PROMETHEUS_BINARY]}
prometheus=${2:-${PROMETHEUS:-prometheus}}

indent() { sed 's/^/      /'; }
log() { echo "prometheus_scrape_test: $*"; }

# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

require_tools "$prometheus" curl python3
require_executable "$demo"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vigil-prometheus-test.XXXXXX")
demo_pid=""
prom_pid=""
started=$SECONDS

cleanup() {
  local rc=$?
  stop_process "$prom_pid" prometheus
  stop_process "$demo_pid" vigil-demo
  if [[ $rc -ne 0 ]]; then
    log "--- last lines of the vigil-demo log ---"
    tail -n 20 "$tmp/demo.log" 2>/dev/null
    log "--- last lines of the prometheus log ---"
    tail -n 30 "$tmp/prometheus.log" 2>/dev/null
  fi
  finish_test_dir "$tmp"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ports=$(free_ports 2)
read -r demo_port prom_port <<<"$ports"
[[ -n "$demo_port" && -n "$prom_port" ]] || fail "could not find free ports"
demo_addr="127.0.0.1:${demo_port}"
prom_url="http://127.0.0.1:${prom_port}"

# The Prometheus HTTP API helper: JSON parsing and the checks' conditions, in Python.
cat >"$tmp/promapi.py" <<'EOF'
"""promapi.py BASE_URL COMMAND ...: query a Prometheus server's HTTP API.

  targets                 one line per active target: job, health, scrape URL, last error
  query EXPR              one line per series of an instant query: labels, TAB, value
  check EXPR CONDITION    exit 0 when the Python expression CONDITION holds for the query's
                          result (names: values = [float], series = [dict of labels], math)
  unit JOB METRIC         the unit Prometheus recorded for METRIC from JOB's targets
  exemplars EXPR          exit 0 when /api/v1/query_exemplars over the last 5 minutes returns
                          exemplars for EXPR, every one with a 32-hex-digit trace_id and a
                          16-hex-digit span_id; prints a summary
"""
import json
import math
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

base, command, args = sys.argv[1], sys.argv[2], sys.argv[3:]


def api(path, params):
    url = f"{base}{path}?{urllib.parse.urlencode(params)}"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            doc = json.load(response)
    except urllib.error.HTTPError as e:
        body = e.read().decode(errors="replace")
        print(f"HTTP {e.code} from {path}: {body}")
        sys.exit(2)
    except (urllib.error.URLError, OSError, ValueError) as e:
        print(f"cannot query {url}: {e}")
        sys.exit(2)
    if doc.get("status") != "success":
        print(f"{path}: {doc.get('errorType')}: {doc.get('error')}")
        sys.exit(2)
    return doc["data"]


def instant(expr):
    data = api("/api/v1/query", {"query": expr})
    if data["resultType"] == "scalar":
        return [{}], [float(data["result"][1])]
    if data["resultType"] != "vector":
        print(f"unexpected result type {data['resultType']}")
        sys.exit(2)
    series = [s["metric"] for s in data["result"]]
    values = [float(s["value"][1]) for s in data["result"]]
    return series, values


def show(series, values):
    lines = []
    for labels, value in zip(series, values):
        text = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        lines.append(f"{{{text}}}\t{value!r}")
    return "\n".join(lines) if lines else "(empty result)"


if command == "targets":
    for t in api("/api/v1/targets", {"state": "active"})["activeTargets"]:
        print(t["labels"].get("job", "?"), t["health"], t["scrapeUrl"],
              t.get("lastError") or "-", sep="\t")
elif command == "query":
    print(show(*instant(args[0])))
elif command == "check":
    series, values = instant(args[0])
    # One globals dict (no locals): generator expressions in the condition see these names.
    env = {"__builtins__": {}, "values": values, "series": series, "math": math, "len": len,
           "all": all, "any": any, "set": set, "sorted": sorted, "min": min, "max": max}
    ok = bool(eval(args[1], env))
    print(show(series, values))
    sys.exit(0 if ok else 1)
elif command == "exemplars":
    now = time.time()
    data = api("/api/v1/query_exemplars",
               {"query": args[0], "start": f"{now - 300:.3f}", "end": f"{now:.3f}"})
    total, bad, jobs, traces = 0, [], set(), set()
    for group in data:
        jobs.add(group["seriesLabels"].get("job", "?"))
        for ex in group.get("exemplars", []):
            total += 1
            labels = ex.get("labels", {})
            tid, sid = labels.get("trace_id", ""), labels.get("span_id", "")
            if not re.fullmatch(r"[0-9a-f]{32}", tid) or not re.fullmatch(r"[0-9a-f]{16}", sid):
                bad.append(labels)
            traces.add(tid)
    print(f"{total} exemplars in {len(data)} series, {len(traces)} distinct trace ids, "
          f"jobs {sorted(jobs)}; e.g. trace_id={sorted(traces)[0] if traces else '-'}")
    if bad:
        print(f"malformed exemplar labels: {bad[:3]}")
    sys.exit(0 if total > 0 and not bad and jobs == {"vigil-demo"} else 1)
elif command == "unit":
    job, metric = args
    rows = api("/api/v1/targets/metadata",
               {"match_target": f'{{job="{job}"}}', "metric": metric})
    print(rows[0].get("unit", "") if rows else "(no metadata)")
else:
    print(f"unknown command {command}")
    sys.exit(2)
EOF
promapi() { python3 "$tmp/promapi.py" "$prom_url" "$@"; }

# check DESCRIPTION EXPR CONDITION [TIMEOUT]: retries the query until CONDITION holds (rate()
# windows fill up over a few scrapes), then prints the values; fails after TIMEOUT seconds.
checks=0
check() {
  local description=$1 expr=$2 condition=$3 timeout=${4:-20}
  local deadline=$((SECONDS + timeout)) out rc
  while true; do
    out=$(promapi check "$expr" "$condition" 2>&1)
    rc=$?
    if [[ $rc -eq 0 ]]; then
      checks=$((checks + 1))
      log "ok: ${description}"
      indent <<<"$out" | head -n 8
      return 0
    fi
    if ((SECONDS >= deadline)); then
      log "FAIL: ${description}"
      log "  query:     ${expr}"
      log "  condition: ${condition}"
      log "  last result (after ${timeout}s of retries):"
      indent <<<"$out" | head -n 20
      exit 1
    fi
    sleep 1
  done
}

# scalar EXPR: the single value of a query (fails unless there is exactly one series).
scalar() {
  local out
  out=$(promapi query "$1") || fail "query '$1' failed: $out"
  [[ $(wc -l <<<"$out") -eq 1 && "$out" != "(empty result)" ]] ||
    fail "query '$1' should return one series, got: $out"
  cut -f2 <<<"$out"
}

# --- vigil-demo -------------------------------------------------------------------------------
log "starting $demo --listen $demo_addr (temporary directory $tmp)"
"$demo" --listen "$demo_addr" --duration 170 >"$tmp/demo.log" 2>&1 &
demo_pid=$!
deadline=$((SECONDS + 15))
until curl -sf -o /dev/null "http://${demo_addr}/metrics"; do
  kill -0 "$demo_pid" 2>/dev/null || fail "vigil-demo exited early: $(cat "$tmp/demo.log")"
  ((SECONDS < deadline)) || fail "vigil-demo did not serve http://${demo_addr}/metrics within 15 s"
  sleep 0.2
done
log "vigil-demo serves http://${demo_addr}/metrics"

# --- Prometheus -------------------------------------------------------------------------------
cat >"$tmp/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  # Prometheus 2.42 asks for OpenMetrics first (Accept: application/openmetrics-text;
  # version=1.0.0,...;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1).
  - job_name: vigil-demo
    static_configs:
      - targets: ['${demo_addr}']
  # The same endpoint in the Prometheus text format, chosen by the query parameter.
  - job_name: vigil-demo-text
    params:
      format: [prometheus]
    static_configs:
      - targets: ['${demo_addr}']
EOF

log "starting $prometheus on 127.0.0.1:${prom_port}"
# Under `timeout`, so that it ends even if this script is killed without running its EXIT trap
# (e.g. SIGKILL at the ctest TIMEOUT); timeout passes our SIGTERM on to it. The demo has
# --duration for the same reason.
timeout --kill-after=5 170 "$prometheus" --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/data" \
  --web.listen-address="127.0.0.1:${prom_port}" --log.level=warn \
  --enable-feature=exemplar-storage >"$tmp/prometheus.log" 2>&1 &
prom_pid=$!
deadline=$((SECONDS + 30))
until curl -sf -o /dev/null "${prom_url}/-/ready"; do
  kill -0 "$prom_pid" 2>/dev/null || fail "prometheus exited early (see its log below)"
  ((SECONDS < deadline)) || fail "prometheus was not ready within 30 s"
  sleep 0.2
done
log "prometheus ready after $((SECONDS - started))s"

# Both targets up, with no scrape error. A target is "unknown" until its first scrape.
deadline=$((SECONDS + 30))
while true; do
  targets=$(promapi targets 2>&1) || fail "cannot list targets: $targets"
  up=$(awk -F'\t' '$2 == "up" && $4 == "-"' <<<"$targets" | wc -l)
  bad=$(awk -F'\t' '$2 == "down" || $4 != "-"' <<<"$targets")
  if [[ $up -eq 2 ]]; then
    break
  fi
  if [[ -n "$bad" ]]; then
    log "targets:"
    indent <<<"$targets"
    fail "a scrape of vigil-demo failed (the last error is in the fourth column above)"
  fi
  ((SECONDS < deadline)) || fail "targets not up within 30 s:"$'\n'"$targets"
  sleep 0.5
done
log "ok: both targets up after $((SECONDS - started))s:"
indent <<<"$targets"

# --- checks on what Prometheus stored -----------------------------------------------------------
for job in vigil-demo vigil-demo-text; do
  sel="job=\"${job}\""
  log "--- job ${job} ---"
  check "up{${sel}} == 1" "up{${sel}}" 'values == [1.0]'
  check "agent_requests_total has samples and sum > 0" \
    "sum(agent_requests_total{${sel}})" 'len(values) == 1 and values[0] > 0'
  check "agent_requests_total has provider/model/status labels for all 3 providers" \
    "count by (provider) (agent_requests_total{${sel},model!=\"\",status=\"success\"})" \
    'sorted(s["provider"] for s in series) == ["anthropic", "local", "openai"]'
  check "gen_ai_client_token_usage has input and output token types" \
    "sum by (gen_ai_token_type) (gen_ai_client_token_usage_sum{${sel}})" \
    'sorted(s["gen_ai_token_type"] for s in series) == ["input", "output"] and min(values) > 0'
  check "gen_ai_client_cost_dollars_total grows in fractional dollars" \
    "sum(gen_ai_client_cost_dollars_total{${sel}})" \
    'len(values) == 1 and values[0] > 0 and values[0] != math.floor(values[0])'
  check "gen_ai_client_operation_duration_seconds_bucket: 11 buckets per series, le labels up to +Inf" \
    "count by (le) (gen_ai_client_operation_duration_seconds_bucket{${sel},gen_ai_system=\"openai\",gen_ai_request_model=\"gpt-4o\",error_type=\"\"})" \
    'len(series) == 11 and "+Inf" in [s["le"] for s in series] and all(v == 1 for v in values)'
  check "histogram _count equals the +Inf bucket" \
    "sum(gen_ai_client_operation_duration_seconds_count{${sel}}) - sum(gen_ai_client_operation_duration_seconds_bucket{${sel},le=\"+Inf\"})" \
    'values == [0.0]'
  check "histogram_quantile(0.9) of LLM latency over rate(_bucket[30s]) is a number in (0, 60]" \
    "histogram_quantile(0.9, sum by (le) (rate(gen_ai_client_operation_duration_seconds_bucket{${sel}}[30s])))" \
    'len(values) == 1 and not math.isnan(values[0]) and 0 < values[0] <= 60'
  check "histogram_quantile(0.5) of agent request latency per provider" \
    "histogram_quantile(0.5, sum by (provider, le) (rate(agent_request_duration_seconds_bucket{${sel}}[30s])))" \
    'len(values) == 3 and all(not math.isnan(v) and v > 0 for v in values)'
  check "summary tool_execution_duration_seconds has quantiles 0.5/0.9/0.99 for 6 tools" \
    "count by (quantile) (tool_execution_duration_seconds{${sel}})" \
    'sorted(s["quantile"] for s in series) == ["0.5", "0.9", "0.99"] and values == [6.0] * 3'
  check "summary quantiles are ordered (p50 <= p99 for code_exec)" \
    "tool_execution_duration_seconds{${sel},tool=\"code_exec\",quantile=\"0.99\"} - ignoring(quantile) tool_execution_duration_seconds{${sel},tool=\"code_exec\",quantile=\"0.5\"}" \
    'len(values) == 1 and values[0] >= 0'
  check "summary _count and _sum" \
    "sum(tool_execution_duration_seconds_count{${sel}}) > 0 and sum(tool_execution_duration_seconds_sum{${sel}}) > 0" \
    'len(values) == 1'
  check "tool_executions_total has failures as well as successes" \
    "sum by (status) (tool_executions_total{${sel}})" \
    '"success" in [s["status"] for s in series] and len(series) >= 2'
  check "info metric agent_gateway_build_info has version, compiler, build_type" \
    "agent_gateway_build_info{${sel}}" \
    'values == [1.0] and all(series[0].get(k) for k in ("version", "compiler", "build_type"))'
  check "cache hit and miss counters for both caches" \
    "sum by (cache) (cache_hits_total{${sel}}) and sum by (cache) (cache_misses_total{${sel}})" \
    'sorted(s["cache"] for s in series) == ["response", "tool"] and min(values) > 0'
  check "callback gauge cache_entries{cache=\"response\"} > 0" \
    "cache_entries{${sel},cache=\"response\"}" 'len(values) == 1 and values[0] > 0'
  check "gauges agent_active_requests, agent_queue_depth, pipeline_runs_in_progress >= 0" \
    "{__name__=~\"agent_active_requests|agent_queue_depth|pipeline_runs_in_progress\",${sel}}" \
    'len(values) == 3 and min(values) >= 0'
  check "callback gauge agent_worker_utilization_ratio in [0, 1]" \
    "agent_worker_utilization_ratio{${sel}}" 'len(values) == 1 and 0 <= values[0] <= 1'
  check "pipeline_runs_total for both pipelines" \
    "sum by (pipeline) (pipeline_runs_total{${sel}})" \
    'sorted(s["pipeline"] for s in series) == ["document_ingest", "research_report"]'
  check "request rate over 30s is plausible (> 10/s)" \
    "sum(rate(agent_requests_total{${sel}}[30s]))" 'len(values) == 1 and values[0] > 10'
  check "process_resident_memory_bytes > 0 (process collector)" \
    "process_resident_memory_bytes{${sel}}" 'len(values) == 1 and values[0] > 0'
  check "process_cpu_seconds_total, process_open_fds, process_start_time_seconds > 0" \
    "{__name__=~\"process_cpu_seconds_total|process_open_fds|process_start_time_seconds\",${sel}}" \
    'len(values) == 3 and min(values) > 0'
  check "scrape_samples_scraped > 300" \
    "scrape_samples_scraped{${sel}}" 'len(values) == 1 and values[0] > 300'
done

log "--- OpenMetrics-only data (job vigil-demo) ---"
check "OpenMetrics _created series were ingested from the OpenMetrics job only" \
  'count by (job) (agent_requests_created)' \
  'len(series) == 1 and series[0]["job"] == "vigil-demo" and values[0] > 0'
unit=$(promapi unit vigil-demo gen_ai_client_operation_duration_seconds) || fail "metadata query failed: $unit"
[[ "$unit" == seconds ]] ||
  fail "the OpenMetrics # UNIT of gen_ai_client_operation_duration_seconds should be 'seconds', Prometheus has '$unit'"
checks=$((checks + 1))
log "ok: target metadata of gen_ai_client_operation_duration_seconds has unit '$unit' (from # UNIT)"

# check_exemplars DESCRIPTION EXPR: retries until Prometheus returns well-formed exemplars.
check_exemplars() {
  local description=$1 expr=$2 deadline=$((SECONDS + 20)) out
  while true; do
    if out=$(promapi exemplars "$expr" 2>&1); then
      checks=$((checks + 1))
      log "ok: ${description}"
      indent <<<"$out"
      return 0
    fi
    ((SECONDS < deadline)) || fail "${description}: ${out}"
    sleep 1
  done
}
check_exemplars "exemplars on agent_request_duration_seconds_bucket carry trace_id and span_id" \
  'agent_request_duration_seconds_bucket'
check_exemplars "exemplars on agent_requests_total carry trace_id and span_id" \
  'agent_requests_total'

log "--- counters increase between two queries ---"
for job in vigil-demo vigil-demo-text; do
  expr="sum(agent_requests_total{job=\"${job}\"})"
  v1=$(scalar "$expr")
  cost1=$(scalar "sum(gen_ai_client_cost_dollars_total{job=\"${job}\"})")
  sleep 3
  v2=$(scalar "$expr")
  cost2=$(scalar "sum(gen_ai_client_cost_dollars_total{job=\"${job}\"})")
  python3 -c "import sys; sys.exit(0 if float('$v2') > float('$v1') else 1)" ||
    fail "$expr did not increase in 3 s: $v1 -> $v2"
  python3 -c "import sys; sys.exit(0 if float('$cost2') > float('$cost1') else 1)" ||
    fail "gen_ai_client_cost_dollars_total{job=\"${job}\"} did not increase in 3 s: $cost1 -> $cost2"
  checks=$((checks + 1))
  log "ok: ${expr}: ${v1} -> ${v2}; cost \$${cost1} -> \$${cost2}"
done

# Still healthy after all the scrapes, and no target reported an error on the way.
targets=$(promapi targets 2>&1) || fail "cannot list targets: $targets"
[[ $(awk -F'\t' '$2 == "up" && $4 == "-"' <<<"$targets" | wc -l) -eq 2 ]] ||
  fail "a target is no longer healthy:"$'\n'"$targets"

# --- clean stop -----------------------------------------------------------------------------------
kill -0 "$demo_pid" 2>/dev/null || fail "vigil-demo died during the test"
kill -TERM "$demo_pid"
deadline=$((SECONDS + 10))
while kill -0 "$demo_pid" 2>/dev/null; do
  ((SECONDS < deadline)) || fail "vigil-demo did not exit within 10 s of SIGTERM"
  sleep 0.1
done
wait "$demo_pid"
demo_rc=$?
demo_pid=""
[[ $demo_rc -eq 0 ]] || fail "vigil-demo exited with status $demo_rc after SIGTERM"
grep -q '^vigil-demo: simulated [1-9][0-9]* agent requests' "$tmp/demo.log" ||
  fail "vigil-demo printed no summary line on exit: $(tail -n 3 "$tmp/demo.log")"
checks=$((checks + 1))
log "ok: vigil-demo stopped cleanly on SIGTERM: $(grep '^vigil-demo: simulated' "$tmp/demo.log")"

log "PASS: ${checks} checks in $((SECONDS - started))s"
