#!/usr/bin/env bash
# Configures and builds hoodyfs into BUILD_DIR (default: build).
# Extra arguments go to cmake, e.g. -DHOODYFS_SANITIZE=address,undefined.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo} "$@" >/dev/null
cmake --build "$build_dir" -j "$(nproc)"
