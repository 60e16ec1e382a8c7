#!/usr/bin/env bash
# A private single-node Ceph from Debian 12's packages (ceph-mon, ceph-osd,
# radosgw 16.2), for trying replication on one machine and for the tests that
# push snapshots to a real S3 endpoint: one monitor, one OSD on memstore (its
# data in RAM, bounded by CEPH_MEMSTORE_BYTES), pools of size 1, no manager,
# and a RADOS Gateway listening on loopback with one S3 user.
#
# Everything lives in WORKDIR: ceph.conf, the keyring, the monitor's and the
# OSD's data, logs, admin sockets and pid files. Nothing in /etc/ceph or
# /var/lib/ceph is read or written (every command gets -c WORKDIR/ceph.conf).
#
# usage:
#   scripts/ceph.sh check
#       exit 0 when the Ceph programs are installed; else prints what is
#       missing and exits 1
#   scripts/ceph.sh start WORKDIR
#       creates the cluster in WORKDIR (which must be empty or absent), starts
#       it and returns once the gateway answers HTTP and the S3 user exists.
#       On failure prints the logs' tails, stops what it started and exits 1.
#   scripts/ceph.sh env WORKDIR
#       prints the S3 endpoint and the user's keys as shell assignments
#       (S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY, S3_REGION); eval it
#   scripts/ceph.sh stop WORKDIR
#       kills every daemon this script started in WORKDIR (also after a
#       partial start: each daemon's pid is recorded the moment it is
#       spawned) and waits until they are gone (CEPH_STOP_TIMEOUT); exit 0 when
#       nothing runs, so cleanup code can call it unconditionally. WORKDIR is
#       left for inspection; remove it yourself.
#
# env: CEPH_START_TIMEOUT (seconds to wait for each daemon: 120),
#   CEPH_STOP_TIMEOUT (seconds the killed daemons may take to go: 20), CEPH_MEMSTORE_BYTES (the
#   OSD's capacity, held in RAM as it fills: 1073741824).
#
# Why these settings: memstore keeps the OSD off the disk and starts in a
# second; with no manager the cluster does without the Python modules (the
# biggest and slowest daemon); eight placement groups per pool keep the
# gateway's seven pools far under the per-OSD limit. tcp_nodelay=1: the
# gateway writes a GET's headers and its body separately, and with Nagle on
# the body waits for the client's delayed ACK of the headers, 40 ms per
# object (a pull of 20,000 small chunks crawled at ~25 chunks/s;
# docs/benchmarks.md, "Part 2f").
set -euo pipefail

CEPH_START_TIMEOUT=${CEPH_START_TIMEOUT:-120}
CEPH_STOP_TIMEOUT=${CEPH_STOP_TIMEOUT:-20}
CEPH_MEMSTORE_BYTES=${CEPH_MEMSTORE_BYTES:-1073741824}

die() {
  echo "ceph.sh: $*" >&2
  exit 1
}

check() {
  local missing=() p
  for p in ceph-mon ceph-osd radosgw radosgw-admin ceph ceph-authtool monmaptool curl uuidgen ss; do
    command -v "$p" > /dev/null || missing+=("$p")
  done
  if [[ ${#missing[@]} -gt 0 ]]; then
    echo "missing ${missing[*]} (Debian: apt-get install ceph-mon ceph-osd radosgw ceph-common" \
      "curl uuid-runtime iproute2; scripts/install-deps.sh does it)"
    return 1
  fi
}

# A TCP port on loopback that no socket uses now, listening or connected.
# Taken below the kernel's ephemeral range (ip_local_port_range, 32768 up by
# default): a port inside it can be the local end of any connection made a
# moment later (the other cluster of a parallel test, a client of this one),
# and the monitor's bind then fails with EADDRINUSE. The daemon that gets it
# binds a moment later; a collision in between fails the start loudly.
free_port() {
  local port low
  read -r low _ < /proc/sys/net/ipv4/ip_local_port_range
  ((low > 12000)) || low=32768
  for _ in $(seq 100); do
    port=$((10000 + RANDOM % (low - 10000)))
    if [[ -z $(ss -Htan "sport = :$port") ]]; then
      echo "$port"
      return 0
    fi
  done
  die "no free TCP port found"
}

# ceph CLI against this cluster; bounded so a dead monitor cannot hang us.
ceph_cli() {
  timeout 30 ceph -c "$W/ceph.conf" --connect-timeout 10 "$@"
}

# Polls CONDITION (a command) every 0.2 s until it succeeds or DAEMON's
# process has died or CEPH_START_TIMEOUT has passed.
wait_for() {
  local what=$1 daemon=$2
  shift 2
  local deadline=$((SECONDS + CEPH_START_TIMEOUT))
  until "$@" > /dev/null 2>&1; do
    if ! alive "$daemon"; then
      fail "$daemon exited while waiting for $what"
    fi
    if ((SECONDS >= deadline)); then
      fail "timed out after ${CEPH_START_TIMEOUT}s waiting for $what"
    fi
    sleep 0.2
  done
}

# True when the process recorded for DAEMON runs and is ours (its command
# line names this WORKDIR's ceph.conf: a recycled pid is someone else's).
alive() {
  local pidfile=$W/run/$1.spawned pid
  [[ -f $pidfile ]] || return 1
  pid=$(< "$pidfile")
  [[ -r /proc/$pid/cmdline ]] || return 1
  tr '\0' ' ' < "/proc/$pid/cmdline" | grep -qF -- "$W/ceph.conf"
}

# Starts a daemon in the foreground of a background job (so its pid is known
# at once, before it could write a pid file of its own) in its own session.
spawn() {
  local name=$1
  shift
  setsid "$@" -c "$W/ceph.conf" -f > "$W/log/$name.out" 2>&1 < /dev/null &
  echo $! > "$W/run/$name.spawned"
}

fail() {
  echo "ceph.sh: start failed: $*" >&2
  local f
  for f in "$W"/log/*; do
    [[ -s $f ]] || continue
    echo "--- tail of $f" >&2
    tail -n 20 "$f" >&2
  done
  stop_all
  exit 1
}

stop_all() {
  local name pids=() pid f
  # KILL, all at once: the cluster is thrown away (memstore keeps its data in
  # RAM, and start never reuses a work directory), so a graceful shutdown,
  # about 2 s per daemon, would save nothing.
  for name in rgw osd.0 mon.a; do
    alive "$name" && pids+=("$(< "$W/run/$name.spawned")")
  done
  if [[ ${#pids[@]} -gt 0 ]]; then
    kill -KILL "${pids[@]}" 2> /dev/null || true
    local deadline=$((SECONDS + CEPH_STOP_TIMEOUT)) left=1
    while ((left == 1)); do
      left=0
      for pid in "${pids[@]}"; do
        # A zombie (not yet reaped by init) counts as gone.
        [[ -e /proc/$pid && $(awk '{print $3}' "/proc/$pid/stat" 2> /dev/null) != Z ]] && left=1
      done
      if ((left == 1 && SECONDS >= deadline)); then
        echo "ceph.sh: daemons ${pids[*]} still there after KILL and ${CEPH_STOP_TIMEOUT}s" >&2
        return 1
      fi
      ((left == 1)) && sleep 0.05
    done
  fi
  # The watcher last; it runs in a session of its own, whose group holds its
  # tail too. (When the watcher itself is stopping the cluster it has exec'd
  # this script, whose command line alive() does not take for the watcher.)
  if alive watch; then
    kill -TERM -- "-$(< "$W/run/watch.spawned")" 2> /dev/null || true
  fi
  for f in "$W"/run/*.spawned; do
    [[ -e $f ]] && mv "$f" "${f%.spawned}.stopped"
  done
  return 0
}

# With CEPH_OWNER_PID set, a watcher stops the cluster when that process
# ends, however it ends: a test binary killed by a signal or an abort leaves
# no daemons behind. It waits on the pid with `tail --pid`, not a poll of ours.
watch_owner() {
  [[ -n ${CEPH_OWNER_PID:-} ]] || return 0
  kill -0 "$CEPH_OWNER_PID" 2> /dev/null || die "CEPH_OWNER_PID $CEPH_OWNER_PID is not running"
  # The watcher's command line names WORKDIR/ceph.conf, so alive() knows it.
  setsid bash -c 'tail --pid="$1" -f /dev/null; exec "$2" stop "${3%/ceph.conf}"' \
    ceph-watch "$CEPH_OWNER_PID" "$(realpath "$0")" "$W/ceph.conf" \
    > "$W/log/watch.out" 2>&1 < /dev/null &
  echo $! > "$W/run/watch.spawned"
}

write_conf() {
  local mon_port=$1 rgw_port=$2 fsid=$3
  cat > "$W/ceph.conf" << EOF
# Written by scripts/ceph.sh: a throwaway single-node cluster.
[global]
fsid = $fsid
mon_host = v2:127.0.0.1:$mon_port
mon_initial_members = a
public_network = 127.0.0.0/8
ms_bind_msgr1 = false
ms_bind_msgr2 = true
keyring = $W/keyring
run_dir = $W/run
log_file = $W/log/\$name.log
mon_cluster_log_file = $W/log/cluster.log
crash_dir = $W/crash
log_to_stderr = false
err_to_stderr = false
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
mon_allow_pool_size_one = true
mon_allow_pool_delete = true
mon_max_pg_per_osd = 1000
mon_warn_on_pool_no_redundancy = false
# The monitor shuts itself down when its disk runs low (5% by default); this
# cluster holds nothing worth that guard.
mon_data_avail_warn = 2
mon_data_avail_crit = 1
auth_allow_insecure_global_id_reclaim = false
osd_crush_chooseleaf_type = 0

[mon]
admin_socket = $W/run/\$name.asok
mon_data = $W/mon.\$id
mon_memory_target = 268435456

[osd]
admin_socket = $W/run/\$name.asok
osd_data = $W/osd.\$id
osd_objectstore = memstore
memstore_device_bytes = $CEPH_MEMSTORE_BYTES
osd_memory_target = 939524096
osd_op_num_shards = 2
osd_op_num_threads_per_shard = 1

[client.rgw]
admin_socket = $W/run/\$name.asok
rgw_data = $W/rgw
rgw_frontends = beast endpoint=127.0.0.1:$rgw_port tcp_nodelay=1
rgw_thread_pool_size = 16
rgw_dns_name = localhost
rgw_enable_usage_log = false
EOF
}

start() {
  check || exit 1
  mkdir -p "$W"
  [[ -z $(ls -A "$W") ]] || die "$W is not empty (stop and remove the old cluster first)"
  mkdir -p "$W/run" "$W/log" "$W/crash" "$W/mon.a" "$W/osd.0" "$W/rgw"
  chmod 0700 "$W"

  local fsid mon_port rgw_port access secret
  fsid=$(uuidgen)
  mon_port=$(free_port)
  rgw_port=$(free_port)
  while [[ $rgw_port == "$mon_port" ]]; do rgw_port=$(free_port); done
  write_conf "$mon_port" "$rgw_port" "$fsid"
  watch_owner

  # One keyring with every identity; the monitor's mkfs imports them all, so
  # no `ceph auth` round trips are needed later.
  local k=$W/keyring
  ceph-authtool --create-keyring "$k" --gen-key -n mon. --cap mon 'allow *' > /dev/null
  ceph-authtool "$k" --gen-key -n client.admin --cap mon 'allow *' --cap osd 'allow *' \
    --cap mgr 'allow *' > /dev/null
  ceph-authtool "$k" --gen-key -n osd.0 --cap mon 'allow profile osd' \
    --cap mgr 'allow profile osd' --cap osd 'allow *' > /dev/null
  ceph-authtool "$k" --gen-key -n client.rgw --cap mon 'allow rw' --cap osd 'allow rwx' \
    > /dev/null
  chmod 0600 "$k"

  monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$mon_port]" \
    "$W/monmap" > /dev/null
  ceph-mon -c "$W/ceph.conf" --mkfs -i a --monmap "$W/monmap" --keyring "$k" \
    > "$W/log/mon.a.mkfs" 2>&1 || fail "ceph-mon --mkfs"
  spawn mon.a ceph-mon -i a
  wait_for "the monitor to answer" mon.a ceph_cli mon stat

  local uuid
  uuid=$(uuidgen)
  local id
  id=$(ceph_cli osd new "$uuid") || fail "ceph osd new"
  [[ $id == 0 ]] || fail "ceph osd new gave id $id, expected 0"
  ceph-osd -c "$W/ceph.conf" -i 0 --mkfs --osd-uuid "$uuid" \
    > "$W/log/osd.0.mkfs" 2>&1 || fail "ceph-osd --mkfs"
  spawn osd.0 ceph-osd -i 0
  wait_for "the OSD to be up" osd.0 osd_up

  spawn rgw radosgw -n client.rgw
  # The gateway opens its listener only after it has created its pools and
  # read its zone from them, so an HTTP answer means the whole stack works.
  wait_for "the gateway to answer HTTP" rgw curl -sf -o /dev/null "http://127.0.0.1:$rgw_port/"

  access=$(head -c 10 /dev/urandom | od -An -tx1 | tr -d ' \n' | tr a-f A-F)
  secret=$(head -c 30 /dev/urandom | base64 | tr -d '/+=\n')
  timeout 60 radosgw-admin -c "$W/ceph.conf" -n client.admin user create --uid=hoodyfs \
    --display-name=hoodyfs --access-key="$access" --secret-key="$secret" \
    > "$W/log/user-create.out" 2>&1 || fail "radosgw-admin user create"
  (
    umask 077
    cat > "$W/s3.env" << EOF
S3_ENDPOINT=http://127.0.0.1:$rgw_port
S3_ACCESS_KEY=$access
S3_SECRET_KEY=$secret
S3_REGION=default
EOF
  )
  echo "ceph.sh: started in $W; S3 endpoint http://127.0.0.1:$rgw_port"
}

osd_up() {
  ceph_cli osd stat -f json | grep -q '"num_up_osds":1'
}

cmd=${1:-}
case $cmd in
  check)
    check
    ;;
  start | stop | env)
    [[ $# -eq 2 ]] || die "usage: ceph.sh $cmd WORKDIR"
    W=$(realpath -m "$2")
    case $cmd in
      start) start ;;
      stop) [[ -d $W/run ]] && stop_all ;;
      env)
        [[ -f $W/s3.env ]] || die "no cluster started in $W"
        cat "$W/s3.env"
        ;;
    esac
    ;;
  *)
    die "usage: ceph.sh check | start WORKDIR | env WORKDIR | stop WORKDIR"
    ;;
esac
