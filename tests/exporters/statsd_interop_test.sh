#!/usr/bin/env bash
# tests/exporters/statsd_interop_test.sh: vigil's StatsD exporter against the real Etsy StatsD
# daemon (npm package statsd 0.9.0, pinned by statsd/package-lock.json).
#
#   statsd_interop_test.sh CLIENT_BINARY STATSD_SOURCE_DIR WORK_DIR
#
# Installs the daemon with `npm ci` into WORK_DIR (in the build tree), starts it on 127.0.0.1
# (a free UDP port, a free management port, a 200 ms flush interval, and json_backend.js, which
# appends every flush to a JSON-lines file), runs the client (statsd_interop_client.cc: counters,
# gauges including a negative one sent twice, a histogram, timers with and without a sample rate,
# sets, in both flavours), then waits (at most 10 s) until the flushed values add up to what vigil
# held (compare.js). Exits 77 (skipped) when node or npm is missing or the npm registry cannot be
# reached, unless CI is set, where that fails.
set -euo pipefail
client=$1
src=$2
work=$3

log() { echo "statsd-interop: $*" >&2; }
source "$(dirname "${BASH_SOURCE[0]}")/../npm_ci.sh"
source "$(dirname "${BASH_SOURCE[0]}")/../integration/common.sh"
vigil_require_node statsd-interop
vigil_npm_ci "$work" "$src" json_backend.js compare.js ||
  vigil_unavailable statsd-interop "npm ci failed (is the npm registry reachable?)"
work=$(cd "$work" && pwd)  # the daemon loads the backend by absolute path

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vigil-statsd-interop.XXXXXX")
daemon=""
cleanup() {
  stop_process "$daemon" "statsd daemon"
  finish_test_dir "$tmp"
}
trap cleanup EXIT

# UDP and the management TCP port; free_ports checks TCP, so try a UDP bind of the same port too.
read -r port mgmt < <(free_ports 2)
cat >"$tmp/config.js" <<CONF
{
  address: "127.0.0.1",
  port: $port,
  mgmt_address: "127.0.0.1",
  mgmt_port: $mgmt,
  flushInterval: 200,
  backends: ["$work/json_backend.js"],
  jsonOut: "$tmp/flushed.jsonl"
}
CONF
"$node" "$work/node_modules/statsd/stats.js" "$tmp/config.js" >"$tmp/daemon.log" 2>&1 &
daemon=$!

# Ready when the management port answers (the UDP server starts before it).
for ((i = 0; i < 100; i++)); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$mgmt") 2>/dev/null; then break; fi
  kill -0 "$daemon" 2>/dev/null || { cat "$tmp/daemon.log" >&2; fail "the statsd daemon exited"; }
  sleep 0.1
done
(exec 3<>"/dev/tcp/127.0.0.1/$mgmt") 2>/dev/null || fail "the statsd daemon did not listen in 10 s"

"$client" "$port" "$tmp/expected.json" || fail "the client reported an export failure"

rc=2
for ((i = 0; i < 50; i++)); do
  sleep 0.2
  set +e
  "$node" "$work/compare.js" "$tmp/expected.json" "$tmp/flushed.jsonl" 2>"$tmp/compare.err"
  rc=$?
  set -e
  # Done once it matches; a mismatch may still be an interval not flushed yet: give it 1 s more.
  [[ $rc -eq 0 ]] && break
done
if [[ $rc -ne 0 ]]; then
  cat "$tmp/compare.err" >&2
  tail -20 "$tmp/daemon.log" >&2
  fail "the daemon's flushed values differ from what vigil held"
fi
log "PASS"
