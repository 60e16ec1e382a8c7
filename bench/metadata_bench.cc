// Metadata rate through the engine API, one thread:
//   BM_CreateStatUnlink/fresh  : Mknod + GetAttr + Unlink of a new random
//                                12-hex-digit name (like mkstemp's) in one
//                                directory of a container with no history.
//   BM_CreateStatUnlink/history: the same after 1000 files and a Freeze, so
//                                the head has a parent (Unlink checks the
//                                parent's view for a version to white out).
//   BM_CreateOnly/files:N      : N (100,000 and 1,000,000) empty files
//                                (Mknod, names f0, f1, ...) spread over 4
//                                directories of a fresh store (untimed setup),
//                                then one Flush, timed apart (flush_s).
//                                create_max_ms is the slowest single create;
//                                slow_creates / slow_create_s count the
//                                creates over 1 ms and the time they took.
// Items/s is operations per second (one item = one create+stat+unlink, or
// one create). BM_CreateOnly also reports process memory (from
// /proc/self/status, MiB): rss_* = VmRSS and anon_* = RssAnon at open
// (base), after the creates, after the Flush, and after malloc_trim(0) (what
// glibc can give back): run it in a process of its own for clean numbers
// (bench/run_benchmarks.sh does).
#include <malloc.h>
#include <sys/stat.h>

#include <map>

#include "bench/bench_util.h"

namespace hoodyfs::bench {
namespace {

struct CsuFixture {
  std::unique_ptr<BenchStore> b;
  Ino dir;
  std::mt19937_64 rng{7};
};

void BM_CreateStatUnlink(benchmark::State& state, bool history) {
  static std::map<bool, std::unique_ptr<CsuFixture>> fixtures;
  auto& f = fixtures[history];
  if (!f) {
    f = std::make_unique<CsuFixture>();
    f->b = BenchStore::Create();
    f->dir = Must(f->b->fs->Mkdir(kRootIno, "d", 0755, {}), "mkdir").ino;
    if (history) {
      for (int i = 0; i < 1000; ++i) CreateFile(*f->b->fs, f->dir, Name("base", i), "");
      Must(f->b->store->Freeze("c").status(), "freeze");
    }
  }
  FileSystem& fs = *f->b->fs;
  for (auto _ : state) {
    const std::string name = RandomName(f->rng);
    const Ino ino = Must(fs.Mknod(f->dir, name, S_IFREG | 0644, 0, {}), "create").ino;
    const snapshotter::Attr a = Must(fs.GetAttr(ino), "stat");
    benchmark::DoNotOptimize(a.mode);
    Must(fs.Unlink(f->dir, name), "unlink");
  }
  state.SetItemsProcessed(state.iterations());
}

constexpr size_t kCreateDirs = 4;

double MiB(uint64_t kib) { return static_cast<double>(kib) / 1024.0; }

void BM_CreateOnly(benchmark::State& state) {
  const auto kCreateFiles = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    auto b = BenchStore::Create();
    FileSystem& fs = *b->fs;
    std::vector<Ino> dirs;
    for (size_t d = 0; d < kCreateDirs; ++d) {
      dirs.push_back(Must(fs.Mkdir(kRootIno, Name("d", d), 0755, {}), "mkdir").ino);
    }
    Must(b->store->Flush(), "flush");
    const Rss base = ReadRss();
    Latencies lat;
    double slow_s = 0;
    size_t slow = 0;
    const auto t0 = Clock::now();
    for (size_t i = 0; i < kCreateFiles; ++i) {
      const auto op0 = Clock::now();
      const std::string name = Name("f", i);
      Must(fs.Mknod(dirs[i % kCreateDirs], name, S_IFREG | 0644, 0, {}).status(), "create");
      const double op_s = SecondsSince(op0);
      lat.Add(op_s);
      if (op_s > 1e-3) {
        ++slow;
        slow_s += op_s;
      }
    }
    const double create_s = SecondsSince(t0);
    state.SetIterationTime(create_s);
    const Rss created = ReadRss();
    const auto f0 = Clock::now();
    Must(b->store->Flush(), "flush");
    const double flush_s = SecondsSince(f0);
    const Rss flushed = ReadRss();
    malloc_trim(0);
    const Rss trimmed = ReadRss();
    state.counters["creates_per_s"] = static_cast<double>(kCreateFiles) / create_s;
    state.counters["flush_s"] = flush_s;
    state.counters["rss_base_MiB"] = MiB(base.total_kib);
    state.counters["rss_created_MiB"] = MiB(created.total_kib);
    state.counters["rss_flushed_MiB"] = MiB(flushed.total_kib);
    state.counters["rss_trimmed_MiB"] = MiB(trimmed.total_kib);
    state.counters["anon_base_MiB"] = MiB(base.anon_kib);
    state.counters["anon_created_MiB"] = MiB(created.anon_kib);
    state.counters["anon_flushed_MiB"] = MiB(flushed.anon_kib);
    state.counters["anon_trimmed_MiB"] = MiB(trimmed.anon_kib);
    lat.Report(state, "create_");
    state.counters["slow_creates"] = static_cast<double>(slow);
    state.counters["slow_create_s"] = slow_s;
    b.reset();
  }
  state.SetItemsProcessed(static_cast<int64_t>(kCreateFiles) * state.iterations());
}

[[maybe_unused]] const bool registered = [] {
  benchmark::RegisterBenchmark("BM_CreateStatUnlink/fresh", BM_CreateStatUnlink, false)
      ->UseRealTime();
  benchmark::RegisterBenchmark("BM_CreateStatUnlink/history", BM_CreateStatUnlink, true)
      ->UseRealTime();
  benchmark::RegisterBenchmark("BM_CreateOnly", BM_CreateOnly)
      ->ArgName("files")
      ->Arg(100000)
      ->Arg(1000000)
      ->Iterations(1)
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
  return true;
}();

}  // namespace
}  // namespace hoodyfs::bench
