#!/usr/bin/env bash
# Installs hoodyfs from the build tree: the programs, mount(8)'s helper,
# the systemd units, bash completion and the docs (docs/operations.md).
# Run scripts/build.sh first. DESTDIR (default empty) prefixes every path,
# for packaging and tests; PREFIX defaults to /usr/local.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
dest=${DESTDIR:-}
prefix=${PREFIX:-/usr/local}

install -d "$dest$prefix/bin" "$dest/sbin" "$dest/etc/systemd/system" "$dest/etc/default" \
  "$dest/etc/bash_completion.d" "$dest$prefix/share/doc/hoodyfs"
install -m 0755 "$build/cli/hoodyfs" "$build/cli/hoodyfs-snap" "$build/cli/hoodyfs-snap-remote" \
  "$dest$prefix/bin/"
# mount -t fuse.hoodyfs (and /etc/fstab) runs /sbin/mount.fuse.hoodyfs.
ln -sf "$prefix/bin/hoodyfs" "$dest/sbin/mount.fuse.hoodyfs"
for unit in scripts/systemd/*.service scripts/systemd/*.timer; do
  sed "s|/usr/local/bin/|$prefix/bin/|g; s|/usr/local/share/|$prefix/share/|g" "$unit" \
    > "$dest/etc/systemd/system/$(basename "$unit")"
done
# Settings are the administrator's: never overwrite them.
[ -e "$dest/etc/default/hoodyfs" ] || install -m 0644 scripts/systemd/default-hoodyfs \
  "$dest/etc/default/hoodyfs"
install -m 0644 scripts/completion/hoodyfs.bash "$dest/etc/bash_completion.d/hoodyfs"
install -m 0644 docs/*.md "$dest$prefix/share/doc/hoodyfs/"
if [ -z "$dest" ] && command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
fi
echo "installed hoodyfs into ${dest:-/} (programs in $prefix/bin)"
