#!/usr/bin/env bash
# npm start: the daemon on the embedded SQLite default (data/hostbridge.sqlite), migrating it first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-node-deps.sh
exec node --import tsx daemon/cli.ts serve --migrate "$@"
