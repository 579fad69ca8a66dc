#!/usr/bin/env bash
# npm start: the daemon on the embedded SQLite default (data/hostbridge.sqlite), migrating it first.
# It runs the compiled build (dist/, rebuilt here, about two seconds) rather than the sources
# through tsx: the same code, with less memory. The V8 flags trade a little CPU in garbage
# collection for a smaller heap (bench:usage: 10,000 services synced, peak 113 MB resident instead
# of 199 MB); test/helpers/daemon.ts BUILT_SERVE starts the daemon the same way.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-node-deps.sh
bash scripts/build.sh
exec node --optimize-for-size --max-semi-space-size=2 dist/daemon/cli.js serve --migrate "$@"
