#!/usr/bin/env bash
# Prints the gzipped size of each of the web app's bundles (web/dist,
# built by `cargo xtask build-web`) against its 200 KB budget: the site's
# (index.html), which every visitor loads, and the administration's
# (admin.html). A bundle is the wasm, the JS glue and the boot script its
# page loads. Exits 1 when one is over, so CI catches a page that pushes
# a bundle past it.
set -euo pipefail
cd "$(dirname "$0")/.."
budget=$((200 * 1024))
over=0
for page in index admin; do
  html=web/dist/$page.html
  if [ ! -f "$html" ]; then
    echo "no $html: run cargo xtask build-web first" >&2
    exit 1
  fi
  total=0
  # Every script and module the page names (boot, glue, wasm); the
  # stylesheet is not code and is shared.
  for asset in $(grep -oE '/assets/[A-Za-z0-9_.-]+\.(js|wasm)' "$html" | sort -u); do
    f=web/dist$asset
    size=$(gzip -9 -c "$f" | wc -c)
    printf '  %-48s %8d bytes gzipped\n' "$(basename "$f")" "$size"
    total=$((total + size))
  done
  awk -v p="$page" -v t="$total" -v b="$budget" 'BEGIN {
    printf "%s bundle: %d bytes (%.1f KB) gzipped, budget %d KB: ratio %.2f (%s)\n",
      p, t, t / 1024, b / 1024, t / b, (t <= b ? "within" : "OVER")
  }'
  [ "$total" -le "$budget" ] || over=1
done
exit "$over"
