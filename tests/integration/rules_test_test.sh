#!/usr/bin/env bash
# integration.rules_test: `vigil rules test` and `promtool test rules` (Prometheus 2.42) give the
# same verdict (exit status) for every rule unit-test file of tests/alerting/rule_tests/
# (*_test.yml; files named fail_* must fail, the others pass), one file at a time and all at
# once; the failure reports (stderr) are compared too and differences are logged (not fatal:
# rule evaluation error texts may differ). Plus the tool's help and usage errors.
#
#   rules_test_test.sh VIGIL PROMTOOL TESTS_DIR [MIN_FILES]
# (MIN_FILES, default 15: the fewest *_test.yml files TESTS_DIR must hold. integration.deploy_rules
# runs it on deploy/prometheus/, the rule files' own tests.)
set -uo pipefail
log() { echo "rules_test: $*" >&2; }
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

vigil=$1
promtool=$2
dir=$3
min_files=${4:-15}
require_executable "$vigil"
require_tools "$promtool"

failures=0
report_diffs=0
check_same() {  # FILE...
  local ve pe vs ps
  ve=$("$vigil" rules test "$@" 2>&1 >/dev/null)
  vs=$?
  pe=$("$promtool" test rules "$@" 2>&1 >/dev/null)
  ps=$?
  if [[ $vs -ne $ps ]]; then
    log "DIFFERENT verdict for $*: vigil $vs, promtool $ps"
    log "vigil: $ve"
    log "promtool: $pe"
    failures=$((failures + 1))
    return
  fi
  if [[ "$(grep -v '^$' <<<"$ve")" != "$(grep -v '^$' <<<"$pe")" ]]; then
    log "note: same verdict, different report for $*"
    diff <(grep -v '^$' <<<"$pe") <(grep -v '^$' <<<"$ve") >&2
    report_diffs=$((report_diffs + 1))
  fi
}

shopt -s nullglob
files=("$dir"/*_test.yml)
[[ ${#files[@]} -ge $min_files ]] ||
  fail "expected at least $min_files test files in $dir, found ${#files[@]}"
cd "$dir" || fail "cd $dir"
for f in *_test.yml; do
  check_same "$f"
  "$promtool" test rules "$f" >/dev/null 2>&1
  status=$?
  if [[ $f == fail_* && $status -eq 0 ]]; then
    log "$f is meant to fail but promtool passes it"
    failures=$((failures + 1))
  elif [[ $f != fail_* && $status -ne 0 ]]; then
    log "$f is meant to pass but promtool fails it"
    failures=$((failures + 1))
  fi
done
check_same *_test.yml
passing=()
for f in *_test.yml; do [[ $f == fail_* ]] || passing+=("$f"); done
check_same "${passing[@]}"

# help and usage errors
"$vigil" --help | grep -q 'vigil rules test FILE' || fail "vigil --help lists no 'rules test'"
"$vigil" rules test --help | grep -q 'usage: vigil rules test FILE' || fail "rules test --help"
"$vigil" rules test >/dev/null 2>&1
[[ $? -eq 2 ]] || fail "rules test without FILE must exit 2"
"$vigil" rules test does-not-exist.yml >/dev/null 2>&1
[[ $? -eq 1 ]] || fail "a missing file must fail (exit 1)"

[[ $failures -eq 0 ]] || fail "$failures disagreement(s) with promtool"
log "OK: ${#files[@]} files, same verdicts as promtool ($report_diffs with different reports)"
