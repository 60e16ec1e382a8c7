// Power loss at random points, in process (design invariant 5).
//
// Each run drives random filesystem calls (RandomOps) against a store whose
// data device is a FaultyDevice over a device the test owns, remembering the
// model as of every durability point that returned (flush, fsync, freeze,
// branch, reopen). At a random step the process "dies"
// (Store::SimulateCrashForTest: everything not committed is forgotten), the
// power goes (every data-device write since its last Sync is undone, or
// torn), and the store is opened again as it is, with no repair step: the
// head must be exactly the durable model, every frozen generation its model,
// and the consistency checker must pass. Five crashes per run, each on the
// store the previous one left.
//
// The ways the power goes, by parameter:
//   none (a process death: the device keeps every write, as the page cache
//   would); FaultyDevice::PowerLoss over a MemDevice (whole, or torn per
//   sector); MemDevice::SimulatePowerLoss (whole, or torn), which also forgets
//   a Grow that was never synced; FaultyDevice::PowerLoss over a real file
//   (io_uring buffered or O_DIRECT, or pread/pwrite).
// Half the runs keep the data file nearly full, so freed blocks are reused.
//
// Then example tests of the same kind for what random runs reach rarely.
//
// LMDB lives in a real directory and keeps what it committed (its own
// durability is LMDB's); the kill test covers a real process death.
//
// Reproduce a failure with --gtest_random_seed=SEED (printed on failure).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>

#include "base/testing/temp_dir.h"
#include "blockstore/data_file.h"
#include "blockstore/testing/faulty_device.h"
#include "blockstore/testing/mem_device.h"
#include "index/schema.h"
#include "snapshotter/engine/fsck.h"
#include "snapshotter/engine/scrub.h"
#include "snapshotter/engine/store.h"
#include "tests/crash/crash_util.h"
#include "tests/model/random_ops.h"

namespace hoodyfs::testing {
namespace {

using blockstore::testing::FaultPlan;
using blockstore::testing::FaultyDevice;
using blockstore::testing::MemDevice;
using snapshotter::Store;

enum class Loss { kNone, kFaulty, kFaultyTorn, kMem, kMemTorn, kFaultyOverFile, kCount };

const char* LossName(Loss loss) {
  switch (loss) {
    case Loss::kNone:
      return "nothing (a process death only)";
    case Loss::kFaulty:
      return "FaultyDevice::PowerLoss over memory";
    case Loss::kFaultyTorn:
      return "torn FaultyDevice::PowerLoss over memory";
    case Loss::kMem:
      return "MemDevice::SimulatePowerLoss";
    case Loss::kMemTorn:
      return "torn MemDevice::SimulatePowerLoss";
    case Loss::kFaultyOverFile:
      return "FaultyDevice::PowerLoss over a real file";
    case Loss::kCount:
      break;
  }
  return "?";
}

class PowerLossTest : public StoreOverMemory, public ::testing::WithParamInterface<int> {
 protected:
  void CutPower(Loss loss, uint64_t tear_seed) {
    switch (loss) {
      case Loss::kNone:
        break;
      case Loss::kFaulty:
      case Loss::kFaultyOverFile:
        ASSERT_OK(faulty_->PowerLoss());
        break;
      case Loss::kFaultyTorn:
        ASSERT_OK(faulty_->PowerLoss(tear_seed));
        break;
      case Loss::kMem:
      case Loss::kMemTorn:
        if (loss == Loss::kMem) {
          mem_->SimulatePowerLoss();
        } else {
          mem_->SimulatePowerLoss(tear_seed);
        }
        // The FaultyDevice's undo log describes writes that are gone now.
        faulty_ = std::make_unique<FaultyDevice>(*mem_, FaultPlan{});
        break;
      case Loss::kCount:
        FAIL();
    }
  }

  // Keeps the data file nearly full with files in another container, so the
  // random calls keep running out of fresh blocks and reuse freed ones: a
  // block freed by a change that was never made durable must not be
  // overwritten before that change commits (the quarantine), or the durable
  // state would read someone else's bytes after the crash. Called after each
  // step: when the data file has grown (16 MiB at a time), it flushes (so
  // nothing is quarantined and `head` becomes durable: the caller records it)
  // and fills all but `keep_free` of the free blocks. Returns whether it
  // flushed.
  bool TopUpBallast(uint64_t keep_free) {
    const uint64_t capacity = store_->capacity_blocks();
    const bool grown = capacity > ballast_capacity_;
    ballast_capacity_ = capacity;
    if (!grown) return false;
    Status flushed = store_->Flush();
    EXPECT_TRUE(flushed.ok()) << flushed.ToString();
    // Block 0 is never allocated, so it counts as unused but is not free.
    // Free blocks that back fallocate reservations are not the ballast's:
    // taking them would grow the data file to back the reservations again.
    const uint64_t free_blocks = capacity - store_->used_blocks() - 1;
    keep_free += store_->reserved_blocks();
    if (free_blocks <= keep_free) return true;
    auto fs = store_->Head("ballast");
    EXPECT_TRUE(fs.ok()) << fs.status().ToString();
    auto e = fs->Mknod(kRootIno, "b" + std::to_string(ballast_files_++), S_IFREG | 0644, 0, {});
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    if (!e.ok()) return true;
    const uint64_t bytes = (free_blocks - keep_free) * kBlockSize;
    const std::string piece(1 << 20, 'B');
    for (uint64_t at = 0; at < bytes; at += piece.size()) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(piece.size(), bytes - at));
      auto w = fs->Write(e->ino, at, std::span<const char>(piece.data(), n));
      EXPECT_TRUE(w.ok()) << w.status().ToString();
    }
    EXPECT_EQ(store_->capacity_blocks(), capacity) << "the ballast made the data file grow";
    return true;
  }

  int ballast_files_ = 0;
  uint64_t ballast_capacity_ = 0;  // capacity_blocks() when TopUpBallast last looked
};

TEST_P(PowerLossTest, ReopensWithEverySyncedChangeAndEveryFrozenGeneration) {
  const uint64_t seed = CrashSeed(GetParam());
  const Loss loss = static_cast<Loss>(GetParam() % static_cast<int>(Loss::kCount));
  SCOPED_TRACE(SeedTrace(seed) + ", power loss by " + LossName(loss));

  if (loss == Loss::kFaultyOverFile) {
    // The device by parameter, not seed (seeds of one loss share a parity):
    // each kind twice, once with the ballast and once without.
    blockstore::DeviceOptions device;  // io_uring, buffered, with its fallback
    switch (GetParam() / static_cast<int>(Loss::kCount) / 2 % 4) {
      case 0:
        device.kind = blockstore::DeviceOptions::Kind::kPosix;
        break;
      case 1:
        device.direct_io = true;  // O_DIRECT, as a store may be opened
        break;
      case 2:
        device.inline_writes = false;  // every write through the rings
        break;
      default:
        break;  // writes made by the caller where the filesystem refuses NOWAIT
    }
    auto file = blockstore::OpenDataFile(dir_.File("data.img"), device, /*create=*/true);
    ASSERT_TRUE(file.ok()) << file.status().ToString();
    faulty_ = std::make_unique<FaultyDevice>(std::move(file).value(), FaultPlan{});
    ASSERT_OK(Store::Init(dir_.File("store")));
    ASSERT_NO_FATAL_FAILURE(OpenStore());
    ASSERT_OK(store_->CreateContainer("c"));
  } else {
    ASSERT_NO_FATAL_FAILURE(CreateStore());
  }
  // Half the runs keep the data file nearly full (see TopUpBallast).
  const bool ballast = GetParam() / static_cast<int>(Loss::kCount) % 2 == 1;
  const uint64_t keep_free = 2 + seed % 24;
  if (ballast) ASSERT_OK(store_->CreateContainer("ballast"));  // flushes: before any step

  ModelState durable;    // as of the last durability point that returned
  ModelState in_flight;  // what the durability point under way will make durable
  SyncHooks hooks;
  RandomOps* driver = nullptr;
  hooks.before_sync = [&](SyncKind, const ModelState& if_ok) { in_flight = if_ok; };
  hooks.after_sync = [&](SyncKind) { durable = in_flight; };
  hooks.reopen = [&] {
    OpenStore();
    if (store_) driver->Attach(store_.get());
  };
  // Few durability points, so crashes find more pending work.
  OpMix mix;
  mix.write = 20;
  mix.sync = 2;
  mix.freeze = 2;
  mix.branch = 1;
  mix.reopen = 1;
  mix.max_write_bytes = 160 * 1024;
  mix.max_write_offset = 512 * 1024;
  mix.max_truncate_bytes = 600 * 1024;
  RandomOps ops(seed, "c", mix, hooks);
  driver = &ops;
  ops.Attach(store_.get());

  for (int round = 0; round < 5 && !HasFailure(); ++round) {
    SCOPED_TRACE("crash " + std::to_string(round));
    const uint64_t steps = 5 + ops.Pick(60);
    for (uint64_t i = 0; i < steps && !HasFailure(); ++i) {
      SCOPED_TRACE("step " + std::to_string(i));
      ops.Step();
      if (ballast && TopUpBallast(keep_free)) durable = ops.state();
    }
    ASSERT_FALSE(HasFailure());
    Crash();
    ASSERT_NO_FATAL_FAILURE(CutPower(loss, seed * 31 + static_cast<uint64_t>(round)));
    ASSERT_NO_FATAL_FAILURE(OpenStore());
    ballast_capacity_ = store_->capacity_blocks();
    ExpectStoreHolds(*store_, "c", durable);
    ops.set_state(durable);
    ops.Attach(store_.get());
  }
}

using CrashTest = StoreOverMemory;

// The quarantine: a block freed by a change that is not durable yet still
// holds the durable state's bytes, so it must not be written again until
// that change commits. Here the data file is full but for one block, a
// synced file is overwritten (its old block is freed, unsynced) and a new
// file needs a block: it must not get the old one. After a process death the
// synced contents must read back.
TEST_F(CrashTest, BlockFreedByAnUnsyncedChangeIsNotReusedBeforeItCommits) {
  ASSERT_NO_FATAL_FAILURE(CreateStore());
  const Ino f = CreateFile("f");
  ASSERT_TRUE(fs_->Write(f, 0, Bytes(kBlockSize, 'a')).ok());
  // Fill the first 16 MiB but for one block (block 0 is never allocated).
  const Ino ballast = CreateFile("ballast");
  const uint64_t ballast_blocks = store_->capacity_blocks() - store_->used_blocks() - 2;
  const std::string chunk(1 << 20, 'B');
  for (uint64_t at = 0; at < ballast_blocks * kBlockSize; at += chunk.size()) {
    const size_t n =
        static_cast<size_t>(std::min<uint64_t>(chunk.size(), ballast_blocks * kBlockSize - at));
    ASSERT_TRUE(fs_->Write(ballast, at, std::span<const char>(chunk.data(), n)).ok());
  }
  ASSERT_OK(store_->Flush());
  ASSERT_EQ(store_->capacity_blocks() - store_->used_blocks(), 2u);

  ASSERT_TRUE(fs_->Write(f, 0, Bytes(kBlockSize, 'b')).ok());  // takes the last block
  const Ino g = CreateFile("g");
  ASSERT_TRUE(fs_->Write(g, 0, Bytes(kBlockSize, 'c')).ok());  // must not take f's old one
  EXPECT_EQ(ReadAll(*fs_, f).value(), Bytes(kBlockSize, 'b'));
  EXPECT_EQ(ReadAll(*fs_, g).value(), Bytes(kBlockSize, 'c'));

  Crash();
  ASSERT_NO_FATAL_FAILURE(OpenStore());
  auto got = ReadAll(*fs_, f);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(*got == Bytes(kBlockSize, 'a')) << "f does not read back as synced";
  EXPECT_EQ(fs_->Lookup(kRootIno, "g").status().code(), Code::kNotFound);
  EXPECT_OK(store_->CheckInvariants());
}

// An fsync of a small write carries the data in its log record and leaves
// the data file unsynced (one flush, not two); after the power goes, the
// reopened store writes the data back from the log, and a second small
// write's data replaces the first's where it landed on the same file range.
TEST_F(CrashTest, SmallFsyncedWritesComeBackFromTheLogAfterAPowerLoss) {
  ASSERT_NO_FATAL_FAILURE(CreateStore());
  const Ino f = CreateFile("f");
  ASSERT_TRUE(fs_->Write(f, 0, Bytes(3 * kBlockSize, 'a')).ok());
  ASSERT_OK(store_->Flush());
  ASSERT_EQ(mem_->UnsyncedSectors(), 0u);

  ASSERT_TRUE(fs_->Write(f, kBlockSize, Bytes(kBlockSize, 'b')).ok());
  ASSERT_OK(fs_->Fsync(f));
  EXPECT_GT(mem_->UnsyncedSectors(), 0u)
      << "the fsync synced the data file: its data was not logged";
  ASSERT_TRUE(fs_->Write(f, 2 * kBlockSize, Bytes(kBlockSize / 2, 'c')).ok());
  ASSERT_OK(fs_->Fsync(f));
  ASSERT_TRUE(fs_->Write(f, 0, Bytes(kBlockSize, 'z')).ok());  // never synced

  std::string want = Bytes(3 * kBlockSize, 'a');
  want.replace(kBlockSize, kBlockSize, Bytes(kBlockSize, 'b'));
  want.replace(2 * kBlockSize, kBlockSize / 2, Bytes(kBlockSize / 2, 'c'));
  Crash();
  mem_->SimulatePowerLoss();
  ASSERT_NO_FATAL_FAILURE(OpenStore());
  auto got = ReadAll(*fs_, f);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(*got == want) << "f does not read back as fsync'd";
  EXPECT_EQ(mem_->UnsyncedSectors(), 0u) << "the written-back data was synced before its metadata";
  EXPECT_OK(store_->CheckInvariants());
  EXPECT_OK(snapshotter::Fsck(*store_).Run());
  auto data = snapshotter::Scrubber(*store_).Run({});
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  EXPECT_TRUE(data->damaged.empty()) << "a written-back block fails its checksum";
  EXPECT_GT(data->progress.blocks_checked, 0u);
}

// Past the limit an fsync syncs the data file instead of logging its data.
TEST_F(CrashTest, AnFsyncOfMuchDataSyncsTheDataFileInstead) {
  ASSERT_NO_FATAL_FAILURE(CreateStore());
  const Ino f = CreateFile("f");
  const std::string big = Bytes(2 << 20, 'm');
  ASSERT_TRUE(fs_->Write(f, 0, big).ok());
  ASSERT_OK(fs_->Fsync(f));
  EXPECT_EQ(mem_->UnsyncedSectors(), 0u) << "2 MiB went into the log rather than the data file";
  Crash();
  mem_->SimulatePowerLoss();
  ASSERT_NO_FATAL_FAILURE(OpenStore());
  auto got = ReadAll(*fs_, f);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(*got == big);
}

// A process that dies after growing the data file, before the commit that
// records the new free-map groups, leaves a data file larger than the free
// map. The store must open (it does) and grow again when it runs out of
// blocks, rather than asking the device to shrink.
TEST_F(CrashTest, DataFileGrownByADeadProcessGrowsAgain) {
  ASSERT_NO_FATAL_FAILURE(CreateStore());
  const Ino f = CreateFile("f");
  ASSERT_TRUE(fs_->Write(f, 0, Bytes(kBlockSize, 'a')).ok());
  ASSERT_OK(store_->Flush());
  ASSERT_EQ(store_->capacity_blocks(), index::kFreeMapGroupBlocks);
  // 17 MiB more needs two more 16 MiB groups: the device grows twice, and
  // nothing commits.
  const Ino big = CreateFile("big");
  const std::string data = Bytes(17 << 20, 'x');
  ASSERT_TRUE(fs_->Write(big, 0, data).ok());
  ASSERT_TRUE(fs_->Write(big, 17 << 20, data).ok());
  ASSERT_EQ(store_->capacity_blocks(), 3 * index::kFreeMapGroupBlocks);
  Crash();

  ASSERT_NO_FATAL_FAILURE(OpenStore());
  EXPECT_EQ(store_->capacity_blocks(), index::kFreeMapGroupBlocks);
  EXPECT_EQ(mem_->SizeBytes(), 3 * uint64_t{index::kFreeMapGroupBlocks} * kBlockSize);
  const Ino big2 = CreateFile("big");
  auto w = fs_->Write(big2, 0, data);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  ASSERT_OK(store_->Flush());
  ASSERT_NO_FATAL_FAILURE(OpenStore());
  auto got = ReadAll(*fs_, big2);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(*got == data);
  EXPECT_EQ(ReadAll(*fs_, f).value(), Bytes(kBlockSize, 'a'));
  EXPECT_OK(store_->CheckInvariants());
}

INSTANTIATE_TEST_SUITE_P(Seeds, PowerLossTest, ::testing::Range(0, 48));

}  // namespace
}  // namespace hoodyfs::testing
