// hoodyfs_restore_bench: a restore of a mounted container while the kernel
// holds M inodes, after N files changed: Store::Branch plus the cache
// invalidation, the old way (Session::InvalidateAll: one notification per
// name and inode the kernel holds) beside the new one
// (Session::InvalidateDifference: what differs between the two heads).
// docs/benchmarks.md quotes its output.
//
// usage: hoodyfs_restore_bench [--files M] [--changed N] [--reps R]
//                              [--writeback 0|1] [--modes all,difference]
//   scratch: a fresh directory under $HOODYFS_BENCH_DIR, else /var/tmp.
//
// The M files (in directories of 1,000) are made through the engine, then
// looked up through the mount so the kernel holds every name and inode.
// Each repetition freezes, rewrites 16 bytes of N random files through the
// mount, looks them up again, and times the restore to the frozen
// generation; after a full invalidation it looks everything up again, so
// every repetition starts with all M held. The modes alternate. Then it
// times the pieces: reading the change log per record, and one kernel
// notification (what limits.h's kChangeLogRecordsPerInvalidation weighs).
// Needs root and /dev/fuse.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "fusefs/session.h"
#include "snapshotter/engine/changes_between.h"

namespace hoodyfs::bench {
namespace {

struct Config {
  uint64_t files = 100000;
  uint64_t changed = 100;
  int reps = 5;
  bool writeback = false;
  // "difference" alone skips the old way, whose cost at a million inodes
  // (a full invalidation, then a million lookups again) is known.
  std::vector<std::string> modes = {"all", "difference"};
};

constexpr uint64_t kPerDir = 1000;

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string RelPath(uint64_t i) { return Name("d", i / kPerDir) + "/" + Name("f", i); }

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

void StatAll(const std::string& mnt, uint64_t files) {
  struct stat st;
  for (uint64_t i = 0; i < files; ++i) {
    if (::lstat((mnt + "/" + RelPath(i)).c_str(), &st) != 0) {
      Die(FromErrno(errno, "stat " + RelPath(i)), "cache");
    }
  }
}

int Main(int argc, char** argv) {
  Config c;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--files") c.files = std::strtoull(argv[i + 1], nullptr, 10);
    if (flag == "--changed") c.changed = std::strtoull(argv[i + 1], nullptr, 10);
    if (flag == "--reps") c.reps = std::atoi(argv[i + 1]);
    if (flag == "--writeback") c.writeback = std::atoi(argv[i + 1]) != 0;
    if (flag == "--modes") {
      c.modes.clear();
      const std::string list = argv[i + 1];
      for (size_t at = 0; at <= list.size();) {
        const size_t comma = std::min(list.find(',', at), list.size());
        c.modes.push_back(list.substr(at, comma - at));
        at = comma + 1;
      }
    }
  }
  for (const std::string& mode : c.modes) {
    if (mode != "all" && mode != "difference") {
      std::fprintf(stderr, "--modes: '%s' is neither all nor difference\n", mode.c_str());
      return 2;
    }
  }
  std::unique_ptr<BenchStore> bs = BenchStore::Create();
  Store& store = *bs->store;
  FileSystem& fs = *bs->fs;
  const double t_make = Now();
  Ino dir;
  for (uint64_t i = 0; i < c.files; ++i) {
    if (i % kPerDir == 0) {
      dir = Must(fs.Mkdir(kRootIno, Name("d", i / kPerDir), 0755, {}), "mkdir").ino;
    }
    CreateFile(fs, dir, Name("f", i), "file " + std::to_string(i));
  }
  Must(store.Flush(), "flush");
  std::printf("made %llu files in %.1f s\n", static_cast<unsigned long long>(c.files),
              Now() - t_make);

  const std::string mnt = bs->dir.File("mnt");
  if (::mkdir(mnt.c_str(), 0755) != 0) Die(FromErrno(errno, "mkdir"), "mountpoint");
  fusefs::MountOptions o;
  o.writeback_cache = c.writeback;
  std::unique_ptr<fusefs::Session> session =
      Must(fusefs::Session::Mount(store, fs, mnt, o), "mount");
  const double t_cache = Now();
  StatAll(mnt, c.files);
  std::printf("looked up %llu files through the mount in %.1f s\n",
              static_cast<unsigned long long>(c.files), Now() - t_cache);

  std::mt19937_64 rng(42);
  // mode -> restore times (branch + invalidation), and the invalidation alone
  std::map<std::string, std::vector<double>> ms, inval_ms;
  std::map<std::string, fusefs::InvalidationStats> last;
  for (int rep = 0; rep < c.reps; ++rep) {
    for (const std::string& mode : c.modes) {
      const GenId snap = Must(store.Freeze("c"), "freeze");
      std::vector<uint64_t> picked;
      for (uint64_t k = 0; k < c.changed; ++k) picked.push_back(rng() % c.files);
      for (uint64_t i : picked) {
        const std::string path = mnt + "/" + RelPath(i);
        const int fd = ::open(path.c_str(), O_WRONLY);
        if (fd < 0 || ::pwrite(fd, "changed changed.", 16, 0) != 16) {
          Die(FromErrno(errno, "write " + path), "change");
        }
        ::close(fd);
        struct stat st;
        (void)::lstat(path.c_str(), &st);
      }
      const GenId old_head = Must(store.HeadOf("c"), "head");
      const double t0 = Now();
      const GenId new_head = Must(store.Branch("c", snap), "branch");
      const double t1 = Now();
      fusefs::InvalidationStats stats;
      if (mode == "all") {
        Must(session->InvalidateAll(), "invalidate all");
        stats.full = true;
      } else {
        stats = Must(session->InvalidateDifference(old_head, new_head), "invalidate difference");
      }
      ms[mode].push_back((Now() - t0) * 1e3);
      inval_ms[mode].push_back((Now() - t1) * 1e3);
      last[mode] = stats;
      // Every repetition starts with everything held again.
      StatAll(mnt, c.files);
    }
  }
  std::printf("\nrestore while mounted: %llu inodes cached, %llu files changed, writeback %s\n",
              static_cast<unsigned long long>(c.files), static_cast<unsigned long long>(c.changed),
              c.writeback ? "on" : "off");
  std::printf("%-12s %12s %16s   %s\n", "invalidate", "restore p50", "invalidation p50",
              "each restore (ms)");
  for (const auto& [mode, values] : ms) {
    std::printf("%-12s %9.2f ms %13.2f ms  ", mode.c_str(), Median(values), Median(inval_ms[mode]));
    for (double v : values) std::printf(" %.2f", v);
    const fusefs::InvalidationStats& s = last[mode];
    if (mode == "difference") {
      std::printf("   (%zu names, %zu inodes, %llu change-log records%s)", s.names, s.inodes,
                  static_cast<unsigned long long>(s.records_read), s.full ? ", fell back" : "");
    }
    std::printf("\n");
  }

  // The two costs the fallback weighs. A change-log record: the change
  // logs of many changes, read without a budget. A notification: a full
  // invalidation divided by what it sent.
  const GenId base = Must(store.Freeze("c"), "freeze");
  const uint64_t writes = std::min<uint64_t>(c.files, 20000);
  for (uint64_t i = 0; i < writes; ++i) {
    const Ino ino =
        Must(fs.Lookup(Must(fs.Lookup(kRootIno, Name("d", i / kPerDir)), "dir").ino, Name("f", i)),
             "lookup")
            .ino;
    Must(fs.Write(ino, 0, std::string("engine write")).status(), "write");
  }
  const GenId head = Must(store.HeadOf("c"), "head");
  const double t_walk = Now();
  auto keys = Must(snapshotter::ChangedBetween(store, base, head, UINT64_MAX), "changed keys");
  const double walk_s = Now() - t_walk;
  const uint64_t records = keys ? keys->records_read : 0;
  std::printf("\nchange-log read: %llu records in %.2f ms, %.3f us each\n",
              static_cast<unsigned long long>(records), walk_s * 1e3,
              records > 0 ? walk_s * 1e6 / static_cast<double>(records) : 0.0);
  StatAll(mnt, c.files);
  const double t_all = Now();
  Must(session->InvalidateAll(), "invalidate all");
  const double all_s = Now() - t_all;
  // Names and inodes the kernel held: one of each per file, plus the
  // directories and the root.
  const double sent = 2.0 * static_cast<double>(c.files + c.files / kPerDir) + 1;
  std::printf("notification: %.0f sent in %.1f ms, %.3f us each\n", sent, all_s * 1e3,
              all_s * 1e6 / sent);
  Must(session->Unmount(), "unmount");
  return 0;
}

}  // namespace
}  // namespace hoodyfs::bench

int main(int argc, char** argv) { return hoodyfs::bench::Main(argc, argv); }
