// Shared helpers of the hoodyfs benchmarks: where stores live, opening one,
// failing loudly, per-operation latency percentiles and process memory.
//
// Stores and native-ext4 scratch files go in a fresh directory under
// $HOODYFS_BENCH_DIR, else /var/tmp (a real disk, never tmpfs: the numbers
// must include the device), removed with everything in it when the
// benchmark's scratch object is destroyed.
//
// Thread-safety: none; the benchmarks are single-threaded.
#pragma once

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "base/status.h"
#include "base/testing/temp_dir.h"
#include "snapshotter/engine/filesystem.h"
#include "snapshotter/engine/store.h"

namespace hoodyfs::bench {

using snapshotter::FileSystem;
using snapshotter::Store;

// $HOODYFS_BENCH_DIR, else /var/tmp.
std::string BenchParentDir();

// A fresh scratch directory under BenchParentDir(); aborts on failure.
testing::TempDir MakeScratchDir();

[[noreturn]] void Die(const Status& s, const char* what);
inline void Must(const Status& s, const char* what) {
  if (!s.ok()) Die(s, what);
}
template <class T>
T Must(Result<T> r, const char* what) {
  if (!r.ok()) Die(r.status(), what);
  return std::move(r).value();
}

// A store in its own scratch directory with one container "c" and a view of
// its head. Options are the daemon's defaults (background group commit every
// second) unless the caller changes them. HOODYFS_BENCH_DEVICE=posix selects
// the pread/pwrite device instead of io_uring (for comparison runs).
struct BenchStore {
  testing::TempDir dir;
  std::unique_ptr<Store> store;
  std::optional<FileSystem> fs;

  // Members are destroyed in reverse order: the view, the store (its final
  // flush), then the directory.
  static std::unique_ptr<BenchStore> Create(snapshotter::StoreOptions options = {});
};

// Creates a regular file `name` in `dir` holding `content` (inline when small).
Ino CreateFile(FileSystem& fs, Ino dir, const std::string& name, const std::string& content);

// prefix + decimal i ("f42"). (Not `"f" + std::to_string(i)`: g++ 12 -O3
// warns -Wrestrict on it, a known false positive.)
std::string Name(const char* prefix, uint64_t i);

// A random name of 12 hex digits, as mkstemp-style temporary files have: with
// random names, successive creates land all over a directory's key range.
std::string RandomName(std::mt19937_64& rng);

// `n` bytes of printable filler that differ with `seed`.
std::string Filler(size_t n, uint64_t seed);

using Clock = std::chrono::steady_clock;
inline double SecondsSince(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Per-operation latencies, reported as counters <prefix>p50_ms, p99_ms, max_ms.
class Latencies {
 public:
  void Add(double seconds) { s_.push_back(seconds); }
  size_t size() const { return s_.size(); }
  // Nearest-rank percentile, p in [0, 100].
  double Percentile(double p) const;
  void Report(benchmark::State& state, const std::string& prefix = "") const;

 private:
  std::vector<double> s_;
};

// Fields of /proc/self/status, in KiB.
struct Rss {
  uint64_t total_kib = 0;  // VmRSS
  uint64_t anon_kib = 0;   // RssAnon: heap (memtables, caches)
  uint64_t file_kib = 0;   // RssFile: mapped files (LMDB's map)
};
Rss ReadRss();

}  // namespace hoodyfs::bench
