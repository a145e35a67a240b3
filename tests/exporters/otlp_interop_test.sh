#!/usr/bin/env bash
# tests/exporters/otlp_interop_test.sh: runs the OTLP interop tests (otlp_interop_test.cc)
# against the Node.js receiver (receiver/receiver.js), which decodes with the official
# OpenTelemetry JS protobuf definitions.
#
#   otlp_interop_test.sh TEST_BINARY RECEIVER_SOURCE_DIR WORK_DIR
#
# Installs the receiver's npm packages with `npm ci` into WORK_DIR (in the build tree, never in
# the source tree), reusing them while package-lock.json is unchanged. Exits 77 (skipped) when
# node or npm is missing or the npm registry cannot be reached, unless CI is set, where that
# fails. The test binary starts and kills its receivers itself (127.0.0.1 only, bounded waits).
set -euo pipefail
bin=$1
src=$2
work=$3

unavailable() {
  if [[ -n "${CI:-}" ]]; then
    echo "otlp-interop: FAIL: $1" >&2
    exit 1
  fi
  echo "otlp-interop: SKIP: $1" >&2
  exit 77
}

node=$(command -v node || true)
[[ -n "$node" ]] || unavailable "node not found (Debian: nodejs)"
command -v npm >/dev/null 2>&1 || unavailable "npm not found (Debian: npm)"

source "$(dirname "${BASH_SOURCE[0]}")/../npm_ci.sh"
vigil_npm_ci "$work" "$src" receiver.js || unavailable "npm ci failed (is the npm registry reachable?)"

export VIGIL_NODE="$node"
export VIGIL_OTLP_RECEIVER="$work/receiver.js"
exec "$bin"
