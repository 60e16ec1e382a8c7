// The same shapes on the host filesystem, in the same run and on the same
// disk (a scratch directory under $HOODYFS_BENCH_DIR or /var/tmp), for ratios:
//   BM_Ext4CreateStatUnlink: open(O_CREAT|O_EXCL) + fstat + close + unlink,
//                            random 12-hex-digit names as in the engine's.
//   BM_Ext4CreateOnly      : 100,000 open(O_CREAT) + close over 4
//                            directories; then syncfs, timed apart (sync_s).
//                            Each repetition's files stay until the process
//                            ends: ext4 skips inodes deleted in the last
//                            minutes (ialloc.c recently_deleted), so deleting
//                            100,000 files between repetitions made the next
//                            ones 10x slower, CPU-bound in the kernel.
//   BM_Ext4SeqWrite        : a new 256 MiB file, 1 MiB O_DIRECT pwrites,
//                            fdatasync.
//   BM_Ext4SeqRead         : 1 MiB O_DIRECT preads of a 256 MiB file.
//   BM_Ext4RandRead/Write  : 4 KiB O_DIRECT pread/pwrite at random aligned
//                            offsets of that file, queue depth 1, batches of
//                            1024 (writes end with fdatasync, included).
// O_DIRECT because the engine's data file uses it: both sides then pay the
// device, not the page cache. (These are loops of plain syscalls, not fio;
// bench/run_benchmarks.sh runs fio too when it is installed.)
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>

#include "bench/bench_util.h"

namespace hoodyfs::bench {
namespace {

constexpr uint64_t kMiB = 1 << 20;
constexpr uint64_t kFileBytes = 256 * kMiB;
constexpr int kBatchOps = 1024;

[[noreturn]] void DieErrno(const char* what) { Die(FromErrno(errno, what), what); }

struct AlignedDeleter {
  void operator()(void* p) const { std::free(p); }
};
std::unique_ptr<char, AlignedDeleter> AlignedAlloc(size_t n, char fill) {
  void* p = nullptr;
  if (posix_memalign(&p, 4096, n) != 0) DieErrno("posix_memalign");
  std::memset(p, fill, n);
  return std::unique_ptr<char, AlignedDeleter>(static_cast<char*>(p));
}

void BM_Ext4CreateStatUnlink(benchmark::State& state) {
  testing::TempDir dir = MakeScratchDir();
  std::mt19937_64 rng(7);
  char path[4096];
  for (auto _ : state) {
    std::snprintf(path, sizeof(path), "%s/%s", dir.path().c_str(), RandomName(rng).c_str());
    const int fd = ::open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0) DieErrno("open");
    struct stat st;
    if (::fstat(fd, &st) != 0) DieErrno("fstat");
    benchmark::DoNotOptimize(st.st_mode);
    ::close(fd);
    if (::unlink(path) != 0) DieErrno("unlink");
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_Ext4CreateOnly(benchmark::State& state) {
  constexpr size_t kFiles = 100000, kDirs = 4;
  for (auto _ : state) {
    // Removed at exit, not between repetitions (see the top of the file).
    static std::vector<testing::TempDir> kept;
    kept.push_back(MakeScratchDir());
    testing::TempDir* dir = &kept.back();
    for (size_t d = 0; d < kDirs; ++d) {
      if (::mkdir(dir->File(Name("d", d)).c_str(), 0755) != 0) DieErrno("mkdir");
    }
    char path[4096];
    const auto t0 = Clock::now();
    for (size_t i = 0; i < kFiles; ++i) {
      std::snprintf(path, sizeof(path), "%s/d%zu/f%zu", dir->path().c_str(), i % kDirs, i);
      const int fd = ::open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
      if (fd < 0) DieErrno("open");
      ::close(fd);
    }
    const double s = SecondsSince(t0);
    state.SetIterationTime(s);
    const int dfd = ::open(BenchParentDir().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    const auto s0 = Clock::now();
    if (::syncfs(dfd) != 0) DieErrno("syncfs");
    state.counters["sync_s"] = SecondsSince(s0);
    state.counters["creates_per_s"] = static_cast<double>(kFiles) / s;
    ::close(dfd);
  }
  state.SetItemsProcessed(static_cast<int64_t>(kFiles) * state.iterations());
}

int OpenDirect(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_DIRECT | O_CLOEXEC, 0644);
  if (fd < 0) DieErrno("open O_DIRECT");
  return fd;
}

double WriteWhole(int fd, const char* buf) {
  const auto t0 = Clock::now();
  for (uint64_t off = 0; off < kFileBytes; off += kMiB) {
    if (::pwrite(fd, buf, kMiB, static_cast<off_t>(off)) != static_cast<ssize_t>(kMiB)) {
      DieErrno("pwrite");
    }
  }
  if (::fdatasync(fd) != 0) DieErrno("fdatasync");
  return SecondsSince(t0);
}

void BM_Ext4SeqWrite(benchmark::State& state) {
  testing::TempDir dir = MakeScratchDir();
  auto buf = AlignedAlloc(kMiB, 'w');
  double total = 0;
  for (auto _ : state) {
    const std::string path = dir.File("w");
    const int fd = OpenDirect(path, O_CREAT | O_TRUNC | O_WRONLY);
    const double s = WriteWhole(fd, buf.get());
    ::close(fd);
    ::unlink(path.c_str());
    state.SetIterationTime(s);
    total += s;
  }
  state.counters["MBps"] = static_cast<double>(kFileBytes) * state.iterations() / 1e6 / total;
}

struct NativeFile {
  testing::TempDir dir;
  std::string path;
};
NativeFile& GetNativeFile() {
  static std::unique_ptr<NativeFile> f;
  if (!f) {
    f.reset(new NativeFile{MakeScratchDir(), ""});
    f->path = f->dir.File("big");
    auto buf = AlignedAlloc(kMiB, 'b');
    const int fd = OpenDirect(f->path, O_CREAT | O_TRUNC | O_WRONLY);
    WriteWhole(fd, buf.get());
    ::close(fd);
  }
  return *f;
}

void BM_Ext4SeqRead(benchmark::State& state) {
  const int fd = OpenDirect(GetNativeFile().path, O_RDONLY);
  auto buf = AlignedAlloc(kMiB, 0);
  double total = 0;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    for (uint64_t off = 0; off < kFileBytes; off += kMiB) {
      if (::pread(fd, buf.get(), kMiB, static_cast<off_t>(off)) != static_cast<ssize_t>(kMiB)) {
        DieErrno("pread");
      }
    }
    const double s = SecondsSince(t0);
    state.SetIterationTime(s);
    total += s;
  }
  ::close(fd);
  state.counters["MBps"] = static_cast<double>(kFileBytes) * state.iterations() / 1e6 / total;
}

void BM_Ext4Rand(benchmark::State& state, bool write) {
  const int fd = OpenDirect(GetNativeFile().path, write ? O_WRONLY : O_RDONLY);
  auto buf = AlignedAlloc(kBlockSize, 'r');
  std::mt19937_64 rng(1234);
  Latencies lat;
  double total = 0;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    for (int k = 0; k < kBatchOps; ++k) {
      const off_t off = static_cast<off_t>((rng() % (kFileBytes / kBlockSize)) * kBlockSize);
      const auto op0 = Clock::now();
      const ssize_t n = write ? ::pwrite(fd, buf.get(), kBlockSize, off)
                              : ::pread(fd, buf.get(), kBlockSize, off);
      if (n != static_cast<ssize_t>(kBlockSize)) DieErrno(write ? "pwrite" : "pread");
      lat.Add(SecondsSince(op0));
    }
    if (write && ::fdatasync(fd) != 0) DieErrno("fdatasync");
    const double s = SecondsSince(t0);
    state.SetIterationTime(s);
    total += s;
  }
  ::close(fd);
  state.counters["IOPS"] = static_cast<double>(kBatchOps) * state.iterations() / total;
  lat.Report(state);
}

[[maybe_unused]] const bool registered = [] {
  benchmark::RegisterBenchmark("BM_Ext4CreateStatUnlink", BM_Ext4CreateStatUnlink)->UseRealTime();
  benchmark::RegisterBenchmark("BM_Ext4CreateOnly", BM_Ext4CreateOnly)
      ->Iterations(1)
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("BM_Ext4SeqWrite", BM_Ext4SeqWrite)
      ->Iterations(2)
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("BM_Ext4SeqRead", BM_Ext4SeqRead)
      ->Iterations(2)
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
  for (auto [name, write] :
       {std::pair{"BM_Ext4RandRead", false}, std::pair{"BM_Ext4RandWrite", true}}) {
    benchmark::RegisterBenchmark(name, BM_Ext4Rand, write)
        ->Iterations(8)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
  }
  return true;
}();

}  // namespace
}  // namespace hoodyfs::bench
