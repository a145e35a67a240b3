#!/usr/bin/env bash
# tests/dashboard/page_weight_test.sh: the dashboard's page weight (HTML + JS + CSS, each gzipped
# as the admin server sends it) is at most LIMIT bytes (issue 13: 100 KB).
#   page_weight_test.sh LIMIT FILE...
set -euo pipefail
limit=$1
shift
total=0
for f in "$@"; do
  [[ -f "$f" ]] || continue  # uPlot's files are absent in a build without charts
  raw=$(wc -c <"$f")
  gz=$(gzip -9 -c "$f" | wc -c)
  printf 'page-weight: %-60s %7d bytes, %6d gzipped\n' "$(basename "$f")" "$raw" "$gz"
  total=$((total + gz))
done
echo "page-weight: total ${total} bytes gzipped (limit ${limit})"
if ((total > limit)); then
  echo "page-weight: FAIL: over the limit" >&2
  exit 1
fi
echo "1 passed, 0 failed"
