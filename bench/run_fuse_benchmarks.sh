#!/usr/bin/env bash
# The mounted filesystem (issue 4) and the CLI-level snapshot and import
# numbers (issue 3), measured side by side in one run on the same disk:
#
#   ext4            a directory on the scratch disk (native)
#   hoodyfs         `hoodyfs --store S mount -c c --create MP` (the daemon is
#                   started by the command, default mount options: writeback
#                   cache off); `hoodyfs umount MP` stops it
#   bindfs          bindfs SRC MP, SRC on the scratch ext4 (FUSE peer)
#   fuse-overlayfs  empty lowerdir, upperdir on the scratch ext4 (FUSE peer)
#   btrfs           mkfs.btrfs on a loop device over a sparse file on the
#                   scratch disk (buffered loop), workload in a subvolume
#   zfs-fuse        a pool on a sparse file on the scratch disk, workload in a
#                   dataset; daemon with its default options (attribute and
#                   entry timeouts 0)
#
# Stages (STAGES, in this order):
#   import    `hoodyfs import` of a copy of /usr/include into a fresh store
#             (hyperfine, store re-initialised before each run, source in the
#             page cache), beside `cp -a` + `sync` of it on ext4
#   fio       per repetition and target (targets interleaved): 1 GiB
#             sequential write (bs 1M, psync, buffered, end_fsync=1), then
#             drop caches (zfs-fuse: export and import the pool, its ARC is in
#             the daemon) and read it back cold (bs 1M, psync, buffered); then
#             on that file 4 KiB random read and random write with O_DIRECT,
#             QD1 (psync) and QD16 (libaio), RUNTIME seconds each after a 2 s
#             ramp. Caches are dropped before each O_DIRECT job. Then buffered
#             4 KiB random writes with an fsync every 32, and buffered 8 KiB
#             random writes (no sync), RUNTIME seconds each.
#   fsmark    fs_mark -s 4096 -n FSMARK_FILES -S 0 -L 1 -t 1 -k (creates of
#             4 KiB files, no fsync): files/s
#   untar     `tar xf` of /usr/include (an uncompressed tar made once in the
#             scratch directory, so gzip's CPU does not dilute the ratios),
#             then `rm -rf` of the tree; seconds, wall clock, nothing synced
#   smallfiles  `tar xf` of SMALL_FILES files of 512 bytes in directories of
#             1000 (a tar made once in the scratch directory), then drop
#             caches (the kernel forgets the tree: every name is looked up
#             again) and `find -ls` of it (a stat of every entry), then
#             `rm -rf`; seconds, wall clock, nothing synced
#   snapshot  hoodyfs, btrfs, zfs-fuse: after an untar of /usr/include into the
#             container, SNAPSHOTS snapshot creates idle, then fio's 1 MiB
#             writes into a file of the same container, WRITER_ALONE_S
#             seconds alone (its rate: writer_alone_MBps), then SNAPSHOTS
#             creates while it streams on (writer_MBps);
#             each whole command timed (hoodyfs-snap create / btrfs subvolume
#             snapshot -r / zfs snapshot). hoodyfs also: SNAPSHOTS creates
#             with --no-sync under the same writer (durable with the next
#             commit), and restore and copy from the CLI, idle, 20 each.
#   memory    a fresh hoodyfs store and mount; fs_mark creates empty files
#             through it in steps of 100,000 (dirs of 1000) up to MEM_FILES;
#             after each step the daemon's VmRSS/RssAnon/RssFile/VmHWM
#             from /proc/PID/status and the kernel's FUSE inodes (the
#             fuse_inode slab); then idle 5 s, and 5 s after
#             `echo 2 > /proc/sys/vm/drop_caches` (the kernel forgets the
#             inodes)
#
# usage: bench/run_fuse_benchmarks.sh [BUILD_DIR [OUT_DIR]]
#   env: REPS (3), TARGETS (all six above), STAGES (all), SEQ_SIZE (1G),
#   RUNTIME (20), FSMARK_FILES (20000), SMALL_FILES (100000), SNAPSHOTS (50), WRITER_ALONE_S (10; 0: none),
#   MEM_FILES (1000000),
#   HOODYFS_BENCH_DIR (scratch parent, default /var/tmp; a real disk),
#   HOODYFS_MOUNT_OPTS (added to hoodyfs mount, e.g. "-o writeback_cache").
# Writes to OUT_DIR: machine.txt, load.log (load average every 10 s, with
# stage marks), stages.txt (each stage's start with the load and the disk's
# fdatasync latency then: bench/sync_probe.sh), results.tsv (stage, metric, target, rep, value, unit: every
# sample), raw/ (fio JSON, fs_mark and hyperfine output, logs) and table.md
# (bench/summarize_fuse.py: medians, ratios to ext4, snapshot percentiles).
# Needs root, /dev/fuse, fio, fs_mark, hyperfine, bindfs, fuse-overlayfs,
# btrfs-progs and zfs-fuse (a missing tool drops its target or stage, with a
# line in the output). Every mount, loop device and daemon it starts is
# undone at exit (trap), also after a failure or ^C.
set -uo pipefail

# Run in a private mount namespace of our own: another process that unshares
# its mount namespace while ours are mounted (other sessions' tests do) would
# otherwise keep copies of our FUSE mounts, and their daemons could never be
# disconnected by our unmounts. Everything started here (the hoodyfs daemon,
# zfs-fuse, the workloads) lives in this namespace, and its mounts die with it.
if [[ -z ${HOODYFS_BENCH_NS:-} ]]; then
  HOODYFS_BENCH_NS=1 exec unshare --mount --propagation private "$0" "$@"
fi

BUILD=$(realpath "${1:-build}")
OUT=${2:-fuse-results}
HOODYFS=$BUILD/cli/hoodyfs
SNAP=$BUILD/cli/hoodyfs-snap
REPS=${REPS:-3}
TARGETS=${TARGETS:-"ext4 hoodyfs bindfs fuse-overlayfs btrfs zfs-fuse"}
STAGES=${STAGES:-"import fio fsmark untar smallfiles snapshot memory"}
SEQ_SIZE=${SEQ_SIZE:-1G}
RUNTIME=${RUNTIME:-20}
FSMARK_FILES=${FSMARK_FILES:-20000}
SMALL_FILES=${SMALL_FILES:-100000}
SNAPSHOTS=${SNAPSHOTS:-50}
WRITER_ALONE_S=${WRITER_ALONE_S:-10}
MEM_FILES=${MEM_FILES:-1000000}
SCRATCH_PARENT=${HOODYFS_BENCH_DIR:-/var/tmp}
ZPOOL=hoodybench$$

[[ $(id -u) == 0 ]] || { echo "run as root" >&2; exit 1; }
[[ -x $HOODYFS && -x $SNAP ]] || { echo "no $HOODYFS or $SNAP: build first" >&2; exit 1; }
mkdir -p "$OUT/raw"
OUT=$(realpath "$OUT")
: > "$OUT/results.tsv"
SCRATCH=$(mktemp -d "$SCRATCH_PARENT/hoodyfs-fusebench-XXXXXX")

# shellcheck source=bench/script_common.sh
source "$(dirname "$0")/script_common.sh"

since_ms() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.2f", (b - a) * 1000}'; }

{
  "$(dirname "$0")/machine_info.sh" "$SCRATCH"
  echo "repetitions: $REPS; targets: $TARGETS; stages: $STAGES"
  echo "before: $("$PROBE" "$SCRATCH")"
  echo "seq size: $SEQ_SIZE; random runtime: ${RUNTIME}s; fs_mark files: $FSMARK_FILES;" \
    "small files: $SMALL_FILES; snapshots: $SNAPSHOTS; memory files: $MEM_FILES"
  echo "hoodyfs: $(git -C "$(dirname "$0")" rev-parse --short HEAD 2> /dev/null)" \
    "($(grep -m1 CMAKE_BUILD_TYPE: "$BUILD/CMakeCache.txt" | cut -d= -f2))"
  dpkg-query -W -f='${Package} ${Version}\n' fio fsmark hyperfine bindfs fuse-overlayfs \
    btrfs-progs zfs-fuse tar fuse3 2>&1
} > "$OUT/machine.txt"
cat "$OUT/machine.txt"

start_load_sampler

# shellcheck source=bench/mount_targets.sh
source "$(dirname "$0")/mount_targets.sh"
CLEANUP+=("umount_left $SCRATCH")
drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches; }

mount_bindfs() {
  command -v bindfs > /dev/null || return 1
  mkdir -p "$SCRATCH/bindfs/src" "$SCRATCH/bindfs/mnt"
  bindfs "$SCRATCH/bindfs/src" "$SCRATCH/bindfs/mnt" || return 1
  CLEANUP+=("umount $SCRATCH/bindfs/mnt")
  DIR[bindfs]=$SCRATCH/bindfs/mnt
}
BTRFS_MP=$SCRATCH/btrfs/mnt
mount_btrfs() {
  command -v mkfs.btrfs > /dev/null || return 1
  mkdir -p "$BTRFS_MP"
  truncate -s 32G "$SCRATCH/btrfs/img"
  local loop
  loop=$(losetup --find --show "$SCRATCH/btrfs/img") || return 1
  CLEANUP+=("losetup -d $loop")
  mkfs.btrfs -q -f "$loop" > /dev/null || return 1
  mount "$loop" "$BTRFS_MP" || return 1
  CLEANUP+=("umount $BTRFS_MP")
  btrfs -q subvolume create "$BTRFS_MP/c" > /dev/null || return 1
  mkdir -p "$BTRFS_MP/snaps"
  DIR[btrfs]=$BTRFS_MP/c
}
ZFS_DIR=$SCRATCH/zfs
mount_zfs-fuse() {
  command -v zfs-fuse > /dev/null || return 1
  pgrep -x zfs-fuse > /dev/null && { echo "a zfs-fuse daemon already runs: not ours" >&2; return 1; }
  mkdir -p "$ZFS_DIR/mnt"
  truncate -s 32G "$ZFS_DIR/pool.img"
  zfs-fuse -n --no-kstat-mount > "$OUT/raw/zfs-fuse.log" 2>&1 &
  local pid=$! i
  CLEANUP+=("kill $pid; wait $pid; umount_left $ZFS_DIR")
  for ((i = 0; i < 50; i++)); do zpool list > /dev/null 2>&1 && break; sleep 0.2; done
  # No `zpool destroy` at exit: zfs-fuse answers "pool is busy" even with
  # nothing open; the daemon unmounts its datasets when stopped, and the pool
  # file goes with the scratch directory.
  zpool create -m "$ZFS_DIR/mnt" "$ZPOOL" "$ZFS_DIR/pool.img" || return 1
  zfs create "$ZPOOL/c" || return 1
  DIR[zfs-fuse]=$ZFS_DIR/mnt/c
}
cold() {  # cold TARGET: nothing of the test file cached anywhere
  drop_caches
  if [[ $1 == zfs-fuse ]]; then
    zpool export "$ZPOOL" && zpool import -d "$ZFS_DIR" "$ZPOOL"
  fi
}

mount_targets

# --- import ----------------------------------------------------------------
if has_stage import; then
  mark import
  src=$SCRATCH/include-src
  cp -a /usr/include "$src"
  entries=$(find "$src" | wc -l)
  bytes=$(find "$src" -type f -printf '%s\n' | awk '{s += $1} END {print s}')
  istore=$SCRATCH/import-store
  hyperfine --runs "$REPS" --export-json "$OUT/raw/import.json" \
    --prepare "rm -rf $istore $SCRATCH/ext4/import-copy && $HOODYFS --store $istore init && sync" \
    -n hoodyfs "$HOODYFS --store $istore import -c c --create $src" \
    -n ext4 "cp -a $src $SCRATCH/ext4/import-copy && sync" > "$OUT/raw/import.txt" 2>&1
  cat "$OUT/raw/import.txt"
  python3 - "$OUT/raw/import.json" "$entries" "$bytes" >> "$OUT/results.tsv" << 'EOF'
import json, sys
data, entries, nbytes = json.load(open(sys.argv[1])), int(sys.argv[2]), int(sys.argv[3])
for r in data["results"]:
    for i, t in enumerate(r["times"]):
        target = r["command"]
        print(f"import\twall_s\t{target}\t{i}\t{t:.4f}\ts")
        print(f"import\tfiles_per_s\t{target}\t{i}\t{entries / t:.1f}\tentries/s")
        print(f"import\tMBps\t{target}\t{i}\t{nbytes / 1e6 / t:.1f}\tMB/s")
EOF
  echo "import source: $entries entries, $bytes bytes in regular files" >> "$OUT/machine.txt"
  rm -rf "$istore" "$SCRATCH/ext4/import-copy"
fi

# --- fio ---------------------------------------------------------------------
fio_value() {  # fio_value JSON read|write bw|iops|p50|p99
  python3 - "$@" << 'EOF'
import json, sys
path, rw, what = sys.argv[1:]
text = open(path).read()
job = json.loads(text[text.index("{"):])["jobs"][0][rw]  # after "fio: terminating on signal"
if what == "bw":
    print(f"{job['bw_bytes'] / 1e6:.1f}")
elif what == "iops":
    print(f"{job['iops']:.0f}")
else:
    pct = job["clat_ns"]["percentile"]
    key = {"p50": "50.000000", "p99": "99.000000"}[what]
    print(f"{pct[key] / 1e3:.1f}")
EOF
}
run_fio() {  # run_fio TARGET REP JOB ARGS...
  local t=$1 rep=$2 job=$3
  shift 3
  local json=$OUT/raw/fio-$t-$job-$rep.json
  if ! fio --name="$job" --filename="${DIR[$t]}/fio.dat" --size="$SEQ_SIZE" \
         --output-format=json --output="$json" "$@" > "$OUT/raw/fio-$t-$job-$rep.err" 2>&1; then
    log "!! fio $job on $t failed: $(tail -1 "$OUT/raw/fio-$t-$job-$rep.err")"
    record fio "$job" "$t" "$rep" FAIL ""
    return 1
  fi
  local rw=read
  [[ $job == *write* ]] && rw=write
  if [[ $job == seq* ]]; then
    record fio "$job" "$t" "$rep" "$(fio_value "$json" $rw bw)" MB/s
  else
    record fio "$job" "$t" "$rep" "$(fio_value "$json" $rw iops)" IOPS
    record fio "$job-p50" "$t" "$rep" "$(fio_value "$json" $rw p50)" us
    record fio "$job-p99" "$t" "$rep" "$(fio_value "$json" $rw p99)" us
  fi
}
if has_stage fio; then
  for ((rep = 1; rep <= REPS; rep++)); do
    for t in "${ACTIVE[@]}"; do
      mark "fio rep $rep $t"
      rm -f "${DIR[$t]}/fio.dat"
      sync
      run_fio "$t" "$rep" seqwrite --rw=write --bs=1M --ioengine=psync --end_fsync=1 || continue
      cold "$t"
      run_fio "$t" "$rep" seqread --rw=read --bs=1M --ioengine=psync
      timed=(--bs=4k --direct=1 --time_based --runtime="$RUNTIME" --ramp_time=2)
      cold "$t"
      run_fio "$t" "$rep" randread-qd1 --rw=randread --ioengine=psync "${timed[@]}"
      cold "$t"
      run_fio "$t" "$rep" randread-qd16 --rw=randread --ioengine=libaio --iodepth=16 "${timed[@]}"
      cold "$t"
      run_fio "$t" "$rep" randwrite-qd1 --rw=randwrite --ioengine=psync "${timed[@]}"
      cold "$t"
      run_fio "$t" "$rep" randwrite-qd16 --rw=randwrite --ioengine=libaio --iodepth=16 "${timed[@]}"
      # What databases do: small buffered writes made durable every so often.
      buffered=(--time_based --runtime="$RUNTIME" --ramp_time=2 --ioengine=psync)
      run_fio "$t" "$rep" randwrite-fsync32 --rw=randwrite --bs=4k --fsync=32 "${buffered[@]}"
      run_fio "$t" "$rep" randwrite-8k-buffered --rw=randwrite --bs=8k "${buffered[@]}"
    done
  done
  for t in "${ACTIVE[@]}"; do rm -f "${DIR[$t]}/fio.dat"; done
fi

# --- fs_mark -------------------------------------------------------------------
if has_stage fsmark; then
  for ((rep = 1; rep <= REPS; rep++)); do
    for t in "${ACTIVE[@]}"; do
      mark "fs_mark rep $rep $t"
      d=${DIR[$t]}/fsmark-$rep
      sync
      # fs_mark refuses directory paths of 40 bytes or more: give a relative one.
      if (cd "${DIR[$t]}" && fs_mark -d "fsmark-$rep" -s 4096 -n "$FSMARK_FILES" -S 0 -L 1 \
            -t 1 -k) > "$OUT/raw/fsmark-$t-$rep.txt" 2>&1; then
        # The data line: FSUse% Count Size Files/sec App-Overhead
        v=$(awk '$1 ~ /^[0-9]+$/ && NF == 5 {v = $4} END {print v}' "$OUT/raw/fsmark-$t-$rep.txt")
        record fsmark creates_4k "$t" "$rep" "$v" files/s
      else
        log "!! fs_mark on $t failed"
        record fsmark creates_4k "$t" "$rep" FAIL ""
      fi
      rm -rf "$d"
    done
  done
fi

# --- untar ---------------------------------------------------------------------
TARBALL=$SCRATCH/include.tar
untar_into() {  # untar_into DIR: prints the seconds tar xf took
  local start
  mkdir -p "$1"
  start=$EPOCHREALTIME
  tar xf "$TARBALL" -C "$1" || return 1
  since "$start"
}
if has_stage untar || has_stage snapshot; then
  tar cf "$TARBALL" -C /usr include
fi
if has_stage untar; then
  for ((rep = 1; rep <= REPS; rep++)); do
    for t in "${ACTIVE[@]}"; do
      mark "untar rep $rep $t"
      d=${DIR[$t]}/untar-$rep
      sync
      if s=$(untar_into "$d"); then
        record untar tar_xf_s "$t" "$rep" "$s" s
        start=$EPOCHREALTIME
        rm -rf "$d"
        record untar rm_rf_s "$t" "$rep" "$(since "$start")" s
      else
        record untar tar_xf_s "$t" "$rep" FAIL ""
      fi
    done
  done
fi

# --- small files -----------------------------------------------------------------
SMALL_TARBALL=$SCRATCH/small.tar
if has_stage smallfiles; then
  # The tree, made once on the scratch directory's own filesystem: 512 bytes
  # of one repeated letter per file, names as a package's files might be.
  src=$SCRATCH/small-src
  /usr/bin/python3 - "$src" "$SMALL_FILES" << 'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(root, f"dir{i // 1000:04d}")
    if i % 1000 == 0:
        os.makedirs(d)
    with open(os.path.join(d, f"file-{i:06d}.txt"), "wb") as f:
        f.write(bytes([97 + i % 26]) * 512)
PY
  tar cf "$SMALL_TARBALL" -C "$src" .
  rm -rf "$src"
  for ((rep = 1; rep <= REPS; rep++)); do
    for t in "${ACTIVE[@]}"; do
      mark "smallfiles rep $rep $t"
      d=${DIR[$t]}/small-$rep
      mkdir -p "$d"
      sync
      start=$EPOCHREALTIME
      if ! tar xf "$SMALL_TARBALL" -C "$d"; then
        record smallfiles tar_xf_s "$t" "$rep" FAIL ""
        rm -rf "$d"
        continue
      fi
      record smallfiles tar_xf_s "$t" "$rep" "$(since "$start")" s
      cold "$t"
      start=$EPOCHREALTIME
      n=$(find "$d" -ls | wc -l)
      record smallfiles find_ls_s "$t" "$rep" "$(since "$start")" s
      want=$((SMALL_FILES + (SMALL_FILES + 999) / 1000 + 1))  # files, directories, the top
      ((n == want)) || log "!! find -ls on $t listed $n entries, not $want"
      start=$EPOCHREALTIME
      rm -rf "$d"
      record smallfiles rm_rf_s "$t" "$rep" "$(since "$start")" s
    done
  done
  rm -f "$SMALL_TARBALL"
fi

# --- snapshot create, idle and under a streaming writer ----------------------------
HOODY_CREATE_FLAGS=()  # create_writer_nosync_ms: --no-sync
snap_cmd() {  # snap_cmd TARGET I: one snapshot, whole command
  case $1 in
    hoodyfs) "$SNAP" --store "$HOODY_STORE" create -c c "${HOODY_CREATE_FLAGS[@]}" > /dev/null ;;
    btrfs) btrfs -q subvolume snapshot -r "${DIR[btrfs]}" "$BTRFS_MP/snaps/s$2" > /dev/null ;;
    zfs-fuse) zfs snapshot "$ZPOOL/c@s$2" ;;
  esac
}
time_snapshots() {  # time_snapshots TARGET METRIC FIRST_INDEX
  local t=$1 metric=$2 first=$3 i start
  for ((i = 0; i < SNAPSHOTS; i++)); do
    start=$EPOCHREALTIME
    if ! snap_cmd "$t" $((first + i)); then
      log "!! snapshot on $t failed"
      record snapshot "$metric" "$t" "$i" FAIL ""
      return 1
    fi
    record snapshot "$metric" "$t" "$i" "$(since_ms "$start")" ms
    sleep 0.2
  done
}
if has_stage snapshot; then
  for t in "${ACTIVE[@]}"; do
    [[ $t == hoodyfs || $t == btrfs || $t == zfs-fuse ]] || continue
    mark "snapshot $t"
    untar_into "${DIR[$t]}/tree" > /dev/null
    sync
    time_snapshots "$t" create_idle_ms 0
    # The writer alone first, so its rate under the creates has a baseline
    # from the same file and mount (issue 12: cut by at most 10%).
    if ((WRITER_ALONE_S > 0)); then
      fio --name=writer --filename="${DIR[$t]}/stream" --rw=write --bs=1M --size=1G \
        --ioengine=psync --time_based --runtime="$WRITER_ALONE_S" --output-format=json \
        --output="$OUT/raw/snapshot-writer-alone-$t.json" > /dev/null 2>&1
      record snapshot writer_alone_MBps "$t" 0 \
        "$(fio_value "$OUT/raw/snapshot-writer-alone-$t.json" write bw)" MB/s
    fi
    fio --name=writer --filename="${DIR[$t]}/stream" --rw=write --bs=1M --size=1G \
      --ioengine=psync --time_based --runtime=3600 --output-format=json \
      --output="$OUT/raw/snapshot-writer-$t.json" > /dev/null 2>&1 &
    writer=$!
    CLEANUP+=("kill $writer 2> /dev/null; wait $writer")
    sleep 3
    time_snapshots "$t" create_writer_ms 1000
    if [[ $t == hoodyfs ]]; then
      HOODY_CREATE_FLAGS=(--no-sync)
      time_snapshots "$t" create_writer_nosync_ms 2000
      HOODY_CREATE_FLAGS=()
    fi
    kill -INT "$writer"
    wait "$writer"
    unset "CLEANUP[$((${#CLEANUP[@]} - 1))]"
    record snapshot writer_MBps "$t" 0 "$(fio_value "$OUT/raw/snapshot-writer-$t.json" write bw)" MB/s
    if [[ $t == hoodyfs ]]; then
      base=$("$SNAP" --store "$HOODY_STORE" create -c c --alias bench-base > /dev/null && echo bench-base)
      for ((i = 0; i < 20; i++)); do
        start=$EPOCHREALTIME
        "$SNAP" --store "$HOODY_STORE" restore -c c --name "$base" --discard-head > /dev/null ||
          { log "!! restore failed"; break; }
        record snapshot restore_idle_ms "$t" "$i" "$(since_ms "$start")" ms
        start=$EPOCHREALTIME
        "$SNAP" --store "$HOODY_STORE" copy -c c --source-snapshot "$base" --name "copy$i" \
          > /dev/null || { log "!! copy failed"; break; }
        record snapshot copy_idle_ms "$t" "$i" "$(since_ms "$start")" ms
        sleep 0.2
      done
    fi
  done
fi

# --- daemon memory -------------------------------------------------------------------
rss_of() {  # rss_of PID FIELD: KiB
  awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status"
}
# The FUSE inodes the kernel holds, of every mount (other mounts on the
# machine hold few): whether the inodes created are still cached, or
# something (memory pressure, another drop_caches) made the kernel forget.
fuse_inodes() { awk '$1 == "fuse_inode" {print $2}' /proc/slabinfo; }
record_memory() {  # record_memory FILES SUFFIX
  for field in VmRSS RssAnon RssFile VmHWM; do
    record memory "${field}_MiB$2" hoodyfs "$1" "$(($(rss_of "$pid" $field) / 1024))" MiB
  done
  record memory "fuse_inodes$2" hoodyfs "$1" "$(fuse_inodes)" inodes
}
if has_stage memory && [[ " ${ACTIVE[*]} " == *" hoodyfs "* ]]; then
  mark "memory"
  mstore=$SCRATCH/mem/store
  mmp=$SCRATCH/mem/mnt
  mkdir -p "$mmp"
  "$HOODYFS" --store "$mstore" init > /dev/null
  CLEANUP+=("hoodyfs_umount $mmp $mstore")
  "$HOODYFS" --store "$mstore" mount -c m --create "$mmp"
  pid=$(cat "$mstore/daemon.pid")
  files=0
  record_memory "$files" ""
  while ((files < MEM_FILES)); do
    step=$((files / 100000))
    (cd "$mmp" && fs_mark -d "m$step" -s 0 -n 100000 -D 100 -N 1000 -S 0 -L 1 -t 1 -k) \
      > "$OUT/raw/memory-fsmark-$step.txt" 2>&1 || { log "!! fs_mark failed"; break; }
    files=$((files + 100000))
    record memory creates_0 hoodyfs "$files" \
      "$(awk '$1 ~ /^[0-9]+$/ && NF == 5 {v = $4} END {print v}' "$OUT/raw/memory-fsmark-$step.txt")" \
      files/s
    sleep 2
    record_memory "$files" ""
    log "memory: $files files, VmRSS $(rss_of "$pid" VmRSS) KiB, FUSE inodes $(fuse_inodes)"
  done
  sleep 5
  record_memory "$files" _idle5s
  # The kernel forgets the inodes (FORGET for each), and the daemon's table
  # must shrink with it; 5 s for the FORGETs and the heap trimmer's quiet
  # second (base/heap_trim.h).
  echo 2 > /proc/sys/vm/drop_caches
  sleep 5
  record_memory "$files" _dropped
  log "memory: after drop_caches, VmRSS $(rss_of "$pid" VmRSS) KiB," \
    "RssAnon $(rss_of "$pid" RssAnon) KiB, FUSE inodes $(fuse_inodes)"
  du -sk "$mstore"/* > "$OUT/raw/memory-store-du.txt"
fi

finish_run
python3 "$(dirname "$0")/summarize_fuse.py" "$OUT" > "$OUT/table.md"
cat "$OUT/table.md"
