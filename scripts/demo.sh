#!/usr/bin/env bash
# npm run demo: installs the npm packages if missing (as npm start does), then runs scripts/demo.ts:
# the daemon on a fresh SQLite file in data/demo/, an emulated fleet and Proxmox VE, one order per mode and a VPS, until Ctrl-C.
# Extra arguments go to demo.ts (npm run demo -- get /v1/services/101).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-node-deps.sh
# esbuild's synchronous calls without its helper thread (test/run.sh says why).
export ESBUILD_WORKER_THREADS="${ESBUILD_WORKER_THREADS:-0}"
exec node --import tsx scripts/demo.ts "$@"
