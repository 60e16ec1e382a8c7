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
  # cli/CMakeLists.txt: the man pages, generated from --help-all
  help2man
  # CI's clang pass (.ci/run): -Wthread-safety, ThreadSanitizer and libFuzzer
  # (the sanitizer and fuzzer runtimes are only a recommendation of clang's)
  clang libclang-rt-14-dev
  # tests/debian and scripts/debian-demo.sh: a real Debian root, two sandboxes to run it
  debootstrap bubblewrap systemd-container
  # tests/daemon/postgres_test.cc: a private PostgreSQL 15 cluster (scripts/postgres.sh)
  postgresql postgresql-contrib
  # scripts/ceph.sh and the remote tests (tests/remote): a single-node Ceph with
  # its S3 gateway; libexpat1-dev parses the gateway's XML answers (snapshotter/remote/)
  ceph-mon ceph-osd radosgw ceph-common uuid-runtime iproute2 libexpat1-dev libssl-dev
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  had_postgresql=$(command -v pg_lsclusters || true)
  # RUNLEVEL=1: postgresql's maintainer scripts create the system cluster
  # "main" and would start it; the tests start private clusters of their own.
  RUNLEVEL=1 apt-get install -y -qq --no-install-recommends "${missing[@]}"
  if [ -z "$had_postgresql" ] && command -v pg_lsclusters > /dev/null; then
    # Where it was started anyway (a service manager need not heed RUNLEVEL),
    # stop it: every cluster on a machine that had no PostgreSQL before is
    # this install's.
    pg_lsclusters --no-header | awk '$4 == "online" {print $1, $2}' |
      while read -r version cluster; do pg_ctlcluster "$version" "$cluster" stop || true; done
  fi
else
  echo "install-deps: all packages present"
fi
