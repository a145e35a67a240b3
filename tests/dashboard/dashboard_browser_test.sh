#!/usr/bin/env bash
# tests/dashboard/dashboard_browser_test.sh: the live dashboard in a real browser (issue 13 §5).
# Runs vigil-demo with an early outage and a rule whose label holds HTML, opens the dashboard in
# Debian's Chromium driven by playwright-core (executablePath: nothing is downloaded) and checks
# charts, updates, health and alert changes, the guardrail's rollback, escaping and the console
# (dashboard_browser_test.js).
#
#   dashboard_browser_test.sh DEMO_BINARY SOURCE_DIR WORK_DIR
#
# npm packages go to WORK_DIR (the build tree), reused while package-lock.json is unchanged.
# The screenshot is WORK_DIR/dashboard.png. Exits 77 (skipped) when chromium, node or npm is
# missing, unless CI is set, where that fails. About 40 s.
set -euo pipefail
demo=$1
src=$2
work=$3

unavailable() {
  if [[ -n "${CI:-}" ]]; then
    echo "dashboard-browser: FAIL: $1" >&2
    exit 1
  fi
  echo "dashboard-browser: SKIP: $1" >&2
  exit 77
}

chromium=$(command -v chromium || true)
[[ -n "$chromium" ]] || unavailable "chromium not found (Debian: chromium; scripts/install-deps.sh)"
command -v node >/dev/null 2>&1 || unavailable "node not found (Debian: nodejs)"
command -v npm >/dev/null 2>&1 || unavailable "npm not found (Debian: npm)"

mkdir -p "$work"
cp "$src/browser/package.json" "$src/browser/package-lock.json" "$src/dashboard_browser_test.js" "$work/"
stamp="$work/node_modules/.vigil-lock-sha256"
want=$(sha256sum "$src/browser/package-lock.json" | cut -d' ' -f1)
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  echo "dashboard-browser: npm ci in ${work}"
  if ! (cd "$work" && timeout 300 npm ci --no-audit --no-fund --ignore-scripts --loglevel=error); then
    unavailable "npm ci failed (is the npm registry reachable?)"
  fi
  echo "$want" >"$stamp"
fi

# An alert whose label value is HTML: the page must show it as text.
cat >"$work/html-label-rules.yml" <<'YAML'
groups:
  - name: dashboard-browser-test
    rules:
      - alert: HtmlLabelProbe
        expr: vector(1)
        labels:
          severity: info
          note: '<img src=x onerror="window.__xss=1"><b>bold</b>'
YAML

log="$work/demo.log"
# The outage comes early: the vector store is down from t=20 s to t=40 s. A bad model release at
# t=5 s, judged every 5 s (so the fail decision stays among the 10 newest for about 50 s), is
# rolled back by the guardrail a few seconds later.
"$demo" --listen 127.0.0.1:0 --duration 90 --outage-every 40 --outage-for 20 --warmup 1 \
  --eval-interval 1 --rules "$work/html-label-rules.yml" --bad-release-at 5 \
  --guardrail-interval 5 >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true' EXIT
url=""
for _ in $(seq 1 100); do
  url=$(sed -n 's|^  Dashboard: *\(http://[0-9.:]*\)/.*|\1|p' "$log" | head -1)
  [[ -n "$url" ]] && break
  kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; echo "dashboard-browser: FAIL: the demo exited" >&2; exit 1; }
  sleep 0.1
done
[[ -n "$url" ]] || { cat "$log" >&2; echo "dashboard-browser: FAIL: no dashboard URL printed" >&2; exit 1; }
echo "dashboard-browser: demo at $url"

cd "$work"
CHROMIUM="$chromium" DASHBOARD_URL="$url" SCREENSHOT="$work/dashboard.png" \
  timeout 120 node dashboard_browser_test.js
