#!/bin/sh
# Does a slow handler stall the other connections? Starts `admin_server_bench --serve=SERVER`,
# keeps N clients looping on PATH (a handler that takes 1 s: /debug/sleep blocks its thread,
# /debug/sleep-async suspends the connection, libmicrohttpd only), and meanwhile probes
# /health/live with admin_slowloris (no attack connections).
#   bench/admin_slow_handler_check.sh BUILD_DIR SERVER PATH [N]
set -eu
build=$1 server=$2 path=$3 n=${4:-4}
"$build/bench/admin_server_bench" --serve="$server" > /tmp/slow_handler_$$.txt 2>/dev/null &
sleep 1
read -r port pid < /tmp/slow_handler_$$.txt
rm -f /tmp/slow_handler_$$.txt
end=$(( $(date +%s) + 8 ))
i=0
while [ "$i" -lt "$n" ]; do
  ( while [ "$(date +%s)" -lt "$end" ]; do
      curl -s -o /dev/null --max-time 5 "http://127.0.0.1:$port$path" || true
    done ) &
  i=$((i + 1))
done
sleep 1
"$build/bench/admin_slowloris" --target="127.0.0.1:$port" --slowloris=0 --idle=0 --warmup-s=0 \
  --requests=20 --paths=/health/live --timeout-ms=3000 --max-failures=3 | grep -E '^(probe|baseline)' || true
wait_until=$end
while [ "$(date +%s)" -lt "$wait_until" ]; do sleep 1; done
sleep 6
kill "$pid"
wait "$pid" 2>/dev/null || true
