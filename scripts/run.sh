#!/usr/bin/env bash
# The README's main command: install dependencies, build, then on a store in
# the working tree (./demo-store): init, import a real directory, snapshot,
# change it by a second import, diff, restore, export, and show that the
# export equals the original in bytes and metadata.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
bin=build/cli
store=demo-store
source_dir=${DEMO_SOURCE:-/usr/share/zoneinfo}
rm -rf demo-store demo-change demo-export

step() {
  echo
  echo "\$ $*"
  "$@"
}
# Every entry's type and permissions, owner, size, mtime (ns), link target.
listing() { (cd "$1" && find . -printf '%M %u:%g %s %T@ %p -> %l\n' | sort); }

step "$bin/hoodyfs" --store "$store" init
step "$bin/hoodyfs" --store "$store" import -c demo --create "$source_dir"
step "$bin/hoodyfs-snap" --store "$store" create -c demo --alias pristine

# The change: a second import adds a small tree of new files.
mkdir -p demo-change/etc/app
printf 'listen 8080\n' > demo-change/etc/app/app.conf
printf 'secret\n' > demo-change/etc/app/token
chmod 600 demo-change/etc/app/token
step "$bin/hoodyfs" --store "$store" import -c demo demo-change
step "$bin/hoodyfs-snap" --store "$store" create -c demo --alias with-app
step "$bin/hoodyfs-snap" --store "$store" list -c demo
step "$bin/hoodyfs-snap" --store "$store" diff -c demo pristine with-app
step "$bin/hoodyfs-snap" --store "$store" restore -c demo --name pristine
echo "(the head now equals pristine: the diff is empty)"
step "$bin/hoodyfs-snap" --store "$store" diff -c demo pristine
step "$bin/hoodyfs" --store "$store" export -c demo demo-export

echo
echo "\$ compare $source_dir with demo-export (bytes, then type, mode, owner, size, mtime, links)"
diff -r --no-dereference "$source_dir" demo-export
diff <(listing "$source_dir") <(listing demo-export)
echo "identical: $(listing demo-export | wc -l) entries"
step "$bin/hoodyfs" --store "$store" fsck
