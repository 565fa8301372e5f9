#!/usr/bin/env bash
# Prints the gzipped size of the web app's wasm + JS (web/dist, built by
# `cargo xtask build-web`) against the 200 KB budget; exits 1 when over, so
# CI catches a page that pushes the app past it.
set -euo pipefail
cd "$(dirname "$0")/.."
budget=$((200 * 1024))
shopt -s nullglob
files=(web/dist/assets/*.wasm web/dist/assets/*.js)
if [ ${#files[@]} -eq 0 ]; then
  echo "no web/dist: run cargo xtask build-web first" >&2
  exit 1
fi
total=0
for f in "${files[@]}"; do
  size=$(gzip -9 -c "$f" | wc -c)
  printf '  %-48s %8d bytes gzipped\n' "$(basename "$f")" "$size"
  total=$((total + size))
done
awk -v t="$total" -v b="$budget" 'BEGIN {
  printf "web app: %d bytes (%.1f KB) gzipped, budget %d KB: ratio %.2f (%s)\n",
    t, t / 1024, b / 1024, t / b, (t <= b ? "within" : "OVER")
}'
[ "$total" -le "$budget" ]
