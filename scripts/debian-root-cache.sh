#!/usr/bin/env bash
# Builds, once per machine, the real Debian root filesystems that the
# tests/debian suite and scripts/debian-demo.sh run containers on, and
# reuses them afterwards. Run as root. Usage: scripts/debian-root-cache.sh
#
# The cache lives outside the source tree so that it survives rebuilds and
# new worktrees: $HOODYFS_TEST_CACHE, default /var/cache/hoodyfs-test.
#   debian-bookworm-minbase.tar      debootstrap --variant=minbase bookworm,
#                                    apt's download cache emptied
#   debian-bookworm-minbase-git.tar  the same root plus git and its
#                                    dependencies (apt-get install in a chroot)
#   hello.deb                        Debian's hello package, for dpkg -i
#                                    inside a container (no apt needed there)
#   debian-bookworm.ok               written last: the three files are complete
# The tars are pax streams with xattrs, ACLs and numeric owners, ready for
# `hoodyfs import -c C --create - < TAR`.
#
# Several test processes may call this at once: the build runs under an
# exclusive flock on CACHE/.lock, so one builds and the others wait for it
# and then reuse its result. A build takes about 2 to 3 minutes (the
# debootstrap dominates); the mirror is $HOODYFS_DEBIAN_MIRROR, default
# http://deb.debian.org/debian.
#
# Prints one line on stdout: "reused CACHE" or "built CACHE in N s".
# Exit 0: the cache is ready. Exit 77: it is absent and cannot be built here
# (mirror unreachable, debootstrap missing, not root); the reason is on
# stderr. Any other exit: the build failed (its output is on stderr).
set -euo pipefail

cache=${HOODYFS_TEST_CACHE:-/var/cache/hoodyfs-test}
mirror=${HOODYFS_DEBIAN_MIRROR:-http://deb.debian.org/debian}
suite=bookworm
stamp=$cache/debian-$suite.ok

cannot() {
  echo "debian-root-cache: $* (and no cached root in $cache)" >&2
  exit 77
}

if [ -f "$stamp" ]; then  # the common case, without taking the lock
  echo "reused $cache"
  exit 0
fi
[ "$(id -u)" = 0 ] || cannot "building a Debian root needs root"
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [ -f "$stamp" ]; then  # another process built it while this one waited
  echo "reused $cache"
  exit 0
fi
command -v debootstrap >/dev/null || cannot "debootstrap is not installed (scripts/install-deps.sh installs it)"
curl -fsS --max-time 20 -o /dev/null "$mirror/dists/$suite/InRelease" 2>/dev/null ||
  cannot "the Debian mirror $mirror is unreachable"

start=$(date +%s)
work=$(mktemp -d "$cache/build.XXXXXX")
# --one-file-system: never descend into anything left mounted in the root.
trap 'rm -rf --one-file-system "$work"' EXIT
root=$work/root

# Every step runs in a private mount namespace, so whatever debootstrap
# mounts inside the root (/proc, /sys) vanishes with it, however it ends.
in_root() {
  unshare --mount --propagation private \
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C DEBIAN_FRONTEND=noninteractive \
    chroot "$root" "$@"
}
pack() {  # pack OUT: the root as a pax tar
  tar --format=posix --xattrs --xattrs-include='*' --acls --numeric-owner --sparse \
    -C "$root" -cf "$1.tmp" .
  mv "$1.tmp" "$1"
}

echo "debian-root-cache: debootstrap --variant=minbase $suite from $mirror into $cache" >&2
unshare --mount --propagation private \
  debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  tail -n 30 "$work/debootstrap.log" >&2
  echo "debian-root-cache: debootstrap failed" >&2
  exit 1
}
in_root apt-get clean
pack "$cache/debian-$suite-minbase.tar"

echo "debian-root-cache: adding git and fetching hello.deb" >&2
in_root apt-get update -qq >&2
in_root sh -c 'cd /tmp && apt-get download -qq hello' >&2
mv "$root"/tmp/hello_*.deb "$cache/hello.deb.tmp"
mv "$cache/hello.deb.tmp" "$cache/hello.deb"
in_root apt-get install -y -qq --no-install-recommends git >"$work/git.log" 2>&1 || {
  tail -n 30 "$work/git.log" >&2
  echo "debian-root-cache: apt-get install git failed" >&2
  exit 1
}
in_root apt-get clean
rm -rf "$root"/var/lib/apt/lists/*
pack "$cache/debian-$suite-minbase-git.tar"

rm -rf --one-file-system "$work"
touch "$stamp"
echo "built $cache in $(($(date +%s) - start)) s"
