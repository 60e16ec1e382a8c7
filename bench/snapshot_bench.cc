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
//   `changed` files of 64 KiB, then collecting the garbage: freed_MBps (bytes
//   freed per second), delete_gc_ms and freed_MiB per deletion.
// - BM_Copies1000: 1000 copies of one snapshot in a row (the design notes'
//   target: under 5 s in all); counters total_s, per-copy p50/p99/max, and
//   the p50 of the first and of the last 100 copies (growth with the count).
//   Copies accumulate: each repetition adds 1000 more containers to the
//   store, after the 5 x 300 of BM_SnapshotCopy.
// - BM_SpaceTenSnapshots: space, not time. A fresh store with 1000 files of
//   `file_kib` KiB; a base snapshot; then 10 rounds of (change 50 distinct
//   files, `write_kib` KiB each at a random aligned offset; snapshot). Counters:
//   changed_MiB (bytes the rounds wrote), data_beyond_base_MiB (allocator
//   blocks in use after the rounds minus at the base snapshot), ratio
//   (beyond / changed; target at most 1.10), and what the host sees:
//   data_file_alloc_MiB and meta_file_alloc_MiB (growth of the data file's
//   and meta.lmdb's allocated bytes, st_blocks, over the same span; the data
//   file grows in 64 MiB steps) and ratio_with_meta ((beyond + meta growth)
//   / changed).
//
// Setup (untimed): a store with one container holding N files of 100 bytes
// (inline) in directories of 1000, made durable.
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <random>

#include "bench/bench_util.h"
#include "snapshotter/verbs/snapshotter.h"

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
  state.counters["delete_gc_ms"] = seconds * 1e3 / static_cast<double>(state.iterations());
  state.counters["freed_MiB"] =
      freed_bytes / static_cast<double>(1 << 20) / static_cast<double>(state.iterations());
  state.counters["files"] = static_cast<double>(changed);
}

// 1000 copies of the base snapshot, one after another.
void BM_Copies1000(benchmark::State& state) {
  Populated& p = GetPopulated(static_cast<size_t>(state.range(0)));
  constexpr int kCopies = 1000;
  Latencies lat, first100, last100;
  double total_s = 0;
  for (auto _ : state) {
    const auto start = Clock::now();
    for (int i = 0; i < kCopies; ++i) {
      const auto t0 = Clock::now();
      Must(p.snap->CopyContainer("c", p.base, Name("many", p.copies++)).status(), "copy");
      const double s = SecondsSince(t0);
      lat.Add(s);
      if (i < 100) first100.Add(s);
      if (i >= kCopies - 100) last100.Add(s);
    }
    const double s = SecondsSince(start);
    state.SetIterationTime(s);
    total_s += s;
  }
  lat.Report(state);
  // Does a copy get slower as containers accumulate?
  state.counters["first100_p50_ms"] = first100.Percentile(50) * 1e3;
  state.counters["last100_p50_ms"] = last100.Percentile(50) * 1e3;
  state.counters["total_s"] = total_s / static_cast<double>(state.iterations());
  state.counters["files"] = static_cast<double>(p.files);
  state.counters["containers"] = static_cast<double>(p.snap->ListContainers().size());
}

// Bytes allocated to a host file (st_blocks), 0 when absent.
double AllocatedBytes(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return 0;
  return static_cast<double>(st.st_blocks) * 512.0;
}

void BM_SpaceTenSnapshots(benchmark::State& state) {
  const size_t file_bytes = static_cast<size_t>(state.range(0)) << 10;
  const size_t write_bytes = static_cast<size_t>(state.range(1)) << 10;
  constexpr size_t kFiles = 1000, kChangedPerRound = 50, kRounds = 10;
  constexpr double kMiB = 1 << 20;
  double changed = 0, beyond = 0, data_alloc = 0, meta_alloc = 0;
  for (auto _ : state) {
    testing::TempDir dir = MakeScratchDir();
    const std::string store = dir.File("store");
    Must(Store::Init(store), "init");
    auto snap = Must(Snapshotter::Open(store, snapshotter::StoreOptions()), "open");
    Must(snap->CreateContainer("c").status(), "create container");
    FileSystem fs = Must(snap->store().Head("c"), "head");
    std::vector<Ino> inos;
    for (size_t i = 0; i < kFiles; ++i) {
      inos.push_back(CreateFile(fs, kRootIno, Name("f", i), Filler(file_bytes, i)));
    }
    Must(snap->CreateSnapshot("c", {}).status(), "base snapshot");
    Must(snap->store().Flush(), "flush");
    const double used0 = static_cast<double>(snap->store().used_blocks() * kBlockSize);
    const double data0 = AllocatedBytes(store + "/data");
    const double meta0 = AllocatedBytes(store + "/meta.lmdb");
    std::mt19937_64 rng(7);
    uint64_t seed = kFiles;
    for (size_t round = 0; round < kRounds; ++round) {
      std::vector<Ino> pick = inos;
      std::shuffle(pick.begin(), pick.end(), rng);
      for (size_t i = 0; i < kChangedPerRound; ++i) {
        const size_t slots = file_bytes / write_bytes;
        const uint64_t offset = (rng() % slots) * write_bytes;
        Must(fs.Write(pick[i], offset, Filler(write_bytes, ++seed)).status(), "change");
      }
      Must(snap->CreateSnapshot("c", {}).status(), "snapshot");
    }
    Must(snap->store().Flush(), "flush");
    changed = static_cast<double>(kRounds * kChangedPerRound * write_bytes);
    beyond = static_cast<double>(snap->store().used_blocks() * kBlockSize) - used0;
    data_alloc = AllocatedBytes(store + "/data") - data0;
    meta_alloc = AllocatedBytes(store + "/meta.lmdb") - meta0;
  }
  state.counters["changed_MiB"] = changed / kMiB;
  state.counters["data_beyond_base_MiB"] = beyond / kMiB;
  state.counters["ratio"] = beyond / changed;
  state.counters["ratio_with_meta"] = (beyond + meta_alloc) / changed;
  state.counters["data_file_alloc_MiB"] = data_alloc / kMiB;
  state.counters["meta_file_alloc_MiB"] = meta_alloc / kMiB;
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
  benchmark::RegisterBenchmark("BM_Copies1000", BM_Copies1000)
      ->Arg(files)
      ->ArgName("files")
      ->Iterations(1)
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
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
  benchmark::RegisterBenchmark("BM_SpaceTenSnapshots", BM_SpaceTenSnapshots)
      ->Args({64, 64})
      ->Args({1024, 4})
      ->ArgNames({"file_kib", "write_kib"})
      ->Iterations(1)
      ->Unit(benchmark::kMillisecond);
  return true;
}();

}  // namespace
}  // namespace hoodyfs::bench
