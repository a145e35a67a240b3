# tests/npm_ci.sh: sourced by the test scripts that run Node.js code with npm packages
# (tests/exporters/otlp_interop_test.sh, demo_trace_test.sh, tests/ops/dashboard_schema_test.sh).
#
#   source tests/npm_ci.sh
#   vigil_require_node NAME       # sets node=...; skips (exit 77) or, under CI, fails without
#                                 # node or npm, messages prefixed "NAME: "
#   vigil_npm_ci WORK_DIR SOURCE_DIR FILE... || vigil_unavailable NAME "npm ci failed (...)"
#
# Copies package.json, package-lock.json and the FILEs from SOURCE_DIR into WORK_DIR (in the
# build tree, never the source tree) and runs `npm ci` there unless the packages installed last
# time came from the same package-lock.json. Returns 1 when npm ci fails.
# vigil_unavailable NAME MESSAGE: exit 77 (skipped), or 1 (failed) when CI is set (CI has every
# tool: scripts/install-deps.sh).
vigil_unavailable() {
  if [[ -n "${CI:-}" ]]; then
    echo "$1: FAIL: $2" >&2
    exit 1
  fi
  echo "$1: SKIP: $2" >&2
  exit 77
}

vigil_require_node() {
  node=$(command -v node || true)
  [[ -n "$node" ]] || vigil_unavailable "$1" "node not found (Debian: nodejs)"
  command -v npm >/dev/null 2>&1 || vigil_unavailable "$1" "npm not found (Debian: npm)"
}

vigil_npm_ci() {
  local work=$1 src=$2
  shift 2
  mkdir -p "$work" || return 1
  cp "$src/package.json" "$src/package-lock.json" "$work/" || return 1
  local f
  for f in "$@"; do cp "$src/$f" "$work/" || return 1; done
  local stamp="$work/node_modules/.vigil-lock-sha256"
  local want
  want=$(sha256sum "$src/package-lock.json" | cut -d' ' -f1)
  if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
    echo "npm ci in ${work}"
    (cd "$work" && timeout 300 npm ci --no-audit --no-fund --ignore-scripts --loglevel=error) ||
      return 1
    echo "$want" >"$stamp"
  fi
}
