#!/usr/bin/env bash
# tests/ops/dashboard_cli_test.sh: `vigil dashboard --metrics FILE -o DIR` writes the dashboards
# of an exposition's families; bad input and bad usage exit 1 and 2 with a message.
#
#   dashboard_cli_test.sh VIGIL_BINARY WORK_DIR
set -euo pipefail
vigil=$1
work=$2
rm -rf "$work"
mkdir -p "$work"
fail() {
  echo "dashboard-cli: FAIL: $*" >&2
  exit 1
}

printf '%s\n' '# TYPE shop_requests_total counter' \
  'shop_requests_total{code="200",route="/buy"} 3' \
  '# TYPE process_resident_memory_bytes gauge' 'process_resident_memory_bytes 1e6' >"$work/metrics.txt"
"$vigil" dashboard --metrics - -o "$work/out" --title shop --job shop <"$work/metrics.txt" >"$work/log"
grep -q "wrote $work/out/shop-overview.json (shop / Overview, uid shop-overview)" "$work/log" ||
  fail "unexpected output: $(cat "$work/log")"
[[ -f "$work/out/shop-system-and-process.json" ]] || fail "no system dashboard"
[[ ! -f "$work/out/shop-llm-and-agents.json" ]] || fail "an LLM dashboard without LLM families"
grep -q 'sum(rate(shop_requests_total{job=~\\"$job\\", instance=~\\"$instance\\", code=~\\"5..\\"}' \
  "$work/out/shop-overview.json" || fail "no error ratio of shop_requests_total"

rc=0
printf 'x{a=1} 2\n' | "$vigil" dashboard --metrics - -o "$work/bad" 2>"$work/err" || rc=$?
[[ $rc -eq 1 ]] || fail "malformed exposition: exit $rc, want 1"
grep -q "line 1: x: expected '\"' after a=" "$work/err" || fail "error: $(cat "$work/err")"
rc=0
"$vigil" dashboard -o "$work/bad" 2>"$work/err" || rc=$?
[[ $rc -eq 2 ]] || fail "missing --metrics: exit $rc, want 2"
echo "dashboard-cli: passed"
