#!/usr/bin/env python3
"""bench/list_bench.py BUILD_DIR LABEL [RUNS]: Part 2d's list of 10,000
snapshots through the daemon (docs/benchmarks.md). Starts BUILD_DIR's
`hoodyfs serve` on the store bench/list_bench_setup.sh made, runs each
command once untimed, then RUNS (10) times each: the REST GET of the whole
list, `hoodyfs-snap list` (table) and `list --json`, whole processes, and,
when the build answers pages, one page of 1000 by REST. Prints min /
median / max wall time, the bytes each printed and the load average; stops
the daemon. Run two builds' in turn, alternated, on the same store."""
import os, statistics, subprocess, sys, time

bin_dir, label = sys.argv[1], sys.argv[2]
runs = int(sys.argv[3]) if len(sys.argv) > 3 else 10
S = os.environ.get("LIST_BENCH_STORE", "/var/tmp/list/store")  # made by bench/list_bench_setup.sh
sock = S + "/hoodyfs.sock"
daemon = subprocess.Popen([bin_dir + "/cli/hoodyfs", "serve", "--store", S],
                          stdout=open(S + ".daemon-%s.log" % label, "w"),
                          stderr=subprocess.STDOUT)
try:
    for _ in range(200):
        if subprocess.run(["curl", "-s", "--unix-socket", sock, "http://localhost/api/v1/ping"],
                          capture_output=True).returncode == 0:
            break
        time.sleep(0.05)
    snap = [bin_dir + "/cli/hoodyfs-snap", "--store", S]
    url = "http://localhost/api/v1/containers/c/snapshots"
    cases = [
        ("curl GET .../snapshots", ["curl", "-s", "--unix-socket", sock, url]),
        ("hoodyfs-snap list -c c", snap + ["list", "-c", "c"]),
        ("hoodyfs-snap list -c c --json", snap + ["list", "-c", "c", "--json"]),
    ]
    paged = subprocess.run(["curl", "-s", "--unix-socket", sock, url + "?limit=1"],
                           capture_output=True).stdout.startswith(b"{")
    if paged:  # a build without pages answers the whole array
        cases.append(("curl GET .../snapshots?limit=1000",
                      ["curl", "-s", "--unix-socket", sock, url + "?limit=1000"]))
    # one warm-up of each, untimed
    for _, cmd in cases:
        subprocess.run(cmd, capture_output=True, check=True)
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    print("%s  %s  load %s" % (label, time.strftime("%H:%M:%S", time.gmtime()), " ".join(load)))
    for name, cmd in cases:
        times, size = [], 0
        for _ in range(runs):
            t0 = time.perf_counter()
            r = subprocess.run(cmd, capture_output=True, check=True)
            times.append(time.perf_counter() - t0)
            size = len(r.stdout)
        print("  %-36s min %.3f  median %.3f  max %.3f s  %.2f MB" %
              (name, min(times), statistics.median(times), max(times), size / 1e6))
    with open("/proc/loadavg") as f:
        print("  load after %s" % " ".join(f.read().split()[:3]))
finally:
    daemon.terminate()
    daemon.wait()
