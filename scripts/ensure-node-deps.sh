#!/usr/bin/env bash
# Installs the npm packages when node_modules is missing or older than package-lock.json.
# Sourced by the README's commands (npm start, npm test) so a fresh clone needs no other step.
set -euo pipefail
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "FAILED: Node.js 20 or newer is required (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi
stamp=node_modules/.hostbridge-lock
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  echo "== installing npm packages (npm ci)" >&2
  npm ci --no-audit --no-fund >&2 || { echo "FAILED: npm ci failed" >&2; exit 1; }
  cp package-lock.json "$stamp"
fi
