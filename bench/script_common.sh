# Sourced by the benchmark scripts of bench/: the helpers every one of them
# needs. The caller sets SCRATCH (its scratch directory, removed at exit;
# or standalone_setup sets it) and SCRATCH_PARENT (where it lives), OUT (the
# results directory) and STAGES (the stages asked for) before sourcing it,
# and then adds to CLEANUP (the commands the exit trap runs, last added
# first).

PROBE="$(dirname "${BASH_SOURCE[0]}")/sync_probe.sh"

# --- cleanup: a stack of commands, run in reverse order at exit ------------
# (The caller may define before_cleanup to stop what must go first: a
# workload still running.) Sourcing this file sets the traps and queues the
# removal of SCRATCH as the last thing to run.
CLEANUP=()
cleanup() {
  local idx=("${!CLEANUP[@]}") i
  if declare -F before_cleanup > /dev/null; then before_cleanup; fi
  for ((i = ${#idx[@]} - 1; i >= 0; i--)); do eval "${CLEANUP[${idx[i]}]}" || true; done
  CLEANUP=()
}
trap cleanup EXIT
trap 'echo "interrupted" >&2; exit 130' INT TERM

# Removes the scratch directory, unless something is still mounted under it
# (then it says so and leaves it: rm -rf would walk into the mount).
remove_scratch() {
  [ -n "${SCRATCH:-}" ] || return 0
  if grep -q " $SCRATCH" /proc/mounts; then
    echo "!! not removing $SCRATCH: something under it is still mounted" >&2
    grep " $SCRATCH" /proc/mounts >&2
  else
    rm -rf "$SCRATCH"
  fi
}
CLEANUP+=(remove_scratch)

log() { echo "$(date -u +%H:%M:%S) [load $(cut -d' ' -f1-3 /proc/loadavg)] $*"; }
record() {  # record STAGE METRIC TARGET REP VALUE UNIT
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >> "$OUT/results.tsv"
}
since() {  # since START: seconds from $EPOCHREALTIME START to now
  awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.4f", b - a}'
}

mark() {  # a stage starts: note it with the load and the disk's fdatasync latency
  echo "$(date -u +%H:%M:%S) == $*" >> "$OUT/load.log"
  log "== $* ($("$PROBE" "$SCRATCH"))" | tee -a "$OUT/stages.txt"
}
has_stage() { [[ " $STAGES " == *" $1 "* ]]; }

# Samples the load average into OUT/load.log every 10 s until exit.
start_load_sampler() {
  (while :; do echo "$(date -u +%H:%M:%S) $(cut -d' ' -f1-3 /proc/loadavg)"; sleep 10; done) \
    >> "$OUT/load.log" &
  CLEANUP+=("kill $!")
}

# Ends a run: undoes everything (cleanup, then no exit trap), says if
# anything is still mounted, and notes the load and the disk's sync latency
# after it in machine.txt.
finish_run() {
  mark "done"
  cleanup
  trap - EXIT
  if grep -q "$SCRATCH" /proc/mounts; then
    echo "!! something is still mounted:" >&2
    grep "$SCRATCH" /proc/mounts >&2
  fi
  echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/machine.txt"
  echo "after: $("$PROBE" "$SCRATCH_PARENT")" | tee -a "$OUT/machine.txt"
}

# For the scripts run as `SCRIPT BUILD_DIR OUT_DIR` (the caller sets build
# and OUT): HOODYFS and SNAP, the build's programs (a build without them is
# refused), OUT made, and SCRATCH, a fresh SCRATCH_PARENT/hoodyfs-NAME.XXXXXX
# that the exit trap removes.
standalone_setup() {  # standalone_setup NAME
  HOODYFS="$build/cli/hoodyfs"
  SNAP="$build/cli/hoodyfs-snap"
  local b
  for b in "$HOODYFS" "$SNAP"; do [ -x "$b" ] || { echo "missing $b: build first" >&2; exit 2; }; done
  mkdir -p "$OUT"
  SCRATCH=$(mktemp -d "$SCRATCH_PARENT/hoodyfs-$1.XXXXXX")
}

# Starts `$HOODYFS serve --store STORE [ARGS...]` in the background, logging to
# SCRATCH/serve.log, stopped at exit; returns once its socket is there (a
# verb run before would open the store itself and keep the daemon out).
# Sets SERVE_PID.
start_serve() {  # start_serve STORE [ARGS...]
  local store=$1
  shift
  "$HOODYFS" serve --store "$store" "$@" > "$SCRATCH/serve.log" 2>&1 &
  SERVE_PID=$!
  CLEANUP+=("kill $SERVE_PID 2>/dev/null; wait $SERVE_PID")
  until [ -S "$store/hoodyfs.sock" ]; do
    kill -0 "$SERVE_PID" || { cat "$SCRATCH/serve.log" >&2; return 1; }
    sleep 0.05
  done
}
