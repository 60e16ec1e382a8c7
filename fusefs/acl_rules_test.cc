// acl_rules against a real engine store: what the FUSE layer does for the
// kernel when POSIX ACLs are on.
#include "fusefs/acl_rules.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "base/testing/status_macros.h"
#include "base/testing/temp_dir.h"
#include "snapshotter/engine/posix_acl.h"
#include "snapshotter/engine/store.h"

namespace hoodyfs::fusefs {
namespace {

using snapshotter::Acl;
using snapshotter::AclEntry;
using snapshotter::AclTag;
using snapshotter::FileSystem;
using snapshotter::kAclAccessXattr;
using snapshotter::kAclDefaultXattr;
using snapshotter::ParseAcl;
using snapshotter::Store;

class AclRulesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(Store::Init(dir_.File("store")));
    snapshotter::StoreOptions options;
    options.flush_interval_ms = 0;
    auto opened = Store::Open(dir_.File("store"), std::move(options));
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(opened).value();
    ASSERT_OK(store_->CreateContainer("c"));
    fs_.emplace(store_->Head("c").value());
  }
  uint32_t Mode(Ino ino) { return fs_->GetAttr(ino)->mode; }

  testing::TempDir dir_ = testing::TempDir::Create().value();
  std::unique_ptr<Store> store_;
  std::optional<FileSystem> fs_;
};

const Acl kNamed{{{AclTag::kUserObj, 7, 0},
                  {AclTag::kUser, 5, 65534},
                  {AclTag::kGroupObj, 5, 0},
                  {AclTag::kMask, 5, 0},
                  {AclTag::kOther, 0, 0}}};

TEST_F(AclRulesTest, WithoutADefaultAclTheUmaskApplies) {
  auto acl = InheritAcl(*fs_, kRootIno, S_IFREG | 0666, 022);
  ASSERT_TRUE(acl.ok());
  EXPECT_EQ(acl->mode, S_IFREG | 0644u);
  EXPECT_FALSE(acl->access || acl->default_acl);
}

TEST_F(AclRulesTest, DefaultAclIsInheritedInsteadOfTheUmask) {
  Ino dir = fs_->Mkdir(kRootIno, "d", 0755, {})->ino;
  ASSERT_OK(fs_->SetXattr(dir, kAclDefaultXattr, EncodeAcl(kNamed)));
  auto file = InheritAcl(*fs_, dir, S_IFREG | 0666, 077);
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(file->mode, S_IFREG | 0640u);  // no umask: the ACL masks
  ASSERT_TRUE(file->access.has_value());
  EXPECT_FALSE(file->default_acl.has_value());
  auto sub = InheritAcl(*fs_, dir, S_IFDIR | 0777, 077);
  ASSERT_TRUE(sub.ok());
  EXPECT_EQ(sub->mode, S_IFDIR | 0750u);
  ASSERT_TRUE(sub->default_acl.has_value());
  EXPECT_EQ(*sub->default_acl, EncodeAcl(kNamed));
  Ino child = fs_->Mkdir(dir, "sub", sub->mode, {})->ino;
  ASSERT_OK(StoreInheritedAcl(*fs_, child, *sub));
  EXPECT_EQ(*fs_->GetXattr(child, kAclDefaultXattr), EncodeAcl(kNamed));
  EXPECT_TRUE(fs_->GetXattr(child, kAclAccessXattr).ok());
}

TEST_F(AclRulesTest, SettingAnAccessAclMovesTheMode) {
  Ino f = fs_->Mknod(kRootIno, "f", S_IFREG | 04777, 0, {})->ino;
  ASSERT_OK(SetAccessAcl(*fs_, f, EncodeAcl(kNamed)));
  EXPECT_EQ(Mode(f), S_IFREG | 04750u);
  EXPECT_EQ(*fs_->GetXattr(f, kAclAccessXattr), EncodeAcl(kNamed));
  // An ACL equivalent to a mode is not stored; the earlier one goes.
  const Acl plain{{{AclTag::kUserObj, 6, 0}, {AclTag::kGroupObj, 4, 0}, {AclTag::kOther, 4, 0}}};
  ASSERT_OK(SetAccessAcl(*fs_, f, EncodeAcl(plain)));
  EXPECT_EQ(Mode(f), S_IFREG | 04644u);
  EXPECT_CODE(Code::kNoData, fs_->GetXattr(f, kAclAccessXattr).status());
  EXPECT_CODE(Code::kInvalidArgument, SetAccessAcl(*fs_, f, "junk"));
}

TEST_F(AclRulesTest, ChmodMovesTheAccessAcl) {
  Ino f = fs_->Mknod(kRootIno, "f", S_IFREG | 0750, 0, {})->ino;
  ASSERT_OK(ChmodAccessAcl(*fs_, f, 0700));  // no ACL: nothing to do
  EXPECT_CODE(Code::kNoData, fs_->GetXattr(f, kAclAccessXattr).status());
  ASSERT_OK(fs_->SetXattr(f, kAclAccessXattr, EncodeAcl(kNamed)));
  ASSERT_OK(ChmodAccessAcl(*fs_, f, 0604));
  auto acl = ParseAcl(*fs_->GetXattr(f, kAclAccessXattr));
  ASSERT_TRUE(acl.ok());
  EXPECT_EQ(AclModeBits(*acl), 0604u);
  EXPECT_EQ(acl->entries[1], (AclEntry{AclTag::kUser, 5, 65534}));
}

}  // namespace
}  // namespace hoodyfs::fusefs
