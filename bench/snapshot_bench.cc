// The snapshot verbs as users call them (Snapshotter, the library behind
// hoodyfs-snap and the REST API), on containers of 1k, 100k and 1M files:
//
// - BM_SnapshotCreate / BM_SnapshotRestore / BM_SnapshotCopy: one verb,
//   synced commit included; each iteration first changes one file
//   (untimed). Counters p50_ms / p99_ms / max_ms per operation. Restore
//   keeps the replaced head as a pre-restore snapshot, as users get it.
// - BM_Diff100: a diff of 100 changed files against the snapshot taken
//   before the changes, in the same containers (the target is 1M files).
// - BM_DeleteAndCollect: deleting a snapshot whose successor rewrote
//   `changed` files of 64 KiB, then collecting the garbage: bytes freed per
//   second and generations per second.
//
// Setup (untimed): a store with one container holding N files of 100 bytes
// (inline) in directories of 1000, made durable.
#include <sys/stat.h>

#include <cstdio>
#include <memory>
#include <random>

#include "bench/bench_util.h"
#include "snapshotter/snapshotter.h"

namespace hoodyfs::bench {
namespace {

using snapshotter::Snapshotter;

constexpr size_t kFilesPerDir = 1000;
constexpr size_t kFileBytes = 100;
constexpr int kOpsPerRun = 300;

struct Populated {
  size_t files = 0;
  testing::TempDir dir = MakeScratchDir();
  std::unique_ptr<Snapshotter> snap;
  std::optional<FileSystem> fs;
  std::vector<Ino> inos;
  std::string base;  // a snapshot taken after populating
  double populate_s = 0;
  uint64_t copies = 0;
  std::mt19937_64 rng{42};

  ~Populated() {
    fs.reset();
    snap.reset();
  }
};

Populated& GetPopulated(size_t files) {
  static std::unique_ptr<Populated> current;
  if (current && current->files == files) return *current;
  current.reset();
  auto p = std::make_unique<Populated>();
  p->files = files;
  const std::string store = p->dir.File("store");
  Must(Store::Init(store), "init");
  p->snap = Must(Snapshotter::Open(store, snapshotter::StoreOptions()), "open");
  Must(p->snap->CreateContainer("c").status(), "create container");
  p->fs.emplace(Must(p->snap->store().Head("c"), "head"));
  p->inos.reserve(files);
  const auto t0 = Clock::now();
  Ino dir;
  for (size_t i = 0; i < files; ++i) {
    if (i % kFilesPerDir == 0) {
      dir = Must(p->fs->Mkdir(kRootIno, Name("d", i / kFilesPerDir), 0755, {}), "mkdir").ino;
    }
    p->inos.push_back(CreateFile(*p->fs, dir, Name("f", i % kFilesPerDir), Filler(kFileBytes, i)));
  }
  Must(p->snap->store().Flush(), "flush");
  p->populate_s = SecondsSince(t0);
  p->base = Must(p->snap->CreateSnapshot("c", {}), "first snapshot").name;
  current = std::move(p);
  return *current;
}

void ChangeFile(Populated& p, uint64_t seed) {
  const Ino ino = p.inos[p.rng() % p.inos.size()];
  Must(p.fs->Write(ino, 0, Filler(kFileBytes, seed)).status(), "change a file");
}

template <class Op>
void TimeOps(benchmark::State& state, Op&& op) {
  Populated& p = GetPopulated(static_cast<size_t>(state.range(0)));
  Latencies lat;
  uint64_t seed = 1;
  for (auto _ : state) {
    ChangeFile(p, seed++);
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

void BM_SnapshotCreate(benchmark::State& state) {
  TimeOps(state, [](Populated& p) { Must(p.snap->CreateSnapshot("c", {}).status(), "create"); });
}

void BM_SnapshotRestore(benchmark::State& state) {
  TimeOps(state, [](Populated& p) { Must(p.snap->Restore("c", p.base, {}).status(), "restore"); });
}

void BM_SnapshotCopy(benchmark::State& state) {
  TimeOps(state, [](Populated& p) {
    Must(p.snap->CopyContainer("c", p.base, Name("copy", p.copies++)).status(), "copy");
  });
}

// 100 files changed since a snapshot: diff the snapshot against the head.
void BM_Diff100(benchmark::State& state) {
  Populated& p = GetPopulated(static_cast<size_t>(state.range(0)));
  const std::string before = Must(p.snap->CreateSnapshot("c", {}), "snapshot").name;
  for (int i = 0; i < 100; ++i) ChangeFile(p, 1000 + i);
  Latencies lat;
  uint64_t examined = 0;
  size_t changes = 0;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    snapshotter::DiffResult d = Must(p.snap->Diff("c", before, ""), "diff");
    const double s = SecondsSince(t0);
    state.SetIterationTime(s);
    lat.Add(s);
    examined = d.records_examined;
    changes = d.changes.size();
  }
  lat.Report(state);
  state.counters["files"] = static_cast<double>(p.files);
  state.counters["changes"] = static_cast<double>(changes);
  state.counters["records_examined"] = static_cast<double>(examined);
}

// Each iteration (setup untimed): rewrite `changed` files of 64 KiB,
// snapshot, rewrite them again, snapshot; then (timed) delete the first of
// the two snapshots and collect: what it alone held is freed.
void BM_DeleteAndCollect(benchmark::State& state) {
  const size_t changed = static_cast<size_t>(state.range(0));
  testing::TempDir dir = MakeScratchDir();
  const std::string store = dir.File("store");
  Must(Store::Init(store), "init");
  auto snap = Must(Snapshotter::Open(store, snapshotter::StoreOptions()), "open");
  Must(snap->CreateContainer("c").status(), "create container");
  FileSystem fs = Must(snap->store().Head("c"), "head");
  std::vector<Ino> inos;
  for (size_t i = 0; i < changed; ++i) {
    inos.push_back(CreateFile(fs, kRootIno, Name("f", i), Filler(64 << 10, i)));
  }
  double freed_bytes = 0, seconds = 0;
  uint64_t round = 0;
  for (auto _ : state) {
    state.PauseTiming();
    for (Ino ino : inos) Must(fs.Write(ino, 0, Filler(64 << 10, ++round)).status(), "rewrite");
    const std::string victim = Must(snap->CreateSnapshot("c", {}), "snapshot").name;
    for (Ino ino : inos) Must(fs.Write(ino, 0, Filler(64 << 10, ++round)).status(), "rewrite");
    Must(snap->CreateSnapshot("c", {}).status(), "snapshot");
    state.ResumeTiming();
    const auto t0 = Clock::now();
    Must(snap->DeleteSnapshot("c", victim), "delete");
    const snapshotter::GcStats gc = Must(snap->CollectGarbage(), "gc");
    seconds += SecondsSince(t0);
    freed_bytes += static_cast<double>(gc.blocks_freed * kBlockSize);
  }
  state.counters["freed_MBps"] = freed_bytes / 1e6 / seconds;
  state.counters["files"] = static_cast<double>(changed);
}

void Register(int64_t files) {
  for (auto [name, fn] : {std::pair{"BM_SnapshotCreate", &BM_SnapshotCreate},
                          std::pair{"BM_SnapshotRestore", &BM_SnapshotRestore},
                          std::pair{"BM_SnapshotCopy", &BM_SnapshotCopy}}) {
    benchmark::RegisterBenchmark(name, fn)
        ->Arg(files)
        ->ArgName("files")
        ->Iterations(kOpsPerRun)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
  }
  benchmark::RegisterBenchmark("BM_Diff100", BM_Diff100)
      ->Arg(files)
      ->ArgName("files")
      ->Iterations(50)
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
}

[[maybe_unused]] const bool registered = [] {
  Register(1000);
  Register(100000);
  Register(1000000);
  benchmark::RegisterBenchmark("BM_DeleteAndCollect", BM_DeleteAndCollect)
      ->Arg(100)
      ->Arg(1000)
      ->ArgName("changed")
      ->Iterations(5)
      ->Unit(benchmark::kMillisecond);
  return true;
}();

}  // namespace
}  // namespace hoodyfs::bench
