// Tests of FileSystem::Fallocate (fs_space.cc) and of lineage pinning
// (Lineage, PinnedTo): the engine pieces the FUSE layer builds fallocate(2)
// and restore-safe file handles on.
#include <gtest/gtest.h>
#include <linux/falloc.h>
#include <sys/stat.h>

#include <memory>
#include <optional>
#include <string>

#include "base/testing/status_macros.h"
#include "base/testing/temp_dir.h"
#include "snapshotter/engine/filesystem.h"
#include "snapshotter/engine/store.h"

namespace hoodyfs::snapshotter {
namespace {

constexpr uint64_t kB = kBlockSize;

class FsSpaceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(Store::Init(dir_.File("store")));
    StoreOptions options;
    options.flush_interval_ms = 0;
    auto opened = Store::Open(dir_.File("store"), std::move(options));
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(opened).value();
    ASSERT_OK(store_->CreateContainer("c1"));
    fs_.emplace(store_->Head("c1").value());
  }
  // What statfs counts as used (its total less its free), which the host's
  // free room, in both, leaves unchanged.
  uint64_t StatFsUsed() {
    const FsStats st = fs_->StatFs().value();
    return st.total_blocks - st.free_blocks;
  }
  void TearDown() override {
    if (store_) EXPECT_OK(store_->CheckInvariants());
  }
  // A file holding `size` bytes of a position-dependent pattern.
  Ino MakeFile(const std::string& name, uint64_t size) {
    auto e = fs_->Mknod(kRootIno, name, S_IFREG | 0644, 0, {});
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    const std::string data = Pattern(0, size);
    if (size > 0) {
      auto n = fs_->Write(e->ino, 0, data);
      EXPECT_TRUE(n.ok() && *n == size);
    }
    return e->ino;
  }
  static std::string Pattern(uint64_t from, uint64_t to) {
    std::string s;
    for (uint64_t i = from; i < to; ++i)
      s.push_back(static_cast<char>('a' + (i * 7 + i / 4096) % 26));
    return s;
  }
  static std::string ReadAll(FileSystem fs, Ino ino) {
    auto attr = fs.GetAttr(ino);
    EXPECT_TRUE(attr.ok());
    std::string out(attr.ok() ? attr->size : 0, '\0');
    auto n = fs.Read(ino, 0, out);
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    out.resize(n.ok() ? *n : 0);
    return out;
  }
  // The pattern with [from, to) zeroed.
  static std::string Zeroed(uint64_t size, uint64_t from, uint64_t to) {
    std::string s = Pattern(0, size);
    for (uint64_t i = from; i < to && i < size; ++i) s[i] = '\0';
    return s;
  }

  testing::TempDir dir_ = testing::TempDir::Create().value();
  std::unique_ptr<Store> store_;
  std::optional<FileSystem> fs_;
};

// A commit frees blocks without punching them (no host I/O on the fsync
// path); the space goes back in runs: whole deleted files at the background
// size, scattered blocks only when asked for every run (garbage collection).
TEST_F(FsSpaceTest, FreedBlocksStayForReuseAndAreGivenBackInRuns) {
  auto disk_bytes = [&] {
    struct stat st;
    EXPECT_EQ(::stat(dir_.File("store/data").c_str(), &st), 0);
    return uint64_t(st.st_blocks) * 512;
  };
  // Scattered frees: `small`'s two blocks, kept apart from the big run by
  // `spacer`, which stays.
  Ino small = MakeFile("small", 2 * kB);
  MakeFile("spacer", 2 * kB);
  MakeFile("big", 2 << 20);  // 512 blocks, one run
  ASSERT_OK(store_->Flush());
  ASSERT_OK(fs_->Unlink(kRootIno, "big"));
  const std::string fresh(2 * kB, 'z');
  ASSERT_TRUE(fs_->Write(small, 0, fresh).ok());  // frees the 2 old blocks
  ASSERT_OK(store_->Flush());
  EXPECT_EQ(store_->unpunched_blocks(), 514u) << "the commit released its frees without a punch";
  const uint64_t before = disk_bytes();

  // The background size takes the deleted file, not the two scattered blocks.
  EXPECT_EQ(store_->ReturnFreeSpace(Store::kBackgroundPunchBlocks), 512u);
  EXPECT_EQ(store_->unpunched_blocks(), 2u);
  EXPECT_LE(disk_bytes() + (2 << 20), before) << "the deleted file's blocks were not punched";
  EXPECT_EQ(store_->ReturnFreeSpace(Store::kBackgroundPunchBlocks), 0u);
  EXPECT_EQ(store_->ReturnFreeSpace(1), 2u);
  EXPECT_EQ(store_->unpunched_blocks(), 0u);

  // Punched space is allocatable again and holds what is written there.
  Ino again = MakeFile("again", 2 << 20);
  ASSERT_OK(store_->Flush());
  EXPECT_EQ(ReadAll(*fs_, again), Pattern(0, 2 << 20));
  EXPECT_EQ(ReadAll(*fs_, small), fresh);
}

TEST_F(FsSpaceTest, PunchHoleOverInheritedDataCopiesOnWrite) {
  const uint64_t size = 600 * 1024;  // several chunks
  Ino ino = MakeFile("f", size);
  auto frozen = store_->Freeze("c1");
  ASSERT_TRUE(frozen.ok());
  const uint64_t blocks_before = fs_->GetAttr(ino)->blocks_512;
  // Unaligned at both ends, across a chunk boundary.
  const uint64_t from = 3 * kB + 100, to = 100 * kB + 7;
  ASSERT_OK(fs_->Fallocate(ino, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, from, to - from));
  EXPECT_EQ(ReadAll(*fs_, ino), Zeroed(size, from, to));
  const uint64_t blocks_after = fs_->GetAttr(ino)->blocks_512;
  EXPECT_LT(blocks_after, blocks_before);
  EXPECT_EQ(fs_->GetAttr(ino)->size, size);
  // The frozen generation keeps every byte.
  auto old = store_->AtGeneration(*frozen);
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(ReadAll(*old, ino), Pattern(0, size));
  // Writing into the hole afterwards reads back, the rest stays zero.
  ASSERT_TRUE(fs_->Write(ino, 50 * kB, std::string(10, 'Z')).ok());
  std::string want = Zeroed(size, from, to);
  want.replace(50 * kB, 10, std::string(10, 'Z'));
  EXPECT_EQ(ReadAll(*fs_, ino), want);
}

TEST_F(FsSpaceTest, PunchInsideOneBlockAndPastTheEnd) {
  Ino ino = MakeFile("f", 3 * kB + 10);
  ASSERT_OK(fs_->Fallocate(ino, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, kB + 5, 20));
  EXPECT_EQ(ReadAll(*fs_, ino), Zeroed(3 * kB + 10, kB + 5, kB + 25));
  // Past the end: nothing changes, the size stays.
  ASSERT_OK(fs_->Fallocate(ino, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 3 * kB, 10 * kB));
  EXPECT_EQ(ReadAll(*fs_, ino),
            Zeroed(3 * kB + 10, kB + 5, kB + 25).substr(0, 3 * kB) + std::string(10, '\0'));
  EXPECT_EQ(fs_->GetAttr(ino)->size, 3 * kB + 10);
}

TEST_F(FsSpaceTest, ZeroRangeExtendsUnlessKeepSize) {
  Ino ino = MakeFile("f", 2 * kB);
  ASSERT_OK(fs_->Fallocate(ino, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, kB, 5 * kB));
  EXPECT_EQ(fs_->GetAttr(ino)->size, 2 * kB);
  EXPECT_EQ(ReadAll(*fs_, ino), Zeroed(2 * kB, kB, 2 * kB));
  ASSERT_OK(fs_->Fallocate(ino, FALLOC_FL_ZERO_RANGE, 100, 5 * kB));
  EXPECT_EQ(fs_->GetAttr(ino)->size, 5 * kB + 100);
  EXPECT_EQ(ReadAll(*fs_, ino), Pattern(0, 100) + std::string(5 * kB, '\0'));
}

TEST_F(FsSpaceTest, AllocateMovesTheSizeAndKeepsTheBytes) {
  Ino ino = MakeFile("f", 10);
  ASSERT_OK(fs_->Fallocate(ino, FALLOC_FL_KEEP_SIZE, 0, 1 << 20));
  EXPECT_EQ(fs_->GetAttr(ino)->size, 10u);
  ASSERT_OK(fs_->Fallocate(ino, 0, 0, 5));  // inside: no change
  EXPECT_EQ(fs_->GetAttr(ino)->size, 10u);
  ASSERT_OK(fs_->Fallocate(ino, 0, 4 * kB, 1 << 20));  // an inline file grows into a block
  EXPECT_EQ(fs_->GetAttr(ino)->size, 4 * kB + (1 << 20));
  EXPECT_EQ(ReadAll(*fs_, ino), Pattern(0, 10) + std::string(4 * kB + (1 << 20) - 10, '\0'));
}

// st_blocks in 512-byte units for `blocks` blocks.
constexpr uint64_t Sectors(uint64_t blocks) { return blocks * (kB / 512); }

// Allocate reserves the range's holes: the file reports them in st_blocks,
// the store counts them as used, they read as zeros, and a write into them
// draws on the reservation (st_blocks stays, the total drops).
TEST_F(FsSpaceTest, AllocateReservesTheRangesHoles) {
  Ino ino = MakeFile("f", 2 * kB);  // blocks 0 and 1 written
  const uint64_t used_before = StatFsUsed();
  ASSERT_OK(fs_->Fallocate(ino, 0, 0, 16 * kB));  // blocks 2..15 are holes
  EXPECT_EQ(store_->reserved_blocks(), 14u);
  EXPECT_EQ(fs_->GetAttr(ino)->blocks_512, Sectors(16));
  EXPECT_EQ(fs_->GetAttr(ino)->size, 16 * kB);
  EXPECT_EQ(fs_->Lookup(kRootIno, "f")->attr.blocks_512, Sectors(16));
  // statfs counts the reservation as used. Total less free, both from one
  // call, leaves out the host's free room, which other processes move
  // (CI saw it grow by a block between two calls).
  EXPECT_GE(StatFsUsed(), used_before + 14);
  EXPECT_EQ(ReadAll(*fs_, ino), Pattern(0, 2 * kB) + std::string(14 * kB, '\0'));
  // Reserving again what is reserved or written adds nothing.
  ASSERT_OK(fs_->Fallocate(ino, FALLOC_FL_KEEP_SIZE, kB, 8 * kB));
  EXPECT_EQ(store_->reserved_blocks(), 14u);

  ASSERT_TRUE(fs_->Write(ino, 4 * kB + 100, std::string(2 * kB, 'w')).ok());  // blocks 4-6
  EXPECT_EQ(store_->reserved_blocks(), 11u);
  EXPECT_EQ(fs_->GetAttr(ino)->blocks_512, Sectors(16));
  std::string want = Pattern(0, 2 * kB) + std::string(14 * kB, '\0');
  want.replace(4 * kB + 100, 2 * kB, std::string(2 * kB, 'w'));
  EXPECT_EQ(ReadAll(*fs_, ino), want);
}

// KEEP_SIZE reserves past the end; a truncate, a punch and the last unlink
// give back what they cover.
TEST_F(FsSpaceTest, TruncatePunchAndUnlinkReleaseReservations) {
  Ino ino = MakeFile("f", 0);
  ASSERT_OK(fs_->Fallocate(ino, FALLOC_FL_KEEP_SIZE, 0, 64 * kB));
  EXPECT_EQ(fs_->GetAttr(ino)->size, 0u);
  EXPECT_EQ(fs_->GetAttr(ino)->blocks_512, Sectors(64));
  EXPECT_EQ(store_->reserved_blocks(), 64u);
  // A punch of blocks 8..15, and of a partial block (kept).
  ASSERT_OK(fs_->Fallocate(ino, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 8 * kB, 8 * kB + 10));
  EXPECT_EQ(store_->reserved_blocks(), 56u);
  // A truncate to the size the file has drops what lies past it.
  SetAttrRequest truncate;
  truncate.size = 0;
  ASSERT_OK(fs_->SetAttr(ino, truncate).status());
  EXPECT_EQ(store_->reserved_blocks(), 0u);
  EXPECT_EQ(fs_->GetAttr(ino)->blocks_512, 0u);

  // A shrinking truncate drops what lies past the new end.
  ASSERT_OK(fs_->Fallocate(ino, 0, 0, 10 * kB));
  truncate.size = 2 * kB + 1;  // keeps blocks 0..2
  ASSERT_OK(fs_->SetAttr(ino, truncate).status());
  EXPECT_EQ(store_->reserved_blocks(), 3u);
  // The last unlink of an open file waits for the release.
  fs_->Open(ino);
  ASSERT_OK(fs_->Unlink(kRootIno, "f"));
  EXPECT_EQ(store_->reserved_blocks(), 3u);
  ASSERT_OK(fs_->Release(ino));
  EXPECT_EQ(store_->reserved_blocks(), 0u);
}

// More than the free room: kNoSpace, nothing reserved, the size unchanged;
// the rest of the room is still there for others, and writes that would
// take reserved room are refused.
TEST_F(FsSpaceTest, AllocateBeyondTheFreeRoomChangesNothing) {
  Ino ino = MakeFile("f", 10);
  const uint64_t avail = store_->AvailableBlocks();
  EXPECT_CODE(Code::kNoSpace, fs_->Fallocate(ino, 0, 0, 2 * avail * kB));
  EXPECT_CODE(Code::kNoSpace, fs_->Fallocate(ino, 0, 0, uint64_t{1} << 62));
  EXPECT_EQ(store_->reserved_blocks(), 0u);
  EXPECT_EQ(fs_->GetAttr(ino)->size, 10u);
  EXPECT_EQ(ReadAll(*fs_, ino), Pattern(0, 10));
}

// Reservations are metadata like any other: a reopen finds them.
TEST_F(FsSpaceTest, ReservationsSurviveAReopen) {
  Ino ino = MakeFile("f", 0);
  ASSERT_OK(fs_->Fallocate(ino, FALLOC_FL_KEEP_SIZE, 2 * kB, 25 * kB));
  ASSERT_OK(store_->Flush());
  fs_.reset();
  store_.reset();
  StoreOptions options;
  options.flush_interval_ms = 0;
  store_ = Store::Open(dir_.File("store"), std::move(options)).value();
  fs_.emplace(store_->Head("c1").value());
  EXPECT_EQ(store_->reserved_blocks(), 25u);
  EXPECT_EQ(fs_->GetAttr(ino)->blocks_512, Sectors(25));
}

// A freeze keeps the head's reservations (the frozen generation has holes
// there, and reports no reservation); a restore replaces the head and ends
// them.
TEST_F(FsSpaceTest, FreezeKeepsReservationsRestoreEndsThem) {
  Ino ino = MakeFile("f", 0);
  ASSERT_OK(fs_->Fallocate(ino, 0, 0, 16 * kB));
  auto frozen = store_->Freeze("c1");
  ASSERT_TRUE(frozen.ok());
  EXPECT_EQ(store_->reserved_blocks(), 16u);
  EXPECT_EQ(fs_->GetAttr(ino)->blocks_512, Sectors(16));
  EXPECT_EQ(store_->AtGeneration(*frozen)->GetAttr(ino)->blocks_512, 0u);
  ASSERT_TRUE(fs_->Write(ino, 0, std::string(kB, 'x')).ok());
  EXPECT_EQ(store_->reserved_blocks(), 15u);
  EXPECT_EQ(ReadAll(store_->AtGeneration(*frozen).value(), ino), std::string(16 * kB, '\0'));
  ASSERT_TRUE(store_->Branch("c1", *frozen).ok());
  EXPECT_EQ(store_->reserved_blocks(), 0u);
  EXPECT_EQ(fs_->GetAttr(ino)->blocks_512, 0u);
}

TEST_F(FsSpaceTest, InlineFilesPunchInPlace) {
  Ino ino = MakeFile("small", 1000);
  auto frozen = store_->Freeze("c1");
  ASSERT_TRUE(frozen.ok());
  ASSERT_OK(fs_->Fallocate(ino, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 10, 20));
  EXPECT_EQ(ReadAll(*fs_, ino), Zeroed(1000, 10, 30));
  EXPECT_EQ(ReadAll(store_->AtGeneration(*frozen).value(), ino), Pattern(0, 1000));
}

TEST_F(FsSpaceTest, RefusesWhatFallocateRefuses) {
  Ino ino = MakeFile("f", 10);
  Ino dir = fs_->Mkdir(kRootIno, "d", 0755, {})->ino;
  EXPECT_CODE(Code::kNotSupported, fs_->Fallocate(ino, FALLOC_FL_PUNCH_HOLE, 0, 1));
  EXPECT_CODE(Code::kNotSupported, fs_->Fallocate(ino, FALLOC_FL_COLLAPSE_RANGE, 0, kB));
  EXPECT_CODE(Code::kNotSupported, fs_->Fallocate(ino, FALLOC_FL_INSERT_RANGE, 0, kB));
  EXPECT_CODE(Code::kInvalidArgument, fs_->Fallocate(ino, 0, 0, 0));
  EXPECT_CODE(Code::kInvalidArgument, fs_->Fallocate(ino, 0, uint64_t{1} << 63, 1));
  EXPECT_CODE(Code::kIsDirectory, fs_->Fallocate(dir, 0, 0, 1));
  auto frozen = store_->Freeze("c1");
  EXPECT_CODE(Code::kReadOnly, store_->AtGeneration(*frozen)->Fallocate(ino, 0, 0, 1));
}

TEST_F(FsSpaceTest, LineageSurvivesFreezeAndChangesOnBranch) {
  auto l1 = fs_->Lineage();
  ASSERT_TRUE(l1.ok());
  EXPECT_NE(*l1, 0u);
  auto frozen = store_->Freeze("c1");
  ASSERT_TRUE(frozen.ok());
  EXPECT_EQ(*fs_->Lineage(), *l1);
  EXPECT_EQ(*store_->AtGeneration(*frozen)->Lineage(), 0u);
  ASSERT_TRUE(store_->Branch("c1", *frozen).ok());
  EXPECT_NE(*fs_->Lineage(), *l1);
}

TEST_F(FsSpaceTest, PinnedViewIsStaleAfterABranchOnly) {
  Ino ino = MakeFile("f", 2 * kB);
  Ino small = MakeFile("small", 10);
  auto frozen = store_->Freeze("c1");
  ASSERT_TRUE(frozen.ok());
  FileSystem pinned = fs_->PinnedTo(*fs_->Lineage());
  // A freeze keeps the lineage: the pinned view goes on working.
  ASSERT_TRUE(store_->Freeze("c1").ok());
  ASSERT_TRUE(pinned.Write(ino, 0, std::string("pinned")).ok());
  ASSERT_TRUE(store_->Branch("c1", *frozen).ok());
  char buf[16];
  EXPECT_CODE(Code::kStale, pinned.Read(ino, 0, buf).status());
  EXPECT_CODE(Code::kStale, pinned.Write(ino, 0, std::string("late")).status());
  EXPECT_CODE(Code::kStale, pinned.Write(small, 0, std::string("late")).status());
  EXPECT_CODE(Code::kStale, pinned.GetAttr(ino).status());
  SetAttrRequest truncate;
  truncate.size = 0;
  EXPECT_CODE(Code::kStale, pinned.SetAttr(ino, truncate).status());
  EXPECT_CODE(Code::kStale,
              pinned.Fallocate(ino, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, kB));
  // Nothing through the stale view landed in the restored tree.
  EXPECT_EQ(ReadAll(*fs_, ino), Pattern(0, 2 * kB));
  EXPECT_EQ(ReadAll(*fs_, small), Pattern(0, 10));
  // A view pinned to the new lineage works.
  FileSystem fresh = fs_->PinnedTo(*fs_->Lineage());
  EXPECT_TRUE(fresh.Write(ino, 0, std::string("new")).ok());
  // Pinning a frozen view is a no-op.
  FileSystem old = store_->AtGeneration(*frozen)->PinnedTo(7);
  EXPECT_EQ(ReadAll(old, ino), Pattern(0, 2 * kB));
}

TEST_F(FsSpaceTest, SetAttrTakesAnExplicitCtime) {
  Ino ino = MakeFile("f", 1);
  SetAttrRequest req;
  req.mtime = index::Timespec{100, 5};
  req.ctime = index::Timespec{200, 7};
  auto a = fs_->SetAttr(ino, req);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->ctime, (index::Timespec{200, 7}));
  EXPECT_EQ(fs_->GetAttr(ino)->ctime, (index::Timespec{200, 7}));
  EXPECT_EQ(fs_->GetAttr(ino)->mtime, (index::Timespec{100, 5}));
}

}  // namespace
}  // namespace hoodyfs::snapshotter
