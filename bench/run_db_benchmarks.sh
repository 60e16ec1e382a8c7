#!/usr/bin/env bash
# Databases inside a container (issue 11): PostgreSQL and SQLite on hoodyfs,
# beside native ext4 and fuse-overlayfs, in one run on the same disk:
#
#   ext4            a directory on the scratch disk (native)
#   hoodyfs         `hoodyfs --store S mount -c c --create MP` (the daemon is
#                   started by the command, default mount options);
#                   `hoodyfs umount MP` stops it
#   fuse-overlayfs  empty lowerdir, upperdir on the scratch ext4, allow_other
#                   (the server runs as user postgres)
#
# Stages (STAGES, in this order), each repeated REPS times with the targets
# interleaved within a repetition:
#   pgbench   a private PostgreSQL 15 cluster (scripts/postgres.sh: initdb,
#             own port and socket directory, no TCP, default settings: fsync,
#             synchronous_commit and full_page_writes on) with its data
#             directory on the target: initdb; `pgbench -i -s PG_SCALE` (data
#             load, vacuum, primary keys) timed; a CHECKPOINT right after it
#             timed (the loaded pages written and synced); `pgbench -c
#             PG_CLIENTS -j PG_JOBS -T PG_TIME` (TPC-B-like): TPS and mean
#             latency. The server is stopped and its directory removed after
#             each run.
#   sqlite    sqlite3 with synchronous=FULL, journal_mode WAL and DELETE:
#             SQLITE_ROWS autocommit INSERTs of a 100-byte blob into a fresh
#             database, each its own transaction; rows/s of the timed inserts
#             (the table is created beforehand)
#
# usage: bench/run_db_benchmarks.sh [BUILD_DIR [OUT_DIR]]
#   env: REPS (3), TARGETS (all three above), STAGES ("pgbench sqlite"),
#   PG_SCALE (20), PG_TIME (60, seconds), PG_CLIENTS (4), PG_JOBS (2),
#   PG_OPTS (extra server options, passed on to scripts/postgres.sh), PG_BIN
#   (/usr/lib/postgresql/15/bin),
#   SQLITE_ROWS (20000), HOODYFS_BENCH_DIR (scratch parent, default /var/tmp;
#   a real disk), HOODYFS_MOUNT_OPTS (added to hoodyfs mount, e.g.
#   "-o writeback_cache").
# Writes to OUT_DIR (default db-results): machine.txt, load.log (load average
# every 10 s, with stage marks), stages.txt (each stage's start with the load
# and the disk's fdatasync latency then: bench/sync_probe.sh), results.tsv
# (stage, metric, target, rep, value, unit: every sample), raw/ (pgbench and
# server output), table.md and db.png (bench/summarize_db.py: medians, ratios
# to ext4, bars with the min-max of the repetitions).
# Needs root, /dev/fuse, PostgreSQL 15 (postgresql postgresql-contrib),
# sqlite3, fuse-overlayfs and python3-matplotlib (scripts/install-bench-deps.sh);
# a missing target or stage is skipped with a line that says so. Every mount
# and server it starts is undone at exit (trap), also after a failure or ^C.
set -uo pipefail

# A private mount namespace, as bench/run_fuse_benchmarks.sh explains: no
# other process can keep copies of our FUSE mounts, and they die with us.
if [[ -z ${HOODYFS_BENCH_NS:-} ]]; then
  HOODYFS_BENCH_NS=1 exec unshare --mount --propagation private "$0" "$@"
fi

HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=$(realpath "${1:-build}")
OUT=${2:-db-results}
HOODYFS=$BUILD/cli/hoodyfs
PGSH=$HERE/../scripts/postgres.sh
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
REPS=${REPS:-3}
TARGETS=${TARGETS:-"ext4 hoodyfs fuse-overlayfs"}
STAGES=${STAGES:-"pgbench sqlite"}
PG_SCALE=${PG_SCALE:-20}
PG_TIME=${PG_TIME:-60}
PG_CLIENTS=${PG_CLIENTS:-4}
PG_JOBS=${PG_JOBS:-2}
SQLITE_ROWS=${SQLITE_ROWS:-20000}
SCRATCH_PARENT=${HOODYFS_BENCH_DIR:-/var/tmp}
PG_PORT=55600  # names the socket file only: the servers listen on no TCP port

[[ $(id -u) == 0 ]] || { echo "run as root" >&2; exit 1; }
[[ -x $HOODYFS ]] || { echo "no $HOODYFS: build first" >&2; exit 1; }
mkdir -p "$OUT/raw"
OUT=$(realpath "$OUT")
: > "$OUT/results.tsv"
: > "$OUT/load.log"
: > "$OUT/stages.txt"
SCRATCH=$(mktemp -d "$SCRATCH_PARENT/hoodyfs-dbbench-XXXXXX")
chmod 0755 "$SCRATCH"  # the postgres user must reach the data directories below

CLIENT=""  # the workload process run_client waits for, if any
before_cleanup() {
  if [[ -n $CLIENT ]]; then
    kill "$CLIENT" 2> /dev/null
    wait "$CLIENT"
  fi
}
# shellcheck source=bench/script_common.sh
source "$(dirname "$0")/script_common.sh"

# Runs a workload command (a database client) and returns its status. In the
# background and waited for, so that ^C interrupts the script at once: pgbench,
# psql and sqlite3 catch SIGINT (to cancel the query) and exit normally, and
# bash does not run the INT trap after a foreground child that caught the
# signal. cleanup() stops the command. Standard input is passed on (a
# background command would get /dev/null).
run_client() {  # run_client COMMAND ARGS...
  local rc
  "$@" <&0 &
  CLIENT=$!
  wait "$CLIENT"
  rc=$?
  CLIENT=""
  return $rc
}

{
  "$HERE/machine_info.sh" "$SCRATCH"
  echo "repetitions: $REPS; targets: $TARGETS; stages: $STAGES"
  echo "before: $("$PROBE" "$SCRATCH")"
  echo "pgbench: scale $PG_SCALE, -c $PG_CLIENTS -j $PG_JOBS -T $PG_TIME;" \
    "server options: ${PG_OPTS:-defaults}; sqlite rows: $SQLITE_ROWS"
  echo "hoodyfs: $(git -C "$HERE" rev-parse --short HEAD 2> /dev/null)" \
    "($(grep -m1 CMAKE_BUILD_TYPE: "$BUILD/CMakeCache.txt" | cut -d= -f2))"
  dpkg-query -W -f='${Package} ${Version}\n' postgresql-15 sqlite3 fuse-overlayfs fuse3 2>&1
} > "$OUT/machine.txt"
cat "$OUT/machine.txt"

start_load_sampler

# shellcheck source=bench/mount_targets.sh
source "$(dirname "$0")/mount_targets.sh"
CLEANUP+=("umount_left $SCRATCH")
# PostgreSQL runs as its own user: the overlay must let it in.
OVERLAY_EXTRA_OPTS=",allow_other"

mount_targets

# --- PostgreSQL ------------------------------------------------------------------
pg() {  # pg TARGET PROGRAM ARGS...: a client program against TARGET's server
  local t=$1 prog=$2
  shift 2
  run_client "$PG_BIN/$prog" -h "$SCRATCH/sock-$t" -p "$PG_PORT" -U postgres "$@"
}
# One repetition on one target; returns 1 (with a log line) at the first failure.
pgbench_on() {  # pgbench_on TARGET REP
  local t=$1 rep=$2 data=${DIR[$1]}/pg-$2 raw=$OUT/raw/pgbench-$1-$2 start
  CLEANUP+=("$PGSH stop $data")
  start=$EPOCHREALTIME
  "$PGSH" init "$data" > "$raw-initdb.txt" 2>&1 || { log "!! initdb on $t failed"; return 1; }
  record pgbench initdb_s "$t" "$rep" "$(since "$start")" s
  "$PGSH" start "$data" "$PG_PORT" "$SCRATCH/sock-$t" "$raw-server.log" > "$raw-start.txt" 2>&1 ||
    { log "!! the server on $t did not start: $(tail -1 "$raw-start.txt")"; return 1; }
  start=$EPOCHREALTIME
  pg "$t" pgbench -i -s "$PG_SCALE" -q postgres > "$raw-init.txt" 2>&1 ||
    { log "!! pgbench -i on $t failed"; return 1; }
  record pgbench init_s "$t" "$rep" "$(since "$start")" s
  start=$EPOCHREALTIME
  pg "$t" psql -X -q -c CHECKPOINT postgres > /dev/null || { log "!! CHECKPOINT on $t failed"; return 1; }
  record pgbench checkpoint_s "$t" "$rep" "$(since "$start")" s
  pg "$t" pgbench -c "$PG_CLIENTS" -j "$PG_JOBS" -T "$PG_TIME" postgres > "$raw-run.txt" 2>&1 ||
    { log "!! pgbench on $t failed: $(tail -1 "$raw-run.txt")"; return 1; }
  # "tps = 412.345 (without initial connection time)", "latency average = 9.7 ms"
  record pgbench tps "$t" "$rep" "$(awk '/^tps = / {print $3}' "$raw-run.txt")" TPS
  record pgbench latency_ms "$t" "$rep" "$(awk '/^latency average/ {print $4}' "$raw-run.txt")" ms
  log "pgbench $t rep $rep: $(grep '^tps' "$raw-run.txt")"
}
if has_stage pgbench; then
  if ! why=$("$PGSH" check); then
    echo "!! stage pgbench skipped: $why" | tee -a "$OUT/machine.txt"
  else
    for ((rep = 1; rep <= REPS; rep++)); do
      for t in "${ACTIVE[@]}"; do
        mark "pgbench rep $rep $t"
        sync
        pgbench_on "$t" "$rep" || record pgbench tps "$t" "$rep" FAIL ""
        "$PGSH" stop "${DIR[$t]}/pg-$rep"
        rm -rf "${DIR[$t]}/pg-$rep"
      done
    done
  fi
fi

# --- SQLite ------------------------------------------------------------------------
INSERTS=$SCRATCH/inserts.sql
# Sets RATE to the rows/s (not a command substitution: a subshell would hide
# the client from cleanup()).
sqlite_on() {  # sqlite_on TARGET REP MODE
  local t=$1 rep=$2 mode=$3 db=${DIR[$1]}/sqlite-$2-$3.db start
  rm -f "$db" "$db-wal" "$db-shm" "$db-journal"
  sqlite3 "$db" "PRAGMA journal_mode=$mode; CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB);" \
    > /dev/null || return 1
  sync
  start=$EPOCHREALTIME
  # Each INSERT outside BEGIN is its own transaction. The timed input starts
  # with the pragmas: synchronous and (for DELETE) the journal mode hold per
  # connection.
  run_client sqlite3 -bail "$db" < "$INSERTS-$mode" > /dev/null || return 1
  RATE=$(awk -v n="$SQLITE_ROWS" -v s="$(since "$start")" 'BEGIN {printf "%.1f", n / s}')
  rm -f "$db" "$db-wal" "$db-shm" "$db-journal"
}
if has_stage sqlite; then
  if ! command -v sqlite3 > /dev/null; then
    echo "!! stage sqlite skipped: no sqlite3" | tee -a "$OUT/machine.txt"
  else
    for mode in WAL DELETE; do
      {
        echo "PRAGMA journal_mode=$mode; PRAGMA synchronous=FULL;"
        for ((i = 0; i < SQLITE_ROWS; i++)); do echo "INSERT INTO t(v) VALUES (randomblob(100));"; done
      } > "$INSERTS-$mode"
    done
    for ((rep = 1; rep <= REPS; rep++)); do
      for t in "${ACTIVE[@]}"; do
        for mode in WAL DELETE; do
          mark "sqlite rep $rep $t $mode"
          if sqlite_on "$t" "$rep" "$mode"; then
            record sqlite "inserts_${mode,,}" "$t" "$rep" "$RATE" rows/s
            log "sqlite $t $mode rep $rep: $RATE rows/s"
          else
            log "!! sqlite $mode on $t failed"
            record sqlite "inserts_${mode,,}" "$t" "$rep" FAIL ""
          fi
        done
      done
    done
  fi
fi

finish_run
# Debian's python3-matplotlib is importable by Debian's python3, which a
# python3 earlier in PATH (pyenv, a virtualenv) may not be.
PY=python3
[[ -x /usr/bin/python3 ]] && PY=/usr/bin/python3
"$PY" "$HERE/summarize_db.py" "$OUT" > "$OUT/table.md"
cat "$OUT/table.md"
