#!/usr/bin/env bash
# A private PostgreSQL 15 cluster from Debian's postgresql package, for tests
# and benchmarks: its own data directory, its own Unix socket directory and
# port, no TCP listener, trust authentication for the `postgres` role over
# that socket (the socket directory is mode 0700, so only its owner and root
# can connect). Nothing of the system's clusters (pg_ctlcluster,
# /etc/postgresql, /var/run/postgresql) is used or touched.
#
# usage:
#   scripts/postgres.sh check
#       exit 0 when PostgreSQL 15 and the `postgres` user are there; else
#       prints what is missing and exits 1
#   scripts/postgres.sh init DATADIR
#       initdb into DATADIR (created if absent, given to the postgres user)
#   scripts/postgres.sh start DATADIR PORT SOCKDIR [LOGFILE]
#       starts the server and returns once it accepts connections (pg_ctl -w:
#       on a copy of a running server's data directory, once WAL recovery is
#       done). LOGFILE defaults to SOCKDIR/postgres.log. On failure prints the
#       log's tail and exits 1.
#   scripts/postgres.sh stop DATADIR [fast|immediate]
#       fast shutdown (a checkpoint, then exit; immediate if that fails), or
#       immediate (no checkpoint: the next start recovers from the WAL, for
#       throwaway clusters); exit 0 also when no server runs on DATADIR, so
#       it can be called from cleanup code unconditionally
#
# Clients connect with `-h SOCKDIR -p PORT -U postgres`.
# env: PG_BIN (/usr/lib/postgresql/15/bin), PG_USER (postgres; PostgreSQL
#   refuses to run as root, so as root the server runs as this user through
#   runuser), PG_OPTS (extra server options, e.g. "-c shared_buffers=256MB"),
#   PG_START_TIMEOUT (seconds pg_ctl waits for startup and recovery: 300),
#   PG_INITDB_OPTS (extra initdb options, e.g. --no-sync for tests).
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_USER=${PG_USER:-postgres}
PG_START_TIMEOUT=${PG_START_TIMEOUT:-300}

die() {
  echo "postgres.sh: $*" >&2
  exit 1
}

# Runs a PostgreSQL program as PG_USER: root cannot run the server, and the
# files it creates must belong to the user that runs it. cwd is / because the
# caller's (root's home) may not be readable by that user.
as_pg() {
  if [[ $(id -u) == 0 ]]; then
    (cd / && runuser -u "$PG_USER" -- "$@")
  else
    "$@"
  fi
}

# Gives a directory to PG_USER when running as root.
own() {
  mkdir -p "$1"
  [[ $(id -u) == 0 ]] && chown "$PG_USER:" "$1"
  chmod 0700 "$1"
}

check() {
  local missing=() p
  for p in initdb pg_ctl postgres pgbench psql pg_amcheck; do
    [[ -x $PG_BIN/$p ]] || missing+=("$PG_BIN/$p")
  done
  if [[ ${#missing[@]} -gt 0 ]]; then
    echo "missing ${missing[*]} (Debian: apt-get install postgresql postgresql-contrib;" \
      "scripts/install-deps.sh does it)"
    return 1
  fi
  if [[ $(id -u) == 0 ]] && ! id -u "$PG_USER" > /dev/null 2>&1; then
    echo "no user $PG_USER to run the server as (the postgresql package creates it)"
    return 1
  fi
}

cmd=${1:-}
case $cmd in
  check)
    check
    ;;
  init)
    [[ $# == 2 ]] || die "usage: postgres.sh init DATADIR"
    why=$(check) || die "$why"
    own "$2"
    # C locale: the same collation everywhere, no dependency on the host's locales.
    # shellcheck disable=SC2086 # PG_INITDB_OPTS is a list of words
    if ! out=$(as_pg "$PG_BIN/initdb" -D "$2" -U postgres --auth=trust -E UTF8 --locale=C \
                 --no-instructions ${PG_INITDB_OPTS:-} 2>&1); then
      echo "$out" >&2
      die "initdb failed"
    fi
    ;;
  start)
    [[ $# == 4 || $# == 5 ]] || die "usage: postgres.sh start DATADIR PORT SOCKDIR [LOGFILE]"
    data=$2 port=$3 sock=$4
    log=${5:-$sock/postgres.log}
    own "$sock"
    touch "$log"
    [[ $(id -u) == 0 ]] && chown "$PG_USER:" "$log"
    # listen_addresses='': the Unix socket only, so no TCP port can clash
    # with another cluster on the machine; the port names the socket file.
    if ! as_pg "$PG_BIN/pg_ctl" start -D "$data" -l "$log" -w -t "$PG_START_TIMEOUT" \
           -o "-p $port -k $sock -c listen_addresses='' ${PG_OPTS:-}" > /dev/null; then
      echo "postgres.sh: the server on $data did not start; $log ends with:" >&2
      tail -n 30 "$log" >&2
      exit 1
    fi
    ;;
  stop)
    [[ $# == 2 || $# == 3 ]] || die "usage: postgres.sh stop DATADIR [fast|immediate]"
    data=$2 mode=${3:-fast}
    [[ $mode == fast || $mode == immediate ]] || die "stop mode: fast or immediate, not $mode"
    # pg_ctl status: 0 runs, 3 does not run, 4 no data directory (both 3 and
    # 4 mean there is nothing to stop).
    rc=0
    as_pg "$PG_BIN/pg_ctl" status -D "$data" > /dev/null 2>&1 || rc=$?
    [[ $rc == 0 ]] || exit 0
    if ! as_pg "$PG_BIN/pg_ctl" stop -D "$data" -m "$mode" -w -t 120 > /dev/null; then
      echo "postgres.sh: $mode shutdown of $data failed: immediate shutdown" >&2
      as_pg "$PG_BIN/pg_ctl" stop -D "$data" -m immediate -w -t 60 > /dev/null
    fi
    ;;
  *)
    die "usage: postgres.sh check | init DATADIR | start DATADIR PORT SOCKDIR [LOGFILE] |" \
      "stop DATADIR [fast|immediate]"
    ;;
esac
