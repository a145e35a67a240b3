#!/usr/bin/env bash
# tests/ops/dashboard_schema_test.sh: validates the checked-in dashboards against Grafana's
# dashboard schema, the official @grafana/schema package (TypeScript types generated from
# Grafana's CUE kinds; grafana-foundation-sdk's JSON schemas are not published on npm), with the
# TypeScript compiler (schema/check.mjs), and checks that a broken dashboard is rejected.
#
#   dashboard_schema_test.sh SCHEMA_SOURCE_DIR WORK_DIR DASHBOARD_DIR
#
# Installs the npm packages with `npm ci` into WORK_DIR (in the build tree), reusing them while
# package-lock.json is unchanged. Exits 77 (skipped) when node or npm is missing or the registry
# cannot be reached, unless CI is set, where that fails.
set -euo pipefail
src=$1
work=$2
dashboards=$3

source "$(dirname "${BASH_SOURCE[0]}")/../npm_ci.sh"
vigil_require_node dashboard-schema
vigil_npm_ci "$work" "$src" check.mjs ||
  vigil_unavailable dashboard-schema "npm ci failed (is the npm registry reachable?)"

"$node" "$work/check.mjs" "$work/ts" "$dashboards"/*.json

# The check must reject what Grafana's schema does not allow: an unknown thresholds mode, a
# misspelt panel field, a graphTooltip out of range.
first=$(ls "$dashboards"/*.json | head -1)
"$node" -e '
  const fs = require("fs");
  const d = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
  const panels = d.panels.filter((p) => p.type !== "row");
  panels[0].fieldConfig.defaults.thresholds.mode = "absolut";
  panels[panels.length - 1].gridPoss = panels[panels.length - 1].gridPos;
  d.graphTooltip = 7;
  fs.writeFileSync(process.argv[2], JSON.stringify(d));
' "$first" "$work/broken.json"
if "$node" "$work/check.mjs" "$work/ts-broken" "$work/broken.json" >"$work/broken.log" 2>&1; then
  echo "dashboard-schema: FAIL: a broken dashboard passed the check" >&2
  exit 1
fi
for want in '"absolut"' "gridPoss" "Type '7'"; do
  if ! grep -q "$want" "$work/broken.log"; then
    echo "dashboard-schema: FAIL: the broken dashboard's $want was not reported:" >&2
    cat "$work/broken.log" >&2
    exit 1
  fi
done
echo "dashboard-schema: a broken dashboard is rejected (3 errors reported)"
