#!/usr/bin/env bash
# scripts/install-deps.sh: installs everything vigil needs to build, test and run its demo on
# Debian 12 (bookworm), from Debian's own apt repositories.
#
#   bash scripts/install-deps.sh            # installs what is missing; a no-op when all is there
#   VIGIL_EXTRA_PACKAGES="foo bar" bash scripts/install-deps.sh
#
# Idempotent: when every package is already installed (checked with dpkg-query) apt is not run at
# all, so repeated runs take well under a second. Otherwise `apt-get update` runs once, then one
# `apt-get install`. Runs as root, or through sudo when it is available.
set -euo pipefail

packages=(
  # toolchain (ccache: scripts/test.sh uses it when installed)
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev ccache
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev prometheus-cpp-dev
  # exporters (and the admin server's gzip)
  zlib1g-dev nlohmann-json3-dev libcurl4-openssl-dev
  # bench/admin_server_bench's peers: civetweb (the server vigil had before issue 8) and GNU
  # libmicrohttpd (the prototype it was weighed against). libcivetweb-dev's CMake package checks
  # that /usr/bin/civetweb, shipped by the civetweb package, exists.
  libcivetweb-dev civetweb libmicrohttpd-dev
  # the admin server on Boost.Beast/Asio (header-only Boost) with TLS from OpenSSL
  libboost-dev libssl-dev
  # vigil::alerting: PromQL regex matchers (RE2, the syntax Prometheus uses), rule files, state
  libre2-dev libyaml-cpp-dev libsqlite3-dev
  # integration.admin_amtool_silences: the real amtool against vigil's /api/v2/silences; alert
  # delivery: the real Alertmanager receives vigil's alerts, a real SMTP server (aiosmtpd) its
  # email (openssl makes the test certificate for STARTTLS and implicit TLS)
  prometheus-alertmanager python3-aiosmtpd openssl
  # OTLP exporter: protoc generates C++ from the OTLP .proto files at build time
  protobuf-compiler libprotobuf-dev
  # push exporters (issue 12): remote write compresses with snappy; integration tests push to
  # the real Pushgateway (and Prometheus' remote-write receiver, installed below)
  libsnappy-dev prometheus-pushgateway
  # optional log correlation target vigil::trace_spdlog (spdlog with the external fmt)
  libspdlog-dev
  # integration tests: a real Prometheus server scrapes vigil-demo (scripts use curl, python3)
  prometheus curl ca-certificates python3
  # integration.deploy_files and scripts/gen-prometheus-rule.py parse YAML (deploy/)
  python3-yaml
  # the dashboard's browser test drives Debian's Chromium (playwright-core with executablePath;
  # no browser is downloaded)
  chromium
)
# OTLP interop tests run a Node.js receiver (npm packages installed by the test itself). The
# project machines ship Node.js 20 with npm (nodesource's nodejs package, which bundles npm and
# conflicts with Debian's npm package), so Debian's are installed only when a command is missing.
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)
# shellcheck disable=SC2206
packages+=(${VIGIL_EXTRA_PACKAGES:-})

# One dpkg-query for all packages; a package it does not know is simply absent from the output.
declare -A installed=()
while read -r name status; do
  [[ "$status" == "installed" ]] && installed[$name]=1
done < <(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${packages[@]}" 2>/dev/null || true)
missing=()
for pkg in "${packages[@]}"; do
  [[ -n "${installed[$pkg]:-}" ]] || missing+=("$pkg")
done

# ---- the dashboard's charting library (uPlot, pinned in web/package-lock.json),
# embedded into vigil_admin at build time. `npm ci` only when web/node_modules does not match the
# lock file, so a second run costs nothing. Failure is not fatal: the build then embeds a page
# without charts (CMake says so).
web_assets() {
  local web
  web="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/web"
  [[ -f "$web/package-lock.json" ]] || return 0
  if [[ -f "$web/node_modules/.package-lock.json" && -f "$web/node_modules/uplot/dist/uPlot.iife.min.js" &&
        "$web/node_modules/.package-lock.json" -nt "$web/package-lock.json" ]]; then
    echo "install-deps: web/node_modules up to date"
    return 0
  fi
  if ! command -v npm >/dev/null 2>&1; then
    echo "install-deps: npm not found; the dashboard will be built without charts" >&2
    return 0
  fi
  echo "install-deps: npm ci in web/ (uPlot for the dashboard)"
  (cd "$web" && timeout 300 npm ci --no-audit --no-fund --ignore-scripts --loglevel=error) ||
    echo "install-deps: npm ci in web/ failed; the dashboard will be built without charts" >&2
}

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  web_assets
  exit 0
fi

echo "install-deps: installing ${#missing[@]} missing package(s): ${missing[*]}"

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
  else
    echo "install-deps: not root and no sudo; install these packages yourself: ${missing[*]}" >&2
    exit 1
  fi
fi

# Debian's prometheus package starts its service from its postinst. In a container without
# systemd (CI, developer containers) that can hang or fail, so forbid service starts for the
# duration of the install with a policy-rc.d that exits 101 -- unless one is already there, in
# which case it is left alone.
policy=/usr/sbin/policy-rc.d
created_policy=0
cleanup() {
  if [[ $created_policy -eq 1 ]]; then
    "${sudo[@]}" rm -f "$policy"
  fi
}
trap cleanup EXIT
if [[ ! -e "$policy" ]]; then
  printf '#!/bin/sh\n# temporary, created by vigil scripts/install-deps.sh\nexit 101\n' |
    "${sudo[@]}" tee "$policy" >/dev/null
  "${sudo[@]}" chmod 755 "$policy"
  created_policy=1
fi

export DEBIAN_FRONTEND=noninteractive
apt_opts=(-y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install "${apt_opts[@]}" --no-install-recommends "${missing[@]}"

web_assets
echo "install-deps: done"
