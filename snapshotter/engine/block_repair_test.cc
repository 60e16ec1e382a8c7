// BlockRepairer on a real store (LMDB, the data file): a block damaged on
// disk, rewritten with its own bytes, reads right in every view that holds
// it and scrubs clean; bytes that are not the block's are refused and
// nothing is written; a block freed or reused since the scrub is left alone.
#include "snapshotter/engine/block_repair.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "base/testing/data_file_blocks.h"
#include "base/testing/temp_dir.h"
#include "blockstore/checksum.h"
#include "snapshotter/engine/filesystem.h"
#include "snapshotter/engine/scrub.h"
#include "snapshotter/engine/store.h"

namespace hoodyfs::snapshotter {
namespace {

class BlockRepairTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(Store::Init(dir_.File("store")).ok());
    StoreOptions options;
    options.flush_interval_ms = 0;
    store_ = Store::Open(dir_.File("store"), std::move(options)).value();
    ASSERT_TRUE(store_->CreateContainer("c").ok());
  }
  void TearDown() override {
    Status s = store_->CheckInvariants();
    EXPECT_TRUE(s.ok()) << s.ToString();
  }

  FileSystem Head() { return store_->Head("c").value(); }

  Ino Put(FileSystem& fs, const std::string& name, const std::string& data) {
    Ino ino = fs.Mknod(kRootIno, name, S_IFREG | 0644, 0, {}).value().ino;
    EXPECT_TRUE(fs.Write(ino, 0, data).ok());
    return ino;
  }
  static std::string Block(char fill, const std::string& tag) {
    std::string b(kBlockSize, fill);
    b.replace(0, tag.size(), tag);
    return b;
  }
  // Flips a byte of the data file's block holding `content`; its number.
  uint64_t Damage(const std::string& content) {
    const std::vector<uint64_t> blocks = testing::BlocksHolding(dir_.File("store/data"), content);
    EXPECT_EQ(blocks.size(), 1u) << "the content is in one block";
    if (blocks.empty()) return 0;
    EXPECT_TRUE(testing::FlipByte(dir_.File("store/data"), blocks[0] * kBlockSize + 100));
    return blocks[0];
  }
  std::string BlockOnDisk(uint64_t block) {
    return testing::ReadDataBlock(dir_.File("store/data"), block);
  }
  ScrubReport Scrub() {
    Result<ScrubReport> r = Scrubber(*store_).Run({});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *std::move(r) : ScrubReport{};
  }
  Result<BlockRepairResult> Repair(uint64_t block, const std::string& bytes,
                                   uint64_t checksum = 0) {
    if (checksum == 0) checksum = blockstore::BlockChecksum(bytes.data());
    return BlockRepairer(*store_).Repair(
        BlockNo(block), checksum,
        std::span<const std::byte>(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()));
  }

  Result<BlockRepairResult> RepairToRecord(uint64_t block, const std::string& bytes) {
    return BlockRepairer(*store_).RepairToRecord(
        BlockNo(block),
        std::span<const std::byte>(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()));
  }

  testing::TempDir dir_ = testing::TempDir::Create().value();
  std::unique_ptr<Store> store_;
};

TEST_F(BlockRepairTest, TheBlocksOwnBytesRepairItInEveryViewThatHoldsIt) {
  FileSystem fs = Head();
  const Ino ino = Put(fs, "shared", Block('s', "s0") + Block('s', "s1"));
  const GenId snap = store_->Freeze("c").value();
  const uint64_t block = Damage(Block('s', "s1"));
  const ScrubReport damaged = Scrub();
  ASSERT_EQ(damaged.damaged.size(), 1u);
  ASSERT_EQ(damaged.damaged[0].block.value, block);
  const uint64_t checksum = damaged.damaged[0].checksum;
  EXPECT_EQ(checksum, blockstore::BlockChecksum(Block('s', "s1").data()));

  Result<BlockRepairResult> r = Repair(block, Block('s', "s1"), checksum);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, BlockRepairResult::kRepaired);
  EXPECT_EQ(BlockOnDisk(block), Block('s', "s1"));
  EXPECT_TRUE(Scrub().damaged.empty());
  std::string buf(kBlockSize, '\0');
  std::vector<FileSystem> views;
  views.push_back(Head());
  views.push_back(store_->AtGeneration(snap).value());
  for (FileSystem& view : views) {
    Result<size_t> n = view.Read(ino, kBlockSize, buf);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    EXPECT_EQ(buf, Block('s', "s1"));
  }
  // Asked again: the disk is right already, nothing is written.
  Result<BlockRepairResult> again = Repair(block, Block('s', "s1"), checksum);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again, BlockRepairResult::kAlreadyGood);
}

TEST_F(BlockRepairTest, BytesThatAreNotTheBlocksAreRefusedAndNothingIsWritten) {
  FileSystem fs = Head();
  Put(fs, "f", Block('f', "f0"));
  const uint64_t block = Damage(Block('f', "f0"));
  const std::string before = BlockOnDisk(block);
  const uint64_t checksum = blockstore::BlockChecksum(Block('f', "f0").data());
  Result<BlockRepairResult> wrong = Repair(block, Block('x', "f0"), checksum);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), Code::kInvalidArgument);
  EXPECT_NE(wrong.status().ToString().find("nothing written"), std::string::npos)
      << wrong.status().ToString();
  Result<BlockRepairResult> short_bytes = Repair(block, "f0", checksum);
  ASSERT_FALSE(short_bytes.ok());
  EXPECT_EQ(short_bytes.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(BlockOnDisk(block), before);
  EXPECT_EQ(Scrub().damaged.size(), 1u);
}

TEST_F(BlockRepairTest, ABlockFreedOrReusedSinceTheScrubIsLeftAlone) {
  FileSystem fs = Head();
  Put(fs, "gone", Block('g', "g0"));
  const uint64_t block = Damage(Block('g', "g0"));
  const uint64_t checksum = Scrub().damaged.at(0).checksum;
  ASSERT_TRUE(fs.Unlink(kRootIno, "gone").ok());
  ASSERT_TRUE(store_->Flush().ok());
  Result<BlockRepairResult> freed = Repair(block, Block('g', "g0"), checksum);
  ASSERT_TRUE(freed.ok()) << freed.status().ToString();
  EXPECT_EQ(*freed, BlockRepairResult::kNoLongerInUse);
  EXPECT_NE(BlockOnDisk(block), Block('g', "g0"));  // not written

  // The block reused by another file: its record carries another checksum.
  ASSERT_TRUE(store_->Flush().ok());
  const Ino other = Put(fs, "other", Block('o', "o0"));
  Result<BlockRepairResult> reused = Repair(block, Block('g', "g0"), checksum);
  ASSERT_TRUE(reused.ok()) << reused.status().ToString();
  EXPECT_TRUE(*reused == BlockRepairResult::kRecordChanged ||
              *reused == BlockRepairResult::kNoLongerInUse)
      << BlockRepairResultName(*reused);
  std::string buf(kBlockSize, '\0');
  ASSERT_TRUE(fs.Read(other, 0, buf).ok());
  EXPECT_EQ(buf, Block('o', "o0"));
  EXPECT_TRUE(Scrub().damaged.empty());
}

// The daemon's form (bytes from a client it does not trust): the checksum
// is the record's, never the caller's.
TEST_F(BlockRepairTest, RepairToRecordTakesTheRecordsChecksumAndRefusesAnyOther) {
  FileSystem fs = Head();
  Put(fs, "f", Block('r', "r0"));
  const uint64_t block = Damage(Block('r', "r0"));
  const std::string before = BlockOnDisk(block);
  Result<BlockRepairResult> wrong = RepairToRecord(block, Block('x', "r0"));
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), Code::kInvalidArgument);
  EXPECT_NE(wrong.status().message().find("block " + std::to_string(block)), std::string::npos)
      << wrong.status().ToString();
  EXPECT_EQ(BlockOnDisk(block), before);
  Result<BlockRepairResult> unknown = RepairToRecord(block + 1000, Block('r', "r0"));
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), Code::kNotFound) << unknown.status().ToString();
  Result<BlockRepairResult> r = RepairToRecord(block, Block('r', "r0"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, BlockRepairResult::kRepaired);
  EXPECT_EQ(BlockOnDisk(block), Block('r', "r0"));
  EXPECT_TRUE(Scrub().damaged.empty());
}

// Readers of the damaged file race the repair: each read gives the
// block's right bytes or fails (kCorruption, EIO to a mount), never other
// bytes; once the repair returns, every read is right.
TEST_F(BlockRepairTest, ReadersRacingARepairGetTheRightBytesOrAnErrorNeverOthers) {
  FileSystem fs = Head();
  const std::string data = Block('q', "q0") + Block('q', "q1");
  const Ino ino = Put(fs, "hot", data);
  const uint64_t block = Damage(Block('q', "q1"));
  std::atomic<bool> repaired{false};
  std::atomic<uint64_t> wrong{0}, failed{0}, right{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      FileSystem view = store_->Head("c").value();
      std::string buf(data.size(), '\0');
      // Until a read after the repair returned: one read at least each.
      for (bool after = false; !after;) {
        after = repaired.load();
        Result<size_t> n = view.Read(ino, 0, buf);
        if (!n.ok()) {
          failed.fetch_add(1);
          if (after) wrong.fetch_add(1);  // still failing after the repair
        } else if (*n != data.size() || buf != data) {
          wrong.fetch_add(1);
        } else {
          right.fetch_add(1);
        }
      }
    });
  }
  Result<BlockRepairResult> r = RepairToRecord(block, Block('q', "q1"));
  repaired.store(true);
  for (std::thread& t : readers) t.join();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, BlockRepairResult::kRepaired);
  EXPECT_EQ(wrong.load(), 0u) << failed.load() << " failed, " << right.load() << " right";
  EXPECT_GE(right.load(), 3u);
}

}  // namespace
}  // namespace hoodyfs::snapshotter
