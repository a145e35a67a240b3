#!/usr/bin/env bash
# tests/exporters/remote_write_prometheus_test.sh: vigil's remote write exporter pushes into a
# real Prometheus (remote_write_prometheus_test.cc checks what its HTTP API answers).
#
#   remote_write_prometheus_test.sh TEST_BINARY [PROMETHEUS_BINARY]
#
# Starts Prometheus with --web.enable-remote-write-receiver on a free 127.0.0.1 port, a
# throw-away TSDB in a temporary directory and no scrape configuration, waits (at most 30 s)
# until it is ready, runs the test binary with VIGIL_TEST_PROMETHEUS_URL, and stops Prometheus.
# Exit status: 0 passed, 1 failed, 77 skipped (prometheus, curl or python3 missing and CI unset).
set -uo pipefail

bin=${1:?usage: remote_write_prometheus_test.sh TEST_BINARY [PROMETHEUS_BINARY]}
prometheus=${2:-${PROMETHEUS:-prometheus}}

log() { echo "remote_write_prometheus_test: $*"; }

# shellcheck source=../integration/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../integration/common.sh"

require_tools "$prometheus" curl python3
require_executable "$bin"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vigil-remote-write-test.XXXXXX")
prom_pid=""

cleanup() {
  local rc=$?
  stop_process "$prom_pid" prometheus
  if [[ $rc -ne 0 ]]; then
    log "--- last lines of the prometheus log ---"
    tail -n 30 "$tmp/prometheus.log" 2>/dev/null
  fi
  finish_test_dir "$tmp"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

read -r port < <(free_ports 1)
[[ -n "$port" ]] || fail "could not find a free port"
url="http://127.0.0.1:${port}"

printf 'global:\n  scrape_interval: 1m\n' >"$tmp/prometheus.yml"
"$prometheus" --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/data" \
  --web.listen-address="127.0.0.1:${port}" --web.enable-remote-write-receiver \
  --log.level=warn >"$tmp/prometheus.log" 2>&1 &
prom_pid=$!

for ((i = 0; i < 300; i++)); do
  curl -fsS -o /dev/null "$url/-/ready" 2>/dev/null && break
  kill -0 "$prom_pid" 2>/dev/null || fail "prometheus exited at start"
  sleep 0.1
done
curl -fsS -o /dev/null "$url/-/ready" || fail "prometheus not ready after 30 s"
log "prometheus ready at $url ($("$prometheus" --version 2>&1 | head -n 1))"

VIGIL_TEST_PROMETHEUS_URL="$url" "$bin"
