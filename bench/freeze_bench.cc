// Snapshot-shaped operations on a populated container: Freeze (snapshot
// create), Branch (restore) and CreateContainer from a generation (copy).
//
// Setup (untimed, shared by the benchmarks of one size): a store with one
// container holding N files of 100 bytes (inline) in directories of 1000,
// created through FileSystem and made durable with Flush.
//
// Each iteration changes one file (untimed: Write of 100 new bytes to a random
// file) and then times one operation, including its synced group commit, which
// also commits that change. Iteration time is manual (the operation alone);
// counters p50_ms / p99_ms / max_ms are the per-operation percentiles.
// The store runs with the daemon's defaults (background flush every second),
// so an operation may queue behind a background commit, as it would in the
// daemon.
#include <sys/stat.h>

#include <cstdio>
#include <memory>
#include <random>

#include "bench/bench_util.h"

namespace hoodyfs::bench {
namespace {

constexpr size_t kFilesPerDir = 1000;
constexpr size_t kFileBytes = 100;
constexpr int kOpsPerRun = 500;

struct Populated {
  size_t files = 0;
  std::unique_ptr<BenchStore> b;
  std::vector<Ino> inos;
  GenId frozen;           // the last frozen generation
  double populate_s = 0;  // creating the files and the Flush
  uint64_t copies = 0;
  std::mt19937_64 rng{42};
};

// One populated store at a time (the next size replaces it): registration
// order keeps each size's benchmarks together.
Populated& GetPopulated(size_t files) {
  static std::unique_ptr<Populated> current;
  if (current && current->files == files) return *current;
  current.reset();
  auto p = std::make_unique<Populated>();
  p->files = files;
  p->b = BenchStore::Create();
  FileSystem& fs = *p->b->fs;
  p->inos.reserve(files);
  const auto t0 = Clock::now();
  Ino dir;
  for (size_t i = 0; i < files; ++i) {
    if (i % kFilesPerDir == 0) {
      char name[32];
      std::snprintf(name, sizeof(name), "d%05zu", i / kFilesPerDir);
      dir = Must(fs.Mkdir(kRootIno, name, 0755, {}), "mkdir").ino;
    }
    char name[32];
    std::snprintf(name, sizeof(name), "f%05zu", i % kFilesPerDir);
    p->inos.push_back(CreateFile(fs, dir, name, Filler(kFileBytes, i)));
  }
  Must(p->b->store->Flush(), "flush");
  p->populate_s = SecondsSince(t0);
  p->frozen = Must(p->b->store->Freeze("c"), "first freeze");
  current = std::move(p);
  return *current;
}

void ChangeOneFile(Populated& p, uint64_t seed) {
  const Ino ino = p.inos[p.rng() % p.inos.size()];
  Must(p.b->fs->Write(ino, 0, Filler(kFileBytes, seed)).status(), "change a file");
}

template <class Op>
void TimeOps(benchmark::State& state, Op&& op) {
  Populated& p = GetPopulated(static_cast<size_t>(state.range(0)));
  Latencies lat;
  uint64_t seed = 1;
  for (auto _ : state) {
    ChangeOneFile(p, seed++);
    const auto t0 = Clock::now();
    op(p);
    const double s = SecondsSince(t0);
    state.SetIterationTime(s);
    lat.Add(s);
  }
  lat.Report(state);
  state.counters["files"] = static_cast<double>(p.files);
  state.counters["populate_s"] = p.populate_s;
}

void BM_Freeze(benchmark::State& state) {
  TimeOps(state, [](Populated& p) { p.frozen = Must(p.b->store->Freeze("c"), "freeze"); });
}

void BM_Branch(benchmark::State& state) {
  TimeOps(state, [](Populated& p) { Must(p.b->store->Branch("c", p.frozen).status(), "branch"); });
}

void BM_Copy(benchmark::State& state) {
  TimeOps(state, [](Populated& p) {
    Must(p.b->store->CreateContainer(Name("copy", p.copies++), p.frozen), "copy");
  });
}

void Register(int64_t files) {
  for (auto [name, fn] : {std::pair{"BM_Freeze", &BM_Freeze}, std::pair{"BM_Branch", &BM_Branch},
                          std::pair{"BM_Copy", &BM_Copy}}) {
    benchmark::RegisterBenchmark(name, fn)
        ->Arg(files)
        ->ArgName("files")
        ->Iterations(kOpsPerRun)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
  }
}

[[maybe_unused]] const bool registered = [] {
  Register(1000);
  Register(100000);
  Register(1000000);
  return true;
}();

}  // namespace
}  // namespace hoodyfs::bench
