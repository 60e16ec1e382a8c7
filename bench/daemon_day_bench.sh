#!/usr/bin/env bash
# A day of work for one daemon (issue 12, "memory is bounded and stated"):
# does a long-lived `hoodyfs serve` give back what a busy spell made it
# hold? One daemon serves, in turn: an untar of /usr/include into a mounted
# container and a `find -ls` of it; a PostgreSQL cluster in that container
# (`pgbench -i`, then `pgbench -T`); COPIES snapshots of the container,
# each copied into a new container that is mounted, walked with
# `find -ls` and unmounted. Then it idles, and idles again after the kernel
# forgets the mounts' inodes (drop_caches, mode 2). The daemon's memory
# (/proc/PID/status) is sampled after each step; the last sample against the
# first is the issue's "within 2x of its fresh size once idle".
#
# usage: bench/daemon_day_bench.sh BUILD_DIR OUT_DIR
#   env: PG_SCALE (20), PG_TIME (60 s of pgbench), COPIES (100),
#        IDLE_S (10), PG_PORT (54331), SCRATCH_PARENT (/var/tmp)
# Writes OUT_DIR/memory.tsv (step, VmRSS, RssAnon, RssFile, VmHWM in KiB, and
# the FUSE inodes the kernel holds) and OUT_DIR/summary.txt. Needs root,
# /dev/fuse and Debian's postgresql-15 (scripts/postgres.sh check).
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 BUILD_DIR OUT_DIR" >&2; exit 2; }
build=$(realpath "$1")
OUT=$(realpath -m "$2")
PG_SCALE=${PG_SCALE:-20}
PG_TIME=${PG_TIME:-60}
COPIES=${COPIES:-100}
IDLE_S=${IDLE_S:-10}
PG_PORT=${PG_PORT:-54331}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
SCRATCH_PARENT=${SCRATCH_PARENT:-/var/tmp}
PGSH=$(dirname "$0")/../scripts/postgres.sh
STAGES=""
# shellcheck source=bench/script_common.sh
source "$(dirname "$0")/script_common.sh"
"$PGSH" check || { echo "!! PostgreSQL is missing: scripts/postgres.sh check" >&2; exit 2; }
standalone_setup day
chmod 0755 "$SCRATCH"  # the postgres user must reach its data directory below

store=$SCRATCH/store
mp=$SCRATCH/mnt
copy_mp=$SCRATCH/copy
sock=$SCRATCH/pgsock
mkdir -p "$mp" "$copy_mp" "$sock"
"$HOODYFS" init --store "$store" > /dev/null
start_serve "$store"
serve_pid=$SERVE_PID
"$HOODYFS" mount --store "$store" -c work --create "$mp" > /dev/null
CLEANUP+=("mountpoint -q $mp && $HOODYFS umount --store $store $mp")
CLEANUP+=("mountpoint -q $copy_mp && $HOODYFS umount --store $store $copy_mp")
CLEANUP+=("$PGSH stop $mp/pg immediate > /dev/null 2>&1")

# The FUSE inodes the kernel holds (every mount's; others hold few).
fuse_inodes() { awk '$1 == "fuse_inode" {print $2}' /proc/slabinfo; }
printf 'step\tvmrss_kib\trssanon_kib\trssfile_kib\tvmhwm_kib\tfuse_inodes\n' > "$OUT/memory.tsv"
sample() {  # sample STEP: one row of memory.tsv
  local vals
  vals=$(awk '$1 ~ /^(VmRSS|RssAnon|RssFile|VmHWM):$/ {v[$1] = $2}
    END {printf "%s\t%s\t%s\t%s", v["VmRSS:"], v["RssAnon:"], v["RssFile:"], v["VmHWM:"]}' \
    "/proc/$serve_pid/status")
  printf '%s\t%s\t%s\n' "$1" "$vals" "$(fuse_inodes)" >> "$OUT/memory.tsv"
  log "$1: $vals (KiB: VmRSS RssAnon RssFile VmHWM)"
}
sleep 2
sample fresh

mark "untar of /usr/include and a find of it"
tar cf "$SCRATCH/include.tar" -C /usr include
tar xf "$SCRATCH/include.tar" -C "$mp"
find "$mp" -ls > /dev/null
sample untar_find

mark "PostgreSQL: pgbench -i -s $PG_SCALE, pgbench -c 4 -j 2 -T $PG_TIME"
PG_INITDB_OPTS=--no-sync "$PGSH" init "$mp/pg" > /dev/null
"$PGSH" start "$mp/pg" "$PG_PORT" "$sock" > /dev/null
"$PG_BIN/pgbench" -h "$sock" -p "$PG_PORT" -U postgres -i -s "$PG_SCALE" -q postgres \
  > "$OUT/pgbench-init.txt" 2>&1
sample pgbench_init
"$PG_BIN/pgbench" -h "$sock" -p "$PG_PORT" -U postgres -c 4 -j 2 -T "$PG_TIME" postgres \
  > "$OUT/pgbench-run.txt" 2>&1
grep '^tps' "$OUT/pgbench-run.txt" || true
"$PGSH" stop "$mp/pg" > /dev/null
sample pgbench_run

mark "$COPIES snapshots, each copied, mounted, walked and unmounted"
for ((i = 1; i <= COPIES; i++)); do
  "$SNAP" --store "$store" create -c work --alias "s$i" > /dev/null
  "$SNAP" --store "$store" copy -c work --source-snapshot "s$i" --name "c$i" > /dev/null
  "$HOODYFS" mount --store "$store" -c "c$i" "$copy_mp" > /dev/null
  find "$copy_mp" -ls > /dev/null
  "$HOODYFS" umount --store "$store" "$copy_mp"
  if ((i % 25 == 0)); then sample "copies_$i"; fi
done

mark "idle"
sleep "$IDLE_S"
sample idle
echo 2 > /proc/sys/vm/drop_caches
sleep "$IDLE_S"
sample idle_after_drop_caches
kill -0 "$serve_pid" || { echo "!! the daemon exited:" >&2; cat "$SCRATCH/serve.log" >&2; exit 1; }

/usr/bin/python3 - "$OUT/memory.tsv" <<'EOF' | tee "$OUT/summary.txt"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
print("| step | VmRSS, MiB | RssAnon, MiB | RssFile, MiB | VmHWM, MiB | FUSE inodes held |")
print("|---|---:|---:|---:|---:|---:|")
for r in rows:
    mib = [f"{int(r[k]) / 1024:.1f}" for k in ("vmrss_kib", "rssanon_kib", "rssfile_kib", "vmhwm_kib")]
    print(f"| {r['step']} | " + " | ".join(mib) + f" | {r['fuse_inodes']} |")
fresh, last = rows[0], rows[-1]
for k, name in (("vmrss_kib", "VmRSS"), ("rssanon_kib", "RssAnon")):
    print(f"{name} idle after the day / fresh: {int(last[k]) / int(fresh[k]):.2f}x")
EOF
finish_run
