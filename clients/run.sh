#!/usr/bin/env bash
# Generates the two clients from the committed openapi.yaml, type-checks
# the TypeScript one, and runs the same scenario with each against the api
# at $IMMERSION_BASE, with the key $IMMERSION_KEY, for a user each
# ($IMMERSION_PYTHON_USER, $IMMERSION_TYPESCRIPT_USER: one seat a session).
# Called by api/tests/api/clients.rs (the README's test command).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
spec="$here/../openapi.yaml"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

# Python: every operation generated, none skipped (the generator warns of
# what it cannot read; any warning fails).
python3 -m openapi_python_client generate --path "$spec" --output-path "$out/python" > "$out/generate.log" 2>&1 \
  || { cat "$out/generate.log"; exit 1; }
if grep -qiE "warning|unable|skipp" "$out/generate.log"; then
  cat "$out/generate.log"; exit 1
fi
operations=$(python3 -c "
import json, sys
doc = json.load(open(sys.argv[1])) if sys.argv[1].endswith('.json') else __import__('yaml').safe_load(open(sys.argv[1]))
print(sum(1 for p in doc['paths'].values() for m in p if m in ('get', 'post', 'put', 'patch', 'delete')))
" "$spec")
generated=$(find "$out/python/immersion_api_client/api" -name '*.py' ! -name '__init__.py' | wc -l)
if [ "$operations" != "$generated" ]; then
  echo "openapi-python-client generated $generated of $operations operations"; exit 1
fi
IMMERSION_USER="$IMMERSION_PYTHON_USER" python3 "$here/python/scenario.py" "$out/python"

# TypeScript: types from the document, checked, then run.
cd "$here/typescript"
[ -d node_modules ] || npm ci --silent --no-audit --no-fund
npx --no-install openapi-typescript "$spec" -o src/schema.d.ts --silent
npx --no-install tsc --noEmit -p .
npx --no-install tsc -p .
IMMERSION_USER="$IMMERSION_TYPESCRIPT_USER" node dist/scenario.js
