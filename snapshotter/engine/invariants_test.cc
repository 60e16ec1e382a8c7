// One test per invariant of shared/design-notes.md that the engine alone can
// show (crash safety and checksums live in tests/crash/; the randomized
// model test covers point-in-time and immutability at scale).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>

#include "base/testing/temp_dir.h"
#include "snapshotter/engine/filesystem.h"
#include "snapshotter/engine/store.h"

namespace hoodyfs::snapshotter {
namespace {

class InvariantsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(Store::Init(dir_.File("store")).ok());
    StoreOptions options;
    options.flush_interval_ms = 0;
    store_ = Store::Open(dir_.File("store"), std::move(options)).value();
    ASSERT_TRUE(store_->CreateContainer("c").ok());
    fs_.emplace(store_->Head("c").value());
  }
  void TearDown() override {
    Status s = store_->CheckInvariants();
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  Ino Put(Ino dir, const std::string& name, const std::string& data) {
    auto found = fs_->Lookup(dir, name);
    Ino ino = found.ok() ? found->ino : fs_->Mknod(dir, name, S_IFREG | 0644, 0, {}).value().ino;
    EXPECT_TRUE(fs_->Write(ino, 0, data).ok());
    return ino;
  }
  std::string Get(FileSystem& fs, Ino ino) {
    std::string out(fs.GetAttr(ino)->size, '\0');
    EXPECT_TRUE(fs.Read(ino, 0, out).ok());
    return out;
  }

  testing::TempDir dir_ = testing::TempDir::Create().value();
  std::unique_ptr<Store> store_;
  std::optional<FileSystem> fs_;
};

// 1. Point in time: a frozen generation holds every write that returned
// before the freeze and none after.
TEST_F(InvariantsTest, FreezeIsPointInTime) {
  Ino f = Put(kRootIno, "log", "before");
  GenId g = store_->Freeze("c").value();
  ASSERT_TRUE(fs_->Write(f, 6, std::string("+after")).ok());
  FileSystem past = store_->AtGeneration(g).value();
  EXPECT_EQ(Get(past, f), "before");
  EXPECT_EQ(Get(*fs_, f), "before+after");
}

// 2. O(1): freeze and branch make the same number of metadata changes
// whether the container holds 10 files or 2000.
TEST_F(InvariantsTest, FreezeAndBranchDoWorkIndependentOfSize) {
  auto cost = [&](int files) {
    Ino d = fs_->Mkdir(kRootIno, "d" + std::to_string(files), 0755, {}).value().ino;
    for (int i = 0; i < files; ++i) Put(d, "f" + std::to_string(i), std::string(5000, 'x'));
    EXPECT_TRUE(store_->Flush().ok());
    const uint64_t before = store_->MutationCount();
    GenId g = store_->Freeze("c").value();
    const uint64_t freeze = store_->MutationCount() - before;
    EXPECT_TRUE(store_->Branch("c", g).ok());
    const uint64_t branch = store_->MutationCount() - before - freeze;
    return std::make_pair(freeze, branch);
  };
  const auto small = cost(10);
  const auto large = cost(2000);
  EXPECT_EQ(small, large);
  EXPECT_LE(small.first, 6u);
}

// 3. Immutable, and history branches: restoring an old generation leaves
// every other generation readable as it was.
TEST_F(InvariantsTest, BranchingNeverDestroysOtherGenerations) {
  Ino f = Put(kRootIno, "f", "v1");
  GenId g1 = store_->Freeze("c").value();
  Put(kRootIno, "f", "v2");
  GenId g2 = store_->Freeze("c").value();
  ASSERT_TRUE(store_->Branch("c", g1).ok());
  Put(kRootIno, "f", "v3");
  GenId g3 = store_->Freeze("c").value();
  ASSERT_TRUE(store_->Branch("c", g2).ok());
  for (auto [g, want] : {std::pair{g1, "v1"}, {g2, "v2"}, {g3, "v3"}}) {
    FileSystem past = store_->AtGeneration(g).value();
    EXPECT_EQ(Get(past, f), want) << "generation " << g.value;
  }
  EXPECT_EQ(Get(*fs_, f), "v2");
}

// 4. Shared storage: ten generations with a few changed blocks each cost the
// base plus the changes; a block is freed exactly when its last reference
// goes.
TEST_F(InvariantsTest, GenerationsShareUnchangedBlocks) {
  Ino f = Put(kRootIno, "big", std::string(4 << 20, 'b'));  // 1024 blocks
  const uint64_t base = store_->used_blocks();
  EXPECT_EQ(base, 1024u);
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(store_->Freeze("c").ok());
    // 5 scattered 4 KiB blocks change per generation.
    for (int k = 0; k < 5; ++k) {
      ASSERT_TRUE(fs_->Write(f, (i * 5 + k) * 81920, std::string(4096, 'a' + i)).ok());
    }
  }
  EXPECT_EQ(store_->used_blocks(), base + 10 * 5);
  // The head alone drops its own versions when the file goes; the frozen
  // generations keep theirs.
  ASSERT_TRUE(fs_->Unlink(kRootIno, "big").ok());
  EXPECT_EQ(store_->used_blocks(), base + 9 * 5);
}

// 7. Inode numbers are stable across generations.
TEST_F(InvariantsTest, InodeNumbersAreStableAcrossGenerations) {
  Ino d = fs_->Mkdir(kRootIno, "d", 0755, {}).value().ino;
  Ino f = Put(d, "f", "x");
  GenId g = store_->Freeze("c").value();
  ASSERT_TRUE(fs_->Rename(d, "f", kRootIno, "moved").ok());
  FileSystem past = store_->AtGeneration(g).value();
  EXPECT_EQ(past.Lookup(d, "f")->ino, f);
  EXPECT_EQ(fs_->Lookup(kRootIno, "moved")->ino, f);
}

}  // namespace
}  // namespace hoodyfs::snapshotter
