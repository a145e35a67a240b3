#!/usr/bin/env bash
# scripts/demo.sh: installs the dependencies, builds vigil (Release, in build/release) and runs
# the demo, passing on its arguments.
#
#   bash scripts/demo.sh                                  # defaults of vigil-demo
#   bash scripts/demo.sh --duration 30 --listen 127.0.0.1:9464
#
# Environment: VIGIL_JOBS (default 2) parallel build jobs; VIGIL_SKIP_DEPS=1 skips the apt step.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

jobs=${VIGIL_JOBS:-2}

if [[ "${VIGIL_SKIP_DEPS:-0}" != 1 ]]; then
  bash scripts/install-deps.sh
fi

echo "demo: configuring build/release (Ninja, Release)"
cmake --preset release >/dev/null
echo "demo: building vigil-demo with -j${jobs}"
cmake --build build/release --target vigil-demo -j "${jobs}"

echo "demo: running build/release/demo/vigil-demo $*"
exec build/release/demo/vigil-demo "$@"
