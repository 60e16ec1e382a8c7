#include "snapshotter/engine/changes_between.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <string>

#include "base/testing/temp_dir.h"
#include "snapshotter/engine/filesystem.h"
#include "snapshotter/engine/store.h"

namespace hoodyfs::snapshotter {
namespace {

class ChangesBetweenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(Store::Init(dir_.File("store")).ok());
    StoreOptions options;
    options.flush_interval_ms = 0;
    store_ = Store::Open(dir_.File("store"), std::move(options)).value();
    ASSERT_TRUE(store_->CreateContainer("c").ok());
    fs_.emplace(store_->Head("c").value());
  }
  Ino File(Ino dir, const std::string& name) {
    return fs_->Mknod(dir, name, S_IFREG | 0644, 0, {}).value().ino;
  }
  ChangedKeys Changed(GenId a, GenId b, uint64_t max = 1u << 20) {
    auto r = ChangedBetween(*store_, a, b, max);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_TRUE(r.ok() && r->has_value());
    return r.ok() && r->has_value() ? **r : ChangedKeys();
  }
  static bool Has(const std::vector<Ino>& v, Ino ino) {
    return std::find(v.begin(), v.end(), ino) != v.end();
  }
  static bool HasName(const ChangedKeys& k, Ino parent, const std::string& name) {
    return std::find(k.names.begin(), k.names.end(), std::make_pair(parent, name)) != k.names.end();
  }

  testing::TempDir dir_ = testing::TempDir::Create().value();
  std::unique_ptr<Store> store_;
  std::optional<FileSystem> fs_;
};

TEST_F(ChangesBetweenTest, ListsWhatDiffersAndNothingElse) {
  const Ino dir = fs_->Mkdir(kRootIno, "d", 0755, {}).value().ino;
  const Ino same = File(dir, "same");
  const Ino edited = File(dir, "edited");
  const Ino gone = File(kRootIno, "gone");
  const GenId snap = store_->Freeze("c").value();
  ASSERT_TRUE(fs_->Write(edited, 0, std::string("new bytes")).ok());
  ASSERT_TRUE(fs_->Unlink(kRootIno, "gone").ok());
  const Ino added = File(kRootIno, "added");
  const GenId old_head = store_->HeadOf("c").value();
  const GenId new_head = store_->Branch("c", snap).value();

  const ChangedKeys k = Changed(old_head, new_head);
  EXPECT_TRUE(Has(k.inodes, edited));
  EXPECT_TRUE(Has(k.inodes, gone));
  EXPECT_TRUE(Has(k.inodes, added));
  EXPECT_TRUE(Has(k.inodes, kRootIno));  // its entries changed
  EXPECT_FALSE(Has(k.inodes, same));
  EXPECT_FALSE(Has(k.inodes, dir));
  EXPECT_TRUE(HasName(k, kRootIno, "gone"));
  EXPECT_TRUE(HasName(k, kRootIno, "added"));
  EXPECT_FALSE(HasName(k, dir, "same"));
  EXPECT_FALSE(HasName(k, dir, "edited"));  // the entry still names the same inode
  EXPECT_TRUE(std::is_sorted(k.inodes.begin(), k.inodes.end()));
  EXPECT_GT(k.records_read, 0u);
  // Symmetric: the same keys from either side.
  const ChangedKeys back = Changed(new_head, old_head);
  EXPECT_EQ(back.inodes, k.inodes);
  EXPECT_EQ(back.names, k.names);
}

TEST_F(ChangesBetweenTest, AcrossBranchesItReadsBothSidesOfTheCommonAncestor) {
  const Ino f = File(kRootIno, "f");
  const GenId base = store_->Freeze("c").value();
  ASSERT_TRUE(fs_->Write(f, 0, std::string("branch one")).ok());
  const GenId one = store_->Freeze("c").value();
  ASSERT_TRUE(store_->Branch("c", base).ok());
  const Ino g = File(kRootIno, "g");
  const GenId two_head = store_->HeadOf("c").value();
  const ChangedKeys k = Changed(one, two_head);
  EXPECT_TRUE(Has(k.inodes, f));
  EXPECT_TRUE(Has(k.inodes, g));
  EXPECT_TRUE(HasName(k, kRootIno, "g"));
  EXPECT_FALSE(HasName(k, kRootIno, "f"));
}

TEST_F(ChangesBetweenTest, GivesUpPastItsBudget) {
  const GenId snap = store_->Freeze("c").value();
  for (int i = 0; i < 50; ++i) File(kRootIno, "f" + std::to_string(i));
  const GenId head = store_->HeadOf("c").value();
  const ChangedKeys all = Changed(snap, head);
  ASSERT_GE(all.records_read, 100u);
  auto capped = ChangedBetween(*store_, snap, head, all.records_read - 1);
  ASSERT_TRUE(capped.ok());
  EXPECT_FALSE(capped->has_value());
  auto exact = ChangedBetween(*store_, snap, head, all.records_read);
  ASSERT_TRUE(exact.ok());
  EXPECT_TRUE(exact->has_value());
}

TEST_F(ChangesBetweenTest, UnknownGenerationIsNotFound) {
  const GenId head = store_->HeadOf("c").value();
  auto r = ChangedBetween(*store_, head, GenId(999999), 100);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kNotFound);
}

}  // namespace
}  // namespace hoodyfs::snapshotter
