#!/usr/bin/env bash
# tests/ops/dashboards_stale_test.sh: fails when deploy/grafana/dashboards differs from what
# `vigil-demo --write-dashboards` generates now (the generator or the demo's metrics changed).
#
#   dashboards_stale_test.sh VIGIL_DEMO CHECKED_IN_DIR WORK_DIR
set -euo pipefail
demo=$1
checked_in=$2
work=$3
rm -rf "$work"
# A clean environment: OTEL_* variables would add the exporter's families.
env -i PATH="$PATH" "$demo" --write-dashboards "$work" >/dev/null
if ! diff -ru "$checked_in" "$work"; then
  echo "dashboards-stale: FAIL: deploy/grafana/dashboards is stale; refresh it with:" >&2
  echo "  env -i PATH=\"\$PATH\" build/release/demo/vigil-demo --write-dashboards deploy/grafana/dashboards" >&2
  exit 1
fi
echo "dashboards-stale: $(ls "$work" | wc -l) dashboards up to date"
