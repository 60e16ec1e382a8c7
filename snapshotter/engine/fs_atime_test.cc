// Access times (fs_atime.cc): the relatime, strictatime and noatime rules,
// reads and listings that move atime in the head but never in a frozen
// generation, and an update that waits for the group commit.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <optional>
#include <string>

#include "base/testing/temp_dir.h"
#include "snapshotter/engine/filesystem.h"
#include "snapshotter/engine/store.h"

namespace hoodyfs::snapshotter {
namespace {

using index::Timespec;

constexpr int64_t kDay = 24 * 60 * 60;

TEST(AtimeNeedsUpdateTest, FollowsLinuxRules) {
  const Timespec t0{1000, 0}, t1{2000, 0}, t2{3000, 0};
  // noatime: never.
  EXPECT_FALSE(AtimeNeedsUpdate(AtimeUpdate::kNever, t0, t1, t1, t2));
  // strictatime: whenever atime differs from now.
  EXPECT_TRUE(AtimeNeedsUpdate(AtimeUpdate::kAlways, t2, t0, t0, Timespec{3000, 1}));
  EXPECT_FALSE(AtimeNeedsUpdate(AtimeUpdate::kAlways, t2, t0, t0, t2));
  // relatime: mtime or ctime not before atime...
  EXPECT_TRUE(AtimeNeedsUpdate(AtimeUpdate::kRelative, t0, t1, t0, t2));
  EXPECT_TRUE(AtimeNeedsUpdate(AtimeUpdate::kRelative, t0, t0, t1, t2));
  EXPECT_TRUE(AtimeNeedsUpdate(AtimeUpdate::kRelative, t1, t1, t0, t2));  // equal counts
  // ...or atime a day old; else not.
  EXPECT_FALSE(AtimeNeedsUpdate(AtimeUpdate::kRelative, t1, t0, t0, t2));
  EXPECT_FALSE(AtimeNeedsUpdate(AtimeUpdate::kRelative, t1, t0, t0, Timespec{t1.sec + kDay - 1}));
  EXPECT_TRUE(AtimeNeedsUpdate(AtimeUpdate::kRelative, t1, t0, t0, Timespec{t1.sec + kDay}));
}

class AtimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(Store::Init(dir_.File("store")).ok());
    Open();
    ASSERT_TRUE(store_->CreateContainer("c1").ok());
    fs_.emplace(store_->Head("c1").value());
  }
  void TearDown() override {
    if (store_) {
      Status s = store_->CheckInvariants();
      EXPECT_TRUE(s.ok()) << s.ToString();
    }
  }
  void Open() {
    StoreOptions options;
    options.flush_interval_ms = 0;  // durability only when the test asks
    options.clock = [this] { return now_; };
    auto opened = Store::Open(dir_.File("store"), std::move(options));
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(opened).value();
  }
  Timespec AtimeOf(FileSystem& fs, Ino ino) { return fs.GetAttr(ino).value().atime; }
  // Reads one byte of `ino`.
  void ReadOne(FileSystem& fs, Ino ino, AtimeUpdate how) {
    char c = 0;
    auto n = fs.Read(ino, 0, std::span(&c, 1), how);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
  }
  Ino CreateFile() {
    auto e = fs_->Mknod(kRootIno, "f", S_IFREG | 0644, 0, {});
    EXPECT_TRUE(e.ok());
    EXPECT_TRUE(fs_->Write(e->ino, 0, "data").ok());
    return e->ino;
  }

  testing::TempDir dir_ = testing::TempDir::Create().value();
  Timespec now_{1'000'000, 0};
  std::unique_ptr<Store> store_;
  std::optional<FileSystem> fs_;
};

TEST_F(AtimeTest, RelatimeMovesAtimeOncePerChangeOrDay) {
  const Ino f = CreateFile();  // atime = mtime = ctime = now
  now_.sec += 10;
  ReadOne(*fs_, f, AtimeUpdate::kRelative);  // mtime not before atime: moves
  EXPECT_EQ(AtimeOf(*fs_, f), now_);
  const Timespec first = now_;
  now_.sec += 10;
  ReadOne(*fs_, f, AtimeUpdate::kRelative);  // nothing changed since: stays
  EXPECT_EQ(AtimeOf(*fs_, f), first);
  now_.sec += kDay;
  ReadOne(*fs_, f, AtimeUpdate::kRelative);  // a day later: moves
  EXPECT_EQ(AtimeOf(*fs_, f), now_);
  now_.sec += 10;
  ASSERT_TRUE(fs_->Write(f, 0, "x").ok());
  now_.sec += 10;
  ReadOne(*fs_, f, AtimeUpdate::kRelative);  // written since: moves
  EXPECT_EQ(AtimeOf(*fs_, f), now_);
  // ctime stays: an access is no change of the inode.
  EXPECT_EQ(fs_->GetAttr(f).value().ctime, (Timespec{now_.sec - 10, 0}));
}

TEST_F(AtimeTest, StrictatimeAlwaysAndNeverLeavesItAlone) {
  const Ino f = CreateFile();
  for (int i = 0; i < 3; ++i) {
    now_.sec += 1;
    ReadOne(*fs_, f, AtimeUpdate::kAlways);
    EXPECT_EQ(AtimeOf(*fs_, f), now_);
  }
  const Timespec before = now_;
  now_.sec += kDay * 2;
  ReadOne(*fs_, f, AtimeUpdate::kNever);
  EXPECT_EQ(AtimeOf(*fs_, f), before);
}

TEST_F(AtimeTest, ListingMovesTheDirectoryAtime) {
  auto d = fs_->Mkdir(kRootIno, "d", 0755, {});
  ASSERT_TRUE(d.ok());
  now_.sec += 10;
  ASSERT_TRUE(fs_->ReadDir(
                     d->ino, 0, [](const DirEntry&) { return true; }, AtimeUpdate::kRelative)
                  .ok());
  EXPECT_EQ(AtimeOf(*fs_, d->ino), now_);
}

TEST_F(AtimeTest, AFrozenGenerationKeepsItsAtime) {
  const Ino f = CreateFile();
  const Timespec created = now_;
  auto frozen = store_->Freeze("c1");
  ASSERT_TRUE(frozen.ok());
  FileSystem snap = store_->AtGeneration(*frozen).value();
  now_.sec += 10;
  ReadOne(snap, f, AtimeUpdate::kAlways);  // a read-only view: nothing to move
  EXPECT_EQ(AtimeOf(snap, f), created);
  fs_.emplace(store_->Head("c1").value());
  ReadOne(*fs_, f, AtimeUpdate::kAlways);  // the head moves, the snapshot does not
  EXPECT_EQ(AtimeOf(*fs_, f), now_);
  EXPECT_EQ(AtimeOf(snap, f), created);
}

TEST_F(AtimeTest, TheUpdateRidesTheNextGroupCommit) {
  const Ino f = CreateFile();
  ASSERT_TRUE(store_->Flush().ok());
  const Timespec created = now_;
  now_.sec += 10;
  ReadOne(*fs_, f, AtimeUpdate::kRelative);
  EXPECT_EQ(AtimeOf(*fs_, f), now_);
  // Not committed by the read: a crash now loses it, as it would lose any
  // change not yet covered by a commit or fsync.
  store_->SimulateCrashForTest();
  fs_.reset();
  store_.reset();
  Open();
  fs_.emplace(store_->Head("c1").value());
  EXPECT_EQ(AtimeOf(*fs_, f), created);
  // After a commit it stays.
  now_.sec += 10;
  ReadOne(*fs_, f, AtimeUpdate::kRelative);
  ASSERT_TRUE(store_->Flush().ok());
  fs_.reset();
  store_.reset();
  Open();
  fs_.emplace(store_->Head("c1").value());
  EXPECT_EQ(AtimeOf(*fs_, f), now_);
}

}  // namespace
}  // namespace hoodyfs::snapshotter
