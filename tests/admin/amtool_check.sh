#!/bin/sh
# The real amtool (Debian prometheus-alertmanager, API v2) against vigil's silence endpoints:
# query, add (with the admin token), query by matcher, expire, expired listing, and a refused
# add without the token. Everything on 127.0.0.1; bounded by timeouts. Exit 77 (skipped) when
# amtool is not installed.
#   amtool_check.sh PATH/TO/alerting_amtool_server
set -eu
server_bin=$1
command -v amtool >/dev/null 2>&1 || { echo "amtool not installed: skipped"; exit 77; }

dir=$(mktemp -d)
token=amtool-check-token
cleanup() {
  # Closing the server's stdin stops it; kill it if it did not stop.
  exec 3>&- 2>/dev/null || true
  if [ -n "${pid:-}" ]; then
    sleep 0.2
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$dir"
}
trap cleanup EXIT

mkfifo "$dir/stdin"
"$server_bin" "$token" <"$dir/stdin" >"$dir/url" 2>"$dir/server.err" &
pid=$!
exec 3>"$dir/stdin"
i=0
while [ ! -s "$dir/url" ]; do
  i=$((i + 1))
  [ $i -le 100 ] || { echo "server did not start"; cat "$dir/server.err"; exit 1; }
  sleep 0.1
done
url=$(head -n 1 "$dir/url")
printf 'authorization:\n  type: Bearer\n  credentials: %s\n' "$token" >"$dir/http.yml"

am() { timeout 20 amtool --alertmanager.url="$url" "$@" 2>"$dir/amtool.err"; }
fail() { echo "FAIL: $*"; cat "$dir/amtool.err"; exit 1; }

# Nothing yet.
[ -z "$(am silence query -q)" ] || fail "silences before any was added"

# Add without the token: refused, nothing created.
if am silence add alertname=AmtoolCheck --comment=x -a tester --duration=1h; then
  fail "add without the admin token succeeded"
fi
[ -z "$(am silence query -q)" ] || fail "a refused add created a silence"

# Add with the token.
id=$(am --http.config.file="$dir/http.yml" silence add alertname=AmtoolCheck 'team=~inf.*' \
  --comment="amtool check" -a tester --duration=1h) || fail "silence add"
[ -n "$id" ] || fail "silence add printed no id"

# Query: all, by matcher, and the JSON form.
[ "$(am silence query -q)" = "$id" ] || fail "query -q does not list $id"
[ "$(am silence query -q alertname=AmtoolCheck)" = "$id" ] || fail "query by matcher"
[ -z "$(am silence query -q alertname=Other)" ] || fail "query by another matcher listed $id"
out=$(am silence query) || fail "silence query"
echo "$out" | grep -q 'alertname="AmtoolCheck"' || fail "matchers not shown: $out"
echo "$out" | grep -q 'team=~"inf.\*"' || fail "regex matcher not shown: $out"
echo "$out" | grep -q 'amtool check' || fail "comment not shown: $out"
am silence query -o json | grep -q '"createdBy":"tester"' || fail "json output"

# Expire (with the token), then it is listed only with --expired.
am --http.config.file="$dir/http.yml" silence expire "$id" || fail "silence expire"
[ -z "$(am silence query -q)" ] || fail "expired silence still listed as active"
[ "$(am silence query -q --expired)" = "$id" ] || fail "expired silence not listed with --expired"

echo "amtool: query, add, expire against $url: ok"
