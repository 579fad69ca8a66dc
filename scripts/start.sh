#!/usr/bin/env bash
# npm start: the daemon on the embedded SQLite default (data/hostbridge.sqlite), migrating it first.
# It runs the compiled build (dist/, rebuilt here, about two seconds) rather than the sources
# through tsx: the same code, with less memory.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-node-deps.sh
bash scripts/build.sh
exec node --enable-source-maps dist/daemon/cli.js serve --migrate "$@"
