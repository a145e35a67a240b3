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

source "$(dirname "${BASH_SOURCE[0]}")/../npm_ci.sh"
vigil_require_node otlp-interop
vigil_npm_ci "$work" "$src" receiver.js ||
  vigil_unavailable otlp-interop "npm ci failed (is the npm registry reachable?)"

export VIGIL_NODE="$node"
export VIGIL_OTLP_RECEIVER="$work/receiver.js"
exec "$bin"
