#!/usr/bin/env bash
# tests/exporters/demo_trace_test.sh: vigil-demo sends its traces over OTLP/HTTP to the Node.js
# receiver (receiver/receiver.js, decoding with the official OpenTelemetry JS protobuf
# definitions), configured only through the standard variables:
#
#   OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:PORT OTEL_BSP_SCHEDULE_DELAY=200 vigil-demo ...
#
#   demo_trace_test.sh DEMO_BINARY RECEIVER_SOURCE_DIR WORK_DIR
#
# Checks: every export decodes without error (protobuf, the default OTLP/HTTP encoding); the
# resource has service.name "agent-gateway"; some trace has request (SERVER) -> llm_call
# (CLIENT) -> tool_execution with correct parent links and one trace id; llm_call spans carry
# gen_ai.system, gen_ai.request.model and token counts; failed spans have status error and an
# "exception" event; the demo's /debug/tracez answered while it ran. Exits 77 (skipped) when
# node, npm or the npm registry is unavailable and CI is unset (like otlp_interop_test.sh, whose
# npm packages it shares in WORK_DIR).
set -uo pipefail
demo=$1
src=$2
work=$3

log() { echo "demo_trace_test: $*"; }
unavailable() {
  if [[ -n "${CI:-}" ]]; then
    log "FAIL: $1"
    exit 1
  fi
  log "SKIP: $1"
  exit 77
}
fail() {
  log "FAIL: $*"
  exit 1
}

node=$(command -v node || true)
[[ -n "$node" ]] || unavailable "node not found (Debian: nodejs)"
command -v npm >/dev/null 2>&1 || unavailable "npm not found (Debian: npm)"
command -v python3 >/dev/null 2>&1 || unavailable "python3 not found"
command -v curl >/dev/null 2>&1 || unavailable "curl not found"

source "$(dirname "${BASH_SOURCE[0]}")/../npm_ci.sh"
vigil_npm_ci "$work" "$src" receiver.js || unavailable "npm ci failed (is the npm registry reachable?)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vigil-demo-trace-test.XXXXXX")
receiver_pid=""
demo_pid=""
cleanup() {
  local rc=$?
  for pid in $demo_pid $receiver_pid; do
    kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  done
  if [[ $rc -ne 0 ]]; then
    log "--- demo log ---"
    tail -n 20 "$tmp/demo.log" 2>/dev/null
    log "--- receiver log ---"
    tail -n 20 "$tmp/receiver.log" 2>/dev/null
  fi
  rm -rf "$tmp"
  exit $rc
}
trap cleanup EXIT

"$node" "$work/receiver.js" --port-file "$tmp/port" --out "$tmp/requests.jsonl" \
  --max-seconds 60 >"$tmp/receiver.log" 2>&1 &
receiver_pid=$!
for ((i = 0; i < 100; i++)); do
  [[ -s "$tmp/port" ]] && break
  kill -0 "$receiver_pid" 2>/dev/null || fail "the receiver exited early"
  sleep 0.1
done
[[ -s "$tmp/port" ]] || fail "the receiver did not start within 10 s"
port=$(cat "$tmp/port")
log "receiver on 127.0.0.1:${port}"

# The demo on a free port (port 0), for 6 seconds; the banner tells the URL.
OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:${port}" OTEL_BSP_SCHEDULE_DELAY=200 \
  OTEL_RESOURCE_ATTRIBUTES="deployment.environment=interop-test" \
  timeout --kill-after=5 60 "$demo" --listen 127.0.0.1:0 --duration 6 --rate 100 --workers 8 \
  >"$tmp/demo.log" 2>&1 &
demo_pid=$!
url=""
for ((i = 0; i < 100; i++)); do
  url=$(sed -n 's/^  Traces: *\(http:[^ ]*\/debug\/tracez\).*/\1/p' "$tmp/demo.log" | head -n 1)
  [[ -n "$url" ]] && break
  kill -0 "$demo_pid" 2>/dev/null || fail "vigil-demo exited early"
  sleep 0.1
done
[[ -n "$url" ]] || fail "vigil-demo printed no tracez URL within 10 s"
grep -q "export: OTEL_TRACES_EXPORTER=otlp to http://127.0.0.1:${port}" "$tmp/demo.log" ||
  fail "the banner does not say traces go to the receiver: $(grep Traces "$tmp/demo.log")"
sleep 2
curl -sf "$url" >"$tmp/tracez.json" || fail "GET $url failed"
wait "$demo_pid"
rc=$?
demo_pid=""
[[ $rc -eq 0 ]] || fail "vigil-demo exited with status $rc"
log "vigil-demo done: $(grep '^vigil-demo: simulated' "$tmp/demo.log")"

python3 - "$tmp/requests.jsonl" "$tmp/tracez.json" <<'PY' || exit 1
import json
import sys
from collections import defaultdict

requests = [json.loads(line) for line in open(sys.argv[1])]
tracez = json.load(open(sys.argv[2]))


def fail(msg):
    print(f"demo_trace_test: FAIL: {msg}")
    sys.exit(1)


def attrs(kvs):
    out = {}
    for kv in kvs or []:
        v = kv.get("value", {})
        out[kv["key"]] = next(iter(v.values()), None) if v else None
    return out


if not requests:
    fail("the receiver got no export request")
spans, resources = [], []
for r in requests:
    if r["errors"]:
        fail(f"export {r['n']} did not decode cleanly: {r['errors']}")
    if r["path"] != "/v1/traces" or r["contentType"] != "application/x-protobuf":
        fail(f"unexpected request {r['method']} {r['path']} {r['contentType']}")
    for rs in r["request"].get("resourceSpans", []):
        resources.append(attrs(rs.get("resource", {}).get("attributes")))
        for ss in rs.get("scopeSpans", []):
            for s in ss.get("spans", []):
                s["attrs"] = attrs(s.get("attributes"))
                spans.append(s)
res = resources[0]
if res.get("service.name") != "agent-gateway":
    fail(f"service.name is {res.get('service.name')!r}")
if res.get("deployment.environment") != "interop-test":
    fail(f"OTEL_RESOURCE_ATTRIBUTES not applied: {res}")

by_id = {s["spanId"]: s for s in spans}
children = defaultdict(list)
for s in spans:
    if s.get("parentSpanId"):
        children[s["parentSpanId"]].append(s)
chains = 0
for req in (s for s in spans if s["name"] == "request" and s.get("kind") == 2):
    if req.get("parentSpanId"):
        fail("a request span has a parent")
    for llm in children[req["spanId"]]:
        if llm["name"] != "llm_call":
            continue
        if llm.get("kind") != 3:
            fail(f"llm_call kind {llm.get('kind')}, want 3 (CLIENT)")
        if llm["traceId"] != req["traceId"]:
            fail("llm_call in another trace than its request")
        for tool in children[llm["spanId"]]:
            if tool["name"] == "tool_execution" and tool["traceId"] == req["traceId"]:
                chains += 1
if chains == 0:
    names = sorted({s["name"] for s in spans})
    fail(f"no request -> llm_call -> tool_execution chain among {len(spans)} spans ({names})")

llms = [s for s in spans if s["name"] == "llm_call"]
ok_llms = [s for s in llms if s.get("status", {}).get("code", 0) != 2]
for key in ("gen_ai.system", "gen_ai.request.model", "gen_ai.operation.name"):
    if not all(key in s["attrs"] for s in llms):
        fail(f"an llm_call span lacks {key}")
for key in ("gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "gen_ai.usage.cost_usd"):
    if not ok_llms or not all(key in s["attrs"] for s in ok_llms):
        fail(f"a successful llm_call span lacks {key}")
tools = [s for s in spans if s["name"] == "tool_execution"]
if not all("gen_ai.tool.name" in s["attrs"] for s in tools):
    fail("a tool_execution span lacks gen_ai.tool.name")
errors = [s for s in spans if s.get("status", {}).get("code") == 2]
if not errors:
    fail("no span with status error")
if not any(e.get("name") == "exception" and "exception.type" in attrs(e.get("attributes"))
           for s in errors for e in s.get("events", [])):
    fail("no failed span has an exception event with exception.type")
dangling = [s for s in spans if s.get("parentSpanId") and s["parentSpanId"] not in by_id]
# Spans still queued at the end (parents dropped at shutdown) would show up here.
if len(dangling) > len(spans) // 20:
    fail(f"{len(dangling)} of {len(spans)} spans have a parent that never arrived")

names = {n["name"] for n in tracez["spans"]}
if not {"request", "llm_call", "tool_execution"} <= names:
    fail(f"tracez lacks span names: {sorted(names)}")
print(f"demo_trace_test: {len(requests)} exports, {len(spans)} spans, {chains} request -> "
      f"llm_call -> tool_execution chains, {len(errors)} error spans; tracez names "
      f"{sorted(names)}")
PY
log "PASS"
