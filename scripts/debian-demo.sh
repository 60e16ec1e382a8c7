#!/usr/bin/env bash
# The README's Debian-root scenario: install dependencies, build, then on a
# store in the working tree (./debian-store) take a real Debian bookworm root
# (debootstrap'd once per machine and cached by scripts/debian-root-cache.sh),
# import it into container `deb`, mount it at ./debian-mnt, run programs in
# it with chroot, install a package with dpkg, snapshot, wreck /usr and /etc
# until nothing runs, snapshot the wreck (the evidence), restore while
# mounted, run it again, and show what the restore changed. Each step prints
# the time it took; a summary follows at the end.
#
# The mount lives in a private mount namespace of this script, so no other
# process can hold a copy of it (a process that unshares its mount namespace
# while a FUSE mount exists keeps the connection open, and `hoodyfs umount`
# then waits for that process to exit; see docs/containers.md). A trap
# unmounts and stops the daemon however the script ends.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${HOODYFS_DEMO_PRIVATE_NS:-}" ]; then
  export HOODYFS_DEMO_PRIVATE_NS=1
  exec unshare --mount --propagation private "$0" "$@"
fi

scripts/install-deps.sh
BUILD_DIR=${BUILD_DIR:-build} scripts/build.sh
bin=$PWD/${BUILD_DIR:-build}/cli
store=$PWD/debian-store
mnt=$PWD/debian-mnt
cache=${HOODYFS_TEST_CACHE:-/var/cache/hoodyfs-test}

cleanup() {
  if mountpoint -q "$mnt" 2>/dev/null; then
    "$bin/hoodyfs" umount "$mnt" || umount -l "$mnt" || true
  fi
  # The daemon that `hoodyfs mount` started stops after the last unmount;
  # after a failure it may still run: stop it by its recorded pid.
  if [ -f "$store/daemon.pid" ]; then
    pid=$(cat "$store/daemon.pid")
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      tail --pid="$pid" -f /dev/null
    fi
  fi
}
trap cleanup EXIT

rm -rf "$store" "$mnt"
mkdir -p "$mnt"

names=()
secs=()
now() { date +%s.%N; }
# timed NAME COMMAND...: shows and runs COMMAND, prints its wall time.
timed() {
  local name=$1
  shift
  echo
  echo "## $name"
  local t0
  t0=$(now)
  "$@"
  local dt
  dt=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }')
  printf '   (%s: %.3f s)\n' "$name" "$dt"
  names+=("$name")
  secs+=("$dt")
}
show() {  # a shell command, shown and run
  echo "\$ $1"
  bash -c "$1"
}
# in_root SCRIPT: /bin/sh -c SCRIPT chrooted into the mount, clean environment.
in_root() {
  echo "\$ chroot $mnt /bin/sh -c '$1'"
  env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin HOME=/root LC_ALL=C \
    chroot "$mnt" /bin/sh -c "$1"
}

timed "hoodyfs init" show "'$bin/hoodyfs' --store '$store' init"
timed "Debian root: build or reuse the cache" show "scripts/debian-root-cache.sh"
timed "import the root into container deb" \
  show "'$bin/hoodyfs' --store '$store' import -c deb --create - < '$cache/debian-bookworm-minbase.tar'"
timed "mount it" show "'$bin/hoodyfs' --store '$store' mount -c deb '$mnt' && findmnt -no SOURCE,FSTYPE '$mnt'"
timed "run programs in a chroot" in_root 'ls / | tr "\n" " "; echo; cat /etc/debian_version; dpkg -l | wc -l'
install_hello() {
  show "cp '$cache/hello.deb' '$mnt/tmp/x.deb'"
  in_root 'dpkg -i /tmp/x.deb && hello'
}
timed "install a package with dpkg" install_hello
timed "snapshot: installed" show "'$bin/hoodyfs-snap' --store '$store' create -c deb --alias installed"

echo
echo "# a bad upgrade: /etc/apt gone, the user database overwritten, libc made"
echo "# unreadable, every program in /usr/bin deleted"
timed "wreck /usr and /etc" in_root \
  'rm -r /etc/apt && echo "root:x:0:0:wrecked:/nonexistent:/bin/false" > /etc/passwd && chmod 000 "$(dpkg -L libc6 | grep "/libc\.so\.6$")" && rm -f /usr/bin/*'
wrecked_runs() {
  if in_root 'hello'; then
    echo "the wrecked container still runs programs" >&2
    return 1
  fi
  echo "(the container cannot run anything: as expected)"
  show "head -n 1 '$mnt/etc/passwd'; ls '$mnt/etc/apt' 2>&1; ls '$mnt/usr/bin' | wc -l"
}
timed "the chroot fails" wrecked_runs
timed "snapshot the wreck: wrecked" show "'$bin/hoodyfs-snap' --store '$store' create -c deb --alias wrecked"
timed "restore installed while mounted" show "'$bin/hoodyfs-snap' --store '$store' restore -c deb --name installed"
timed "the chroot works again" in_root 'hello && head -n 1 /etc/passwd && ls /etc/apt | tr "\n" " " && echo && ls /usr/bin | wc -l'
diff_summary() {
  local out
  out=$("$bin/hoodyfs-snap" --store "$store" diff -c deb wrecked)
  echo "\$ hoodyfs-snap diff -c deb wrecked    # from the wreck to the restored head"
  printf '%s\n' "$out" | head -n 25
  echo "... $(printf '%s\n' "$out" | wc -l) changes in all:" \
    "$(printf '%s\n' "$out" | cut -f1 | sort | uniq -c | awk '{ printf "%s%s %s", sep, $1, $2; sep = ", " }')"
  echo "\$ hoodyfs-snap diff -c deb installed  # the restored head against the snapshot: empty"
  "$bin/hoodyfs-snap" --store "$store" diff -c deb installed
  echo "(empty)"
}
timed "diff: wrecked -> restored" diff_summary
timed "list the snapshots" show "'$bin/hoodyfs-snap' --store '$store' list -c deb"
timed "unmount" show "'$bin/hoodyfs' umount '$mnt'"
timed "fsck" show "'$bin/hoodyfs' --store '$store' fsck"

echo
echo "## times"
for i in "${!names[@]}"; do
  printf '%8.3f s  %s\n' "${secs[$i]}" "${names[$i]}"
done
