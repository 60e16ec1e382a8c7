#include "index/block_allocator.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "index/keys.h"
#include "index/schema.h"
#include "index/test_util.h"

namespace hoodyfs::index {
namespace {

using testutil::OpenStore;
using testutil::TempDir;

constexpr uint64_t kGroup = kFreeMapGroupBlocks;

std::set<uint64_t> Blocks(const std::vector<BlockRun>& runs) {
  std::set<uint64_t> out;
  for (const BlockRun& r : runs) {
    for (uint32_t i = 0; i < r.count; ++i) {
      EXPECT_TRUE(out.insert(r.start.value + i).second) << "runs overlap at " << r.start.value + i;
    }
  }
  return out;
}

class BlockAllocatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.File("meta.lmdb");
    ASSERT_NO_FATAL_FAILURE(OpenStore(path_, &store_));
  }

  void AddGroups(uint64_t n) {
    WriteScope w(*store_);
    alloc_.AddGroups(w, n);
    w.Commit();
  }

  // Allocates a run and checks it against `used`, the blocks the test knows
  // are taken (used or quarantined), then records it there.
  Result<BlockRun> Allocate(uint32_t max_blocks, std::set<uint64_t>* taken) {
    WriteScope w(*store_);
    Result<BlockRun> r = alloc_.Allocate(w, max_blocks);
    if (!r.ok()) return r;
    EXPECT_GE(r->count, 1u);
    EXPECT_LE(r->count, max_blocks);
    EXPECT_LE(r->start.value + r->count, alloc_.capacity_blocks());
    // A run never straddles two free-map groups.
    EXPECT_EQ(r->start.value / kGroup, (r->start.value + r->count - 1) / kGroup);
    for (uint32_t i = 0; i < r->count; ++i) {
      const uint64_t b = r->start.value + i;
      EXPECT_TRUE(taken->insert(b).second) << "block " << b << " handed out twice";
      EXPECT_TRUE(alloc_.IsUsed(BlockNo(b)));
    }
    w.Commit();
    return r;
  }

  uint64_t Free(uint64_t block) {
    WriteScope w(*store_);
    alloc_.Free(w, BlockNo(block));
    const uint64_t epoch = w.epoch();
    w.Commit();
    return epoch;
  }

  // Flushes, reopens the store and loads a fresh allocator from it.
  void FlushReopenLoad() {
    ASSERT_TRUE(store_->Flush().ok());
    ASSERT_NO_FATAL_FAILURE(OpenStore(path_, &store_));
    alloc_ = BlockAllocator();
    ReadScope r(*store_);
    Status s = alloc_.Load(r);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  TempDir dir_;
  std::string path_;
  std::unique_ptr<KvStore> store_;
  BlockAllocator alloc_;
};

TEST_F(BlockAllocatorTest, EmptyFileHasNoSpace) {
  EXPECT_EQ(alloc_.capacity_blocks(), 0u);
  WriteScope w(*store_);
  EXPECT_EQ(alloc_.Allocate(w, 1).status().code(), Code::kNoSpace);
  w.Commit();
}

TEST_F(BlockAllocatorTest, FillFreeQuarantineRelease) {
  const uint32_t seed = testutil::TestSeed();
  SCOPED_TRACE(testutil::SeedTrace(seed));
  std::mt19937 rng(seed);
  AddGroups(1);
  ASSERT_EQ(alloc_.capacity_blocks(), kGroup);

  // Fill the group: runs follow one another (next fit) and never overlap.
  // Block 0 is never handed out: it means "hole" in chunk maps.
  std::set<uint64_t> taken;
  uint64_t expected_start = 1;
  for (;;) {
    auto r = Allocate(1 + rng() % 300, &taken);
    if (!r.ok()) {
      ASSERT_EQ(r.status().code(), Code::kNoSpace) << r.status().ToString();
      break;
    }
    EXPECT_EQ(r->start.value, expected_start);
    expected_start += r->count;
  }
  ASSERT_EQ(taken.size(), kGroup - 1);
  EXPECT_EQ(alloc_.used_blocks(), kGroup - 1);

  // Free 300 random blocks: quarantined, not allocatable.
  std::set<uint64_t> freed;
  while (freed.size() < 300) freed.insert(1 + rng() % (kGroup - 1));
  uint64_t last_epoch = 0;
  for (uint64_t b : freed) {
    last_epoch = Free(b);
    EXPECT_FALSE(alloc_.IsUsed(BlockNo(b)));
  }
  EXPECT_EQ(alloc_.used_blocks(), kGroup - 1 - freed.size());
  EXPECT_EQ(alloc_.quarantined_blocks(), freed.size());
  {
    WriteScope w(*store_);
    EXPECT_EQ(alloc_.Allocate(w, 1).status().code(), Code::kNoSpace)
        << "a quarantined block was handed out";
    w.Commit();
  }
  // Releasing an epoch before the frees releases nothing.
  EXPECT_TRUE(alloc_.ReleaseQuarantine(last_epoch - 1).empty());
  EXPECT_EQ(alloc_.quarantined_blocks(), freed.size());

  // Once the freeing commit is durable, exactly those blocks come back.
  ASSERT_TRUE(store_->Flush().ok());
  ASSERT_GE(store_->DurableEpoch(), last_epoch);
  const std::vector<BlockRun> released = alloc_.ReleaseQuarantine(store_->DurableEpoch());
  EXPECT_EQ(Blocks(released), freed);
  EXPECT_EQ(alloc_.quarantined_blocks(), 0u);
  EXPECT_TRUE(alloc_.ReleaseQuarantine(store_->DurableEpoch()).empty());  // only once

  std::set<uint64_t> again;
  for (;;) {
    auto r = Allocate(1 + rng() % 8, &again);
    if (!r.ok()) break;
  }
  EXPECT_EQ(again, freed);
  EXPECT_EQ(alloc_.used_blocks(), kGroup - 1);
}

TEST_F(BlockAllocatorTest, QuarantineIsReleasedPerEpoch) {
  AddGroups(1);
  std::set<uint64_t> taken;
  ASSERT_TRUE(Allocate(100, &taken).ok());
  const uint64_t e1 = Free(10);
  const uint64_t e1b = Free(11);
  EXPECT_EQ(e1, e1b);  // same memtable, same epoch
  ASSERT_TRUE(store_->Flush().ok());
  const uint64_t e2 = Free(20);
  EXPECT_GT(e2, e1);
  EXPECT_EQ(alloc_.quarantined_blocks(), 3u);

  // Only the first epoch is durable: block 20 stays quarantined.
  const auto first = alloc_.ReleaseQuarantine(store_->DurableEpoch());
  EXPECT_EQ(Blocks(first), (std::set<uint64_t>{10, 11}));
  ASSERT_EQ(first.size(), 1u);  // adjacent frees come back as one run
  EXPECT_EQ(first[0].start.value, 10u);
  EXPECT_EQ(first[0].count, 2u);
  EXPECT_EQ(alloc_.quarantined_blocks(), 1u);

  ASSERT_TRUE(store_->Flush().ok());
  EXPECT_EQ(Blocks(alloc_.ReleaseQuarantine(store_->DurableEpoch())), std::set<uint64_t>{20});
  EXPECT_EQ(alloc_.quarantined_blocks(), 0u);
}

// Released blocks are not punched at release: they stay "unpunched" until
// the owner takes them in runs to punch (reserved meanwhile) or a write
// reuses them.
TEST_F(BlockAllocatorTest, ReleasedBlocksStayUnpunchedUntilTakenOrReused) {
  AddGroups(1);
  std::set<uint64_t> taken;
  while (Allocate(4096, &taken).ok()) {
  }
  for (uint64_t b = 100; b < 400; ++b) Free(b);  // one run of 300
  Free(500);
  Free(600);
  Free(601);
  EXPECT_EQ(alloc_.unpunched_blocks(), 0u) << "quarantined blocks are not released yet";
  ASSERT_TRUE(store_->Flush().ok());
  alloc_.ReleaseQuarantine(store_->DurableEpoch());
  EXPECT_EQ(alloc_.unpunched_blocks(), 303u);

  // Only runs of the asked length are taken; shorter ones stay for reuse.
  std::vector<BlockRun> runs;
  {
    WriteScope w(*store_);
    runs = alloc_.TakeUnpunched(256, 64);
    w.Commit();
  }
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].start.value, 100u);
  EXPECT_EQ(runs[0].count, 300u);
  EXPECT_EQ(alloc_.unpunched_blocks(), 3u);
  // While taken (being punched), nothing is allocated there.
  std::set<uint64_t> during;
  while (Allocate(4096, &during).ok()) {
  }
  EXPECT_EQ(during, (std::set<uint64_t>{500, 600, 601}));
  // Reuse forgets the unpunched blocks: nothing is left to punch.
  EXPECT_EQ(alloc_.unpunched_blocks(), 0u);
  {
    WriteScope w(*store_);
    EXPECT_TRUE(alloc_.TakeUnpunched(1, 64).empty());
    alloc_.Unreserve(runs[0]);
    w.Commit();
  }
  std::set<uint64_t> after;
  while (Allocate(4096, &after).ok()) {
  }
  EXPECT_EQ(after.size(), 300u);
  EXPECT_EQ(*after.begin(), 100u);
  EXPECT_EQ(alloc_.unpunched_blocks(), 0u);
}

TEST_F(BlockAllocatorTest, TakeUnpunchedStopsAtMaxRuns) {
  AddGroups(1);
  std::set<uint64_t> taken;
  ASSERT_TRUE(Allocate(100, &taken).ok());
  for (uint64_t b : {10, 20, 30, 40}) Free(b);
  ASSERT_TRUE(store_->Flush().ok());
  alloc_.ReleaseQuarantine(store_->DurableEpoch());
  WriteScope w(*store_);
  const std::vector<BlockRun> first = alloc_.TakeUnpunched(1, 3);
  EXPECT_EQ(Blocks(first), (std::set<uint64_t>{10, 20, 30}));
  EXPECT_EQ(alloc_.unpunched_blocks(), 1u);
  EXPECT_EQ(Blocks(alloc_.TakeUnpunched(1, 3)), std::set<uint64_t>{40});
  EXPECT_EQ(alloc_.unpunched_blocks(), 0u);
  w.Commit();
}

TEST_F(BlockAllocatorTest, FreeBlockBeforeTheCursorIsFoundOnTheSecondPass) {
  AddGroups(1);
  std::set<uint64_t> taken;
  while (Allocate(4096, &taken).ok()) {
  }
  Free(5);
  Free(4000);
  ASSERT_TRUE(store_->Flush().ok());
  alloc_.ReleaseQuarantine(store_->DurableEpoch());
  taken.erase(5);
  taken.erase(4000);
  auto a = Allocate(10, &taken);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->start.value, 5u);
  EXPECT_EQ(a->count, 1u);
  // The cursor is now after 5; free 3 (behind it) and use up 4000.
  auto b = Allocate(10, &taken);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->start.value, 4000u);
  Free(3);
  ASSERT_TRUE(store_->Flush().ok());
  alloc_.ReleaseQuarantine(store_->DurableEpoch());
  taken.erase(3);
  auto c = Allocate(10, &taken);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->start.value, 3u);
  WriteScope w(*store_);
  EXPECT_EQ(alloc_.Allocate(w, 1).status().code(), Code::kNoSpace);
  w.Commit();
}

TEST_F(BlockAllocatorTest, AddGroupsGrowsCapacity) {
  AddGroups(1);
  std::set<uint64_t> taken;
  while (Allocate(1000, &taken).ok()) {
  }
  ASSERT_EQ(taken.size(), kGroup - 1);  // block 0 is never handed out
  AddGroups(2);
  EXPECT_EQ(alloc_.capacity_blocks(), 3 * kGroup);
  std::set<uint64_t> grown;
  while (Allocate(1000, &grown).ok()) {
  }
  ASSERT_EQ(grown.size(), 2 * kGroup);
  EXPECT_EQ(*grown.begin(), kGroup);
  EXPECT_EQ(*grown.rbegin(), 3 * kGroup - 1);
  EXPECT_EQ(alloc_.used_blocks(), 3 * kGroup - 1);
  // The new groups are in the free map too.
  ASSERT_NO_FATAL_FAILURE(FlushReopenLoad());
  EXPECT_EQ(alloc_.capacity_blocks(), 3 * kGroup);
  EXPECT_EQ(alloc_.used_blocks(), 3 * kGroup - 1);
}

// A reload of the free map (which shows freed blocks as free) must not
// release the quarantine: a reader may still reach those blocks.
TEST_F(BlockAllocatorTest, LoadKeepsQuarantinedBlocksQuarantined) {
  AddGroups(1);
  std::set<uint64_t> taken;
  while (Allocate(4096, &taken).ok()) {
  }
  const uint64_t epoch = Free(7);
  ASSERT_TRUE(store_->Flush().ok());
  {
    ReadScope r(*store_);
    Status s = alloc_.Load(r);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  EXPECT_EQ(alloc_.used_blocks(), kGroup - 2);  // block 0 and block 7 are not used
  EXPECT_EQ(alloc_.quarantined_blocks(), 1u);
  EXPECT_FALSE(alloc_.IsUsed(BlockNo(7)));
  {
    WriteScope w(*store_);
    auto r = alloc_.Allocate(w, 1);
    EXPECT_EQ(r.status().code(), Code::kNoSpace)
        << "quarantined block " << (r.ok() ? r->start.value : 0) << " handed out after Load";
    w.Commit();
  }
  EXPECT_EQ(Blocks(alloc_.ReleaseQuarantine(epoch)), std::set<uint64_t>{7});
  std::set<uint64_t> again;
  auto r = Allocate(1, &again);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->start.value, 7u);
}

TEST_F(BlockAllocatorTest, LoadRejectsMalformedFreeMap) {
  {
    WriteScope w(*store_);
    w.Put(Table::kFreeMap, FreeMapKey(0), std::string(512, '\0'));
    w.Put(Table::kFreeMap, FreeMapKey(2), std::string(512, '\0'));  // group 1 missing
    w.Commit();
  }
  {
    ReadScope r(*store_);
    EXPECT_EQ(alloc_.Load(r).code(), Code::kCorruption);
  }
  {
    WriteScope w(*store_);
    w.Delete(Table::kFreeMap, FreeMapKey(2));
    w.Put(Table::kFreeMap, FreeMapKey(1), std::string(100, '\0'));  // short bitmap
    w.Commit();
  }
  ReadScope r(*store_);
  BlockAllocator fresh;
  EXPECT_EQ(fresh.Load(r).code(), Code::kCorruption);
}

// Random allocations and frees over several groups, with durable epochs
// released as flushes happen, against a model of used and quarantined
// blocks; Flush+reopen+Load must reproduce the used set exactly.
TEST_F(BlockAllocatorTest, RandomOperationsMatchModel) {
  const uint32_t seed = testutil::TestSeed();
  SCOPED_TRACE(testutil::SeedTrace(seed));
  std::mt19937 rng(seed);
  AddGroups(3);
  std::set<uint64_t> used;
  std::map<uint64_t, std::set<uint64_t>> quarantine;  // epoch -> blocks
  size_t quarantined = 0;
  int no_space = 0, reloads = 0;
  for (int op = 0; op < 3000; ++op) {
    SCOPED_TRACE("op " + std::to_string(op));
    const int pick = static_cast<int>(rng() % 100);
    if (pick < 50) {
      std::set<uint64_t> run;
      auto r = Allocate(1 + rng() % 200, &run);
      if (!r.ok()) {
        ASSERT_EQ(r.status().code(), Code::kNoSpace);
        ASSERT_EQ(used.size() + quarantined + 1, alloc_.capacity_blocks())
            << "NoSpace with free blocks left";
        ++no_space;
        continue;
      }
      for (uint64_t b : run) {
        ASSERT_TRUE(used.insert(b).second) << "block " << b << " is already in use";
        for (const auto& [e, blocks] : quarantine) {
          ASSERT_FALSE(blocks.contains(b)) << "block " << b << " is quarantined";
        }
      }
    } else if (pick < 85) {
      if (used.empty()) continue;
      auto it = used.lower_bound(rng() % alloc_.capacity_blocks());
      if (it == used.end()) it = used.begin();
      const uint64_t b = *it;
      used.erase(it);
      quarantine[Free(b)].insert(b);
      ++quarantined;
    } else if (pick < 95) {
      ASSERT_TRUE(store_->Flush().ok());
      const uint64_t durable = store_->DurableEpoch();
      std::set<uint64_t> expect;
      for (auto it = quarantine.begin(); it != quarantine.end() && it->first <= durable;) {
        expect.insert(it->second.begin(), it->second.end());
        it = quarantine.erase(it);
      }
      quarantined -= expect.size();
      ASSERT_EQ(Blocks(alloc_.ReleaseQuarantine(durable)), expect);
    } else if (pick < 97) {
      // The same allocator reloads the map: its quarantine must survive.
      ReadScope r(*store_);
      Status s = alloc_.Load(r);
      ASSERT_TRUE(s.ok()) << s.ToString();
    } else if (pick < 99) {
      // A restart: quarantined frees are durable (flushed), so they load as free.
      ASSERT_NO_FATAL_FAILURE(FlushReopenLoad());
      quarantine.clear();
      quarantined = 0;
      ++reloads;
    } else if (alloc_.capacity_blocks() < 5 * kGroup) {
      AddGroups(1);
    }
    ASSERT_EQ(alloc_.used_blocks(), used.size());
    ASSERT_EQ(alloc_.quarantined_blocks(), quarantined);
  }
  ASSERT_NO_FATAL_FAILURE(FlushReopenLoad());
  EXPECT_EQ(alloc_.used_blocks(), used.size());
  EXPECT_EQ(alloc_.quarantined_blocks(), 0u);
  for (uint64_t b = 0; b < alloc_.capacity_blocks(); ++b) {
    ASSERT_EQ(alloc_.IsUsed(BlockNo(b)), used.contains(b)) << "block " << b;
  }
  EXPECT_GT(no_space, 0);
  EXPECT_GT(reloads, 0);
}

}  // namespace
}  // namespace hoodyfs::index
