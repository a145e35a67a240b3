#!/usr/bin/env bash
# integration.rules_check: `vigil rules check` and `promtool check rules` (Prometheus 2.42) give
# the same verdict (exit status, and the rule count on success) for every file of
# tests/integration/rules/, one file at a time and all at once; plus the tool's help and usage
# errors.
#
#   rules_check_test.sh VIGIL PROMTOOL RULES_DIR
set -uo pipefail
log() { echo "rules_check: $*" >&2; }
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

vigil=$1
promtool=$2
dir=$3
require_executable "$vigil"
require_tools "$promtool"

failures=0
check_same() {  # FILE...
  local v p vs ps
  v=$("$vigil" rules check "$@" 2>/dev/null)
  vs=$?
  p=$("$promtool" check rules --lint=none "$@" 2>/dev/null)
  ps=$?
  if [[ $vs -ne $ps ]]; then
    log "DIFFERENT exit status for $*: vigil $vs, promtool $ps"
    "$vigil" rules check "$@" >&2
    failures=$((failures + 1))
    return
  fi
  if [[ "$(grep -c 'SUCCESS' <<<"$v")" != "$(grep -c 'SUCCESS' <<<"$p")" ]] ||
     [[ "$(grep 'SUCCESS' <<<"$v")" != "$(grep 'SUCCESS' <<<"$p")" ]]; then
    log "DIFFERENT output for $*:"
    log "vigil: $v"
    log "promtool: $p"
    failures=$((failures + 1))
  fi
}

shopt -s nullglob
files=("$dir"/*.yml)
[[ ${#files[@]} -gt 0 ]] || fail "no rule files in $dir"
for f in "${files[@]}"; do
  check_same "$f"
done
check_same "${files[@]}"
good=("$dir"/good_*.yml)
check_same "${good[@]}"

# help and usage errors
"$vigil" --help | grep -q 'vigil rules check FILE' || fail "vigil --help lists no 'rules check'"
"$vigil" rules --help | grep -q 'vigil rules check FILE' || fail "vigil rules --help"
"$vigil" rules check --help | grep -q 'usage: vigil rules check FILE' || fail "rules check --help"
"$vigil" nope >/dev/null 2>&1
[[ $? -eq 2 ]] || fail "an unknown command must exit 2"
"$vigil" rules check >/dev/null 2>&1
[[ $? -eq 2 ]] || fail "rules check without FILE must exit 2"
"$vigil" rules check "$dir/does-not-exist.yml" >/dev/null 2>&1
[[ $? -eq 1 ]] || fail "a missing file must fail (exit 1)"

[[ $failures -eq 0 ]] || fail "$failures disagreement(s) with promtool"
log "OK: ${#files[@]} files, same verdicts as promtool"
