#!/usr/bin/env bash
# Fuzzes the running api from its own OpenAPI document: no 5xx, no
# undocumented status, every response matching its schema, bad input
# rejected. Fails when fewer than MIN_CASES cases were generated.
set -euo pipefail
cd "$(dirname "$0")/.."
MIN_CASES=300
PORT="${SCHEMATHESIS_PORT:-18090}"
work=$(mktemp -d)
trap 'kill "${server:-}" 2>/dev/null || true; rm -rf "$work"' EXIT

cargo build --locked -q -p api --bin immersion
DATABASE_URL="sqlite://$work/fuzz.db?mode=rwc" \
BIND_ADDR="127.0.0.1:$PORT" \
JWT_SECRET="schemathesis-only-secret-0123456789abcdef" \
ADMIN_EMAILS="fuzz-admin@example.com" \
LOGIN_MAX_PER_IP=100000 \
DEMO_DATA=true \
RUST_LOG=warn \
  "${CARGO_TARGET_DIR:-target}/debug/immersion" serve >"$work/server.log" 2>&1 &
server=$!

# curl waits for the listener itself (retries while the connection is refused).
token=$(curl -sf --retry 60 --retry-connrefused --retry-delay 1 \
  -H 'content-type: application/json' \
  -d '{"email":"fuzz-admin@example.com","password":"fuzz-admin-password"}' \
  "http://127.0.0.1:$PORT/api/auth/register" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])') || {
  echo "the api did not start; its log:" >&2
  cat "$work/server.log" >&2
  exit 1
}

# Named, as a first booking or subscription needs: the fuzzer then reaches
# past the profile check into checkout and subscription.
curl -sf -X PATCH -H "Authorization: Bearer $token" -H 'content-type: application/json' \
  -d '{"first_name":"Fuzz","last_name":"Admin"}' \
  "http://127.0.0.1:$PORT/api/me/profile" >/dev/null

set +e
schemathesis run "http://127.0.0.1:$PORT/api/openapi.json" \
  -H "Authorization: Bearer $token" \
  --exclude-checks positive_data_acceptance \
  --max-examples 100 --seed 20261122 --no-color 2>&1 | tee "$work/report.txt"
status=${PIPESTATUS[0]}
set -e
if [ "$status" -ne 0 ]; then
  echo "schemathesis found failures; server log:" >&2
  tail -50 "$work/server.log" >&2
  exit "$status"
fi
cases=$(grep -Eo '[0-9]+ generated' "$work/report.txt" | tail -1 | grep -Eo '[0-9]+')
echo "schemathesis generated ${cases:-0} cases (minimum $MIN_CASES)"
[ "${cases:-0}" -ge "$MIN_CASES" ]
