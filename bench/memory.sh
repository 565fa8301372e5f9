#!/usr/bin/env bash
# The server's memory, in one run: at rest (demo data on the embedded
# SQLite, once /ready answers), then after six concurrent sign-ins (each
# hashes a password: Argon2 borrows 19 MiB) and 300 catalog reads.
# Anonymous memory (heap, stacks: what the process holds) is measured
# against a 40 MB budget, and against a baseline started the same way
# with glibc's malloc left at its defaults (IMMERSION_MALLOC_TUNED=1 skips
# the fixed mmap threshold, api/src/main.rs). File-backed memory (the
# binary's code pages: shared by every instance, dropped under memory
# pressure) is shown beside it.
#
#   bash bench/memory.sh [path/to/immersion]   (default: the release build)
#
# Exits 1 when a request fails, or (outside BENCH_SMOKE=1, which the test
# command sets to run it on the debug build) when the anonymous memory at
# rest is over budget.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
bin=${1:-$target/release/immersion}
[ -x "$bin" ] || { echo "no $bin: build it first (cargo build --release -p api --bin immersion)" >&2; exit 1; }
budget_kb=$((40 * 1024))
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$work"' EXIT

# `measure LABEL [VAR=VALUE…]`: starts the server with the extra
# environment, prints its memory at rest and after the load, and sets
# `rest` and `loaded` (anonymous kB).
measure() {
  local label=$1; shift
  local dir=$work/$label port base
  mkdir -p "$dir"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  base=http://127.0.0.1:$port
  env "$@" DATABASE_URL="sqlite://$dir/memory.db?mode=rwc" BIND_ADDR=127.0.0.1:$port \
    JWT_SECRET=memory-bench-secret-memory-bench-secret DEMO_DATA=true RUST_LOG=warn \
    "$bin" serve >"$dir/log" 2>&1 &
  pid=$!
  curl -sf --retry 100 --retry-connrefused --retry-delay 1 -o /dev/null "$base/ready" \
    || { echo "the server did not become ready:" >&2; cat "$dir/log" >&2; exit 1; }
  rest=$(show "$label, at rest")
  local logins=() failed=0 code
  for i in 1 2 3 4 5 6; do
    curl -s -o /dev/null -H 'Content-Type: application/json' \
      -d "{\"email\":\"memory$i@example.com\",\"password\":\"not the password\"}" "$base/api/auth/login" &
    logins+=($!)
  done
  wait "${logins[@]}"
  for i in $(seq 1 300); do
    code=$(curl -s -o /dev/null -w '%{http_code}' "$base/api/sessions")
    [ "$code" = 200 ] || failed=$((failed + 1))
  done
  loaded=$(show "$label, after sign-ins and reads")
  kill $pid; wait $pid 2>/dev/null || true; pid=
  if [ "$failed" -gt 0 ]; then
    echo "$label: $failed catalog reads failed" >&2
    exit 1
  fi
}

# Prints one line (to stderr, so that `$(show …)` keeps only the figure)
# and answers the anonymous kB.
show() {
  local total anon file
  read -r total anon file <<<"$(awk '/^(VmRSS|RssAnon|RssFile):/ { v[$1] = $2 }
    END { printf "%d %d %d", v["VmRSS:"], v["RssAnon:"], v["RssFile:"] }' "/proc/$pid/status")"
  awk -v w="$1" -v t="$total" -v a="$anon" -v f="$file" -v b="$budget_kb" 'BEGIN {
    printf "%-46s anonymous %6.1f MB, budget %d MB: ratio %.2f (RSS %6.1f MB, %5.1f MB of it code pages)\n",
      w, a / 1024, b / 1024, a / b, t / 1024, f / 1024
  }' >&2
  echo "$anon"
}

measure "glibc defaults (baseline)" IMMERSION_MALLOC_TUNED=1
base_rest=$rest base_loaded=$loaded
measure "as shipped"
awk -v r="$rest" -v l="$loaded" -v br="$base_rest" -v bl="$base_loaded" 'BEGIN {
  printf "anonymous memory against the baseline: at rest %.2f, after the load %.2f\n", r / br, l / bl
}'
if [ -z "${BENCH_SMOKE:-}" ] && [ "$rest" -gt "$budget_kb" ]; then
  echo "anonymous memory at rest over budget" >&2
  exit 1
fi
