#!/usr/bin/env bash
# tests/exporters/pushgateway_integration_test.sh: runs pushgateway_integration_test.cc against
# the real Prometheus Pushgateway (Debian prometheus-pushgateway), started here on a free
# 127.0.0.1 port without persistence and stopped at exit.
#
#   pushgateway_integration_test.sh TEST_BINARY
#
# Exits 77 (skipped) when prometheus-pushgateway is missing, unless CI is set (then it fails).
set -euo pipefail
bin=$1

log() { echo "pushgateway-it: $*" >&2; }
source "$(dirname "${BASH_SOURCE[0]}")/../integration/common.sh"

gw=${VIGIL_PUSHGATEWAY_BIN:-}
if [[ -z "$gw" ]]; then
  if [[ -x /usr/bin/prometheus-pushgateway ]]; then
    gw=/usr/bin/prometheus-pushgateway
  else
    gw=$(command -v prometheus-pushgateway || command -v pushgateway || true)
  fi
fi
if [[ -z "$gw" ]]; then
  if [[ -n "${CI:-}" ]]; then
    fail "prometheus-pushgateway not found (install it: bash scripts/install-deps.sh)"
  fi
  log "SKIP: prometheus-pushgateway not found (install it: bash scripts/install-deps.sh)"
  exit 77
fi
require_tools curl python3
require_executable "$bin"

tmp=$(mktemp -d)
pid=""
cleanup() {
  stop_process "$pid" pushgateway
  finish_test_dir "$tmp"
}
trap cleanup EXIT

read -r port < <(free_ports 1)
"$gw" --web.listen-address="127.0.0.1:$port" --persistence.file= >"$tmp/pushgateway.log" 2>&1 &
pid=$!
ready=""
for ((i = 0; i < 100; i++)); do
  if curl -fsS -m 1 "http://127.0.0.1:$port/-/ready" >/dev/null 2>&1; then
    ready=1
    break
  fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
if [[ -z "$ready" ]]; then
  cat "$tmp/pushgateway.log" >&2
  fail "the Pushgateway did not become ready on 127.0.0.1:$port within 10 s"
fi
log "Pushgateway $("$gw" --version 2>&1 | head -1) on 127.0.0.1:$port"

status=0
VIGIL_TEST_PUSHGATEWAY_URL="http://127.0.0.1:$port" "$bin" || status=$?
if [[ $status -ne 0 ]]; then
  log "the Pushgateway's log:"
  cat "$tmp/pushgateway.log" >&2
fi
exit $status
