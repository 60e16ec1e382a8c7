// Fault injection below the engine: a full disk, a data file that cannot
// grow, rotted bytes on disk or on the wire, failing reads, writes and syncs.
// Every failed call must fail cleanly (the POSIX error, nothing changed, no
// block leaked: CheckInvariants counts them) and the store must stay usable
// and crash safe afterwards (design invariants 5 and 6).
//
// Reproduce a failure of a seeded test with --gtest_random_seed=SEED (printed
// on failure).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "base/testing/status_macros.h"
#include "base/unique_fd.h"
#include "blockstore/aligned_buffer.h"
#include "blockstore/testing/faulty_device.h"
#include "blockstore/testing/mem_device.h"
#include "index/schema.h"
#include "snapshotter/engine/filesystem.h"
#include "snapshotter/engine/store.h"
#include "tests/crash/crash_util.h"
#include "tests/model/fs_model.h"
#include "tests/model/random_ops.h"

namespace hoodyfs::testing {
namespace {

using blockstore::testing::FaultPlan;
using blockstore::testing::MemDeviceOptions;
using snapshotter::SetAttrRequest;
using snapshotter::Store;

constexpr uint64_t kMiB = 1 << 20;
constexpr uint64_t kGroupBytes = uint64_t{index::kFreeMapGroupBlocks} * kBlockSize;

using FaultTest = StoreOverMemory;

// ---- A full disk ----

// Random writes and truncates while the device answers ENOSPC from its Nth
// write on: each call either succeeds or fails with kNoSpace (ENOSPC) leaving
// the file as it was; a write cut short reports the bytes it did write. Then
// the disk has room again and everything works; a crash and power loss at
// the end find the last flush intact.
class NoSpaceTest : public StoreOverMemory, public ::testing::WithParamInterface<int> {};

TEST_P(NoSpaceTest, CallsFailCleanlyAndTheStoreRecovers) {
  const uint64_t seed = CrashSeed(GetParam());
  SCOPED_TRACE(SeedTrace(seed));
  std::mt19937_64 rng(seed);
  auto pick = [&rng](uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng); };

  ASSERT_NO_FATAL_FAILURE(CreateStore());
  ModelFs model;
  std::vector<Ino> files;
  for (int i = 0; i < 4; ++i) {
    const Ino ino = CreateFile("f" + std::to_string(i));
    model.ApplyCreate(1, "f" + std::to_string(i), ino.value, S_IFREG | 0644, 0);
    const std::string data = Bytes(i == 0 ? 700 : pick(600 * 1024), static_cast<char>('a' + i));
    ASSERT_TRUE(fs_->Write(ino, 0, data).ok());
    model.Write(ino.value, 0, data);
    files.push_back(ino);
  }
  ASSERT_OK(store_->Flush());

  int failures = 0;
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    FaultPlan plan;
    plan.seed = seed;
    plan.no_space_from_write_n = 1 + pick(6);
    faulty_->SetPlan(plan);
    for (int op = 0; op < 12 && !HasFailure(); ++op) {
      SCOPED_TRACE("op " + std::to_string(op));
      const Ino ino = files[pick(files.size())];
      const uint64_t used_before = store_->used_blocks();
      // A failed write of an inline file may leave it moved to a block (same
      // bytes); nothing else may stay behind.
      const uint64_t may_take = fs_->GetAttr(ino).value().size <= index::kInlineMaxBytes ? 1 : 0;
      if (pick(4) != 0) {
        uint64_t offset = pick(700 * 1024);
        size_t size = 1 + pick(3 * kBlockSize);
        if (pick(3) == 0) {  // across a 1 MiB boundary: two pieces
          offset = kMiB - 1 - pick(300 * 1024);
          size = static_cast<size_t>(300 * 1024 + pick(1000 * 1024));
        }
        const std::string data = Bytes(size, static_cast<char>('A' + pick(26)));
        auto w = fs_->Write(ino, offset, data);
        if (w.ok()) {
          ASSERT_GT(*w, 0u);
          ASSERT_LE(*w, size);
          if (*w < size) ++failures;  // cut short: only the first *w bytes were written
          model.Write(ino.value, offset, data.substr(0, *w));
        } else {
          ++failures;
          EXPECT_CODE(Code::kNoSpace, w.status());
          EXPECT_EQ(w.status().ErrnoValue(), ENOSPC);
          EXPECT_LE(store_->used_blocks(), used_before + may_take) << "a failed write kept blocks";
        }
      } else {
        SetAttrRequest req;
        req.size = pick(900 * 1024);
        auto a = fs_->SetAttr(ino, req);
        if (a.ok()) {
          model.Truncate(ino.value, *req.size);
        } else {
          ++failures;
          EXPECT_CODE(Code::kNoSpace, a.status());
          EXPECT_EQ(store_->used_blocks(), used_before) << "a failed truncate kept blocks";
        }
      }
      // Nothing but the call's own effect, and every block accounted for.
      ExpectTreeMatches(*fs_, model, "after a call on a full disk");
      Status check = store_->CheckInvariants();
      ASSERT_TRUE(check.ok()) << check.ToString();
    }
    // Room again: writes succeed.
    faulty_->ClearNoSpace();
    for (const Ino ino : files) {
      const std::string data = Bytes(5000 + pick(100 * 1024), 'z');
      const uint64_t offset = pick(300 * 1024);
      auto w = fs_->Write(ino, offset, data);
      ASSERT_TRUE(w.ok()) << w.status().ToString();
      ASSERT_EQ(*w, data.size());
      model.Write(ino.value, offset, data);
    }
    ExpectTreeMatches(*fs_, model, "with room again");
    ASSERT_OK(store_->Flush());
  }
  EXPECT_GT(failures, 0) << "the plan never made a call fail";
  Crash();
  mem_->SimulatePowerLoss();
  ASSERT_NO_FATAL_FAILURE(OpenStore());
  ModelState durable;
  durable.head = model;
  ExpectStoreHolds(*store_, "c", durable);
}

INSTANTIATE_TEST_SUITE_P(Seeds, NoSpaceTest, ::testing::Range(0, 8));

// A write of two 1 MiB pieces whose second piece meets a full disk: the call
// reports the first piece's bytes (a short write, as write(2) does), never an
// error after changing the file.
TEST_F(FaultTest, WriteCutShortByAFullDiskReportsWhatItWrote) {
  ASSERT_NO_FATAL_FAILURE(CreateStore());
  const Ino f = CreateFile("f");
  ASSERT_TRUE(fs_->Write(f, 0, Bytes(8192, 'a')).ok());  // on blocks, grown
  ASSERT_OK(store_->Flush());
  FaultPlan plan;
  plan.no_space_from_write_n = 2;  // the first piece is one write of 1 MiB - 4 KiB
  faulty_->SetPlan(plan);
  const std::string data = Bytes(kMiB + 4096, 'b');
  auto w = fs_->Write(f, kBlockSize, data);
  ASSERT_TRUE(w.ok()) << "the first piece was written, yet the call failed: "
                      << w.status().ToString();
  EXPECT_EQ(*w, kMiB - kBlockSize);
  std::string want = Bytes(8192, 'a').substr(0, kBlockSize) + data.substr(0, *w);
  auto got = ReadAll(*fs_, f);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(*got == want);
  // Retrying the rest fails cleanly while the disk is full.
  auto rest = fs_->Write(f, kBlockSize + *w, std::string_view(data).substr(*w));
  EXPECT_CODE(Code::kNoSpace, rest.status());
  EXPECT_EQ(ReadAll(*fs_, f).value().size(), want.size());
  EXPECT_OK(store_->CheckInvariants());
}

// The data file cannot grow (the host is full): a write needing a new block
// fails with ENOSPC and leaves no trace: the file, the free map's capacity,
// the device's size, the used-block count. Truncating to an unaligned size
// also needs a block (the last one is rewritten) and fails alike; unlink
// needs none. Once the freed blocks are durable, writes succeed again.
TEST_F(FaultTest, FailedGrowOfTheDataFileLeavesNoTrace) {
  MemDeviceOptions mem;
  mem.capacity_bytes = kGroupBytes;  // one 16 MiB group, no more
  ASSERT_NO_FATAL_FAILURE(CreateStore(mem));
  const Ino full = CreateFile("full");
  const std::string big = Bytes((index::kFreeMapGroupBlocks - 1) * kBlockSize, 'f');
  ASSERT_TRUE(fs_->Write(full, 0, big).ok());  // every block but block 0
  const Ino g = CreateFile("g");
  ASSERT_TRUE(fs_->Write(g, 0, std::string("small, inline")).ok());
  ASSERT_OK(store_->Flush());
  const uint64_t used = store_->used_blocks();
  ASSERT_EQ(store_->capacity_blocks() - used, 1u);

  auto w = fs_->Write(g, 0, Bytes(3 * kBlockSize, 'g'));
  EXPECT_CODE(Code::kNoSpace, w.status());
  EXPECT_EQ(w.status().ErrnoValue(), ENOSPC);
  EXPECT_EQ(ReadAll(*fs_, g).value(), "small, inline");
  EXPECT_EQ(store_->capacity_blocks(), index::kFreeMapGroupBlocks);
  EXPECT_EQ(mem_->SizeBytes(), kGroupBytes);
  EXPECT_EQ(store_->used_blocks(), used);
  EXPECT_OK(store_->CheckInvariants());

  SetAttrRequest shrink;
  shrink.size = big.size() - 100;
  EXPECT_CODE(Code::kNoSpace, fs_->SetAttr(full, shrink).status());
  EXPECT_EQ(fs_->GetAttr(full).value().size, big.size());
  EXPECT_EQ(store_->used_blocks(), used);
  EXPECT_OK(store_->CheckInvariants());

  ASSERT_OK(fs_->Unlink(kRootIno, "full"));
  ASSERT_OK(store_->Flush());  // the freed blocks become allocatable once durable
  const std::string data = Bytes(3 * kBlockSize, 'g');
  auto again = fs_->Write(g, 0, data);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(ReadAll(*fs_, g).value(), data);
  EXPECT_EQ(mem_->SizeBytes(), kGroupBytes);
  EXPECT_OK(store_->CheckInvariants());
}

// The data file grew, then the write that wanted the space failed: the
// growth is recorded in the free map, so the commit that records it must
// also make the new size durable. After a power loss the store opens.
TEST_F(FaultTest, GrowthBeforeAFailedWriteSurvivesAPowerLoss) {
  ASSERT_NO_FATAL_FAILURE(CreateStore());  // the data file is empty
  const Ino f = CreateFile("f");
  FaultPlan plan;
  plan.no_space_from_write_n = 1;
  faulty_->SetPlan(plan);
  auto w = fs_->Write(f, 0, Bytes(8192, 'a'));  // grows the file, then the write fails
  EXPECT_CODE(Code::kNoSpace, w.status());
  ASSERT_EQ(store_->capacity_blocks(), index::kFreeMapGroupBlocks);
  ASSERT_OK(store_->Flush());
  Crash();
  mem_->SimulatePowerLoss();
  ASSERT_NO_FATAL_FAILURE(OpenStore());
  EXPECT_EQ(fs_->GetAttr(f).value().size, 0u);
  EXPECT_OK(store_->CheckInvariants());
  faulty_->ClearNoSpace();
  auto again = fs_->Write(f, 0, Bytes(8192, 'a'));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(ReadAll(*fs_, f).value(), Bytes(8192, 'a'));
}

// ---- Failing reads: the edge blocks of a write, the tail of a truncate ----

struct EdgeCase {
  const char* name;
  FaultPlan plan;
  Code code;
};

std::vector<EdgeCase> EdgeCases() {
  FaultPlan error;
  error.read_error_one_in = 1;  // every read fails
  FaultPlan flip_first;
  flip_first.flip_read_n = 1;  // the first read returns a flipped bit
  FaultPlan flip_second;
  flip_second.flip_read_n = 2;
  return {{"read error", error, Code::kIoError},
          {"bit flip in the first read", flip_first, Code::kCorruption},
          {"bit flip in the second read", flip_second, Code::kCorruption}};
}

// A write that covers its first and last blocks partly must read them
// (read-modify-write). When that read fails, the write fails with EIO and
// nothing changes; without the fault the same write succeeds.
TEST_F(FaultTest, FailedEdgeBlockReadFailsTheWriteCleanly) {
  ASSERT_NO_FATAL_FAILURE(CreateStore());
  const Ino f = CreateFile("f");
  const std::string old = Bytes(10 * kBlockSize, 'o');
  ASSERT_TRUE(fs_->Write(f, 0, old).ok());
  ASSERT_OK(store_->Flush());
  struct Shape {
    const char* name;
    uint64_t offset;
    size_t size;
    bool two_edges;
  };
  const Shape shapes[] = {
      {"head edge", kBlockSize + 100, 3 * kBlockSize - 100, false},
      {"tail edge", 2 * kBlockSize, kBlockSize + 5, false},
      {"both edges", kBlockSize + 7, 4 * kBlockSize, true},
      {"inside one block", 3 * kBlockSize + 9, 50, false},
      {"past the end from inside the last block", 10 * kBlockSize - 30, 3 * kBlockSize, false},
  };
  ModelFs model;
  model.ApplyCreate(1, "f", f.value, S_IFREG | 0644, 0);
  model.Write(f.value, 0, old);
  for (const EdgeCase& c : EdgeCases()) {
    for (const Shape& shape : shapes) {
      if (c.plan.flip_read_n == 2 && !shape.two_edges) continue;
      SCOPED_TRACE(std::string(c.name) + ", " + shape.name);
      const uint64_t used = store_->used_blocks();
      faulty_->SetPlan(c.plan);
      const std::string data = Bytes(shape.size, 'N');
      auto w = fs_->Write(f, shape.offset, data);
      EXPECT_CODE(c.code, w.status());
      EXPECT_EQ(w.status().ErrnoValue(), EIO);
      faulty_->SetPlan({});
      ExpectTreeMatches(*fs_, model, "after the failed write");
      EXPECT_EQ(store_->used_blocks(), used);
      EXPECT_OK(store_->CheckInvariants());
      // Without the fault, the same write goes through.
      auto ok = fs_->Write(f, shape.offset, data);
      ASSERT_TRUE(ok.ok()) << ok.status().ToString();
      model.Write(f.value, shape.offset, data);
      ExpectTreeMatches(*fs_, model, "after the write");
    }
  }
}

// Truncating to an unaligned size rewrites the new last block with its tail
// zeroed, which reads it first: a failed read fails the truncate, unchanged.
TEST_F(FaultTest, FailedTailReadFailsTheTruncateCleanly) {
  ASSERT_NO_FATAL_FAILURE(CreateStore());
  const Ino f = CreateFile("f");
  const std::string old = Bytes(6 * kBlockSize, 'o');
  ASSERT_TRUE(fs_->Write(f, 0, old).ok());
  ASSERT_OK(store_->Flush());
  for (const EdgeCase& c : EdgeCases()) {
    if (c.plan.flip_read_n == 2) continue;
    SCOPED_TRACE(c.name);
    const uint64_t used = store_->used_blocks();
    faulty_->SetPlan(c.plan);
    SetAttrRequest req;
    req.size = 2 * kBlockSize + 77;
    auto a = fs_->SetAttr(f, req);
    EXPECT_CODE(c.code, a.status());
    faulty_->SetPlan({});
    auto got = ReadAll(*fs_, f);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_TRUE(*got == old) << "the failed truncate changed the file";
    EXPECT_EQ(store_->used_blocks(), used);
    EXPECT_OK(store_->CheckInvariants());
  }
}

// ---- Failing writes and syncs ----

// A data write that fails (or is torn) fails the call with EIO and changes
// nothing; after a power loss the last flush is intact.
TEST_F(FaultTest, FailedOrTornDataWriteFailsTheCallCleanly) {
  ASSERT_NO_FATAL_FAILURE(CreateStore());
  const Ino f = CreateFile("f");
  const std::string old = Bytes(300 * 1024, 'o');
  ASSERT_TRUE(fs_->Write(f, 0, old).ok());
  ASSERT_OK(store_->Flush());
  FaultPlan fail;
  fail.fail_write_n = 1;
  FaultPlan torn;
  torn.torn_write_n = 1;
  torn.seed = 7;
  for (const FaultPlan& plan : {fail, torn}) {
    SCOPED_TRACE(plan.fail_write_n ? "failed write" : "torn write");
    const uint64_t used = store_->used_blocks();
    const size_t faults = faulty_->Log().size();
    faulty_->SetPlan(plan);
    auto w = fs_->Write(f, 5000, Bytes(200 * 1024, 'n'));
    EXPECT_CODE(Code::kIoError, w.status());
    EXPECT_EQ(w.status().ErrnoValue(), EIO);
    EXPECT_EQ(faulty_->Log().size(), faults + 1);
    faulty_->SetPlan({});
    auto got = ReadAll(*fs_, f);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_TRUE(*got == old);
    EXPECT_EQ(store_->used_blocks(), used);
    EXPECT_OK(store_->CheckInvariants());
  }
  ASSERT_OK(store_->Flush());
  Crash();
  ASSERT_OK(faulty_->PowerLoss());
  ASSERT_NO_FATAL_FAILURE(OpenStore());
  EXPECT_EQ(ReadAll(*fs_, f).value(), old);
  EXPECT_OK(store_->CheckInvariants());
}

// A data-file sync that fails fails the flush (and fsync, and freeze) with
// EIO, and the store then refuses every change and commit: the kernel may
// have dropped the pages it could not write, so a later successful sync
// would prove nothing ("fsyncgate"). Reads still work; a reopen returns to
// the last commit, and the store takes writes again.
TEST_F(FaultTest, FailedSyncMakesTheStoreReadOnlyUntilReopened) {
  ASSERT_NO_FATAL_FAILURE(CreateStore());
  const Ino f = CreateFile("f");
  const std::string old = Bytes(64 * 1024, 'o');
  ASSERT_TRUE(fs_->Write(f, 0, old).ok());
  ASSERT_OK(fs_->Fsync(f));
  // More than an fsync's log record carries (StoreOptions::log_data_max_bytes):
  // this fsync syncs the data file.
  const std::string data = Bytes(1024 * 1024, 'd');
  ASSERT_TRUE(fs_->Write(f, 0, data).ok());
  FaultPlan plan;
  plan.fail_sync_n = 1;
  faulty_->SetPlan(plan);
  Status s = fs_->Fsync(f);
  EXPECT_CODE(Code::kIoError, s);
  EXPECT_EQ(s.ErrnoValue(), EIO);
  faulty_->SetPlan(FaultPlan{});
  EXPECT_CODE(Code::kIoError, fs_->Fsync(f));
  EXPECT_CODE(Code::kIoError, fs_->Write(f, 0, std::string("x")).status());
  EXPECT_CODE(Code::kIoError, store_->Freeze("c").status());
  EXPECT_EQ(ReadAll(*fs_, f).value(), data);  // still visible, never durable
  Crash();
  ASSERT_OK(faulty_->PowerLoss());
  ASSERT_NO_FATAL_FAILURE(OpenStore());
  auto got = ReadAll(*fs_, f);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(*got == old);
  EXPECT_OK(store_->CheckInvariants());
  ASSERT_TRUE(fs_->Write(f, 0, data).ok());
  ASSERT_OK(fs_->Fsync(f));
}

// Starting the data file's writeback early (store_writeback.cc) is a hint,
// so a failing start loses nothing and claims nothing: writes go on, a
// power loss before the next flush finds the last flush (no durability came
// from the start), and a flush after failed starts makes everything durable.
TEST_F(FaultTest, FailedWritebackStartLosesNothingAndClaimsNothing) {
  writeback_start_bytes_ = kMiB;
  ASSERT_NO_FATAL_FAILURE(CreateStore());
  const Ino f = CreateFile("f");
  const std::string old = Bytes(2 * kMiB, 'o');
  ASSERT_TRUE(fs_->Write(f, 0, old).ok());
  ASSERT_OK(store_->Flush());
  FaultPlan plan;
  plan.fail_every_writeback = true;
  faulty_->SetPlan(plan);
  const std::string data = Bytes(4 * kMiB, 'd');
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE(round == 0 ? "power loss before a flush" : "power loss after a flush");
    // Each write crosses the 1 MiB step: the writeback thread starts (and
    // fails) at least once after the first of them.
    const uint64_t calls = faulty_->writeback_calls();
    for (uint64_t at = 0; at < data.size(); at += kMiB) {
      auto w = fs_->Write(f, at, std::string_view(data).substr(at, kMiB));
      ASSERT_TRUE(w.ok()) << w.status().ToString();
    }
    faulty_->WaitForWritebacks(calls + 1);
    EXPECT_NE(faulty_->Log().back().find("failed writeback start"), std::string::npos);
    EXPECT_EQ(ReadAll(*fs_, f).value(), data);  // visible; the store still takes changes
    if (round == 1) ASSERT_OK(store_->Flush());
    Crash();
    ASSERT_OK(faulty_->PowerLoss());
    ASSERT_NO_FATAL_FAILURE(OpenStore());
    auto got = ReadAll(*fs_, f);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_TRUE(*got == (round == 0 ? old : data));
    EXPECT_OK(store_->CheckInvariants());
  }
}

// ---- Rot: never wrong bytes ----

// A bit flipped on its way from the device is a checksum mismatch: kCorruption
// (EIO), and no byte of the damaged read reaches the caller's buffer: it is
// untouched, or zeros where the engine read straight into it (a 4 KiB-aligned
// buffer read at a block boundary). Both kinds of buffer, at a block boundary
// and off it. The next read is fine.
TEST_F(FaultTest, BitFlippedOnReadIsCorruptionNeverWrongBytes) {
  ASSERT_NO_FATAL_FAILURE(CreateStore());
  const Ino f = CreateFile("f");
  const std::string data = Bytes(40 * 1024, 'r');
  ASSERT_TRUE(fs_->Write(f, 0, data).ok());
  blockstore::AlignedBuffer aligned = blockstore::AlignedBuffer::ForReading(data.size());
  std::string unaligned;
  for (uint64_t n = 1; n <= 6; ++n) {
    const bool direct = n % 2 == 0;
    const uint64_t offset = (n - 1) / 2 * 1000;  // 0 (a block boundary), 1000, 2000
    SCOPED_TRACE("flip in read " + std::to_string(n) + (direct ? ", aligned buffer" : ""));
    FaultPlan plan;
    plan.seed = n;
    plan.flip_read_n = 1;
    const size_t faults = faulty_->Log().size();
    faulty_->SetPlan(plan);
    unaligned.assign(data.size() + 1, '\x5a');
    std::span<char> out(unaligned.data() + 1, data.size());  // never 4 KiB-aligned
    if (direct) out = std::span<char>(reinterpret_cast<char*>(aligned.data()), data.size());
    std::fill(out.begin(), out.end(), '\x5a');
    auto r = fs_->Read(f, offset, out);
    EXPECT_CODE(Code::kCorruption, r.status());
    EXPECT_EQ(r.status().ErrnoValue(), EIO);
    EXPECT_TRUE(std::all_of(out.begin(), out.end(), [](char c) { return c == '\x5a' || c == 0; }))
        << "a failed read left bytes in the buffer";
    ASSERT_EQ(faulty_->Log().size(), faults + 1);
  }
  faulty_->SetPlan({});
  EXPECT_EQ(ReadAll(*fs_, f).value(), data);
}

// A byte flipped in the real data file (found by its contents, the store
// closed) reads as kCorruption (EIO) wherever that block is read, in the head
// and in a frozen generation that shares it, and is never returned; the rest
// of the file and other files read fine; a write that must read the block
// fails, one that replaces it whole repairs the file.
TEST(CorruptionTest, ByteFlippedInTheDataFileIsEioNeverWrongBytes) {
  TempDir dir = TempDir::Create().value();
  const std::string store_dir = dir.File("store");
  ASSERT_OK(Store::Init(store_dir));
  auto open = [&]() {
    snapshotter::StoreOptions options;
    options.flush_interval_ms = 0;
    options.grow_step_bytes = 16 << 20;
    return Store::Open(store_dir, std::move(options));
  };
  // Block 5 of "victim" carries a marker found nowhere else.
  const std::string marker = "hoodyfs corruption-test marker 7f3a9c";
  std::string victim_data = Bytes(12 * kBlockSize, 'v');
  victim_data.replace(5 * kBlockSize + 1000, marker.size(), marker);
  const std::string other_data = Bytes(12 * kBlockSize, 'o');
  Ino victim, other;
  GenId frozen;
  {
    auto store = open();
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    ASSERT_OK((*store)->CreateContainer("c"));
    auto fs = (*store)->Head("c").value();
    victim = fs.Mknod(kRootIno, "victim", S_IFREG | 0644, 0, {}).value().ino;
    other = fs.Mknod(kRootIno, "other", S_IFREG | 0644, 0, {}).value().ino;
    ASSERT_TRUE(fs.Write(victim, 0, victim_data).ok());
    ASSERT_TRUE(fs.Write(other, 0, other_data).ok());
    auto g = (*store)->Freeze("c");
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    frozen = *g;
  }  // closed: flushed

  {  // Flip one byte of the marker in the data file.
    UniqueFd fd(::open((store_dir + "/data").c_str(), O_RDWR | O_CLOEXEC));
    ASSERT_TRUE(fd.valid()) << std::strerror(errno);
    struct stat st;
    ASSERT_EQ(::fstat(fd.get(), &st), 0);
    std::string block(kBlockSize, '\0');
    int found = 0;
    off_t at = -1;
    for (off_t off = 0; off + static_cast<off_t>(kBlockSize) <= st.st_size; off += kBlockSize) {
      ASSERT_EQ(::pread(fd.get(), block.data(), kBlockSize, off), static_cast<ssize_t>(kBlockSize));
      const size_t pos = block.find(marker);
      if (pos != std::string::npos) {
        ++found;
        at = off + static_cast<off_t>(pos) + 3;
      }
    }
    ASSERT_EQ(found, 1) << "the marker should be in exactly one block of the data file";
    char byte;
    ASSERT_EQ(::pread(fd.get(), &byte, 1, at), 1);
    byte = static_cast<char>(byte ^ 0x20);
    ASSERT_EQ(::pwrite(fd.get(), &byte, 1, at), 1);
    ASSERT_EQ(::fsync(fd.get()), 0);
  }

  auto store = open();
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto head = (*store)->Head("c").value();
  auto past = (*store)->AtGeneration(frozen).value();
  for (snapshotter::FileSystem* fs : {&head, &past}) {
    SCOPED_TRACE(fs == &head ? "head" : "frozen generation");
    // No byte of the failed read reaches the buffer, whether the engine
    // reads into it directly (4 KiB-aligned) or copies (this string may be
    // either): it holds the fill byte, or zeros where a direct read was.
    std::string out(victim_data.size(), '\x5a');
    blockstore::AlignedBuffer aligned = blockstore::AlignedBuffer::ForReading(out.size());
    std::span<char> direct(reinterpret_cast<char*>(aligned.data()), out.size());
    std::fill(direct.begin(), direct.end(), '\x5a');
    for (std::span<char> buffer : {std::span<char>(out), direct}) {
      auto r = fs->Read(victim, 0, buffer);
      EXPECT_CODE(Code::kCorruption, r.status());
      EXPECT_EQ(r.status().ErrnoValue(), EIO);
      EXPECT_TRUE(std::all_of(buffer.begin(), buffer.end(), [](char c) {
        return c == '\x5a' || c == 0;
      })) << "a failed read returned bytes";
    }
    std::string one(10, '\x5a');
    EXPECT_CODE(Code::kCorruption, fs->Read(victim, 5 * kBlockSize + 4000, one).status());
    // The blocks around it are fine.
    std::string before(5 * kBlockSize, '\0');
    ASSERT_TRUE(fs->Read(victim, 0, before).ok());
    EXPECT_TRUE(before == victim_data.substr(0, before.size()));
    std::string after(6 * kBlockSize, '\0');
    ASSERT_TRUE(fs->Read(victim, 6 * kBlockSize, after).ok());
    EXPECT_TRUE(after == victim_data.substr(6 * kBlockSize));
    std::string o(other_data.size(), '\0');
    auto ro = fs->Read(other, 0, o);
    ASSERT_TRUE(ro.ok()) << ro.status().ToString();
    EXPECT_TRUE(o == other_data);
  }
  // A partial write of the bad block must read it: it fails, nothing changes.
  auto w = head.Write(victim, 5 * kBlockSize + 10, std::string("xyz"));
  EXPECT_CODE(Code::kCorruption, w.status());
  // A whole-block write replaces it: the head reads fine again, the frozen
  // generation still reports the rot.
  const std::string fresh = Bytes(kBlockSize, 'F');
  ASSERT_TRUE(head.Write(victim, 5 * kBlockSize, fresh).ok());
  victim_data.replace(5 * kBlockSize, kBlockSize, fresh);
  std::string out(victim_data.size(), '\0');
  auto r = head.Read(victim, 0, out);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(out == victim_data);
  std::string one(10, '\0');
  EXPECT_CODE(Code::kCorruption, past.Read(victim, 5 * kBlockSize, one).status());
  EXPECT_OK((*store)->CheckInvariants());
}

}  // namespace
}  // namespace hoodyfs::testing
