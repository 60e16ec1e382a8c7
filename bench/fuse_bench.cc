// hoodyfs_fuse_bench: throughput through a real hoodyfs FUSE mount, with the
// kernel's writeback cache off and on, beside the same workload on the
// scratch directory's own filesystem (native). docs/design.md ("FUSE
// layer") quotes its output.
//
// usage: hoodyfs_fuse_bench [--reps N] [--seq-mib N] [--files N]
//   scratch: a fresh directory under $HOODYFS_BENCH_DIR, else /var/tmp.
//
// Workloads (each in a forked child, as a container's processes would be;
// the mounting process is only the daemon):
//   seq-write   one file, 1 MiB write(2) calls, then fsync: MB/s of the
//               writes alone and of writes + fsync
//   seq-read    the same file after a remount (cold cache), 1 MiB reads
//   create-4k   N files of 4 KiB in one directory (open, write, close)
//   create-0    N empty files (open O_CREAT, close)
// Runs interleave the modes (native, off, on, native, off, on, ...) and the
// table shows medians. Needs root and /dev/fuse.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "fusefs/session.h"

namespace hoodyfs::bench {
namespace {

struct Config {
  int reps = 3;
  uint64_t seq_mib = 1024;
  int files = 20000;
};

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Runs `fn` in a child; the child returns one number through a pipe.
double InChild(const std::function<double()>& fn) {
  int p[2];
  if (::pipe(p) != 0) Die(FromErrno(errno, "pipe"), "bench");
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(p[0]);
    const double v = fn();
    (void)::write(p[1], &v, sizeof(v));
    ::_exit(v < 0 ? 1 : 0);
  }
  ::close(p[1]);
  double v = -1;
  if (::read(p[0], &v, sizeof(v)) != sizeof(v)) v = -1;
  ::close(p[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (v < 0) std::fprintf(stderr, "workload failed: %s\n", std::strerror(errno));
  return v;
}

// The workloads; each returns its rate, or -1 on failure.
double SeqWrite(const std::string& path, uint64_t mib, bool with_fsync) {
  std::vector<char> buf(1 << 20);
  for (size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<char>(i * 7 + 3);
  const int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644);
  if (fd < 0) return -1;
  const double start = Now();
  for (uint64_t i = 0; i < mib; ++i) {
    buf[0] = static_cast<char>(i);
    if (::write(fd, buf.data(), buf.size()) != static_cast<ssize_t>(buf.size())) return -1;
  }
  if (with_fsync && ::fsync(fd) != 0) return -1;
  const double secs = Now() - start;
  ::close(fd);
  return static_cast<double>(mib) * 1.048576 / secs;  // MB/s
}

double SeqRead(const std::string& path) {
  std::vector<char> buf(1 << 20);
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return -1;
  uint64_t total = 0;
  const double start = Now();
  for (ssize_t n; (n = ::read(fd, buf.data(), buf.size())) > 0;) total += static_cast<uint64_t>(n);
  const double secs = Now() - start;
  ::close(fd);
  return static_cast<double>(total) / 1e6 / secs;
}

double Creates(const std::string& dir, int files, size_t bytes) {
  if (::mkdir(dir.c_str(), 0755) != 0) return -1;
  std::vector<char> data(bytes, 'c');
  const double start = Now();
  for (int i = 0; i < files; ++i) {
    const std::string path = dir + "/f" + std::to_string(i);
    const int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd < 0) return -1;
    if (bytes > 0 && ::write(fd, data.data(), bytes) != static_cast<ssize_t>(bytes)) return -1;
    ::close(fd);
  }
  return files / (Now() - start);
}

// One mode's target: a directory, and for FUSE a mounted store.
struct Target {
  std::unique_ptr<BenchStore> store;
  std::unique_ptr<fusefs::Session> session;
  std::string dir;
  std::string mountpoint;
  bool writeback = false;

  void Mount() {
    fusefs::MountOptions o;
    o.writeback_cache = writeback;
    session = Must(fusefs::Session::Mount(*store->store, *store->fs, mountpoint, o), "mount");
  }
  void Remount() {
    Must(session->Unmount(), "unmount");
    session.reset();
    Mount();
  }
};

using Results = std::map<std::string, std::vector<double>>;

void RunOnce(const std::string& mode, Target& t, const Config& c, Results* r) {
  const std::string file = t.dir + "/seq";
  (*r)[mode + " seq-write"].push_back(InChild([&] { return SeqWrite(file, c.seq_mib, false); }));
  (*r)[mode + " seq-write+fsync"].push_back(
      InChild([&] { return SeqWrite(file, c.seq_mib, true); }));
  if (t.session) {
    t.Remount();  // cold cache
  } else {
    // Native: drop this file's pages (root may).
    const int fd = ::open(file.c_str(), O_RDONLY);
    if (fd >= 0) {
      (void)::fdatasync(fd);
      (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
      ::close(fd);
    }
  }
  (*r)[mode + " seq-read-cold"].push_back(InChild([&] { return SeqRead(file); }));
  ::unlink(file.c_str());
  static int round = 0;
  ++round;
  const std::string d4 = t.dir + "/c4k-" + std::to_string(round);
  const std::string d0 = t.dir + "/c0-" + std::to_string(round);
  (*r)[mode + " create-4k"].push_back(InChild([&] { return Creates(d4, c.files, 4096); }));
  (*r)[mode + " create-0"].push_back(InChild([&] { return Creates(d0, c.files, 0); }));
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

int Main(int argc, char** argv) {
  Config c;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--reps") c.reps = std::atoi(argv[i + 1]);
    if (flag == "--seq-mib") c.seq_mib = std::strtoull(argv[i + 1], nullptr, 10);
    if (flag == "--files") c.files = std::atoi(argv[i + 1]);
  }
  testing::TempDir native = MakeScratchDir();
  Target native_target;
  native_target.dir = native.path();
  std::map<bool, Target> fuse;
  for (bool wb : {false, true}) {
    Target& t = fuse[wb];
    t.store = BenchStore::Create();
    t.writeback = wb;
    t.mountpoint = t.store->dir.File("mnt");
    if (::mkdir(t.mountpoint.c_str(), 0755) != 0) Die(FromErrno(errno, "mkdir"), "mountpoint");
    t.Mount();
    t.dir = t.mountpoint;
  }
  Results r;
  for (int rep = 0; rep < c.reps; ++rep) {
    RunOnce("native", native_target, c, &r);
    RunOnce("wb-off", fuse[false], c, &r);
    RunOnce("wb-on ", fuse[true], c, &r);
  }
  for (auto& [wb, t] : fuse) Must(t.session->Unmount(), "unmount");
  std::printf("%-24s %10s   (median of %d; MB/s or files/s)\n", "workload", "value", c.reps);
  for (const auto& [name, values] : r) {
    std::printf("%-24s %10.1f  ", name.c_str(), Median(values));
    for (double v : values) std::printf(" %.1f", v);
    std::printf("\n");
  }
  return 0;
}

}  // namespace
}  // namespace hoodyfs::bench

int main(int argc, char** argv) { return hoodyfs::bench::Main(argc, argv); }
