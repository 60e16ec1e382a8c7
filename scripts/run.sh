#!/usr/bin/env bash
# The README's main command: install dependencies, build, then on a store in
# the working tree (./demo-store) mount a container at ./demo-mnt, write
# files through the mount, take a snapshot, change the files, diff, restore
# while mounted and diff again, each step shown. Unmounts at the end (the
# daemon that `hoodyfs mount` started stops with the last unmount).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
bin=$PWD/build/cli
store=$PWD/demo-store
mnt=$PWD/demo-mnt
"$bin/hoodyfs" umount "$mnt" 2>/dev/null || true  # a previous run's mount
rm -rf "$store" "$mnt"
mkdir -p "$mnt"
trap '"$bin/hoodyfs" umount "$mnt" 2>/dev/null || true' EXIT

step() {
  echo
  echo "\$ $*"
  "$@"
}
show() {  # a shell command, shown and run
  echo
  echo "\$ $1"
  bash -c "$1"
}

step "$bin/hoodyfs" --store "$store" init
step "$bin/hoodyfs" --store "$store" mount -c web --create "$mnt"
show "findmnt -no SOURCE,FSTYPE,OPTIONS '$mnt'"
show "mkdir -p '$mnt/etc/app' '$mnt/srv' && cp -a /usr/share/zoneinfo '$mnt/srv/' && printf 'listen 8080\nworkers 4\n' > '$mnt/etc/app/app.conf' && printf 'v1\n' > '$mnt/srv/VERSION'"
show "ls -l '$mnt' '$mnt/etc/app' && cat '$mnt/etc/app/app.conf'"
step "$bin/hoodyfs-snap" --store "$store" create -c web --alias before-deploy

echo
echo "# a deploy changes the container: a config edit, a new file, a removal, a chmod"
show "printf 'listen 9090\nworkers 64\n' > '$mnt/etc/app/app.conf' && printf 'v2\n' > '$mnt/srv/VERSION' && echo token > '$mnt/etc/app/secret' && rm -r '$mnt/srv/zoneinfo/Arctic' && chmod 600 '$mnt/etc/app/app.conf'"
step "$bin/hoodyfs-snap" --store "$store" create -c web --alias after-deploy
step "$bin/hoodyfs-snap" --store "$store" list -c web
step "$bin/hoodyfs-snap" --store "$store" diff -c web before-deploy

echo
echo "# the deploy was bad: restore while mounted (no remount)"
step "$bin/hoodyfs-snap" --store "$store" restore -c web --name before-deploy
show "cat '$mnt/etc/app/app.conf' '$mnt/srv/VERSION'; ls '$mnt/etc/app'; ls '$mnt/srv/zoneinfo/Arctic'"
echo
echo "# the head equals before-deploy again (empty diff); after-deploy is still there"
step "$bin/hoodyfs-snap" --store "$store" diff -c web before-deploy
step "$bin/hoodyfs-snap" --store "$store" diff -c web before-deploy after-deploy --json
step "$bin/hoodyfs" umount "$mnt"
trap - EXIT
step "$bin/hoodyfs" --store "$store" fsck
