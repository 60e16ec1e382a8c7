#!/usr/bin/env bash
# Installs what bench/ compares hoodyfs with, beside what scripts/install-deps.sh
# installs to build and test: the load generators (fio, fs_mark, hyperfine),
# the FUSE and copy-on-write peers (bindfs, fuse-overlayfs, btrfs-progs,
# zfs-fuse), the databases (postgresql for pgbench, sqlite3) and the plotting
# (python3-matplotlib). All Debian 12 packages. Idempotent. Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

packages=(
  fio fsmark hyperfine
  bindfs fuse-overlayfs btrfs-progs zfs-fuse
  postgresql postgresql-contrib sqlite3
  python3 python3-matplotlib
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-bench-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # zfs-fuse and postgresql start services of their own when installed;
  # the benchmarks start what they need themselves.
  RUNLEVEL=1 apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install-bench-deps: all packages present"
fi
