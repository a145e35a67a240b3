#!/usr/bin/env bash
# integration.routes_cli: `vigil routes check` and `amtool check-config` (Alertmanager 0.25) give
# the same verdict for every file of tests/integration/routes/; `vigil routes test` prints the
# same receivers as `amtool config routes test` for a set of label sets; plus help and usage
# errors.
#
#   routes_cli_test.sh VIGIL AMTOOL ROUTES_DIR
set -uo pipefail
log() { echo "routes_cli: $*" >&2; }
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

vigil=$1
amtool=$2
dir=$3
require_executable "$vigil"
require_tools "$amtool"

failures=0
shopt -s nullglob
files=("$dir"/*.yml)
[[ ${#files[@]} -gt 0 ]] || fail "no routing files in $dir"
for f in "${files[@]}"; do
  "$vigil" routes check "$f" >/dev/null 2>&1
  vs=$?
  "$amtool" check-config "$f" >/dev/null 2>&1
  as=$?
  if [[ $vs -ne $as ]]; then
    log "DIFFERENT verdict for $f: vigil $vs, amtool $as"
    "$vigil" routes check "$f" >&2
    failures=$((failures + 1))
  fi
done
out=$("$vigil" routes check "$dir/bad_undefined_receiver.yml" 2>&1)
grep -q 'bad_undefined_receiver.yml:4: route.routes\[0\]: receiver "web" is not defined' <<<"$out" ||
  fail "routes check names neither file:line nor the route: $out"

good="$dir/good_teams.yml"
label_sets=(
  "alertname=A"
  "alertname=A severity=critical"
  "alertname=A severity=critical team=web"
  "alertname=A severity=critical team=db env=prod"
  "alertname=A severity=warning team=storage env=dev"
  "alertname=Watchdog severity=critical"
  "alertname=InfoInhibitor team=web"
  "alertname=B team=webx"
)
for ls in "${label_sets[@]}"; do
  # shellcheck disable=SC2086
  v=$("$vigil" routes test "$good" $ls 2>/dev/null)
  # shellcheck disable=SC2086
  a=$("$amtool" config routes test --config.file="$good" $ls 2>/dev/null)
  if [[ "$v" != "$a" ]]; then
    log "DIFFERENT receivers for $ls: vigil '$v', amtool '$a'"
    failures=$((failures + 1))
  fi
  # shellcheck disable=SC2086
  "$vigil" routes test --verify.receivers="$a" "$good" $ls >/dev/null 2>&1 ||
    { log "--verify.receivers=$a failed for $ls"; failures=$((failures + 1)); }
done
"$vigil" routes test --verify.receivers=nobody "$good" alertname=A >/dev/null 2>&1
[[ $? -eq 1 ]] || fail "routes test with wrong --verify.receivers must exit 1"

# help and usage errors
"$vigil" --help | grep -q 'vigil routes check FILE' || fail "vigil --help lists no 'routes check'"
"$vigil" routes test --help | grep -q 'usage: vigil routes test FILE' || fail "routes test --help"
"$vigil" routes check >/dev/null 2>&1
[[ $? -eq 2 ]] || fail "routes check without FILE must exit 2"
"$vigil" routes test "$good" 'a=~b' >/dev/null 2>&1
[[ $? -eq 2 ]] || fail "routes test with a non-label argument must exit 2"
"$vigil" routes check "$dir/does-not-exist.yml" >/dev/null 2>&1
[[ $? -eq 1 ]] || fail "a missing file must fail (exit 1)"

if [[ $failures -gt 0 ]]; then
  fail "$failures difference(s)"
fi
log "ok: ${#files[@]} files, ${#label_sets[@]} label sets"
