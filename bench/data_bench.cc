// File data through the engine API (FileSystem::Write / Read), no FUSE:
//   BM_SeqWrite/fresh : a new store per iteration; one 256 MiB file written
//                       in 1 MiB writes, then Fsync. Includes growing the
//                       data file (fallocate in 64 MiB steps).
//   BM_SeqWrite/reuse : one store where a 256 MiB file was written and
//                       deleted before timing (its blocks freed, released
//                       and punched out of the data file); each iteration
//                       writes a new 256 MiB file + Fsync into that reused
//                       space, then deletes it (untimed).
//   BM_SeqRead        : 1 MiB reads of a 256 MiB file written sequentially.
//   BM_RandRead/own   : 4 KiB reads at random block-aligned offsets of that
//                       file; the head owns every chunk map.
//   BM_RandWrite/own  : 4 KiB writes at random block-aligned offsets; every
//                       write goes to a chunk map the head already owns.
//   BM_RandWrite/cow  : after a Freeze (untimed, before each batch), 4 KiB
//                       writes each into a different chunk (256 KiB) still
//                       inherited from the frozen parent: every write copies
//                       a chunk map (copy-on-write of inherited chunks).
//   BM_RandRead/inherited: random 4 KiB reads after a Freeze: every chunk
//                       map is inherited, found by a seek past the head.
//   BM_FreezeAfterWrites/once : 1024 random 4 KiB writes (untimed; after the
//                       previous freeze, so each copies an inherited chunk
//                       map), then one Freeze, timed: the snapshot's synced
//                       commit carries the data fdatasync and those changes.
//   BM_FreezeAfterWrites/twice: the same 1024 offsets written again, in
//                       another order, before the Freeze: the second writes
//                       free the blocks the first ones wrote (contiguous on
//                       disk, freed out of order), so the Freeze's commit
//                       also releases 1024 blocks.
// Random benchmarks time batches of 1024 ops (writes end with one Fsync,
// included); counters: MBps (10^6 bytes/s) or IOPS, and per-op latency
// percentiles (p50_ms, p99_ms, max_ms; a write batch's Fsync is not an op).
// The data file uses O_DIRECT, so reads come from the device every time.
#include <sys/stat.h>

#include <algorithm>
#include <numeric>
#include <random>

#include "bench/bench_util.h"

namespace hoodyfs::bench {
namespace {

constexpr uint64_t kMiB = 1 << 20;
constexpr uint64_t kFileBytes = 256 * kMiB;
constexpr uint64_t kFileBlocks = kFileBytes / kBlockSize;
constexpr uint64_t kChunkBytes = 256 * 1024;
constexpr int kBatchOps = 1024;

// Writes a whole file in 1 MiB writes and syncs it; returns the seconds
// taken, and in *fsync_s the part the final Fsync took.
double WriteWholeFile(FileSystem& fs, Ino ino, const std::string& piece,
                      double* fsync_s = nullptr) {
  const auto t0 = Clock::now();
  for (uint64_t off = 0; off < kFileBytes; off += kMiB) {
    Must(fs.Write(ino, off, piece).status(), "write 1 MiB");
  }
  const auto f0 = Clock::now();
  Must(fs.Fsync(ino), "fsync");
  if (fsync_s != nullptr) *fsync_s = SecondsSince(f0);
  return SecondsSince(t0);
}

// A failed read (a checksum mismatch comes back as kCorruption, EIO) is
// counted, not fatal: the run goes on and reports read_errors, so one bad
// block neither aborts the process nor hides the other numbers. (Not
// SkipWithError: Google Benchmark 1.7.1 crashes in ComputeStats when every
// repetition of a benchmark is skipped.) The engine logs each mismatch.
void ReadCounted(FileSystem& fs, Ino ino, uint64_t off, std::span<char> out, uint64_t* errors) {
  Result<size_t> n = fs.Read(ino, off, out);
  if (n.ok() && *n == out.size()) return;
  if (!n.ok() && n.status().code() != Code::kCorruption) Die(n.status(), "read");
  ++*errors;
}

void ReportMBps(benchmark::State& state, double bytes, double seconds) {
  state.counters["MBps"] = bytes / 1e6 / seconds;
}

void BM_SeqWrite(benchmark::State& state, bool fresh) {
  const std::string piece = Filler(kMiB, 7);
  std::unique_ptr<BenchStore> b;
  if (!fresh) {
    b = BenchStore::Create();
    const Ino ino = CreateFile(*b->fs, kRootIno, "warm", "");
    WriteWholeFile(*b->fs, ino, piece);
    Must(b->fs->Unlink(kRootIno, "warm"), "unlink");
    Must(b->store->Flush(), "flush");  // the commit that frees; its hook punches
  }
  double total = 0, fsync_total = 0;
  int i = 0;
  for (auto _ : state) {
    if (fresh) {
      b.reset();
      b = BenchStore::Create();
    }
    const std::string name = Name("w", i++);
    const Ino ino = CreateFile(*b->fs, kRootIno, name, "");
    double fsync_s = 0;
    const double s = WriteWholeFile(*b->fs, ino, piece, &fsync_s);
    state.SetIterationTime(s);
    total += s;
    fsync_total += fsync_s;
    if (!fresh) {
      Must(b->fs->Unlink(kRootIno, name), "unlink");
      Must(b->store->Flush(), "flush");
    }
  }
  ReportMBps(state, static_cast<double>(kFileBytes) * state.iterations(), total);
  state.counters["fsync_ms"] = fsync_total * 1e3 / static_cast<double>(state.iterations());
}

// A store holding one 256 MiB file written sequentially, shared by the read
// and random-write benchmarks (which run in registration order).
struct DataFixture {
  std::unique_ptr<BenchStore> b;
  Ino ino;
  std::mt19937_64 rng{1234};
};

DataFixture& GetDataFixture() {
  static std::unique_ptr<DataFixture> f;
  if (!f) {
    f = std::make_unique<DataFixture>();
    f->b = BenchStore::Create();
    f->ino = CreateFile(*f->b->fs, kRootIno, "big", "");
    WriteWholeFile(*f->b->fs, f->ino, Filler(kMiB, 9));
    Must(f->b->store->Flush(), "flush");
  }
  return *f;
}

void BM_SeqRead(benchmark::State& state) {
  DataFixture& f = GetDataFixture();
  std::string buf(kMiB, '\0');
  double total = 0;
  uint64_t errors = 0;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    for (uint64_t off = 0; off < kFileBytes; off += kMiB) {
      ReadCounted(*f.b->fs, f.ino, off, buf, &errors);
    }
    const double s = SecondsSince(t0);
    state.SetIterationTime(s);
    total += s;
  }
  ReportMBps(state, static_cast<double>(kFileBytes) * state.iterations(), total);
  state.counters["read_errors"] = static_cast<double>(errors);
}

enum class RandMode { kReadOwn, kReadInherited, kWriteOwn, kWriteCow };

void BM_Rand(benchmark::State& state, RandMode mode) {
  DataFixture& f = GetDataFixture();
  FileSystem& fs = *f.b->fs;
  const bool write = mode == RandMode::kWriteOwn || mode == RandMode::kWriteCow;
  if (mode == RandMode::kReadInherited) Must(f.b->store->Freeze("c").status(), "freeze");
  std::string buf(kBlockSize, '\0');
  std::vector<uint64_t> chunks(kFileBytes / kChunkBytes);
  Latencies lat;
  double total = 0, fsync_total = 0;
  uint64_t seed = 100, read_errors = 0;
  for (auto _ : state) {
    if (mode == RandMode::kWriteCow) {
      // Untimed: a freeze, so every chunk map of the file is inherited again.
      Must(f.b->store->Freeze("c").status(), "freeze");
      std::iota(chunks.begin(), chunks.end(), 0);
      std::shuffle(chunks.begin(), chunks.end(), f.rng);
    }
    const auto t0 = Clock::now();
    for (int k = 0; k < kBatchOps; ++k) {
      uint64_t off;
      if (mode == RandMode::kWriteCow) {
        off = chunks[k % chunks.size()] * kChunkBytes +
              (f.rng() % (kChunkBytes / kBlockSize)) * kBlockSize;
      } else {
        off = (f.rng() % kFileBlocks) * kBlockSize;
      }
      const auto op0 = Clock::now();
      if (write) {
        buf[0] = static_cast<char>(seed++);
        Must(fs.Write(f.ino, off, buf).status(), "write 4 KiB");
      } else {
        ReadCounted(fs, f.ino, off, buf, &read_errors);
      }
      lat.Add(SecondsSince(op0));
    }
    if (write) {
      const auto f0 = Clock::now();
      Must(fs.Fsync(f.ino), "fsync");
      fsync_total += SecondsSince(f0);
    }
    const double s = SecondsSince(t0);
    state.SetIterationTime(s);
    total += s;
  }
  state.counters["IOPS"] = static_cast<double>(kBatchOps) * state.iterations() / total;
  if (!write) state.counters["read_errors"] = static_cast<double>(read_errors);
  if (write) {
    state.counters["fsync_ms"] = fsync_total * 1e3 / static_cast<double>(state.iterations());
  }
  lat.Report(state);
}

void BM_FreezeAfterWrites(benchmark::State& state, bool twice) {
  DataFixture& f = GetDataFixture();
  FileSystem& fs = *f.b->fs;
  std::string buf(kBlockSize, 'x');
  std::vector<uint64_t> offsets(kBatchOps);
  Latencies lat;
  uint64_t seed = 0;
  for (auto _ : state) {
    for (uint64_t& off : offsets) off = (f.rng() % kFileBlocks) * kBlockSize;
    for (int pass = 0; pass < (twice ? 2 : 1); ++pass) {
      if (pass == 1) std::shuffle(offsets.begin(), offsets.end(), f.rng);
      for (uint64_t off : offsets) {
        buf[0] = static_cast<char>(seed++);
        Must(fs.Write(f.ino, off, buf).status(), "write 4 KiB");
      }
    }
    const auto t0 = Clock::now();
    Must(f.b->store->Freeze("c").status(), "freeze");
    const double s = SecondsSince(t0);
    state.SetIterationTime(s);
    lat.Add(s);
  }
  lat.Report(state);
}

[[maybe_unused]] const bool registered = [] {
  for (auto [name, fresh] :
       {std::pair{"BM_SeqWrite/fresh", true}, std::pair{"BM_SeqWrite/reuse", false}}) {
    benchmark::RegisterBenchmark(name, BM_SeqWrite, fresh)
        ->Iterations(2)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
  }
  benchmark::RegisterBenchmark("BM_SeqRead", BM_SeqRead)
      ->Iterations(2)
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
  for (auto [name, mode] : {std::pair{"BM_RandRead/own", RandMode::kReadOwn},
                            std::pair{"BM_RandWrite/own", RandMode::kWriteOwn},
                            std::pair{"BM_RandWrite/cow", RandMode::kWriteCow},
                            std::pair{"BM_RandRead/inherited", RandMode::kReadInherited}}) {
    benchmark::RegisterBenchmark(name, BM_Rand, mode)
        ->Iterations(8)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
  }
  for (auto [name, twice] : {std::pair{"BM_FreezeAfterWrites/once", false},
                             std::pair{"BM_FreezeAfterWrites/twice", true}}) {
    benchmark::RegisterBenchmark(name, BM_FreezeAfterWrites, twice)
        ->Iterations(20)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
  }
  return true;
}();

}  // namespace
}  // namespace hoodyfs::bench
