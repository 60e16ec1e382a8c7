#!/usr/bin/env bash
# Installs everything hoodyfs needs to build, test and run on Debian 12.
# Idempotent: packages already present are left alone. Run as root.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  liburing-dev liblmdb-dev libxxhash-dev libfuse3-dev fuse3
  libgtest-dev libgmock-dev libbenchmark-dev
  libcli11-dev nlohmann-json3-dev libmicrohttpd-dev libcurl4-openssl-dev curl
  libarchive-dev sqlite3
  # tests/debian and scripts/debian-demo.sh: a real Debian root, two sandboxes to run it
  debootstrap bubblewrap systemd-container
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all packages present"
fi
