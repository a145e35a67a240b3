#!/usr/bin/env bash
# tests/integration/promtool_check_test.sh: the demo's /metrics in every format passes the
# official checker, `promtool check metrics`.
#
#   promtool_check_test.sh DEMO_BINARY [PROMTOOL_BINARY]
#
# Starts vigil-demo on a free 127.0.0.1 port and fetches /metrics three ways:
#   Accept: text/plain                                      -> Prometheus text format 0.0.4
#   Accept: application/openmetrics-text; version=1.0.0     -> OpenMetrics 1.0.0
#   ?format=json                                            -> JSON (checked with python3)
# and checks each Content-Type. It also runs `promtool check config` on the example scrape
# configuration, deploy/prometheus/prometheus.yml.
#
# Prometheus text: `promtool check metrics` must exit 0, i.e. parse the body and report no lint
# problem at all. promtool 2.42 exits 1 on a parse error and 3 on lint problems (it prints them
# on stderr); both fail this test, except for the lint problems listed in ALLOWED_LINT below,
# which are reported as warnings.
#
# OpenMetrics: promtool 2.42 has no OpenMetrics parser. `check metrics` reads every body with the
# Prometheus text parser, which rejects `# TYPE x info` (a parse error) and sees an OpenMetrics
# counter's x_total/x_created samples as families with no HELP (lint problems). So the body is
# first checked for the OpenMetrics structure in Python (family metadata before samples, sample
# names allowed by the family type, `# UNIT` a suffix of the name, one final `# EOF`, no blank
# lines), then rewritten losslessly into text-format metadata (counters named x_total, info
# families x_info typed gauge, `_created`, `# UNIT` and `# EOF` lines dropped) and given to
# promtool under the same rules as the Prometheus text body. The strict OpenMetrics parser of
# Prometheus itself is exercised by prometheus_scrape_test.sh.
#
# Exit status: 0 passed, 1 failed (with the reason), 77 skipped (a tool missing and CI unset).
set -uo pipefail

demo=${1:?usage: promtool_check_test.sh DEMO_BINARY [PROMTOOL_BINARY]}
promtool=${2:-${PROMTOOL:-promtool}}

# Lint problems tolerated, one "metric text" line each, exactly as promtool prints them. Each
# must say why it is here. None today.
ALLOWED_LINT=()

indent() { sed 's/^/      /'; }
log() { echo "promtool_check_test: $*"; }

# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

require_tools "$promtool" curl python3
require_executable "$demo"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vigil-promtool-test.XXXXXX")
demo_pid=""
started=$SECONDS

cleanup() {
  local rc=$?
  stop_process "$demo_pid" vigil-demo
  if [[ $rc -ne 0 ]]; then
    log "--- last lines of the vigil-demo log ---"
    tail -n 20 "$tmp/demo.log" 2>/dev/null
  fi
  finish_test_dir "$tmp"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port=$(free_ports 1)
[[ -n "$port" ]] || fail "could not find a free port"
addr="127.0.0.1:${port}"
url="http://${addr}/metrics"

log "starting $demo --listen $addr"
"$demo" --listen "$addr" --duration 120 >"$tmp/demo.log" 2>&1 &
demo_pid=$!
deadline=$((SECONDS + 15))
until curl -sf -o /dev/null "$url"; do
  kill -0 "$demo_pid" 2>/dev/null || fail "vigil-demo exited early: $(cat "$tmp/demo.log")"
  ((SECONDS < deadline)) || fail "vigil-demo did not serve $url within 15 s"
  sleep 0.2
done
# Let the simulation create its series (failures, rare statuses) before looking at them.
sleep 2

# fetch NAME ACCEPT [QUERY]: body to $tmp/NAME, Content-Type to stdout.
fetch() {
  local name=$1 accept=$2 query=${3:-} content_type
  content_type=$(curl -sS -f --max-time 10 -H "Accept: ${accept}" -o "$tmp/$name" \
    -w '%{content_type}' "${url}${query}") || fail "GET ${url}${query} (Accept: ${accept}) failed"
  [[ -s "$tmp/$name" ]] || fail "GET ${url}${query} (Accept: ${accept}) returned an empty body"
  echo "$content_type"
}

checks=0
pass() {
  checks=$((checks + 1))
  log "ok: $*"
}

# promtool_check NAME FILE: promtool check metrics must pass with no lint problem beyond
# ALLOWED_LINT.
promtool_check() {
  local name=$1 file=$2 rc problem allowed ok unexpected=0
  "$promtool" check metrics <"$file" >"$tmp/$name.promtool" 2>&1
  rc=$?
  case $rc in
    0) ;;
    3) ;;  # lint problems: examined below
    *)
      indent <"$tmp/$name.promtool"
      fail "promtool check metrics could not parse the ${name} body (exit ${rc})"
      ;;
  esac
  while IFS= read -r problem; do
    [[ -z "$problem" ]] && continue
    ok=0
    for allowed in "${ALLOWED_LINT[@]+"${ALLOWED_LINT[@]}"}"; do
      [[ "$problem" == "$allowed" ]] && ok=1
    done
    if [[ $ok -eq 1 ]]; then
      log "warning (allowed, see ALLOWED_LINT): ${problem}"
    else
      log "lint problem: ${problem}"
      unexpected=$((unexpected + 1))
    fi
  done <"$tmp/$name.promtool"
  [[ $unexpected -eq 0 ]] || fail "promtool check metrics: ${unexpected} lint problem(s) in the ${name} body"
  [[ $rc -eq 0 || -s "$tmp/$name.promtool" ]] || fail "promtool exited ${rc} without a message"
  pass "promtool check metrics accepts the ${name} body ($(wc -l <"$file") lines)"
}

# --- Prometheus text format 0.0.4 -----------------------------------------------------------------
ct=$(fetch text.prom 'text/plain')
[[ "$ct" == text/plain*version=0.0.4* ]] || fail "Accept: text/plain gave Content-Type '${ct}'"
pass "Accept: text/plain -> ${ct}"
! grep -q '^# EOF' "$tmp/text.prom" || fail "the Prometheus text body contains an OpenMetrics '# EOF'"
for family in agent_requests_total gen_ai_client_cost_dollars_total gen_ai_client_operation_duration_seconds \
  tool_execution_duration_seconds agent_gateway_build_info process_resident_memory_bytes; do
  grep -q "^# TYPE ${family} " "$tmp/text.prom" || fail "no '# TYPE ${family}' in the text body"
done
pass "the text body has the demo's and the process collector's families"
promtool_check text "$tmp/text.prom"

# --- OpenMetrics 1.0.0 --------------------------------------------------------------------------------
ct=$(fetch openmetrics.txt 'application/openmetrics-text; version=1.0.0')
[[ "$ct" == application/openmetrics-text*version=1.0.0* ]] ||
  fail "Accept: application/openmetrics-text gave Content-Type '${ct}'"
pass "Accept: application/openmetrics-text; version=1.0.0 -> ${ct}"

python3 - "$tmp/openmetrics.txt" "$tmp/openmetrics-as-text.prom" <<'EOF' || fail "the OpenMetrics body is malformed (see above)"
"""Checks the structure of an OpenMetrics body and rewrites it for promtool's text parser."""
import re
import sys

src, dst = sys.argv[1], sys.argv[2]
body = open(src, encoding="utf-8").read()
errors = []
if not body.endswith("# EOF\n"):
    errors.append("the body does not end with '# EOF\\n'")
lines = body.split("\n")[:-1]  # the body ends with \n
if lines.count("# EOF") != 1:
    errors.append(f"'# EOF' appears {lines.count('# EOF')} times")

SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("", "_count", "_sum", "_created"),
    "info": ("_info",),
    "unknown": ("",),
}
name_re = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"'
NUMBER = r'(?:[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]Inf|NaN)'
EXEMPLAR_RE = re.compile(r"\{(?:" + LABEL + r"(?:," + LABEL + r")*)?\} " + NUMBER + r"(?: " + NUMBER + r")?")
exemplars = 0
families = {}  # name -> type
current = None  # (name, type)
seen_help = set()
out = []
for n, line in enumerate(lines, 1):
    if line == "# EOF":
        continue
    if line == "":
        errors.append(f"line {n}: blank line")
        continue
    if line.startswith("#"):
        parts = line.split(" ", 3)
        if len(parts) < 3 or parts[1] not in ("TYPE", "HELP", "UNIT"):
            errors.append(f"line {n}: not a TYPE, HELP, UNIT or EOF line: {line!r}")
            continue
        kind, name = parts[1], parts[2]
        value = parts[3] if len(parts) > 3 else ""
        if kind == "TYPE":
            if name in families:
                errors.append(f"line {n}: family {name} declared twice")
            if value not in SUFFIXES:
                errors.append(f"line {n}: unknown type {value!r}")
            families[name] = value
            current = (name, value)
            out_name = {"counter": name + "_total", "info": name + "_info"}.get(value, name)
            out_type = "gauge" if value == "info" else ("untyped" if value == "unknown" else value)
            out.append(f"# TYPE {out_name} {out_type}")
        else:
            if current is None or current[0] != name:
                errors.append(f"line {n}: # {kind} {name} outside its family's metadata")
                continue
            if kind == "UNIT":
                if value and not name.endswith("_" + value):
                    errors.append(f"line {n}: unit {value!r} is not a suffix of {name}")
            else:
                seen_help.add(name)
                out_name = {"counter": name + "_total", "info": name + "_info"}.get(current[1], name)
                # OpenMetrics escapes \\, \" and \n in HELP; the text format only \\ and \n.
                raw = re.sub(r'\\(.)', lambda e: {"n": "\n"}.get(e.group(1), e.group(1)), value)
                text = raw.replace("\\", "\\\\").replace("\n", "\\n")
                out.insert(len(out) - 1, f"# HELP {out_name} {text}")
        continue
    m = name_re.match(line)
    if not m or current is None:
        errors.append(f"line {n}: sample outside a family: {line!r}")
        continue
    sample, (family, ftype) = m.group(0), current
    suffix = sample[len(family):] if sample.startswith(family) else None
    if suffix is None or suffix not in SUFFIXES.get(ftype, ()):
        errors.append(f"line {n}: sample {sample} does not belong to {ftype} family {family}")
        continue
    if suffix == "_created":
        continue  # not part of the Prometheus text format
    # An exemplar (` # {labels} value [timestamp]`) may follow a counter's _total or a
    # histogram's _bucket sample; the text format has none, so it is checked and dropped.
    pos = len(sample)
    if pos < len(line) and line[pos] == "{":
        quoted = escaped = False
        while pos < len(line):
            c = line[pos]
            pos += 1
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                quoted = not quoted
            elif c == "}" and not quoted:
                break
    at = line.find(" # ", pos)
    if at >= 0:
        exemplar = line[at + 3:]
        if (ftype, suffix) not in (("counter", "_total"), ("histogram", "_bucket")):
            errors.append(f"line {n}: exemplar on {sample}, allowed only on _total and _bucket")
        elif not EXEMPLAR_RE.fullmatch(exemplar):
            errors.append(f"line {n}: malformed exemplar {exemplar!r}")
        else:
            exemplars += 1
        line = line[:at]
    out.append(line)

for name in families:
    if name not in seen_help:
        errors.append(f"family {name} has no # HELP")
for e in errors[:20]:
    print("openmetrics:", e)
if errors:
    sys.exit(1)
with open(dst, "w", encoding="utf-8") as f:
    f.write("\n".join(out) + "\n")
print(f"openmetrics: {len(families)} families, {exemplars} exemplars, structure ok")
EOF
pass "OpenMetrics structure (metadata, sample names per type, units, # EOF)"
promtool_check openmetrics "$tmp/openmetrics-as-text.prom"

# --- JSON -------------------------------------------------------------------------------------------------
ct=$(fetch metrics.json '*/*' '?format=json')
[[ "$ct" == application/json* ]] || fail "?format=json gave Content-Type '${ct}'"
python3 -m json.tool "$tmp/metrics.json" >/dev/null || fail "?format=json is not valid JSON"
python3 - "$tmp/metrics.json" <<'EOF' || fail "the JSON body lacks the demo's metrics (see above)"
import json
import sys

doc = json.load(open(sys.argv[1], encoding="utf-8"))
names = {m["name"]: m for m in doc["metrics"]}
want = {"agent_requests": "counter", "gen_ai_client_operation_duration_seconds": "histogram",
        "tool_execution_duration_seconds": "summary", "agent_gateway_build": "info",
        "agent_active_requests": "gauge", "process_resident_memory_bytes": "gauge"}
missing = [f"{n} ({t})" for n, t in want.items() if names.get(n, {}).get("type") != t]
if missing:
    print("json: missing or mistyped:", ", ".join(missing))
    sys.exit(1)
if not names["agent_requests"]["series"]:
    print("json: agent_requests has no series")
    sys.exit(1)
print(f"json: {len(names)} families")
EOF
pass "?format=json -> ${ct}, valid JSON (python3 -m json.tool) with the expected families"

ct=$(fetch accept.json 'application/json')
[[ "$ct" == application/json* ]] || fail "Accept: application/json gave Content-Type '${ct}'"
python3 -m json.tool "$tmp/accept.json" >/dev/null || fail "Accept: application/json is not valid JSON"
pass "Accept: application/json -> ${ct}"

# --- the example Prometheus configuration -----------------------------------------------------------
config="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/deploy/prometheus/prometheus.yml"
if [[ -f "$config" ]]; then
  "$promtool" check config "$config" >"$tmp/config.out" 2>&1 ||
    { indent <"$tmp/config.out"; fail "promtool check config rejects ${config}"; }
  pass "promtool check config accepts deploy/prometheus/prometheus.yml"
else
  fail "${config} is missing"
fi

log "PASS: ${checks} checks in $((SECONDS - started))s"
