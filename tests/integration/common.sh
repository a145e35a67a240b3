# tests/integration/common.sh: helpers the integration scripts source (after defining log()).
#
#   source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
#   require_tools curl python3          # exit 77 (skip) when missing, 1 (fail) under CI
#   require_executable "$demo"
#   read -r port other < <(free_ports 2)
#   stop_process "$pid" name           # in the script's cleanup()
#   finish_test_dir "$tmp"             # keep with VIGIL_KEEP_TEST_DIR, else remove

# fail MESSAGE: logs and exits 1.
fail() {
  log "FAIL: $*"
  exit 1
}

# require_tools TOOL...: each must be on PATH. A missing one skips the test (exit 77), or fails
# it when CI is set (scripts/install-deps.sh installs them all).
require_tools() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 && continue
    if [[ -n "${CI:-}" ]]; then
      log "FAIL: '$tool' not found (install it: bash scripts/install-deps.sh)"
      exit 1
    fi
    log "SKIP: '$tool' not found (install it: bash scripts/install-deps.sh)"
    exit 77
  done
}

# require_executable PATH
require_executable() {
  [[ -x "$1" ]] || fail "binary '$1' is not executable"
}

# free_ports N: N distinct free 127.0.0.1 ports on one line (bound together so that they differ,
# closed before they are printed).
free_ports() {
  python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
ports = [s.getsockname()[1] for s in socks]
for s in socks:
    s.close()
print(*ports)
PY
}

# stop_process PID NAME: SIGTERM, up to 5 s to exit, then SIGKILL. Only PIDs the script started.
stop_process() {
  local pid=$1 name=$2 i
  [[ -z "$pid" ]] && return 0
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "$name (pid $pid) did not stop on SIGTERM within 5 s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null
  fi
  # A process ended by the signal reports 128+N here: not a failure (and under set -e, in an
  # EXIT trap, it would replace the script's exit status).
  wait "$pid" 2>/dev/null || true
  return 0
}

# finish_test_dir DIR: removes the test's scratch directory, or keeps it (and says so) when
# VIGIL_KEEP_TEST_DIR is set.
finish_test_dir() {
  if [[ -n "${VIGIL_KEEP_TEST_DIR:-}" ]]; then
    log "kept $1"
  else
    rm -rf "$1"
  fi
}
