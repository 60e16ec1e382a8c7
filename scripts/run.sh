#!/usr/bin/env bash
# The README's main command: install dependencies, build, and run the engine
# demo on a store in the working tree (./demo-store).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
rm -rf demo-store
build/cli/hoodyfs-demo demo-store
