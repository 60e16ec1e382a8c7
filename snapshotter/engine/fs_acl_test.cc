// FileSystem's POSIX ACL semantics (fs_acl.cc): inheritance at creation,
// setting an access ACL, chmod. Each must be one change (one committed write
// scope), so that a freeze right after it, or during it, sees a mode that
// agrees with the node's ACLs.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <optional>
#include <string>
#include <thread>

#include "base/testing/status_macros.h"
#include "base/testing/temp_dir.h"
#include "snapshotter/engine/filesystem.h"
#include "snapshotter/engine/posix_acl.h"
#include "snapshotter/engine/store.h"

namespace hoodyfs::snapshotter {
namespace {

const Acl kNamed{{{AclTag::kUserObj, 7, 0},
                  {AclTag::kUser, 5, 65534},
                  {AclTag::kGroupObj, 5, 0},
                  {AclTag::kMask, 5, 0},
                  {AclTag::kOther, 0, 0}}};

class FsAclTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(Store::Init(dir_.File("store")));
    StoreOptions options;
    options.flush_interval_ms = 0;
    auto opened = Store::Open(dir_.File("store"), std::move(options));
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(opened).value();
    ASSERT_OK(store_->CreateContainer("c"));
    fs_.emplace(store_->Head("c").value());
  }
  void TearDown() override {
    if (store_) EXPECT_OK(store_->CheckInvariants());
  }
  uint32_t Mode(Ino ino) { return fs_->GetAttr(ino)->mode; }
  // Write scopes committed by `fn`.
  template <class Fn>
  uint64_t Commits(Fn&& fn) {
    const uint64_t before = store_->CommitCount();
    fn();
    return store_->CommitCount() - before;
  }
  // A read-only view of the head frozen now.
  FileSystem FreezeNow() {
    auto gen = store_->Freeze("c");
    EXPECT_TRUE(gen.ok()) << gen.status().ToString();
    return store_->AtGeneration(*gen).value();
  }
  // The node's access ACL, if it has one.
  static std::optional<Acl> AccessAcl(FileSystem& fs, Ino ino) {
    auto raw = fs.GetXattr(ino, kAclAccessXattr);
    if (!raw.ok()) {
      EXPECT_CODE(Code::kNoData, raw.status());
      return std::nullopt;
    }
    auto acl = ParseAcl(*raw);
    EXPECT_TRUE(acl.ok()) << acl.status().ToString();
    return acl.ok() ? std::optional<Acl>(*acl) : std::nullopt;
  }
  // The mode's permission bits are the ones the access ACL implies.
  static void ExpectModeAgrees(FileSystem& fs, Ino ino) {
    const std::optional<Acl> acl = AccessAcl(fs, ino);
    if (acl) {
      EXPECT_EQ(fs.GetAttr(ino)->mode & 0777, AclModeBits(*acl)) << "inode " << ino.value;
    }
  }

  testing::TempDir dir_ = testing::TempDir::Create().value();
  std::unique_ptr<Store> store_;
  std::optional<FileSystem> fs_;
};

TEST_F(FsAclTest, CreateInheritsTheDefaultAclInTheSameChange) {
  const Ino dir = fs_->Mkdir(kRootIno, "d", 0755, {})->ino;
  ASSERT_OK(fs_->SetXattr(dir, kAclDefaultXattr, EncodeAcl(kNamed)));
  const CreateOptions inherit{077, std::nullopt};
  Result<Entry> file = Status::IoError("not run");
  EXPECT_EQ(Commits([&] { file = fs_->Mknod(dir, "f", S_IFREG | 0666, 0, {}, inherit); }), 1u);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(file->attr.mode, S_IFREG | 0640u);  // no umask: the ACL masks
  EXPECT_EQ(Mode(file->ino), S_IFREG | 0640u);
  ASSERT_TRUE(AccessAcl(*fs_, file->ino).has_value());
  EXPECT_CODE(Code::kNoData, fs_->GetXattr(file->ino, kAclDefaultXattr).status());
  Result<Entry> sub = Status::IoError("not run");
  EXPECT_EQ(Commits([&] { sub = fs_->Mkdir(dir, "sub", 0777, {}, inherit); }), 1u);
  ASSERT_TRUE(sub.ok()) << sub.status().ToString();
  EXPECT_EQ(sub->attr.mode, S_IFDIR | 0750u);
  EXPECT_EQ(*fs_->GetXattr(sub->ino, kAclDefaultXattr), EncodeAcl(kNamed));
  EXPECT_TRUE(fs_->GetXattr(sub->ino, kAclAccessXattr).ok());
  FileSystem frozen = FreezeNow();
  EXPECT_EQ(frozen.GetAttr(file->ino)->mode, S_IFREG | 0640u);
  ExpectModeAgrees(frozen, file->ino);
  ExpectModeAgrees(frozen, sub->ino);
  EXPECT_EQ(*frozen.GetXattr(sub->ino, kAclDefaultXattr), EncodeAcl(kNamed));
}

TEST_F(FsAclTest, CreateWithoutADefaultAclAppliesTheUmask) {
  auto plain =
      fs_->Mknod(kRootIno, "plain", S_IFREG | 0666, 0, {}, CreateOptions{022, std::nullopt});
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->attr.mode, S_IFREG | 0644u);
  EXPECT_FALSE(AccessAcl(*fs_, plain->ino).has_value());
  // Without the option the mode is taken as given, default ACL or not.
  const Ino dir = fs_->Mkdir(kRootIno, "d", 0755, {})->ino;
  ASSERT_OK(fs_->SetXattr(dir, kAclDefaultXattr, EncodeAcl(kNamed)));
  auto raw = fs_->Mknod(dir, "raw", S_IFREG | 0666, 0, {});
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw->attr.mode, S_IFREG | 0666u);
  EXPECT_FALSE(AccessAcl(*fs_, raw->ino).has_value());
  // An unreadable default ACL refuses the creation: nothing is made.
  ASSERT_OK(fs_->SetXattr(dir, kAclDefaultXattr, "junk"));
  EXPECT_CODE(
      Code::kInvalidArgument,
      fs_->Mknod(dir, "bad", S_IFREG | 0666, 0, {}, CreateOptions{022, std::nullopt}).status());
  EXPECT_CODE(Code::kNotFound, fs_->Lookup(dir, "bad").status());
}

TEST_F(FsAclTest, SettingAnAccessAclMovesTheModeInTheSameChange) {
  const Ino f = fs_->Mknod(kRootIno, "f", S_IFREG | 04777, 0, {})->ino;
  EXPECT_EQ(Commits([&] { ASSERT_OK(fs_->SetAccessAcl(f, EncodeAcl(kNamed))); }), 1u);
  EXPECT_EQ(Mode(f), S_IFREG | 04750u);
  EXPECT_EQ(*fs_->GetXattr(f, kAclAccessXattr), EncodeAcl(kNamed));
  FileSystem frozen = FreezeNow();
  EXPECT_EQ(frozen.GetAttr(f)->mode, S_IFREG | 04750u);
  ExpectModeAgrees(frozen, f);
  // An ACL equivalent to a mode is not stored; the earlier one goes.
  const Acl plain{{{AclTag::kUserObj, 6, 0}, {AclTag::kGroupObj, 4, 0}, {AclTag::kOther, 4, 0}}};
  EXPECT_EQ(Commits([&] { ASSERT_OK(fs_->SetAccessAcl(f, EncodeAcl(plain))); }), 1u);
  EXPECT_EQ(Mode(f), S_IFREG | 04644u);
  EXPECT_CODE(Code::kNoData, fs_->GetXattr(f, kAclAccessXattr).status());
  frozen = FreezeNow();
  EXPECT_EQ(frozen.GetAttr(f)->mode, S_IFREG | 04644u);
  EXPECT_CODE(Code::kNoData, frozen.GetXattr(f, kAclAccessXattr).status());
  EXPECT_EQ(Commits([&] { EXPECT_CODE(Code::kInvalidArgument, fs_->SetAccessAcl(f, "junk")); }),
            0u);
  EXPECT_CODE(Code::kReadOnly, frozen.SetAccessAcl(f, EncodeAcl(kNamed)));
}

// posix_acl_update_mode: a caller outside the file's group without
// CAP_FSETID loses the setgid bit in the change that sets the ACL.
TEST_F(FsAclTest, SettingAnAccessAclDropsSetgidForACallerOutsideTheGroup) {
  const Ino f = fs_->Mknod(kRootIno, "f", S_IFREG | 02775, 0, Owner{1000, 50})->ino;
  const CallerGroups member{1000, {50}, false}, outside{1000, {60}, false}, capable{1000, {}, true};
  ASSERT_OK(fs_->SetAccessAcl(f, EncodeAcl(kNamed), &member));
  EXPECT_EQ(Mode(f) & 07000, 02000u);
  ASSERT_OK(fs_->SetAccessAcl(f, EncodeAcl(kNamed), &capable));
  EXPECT_EQ(Mode(f) & 07000, 02000u);
  EXPECT_EQ(Commits([&] { ASSERT_OK(fs_->SetAccessAcl(f, EncodeAcl(kNamed), &outside)); }), 1u);
  EXPECT_EQ(Mode(f), S_IFREG | 0750u);
  ExpectModeAgrees(*fs_, f);
}

TEST_F(FsAclTest, ChmodMovesTheAccessAclInTheSameChange) {
  const Ino f = fs_->Mknod(kRootIno, "f", S_IFREG | 0750, 0, {})->ino;
  SetAttrRequest chmod;
  chmod.chmod_access_acl = true;
  chmod.mode = 0700;
  ASSERT_TRUE(fs_->SetAttr(f, chmod).ok());  // no ACL: only the mode moves
  EXPECT_FALSE(AccessAcl(*fs_, f).has_value());
  ASSERT_OK(fs_->SetXattr(f, kAclAccessXattr, EncodeAcl(kNamed)));
  chmod.mode = 0604;
  EXPECT_EQ(Commits([&] { ASSERT_TRUE(fs_->SetAttr(f, chmod).ok()); }), 1u);
  std::optional<Acl> acl = AccessAcl(*fs_, f);
  ASSERT_TRUE(acl.has_value());
  EXPECT_EQ(AclModeBits(*acl), 0604u);
  EXPECT_EQ(acl->entries[1], (AclEntry{AclTag::kUser, 5, 65534}));
  FileSystem frozen = FreezeNow();
  EXPECT_EQ(frozen.GetAttr(f)->mode, S_IFREG | 0604u);
  ExpectModeAgrees(frozen, f);
  // Without chmod_access_acl the ACL is an inert xattr.
  SetAttrRequest raw;
  raw.mode = 0700;
  ASSERT_TRUE(fs_->SetAttr(f, raw).ok());
  EXPECT_EQ(AclModeBits(*AccessAcl(*fs_, f)), 0604u);
  // An unreadable stored ACL refuses the chmod: the mode stays.
  ASSERT_OK(fs_->SetXattr(f, kAclAccessXattr, "junk"));
  EXPECT_CODE(Code::kInvalidArgument, fs_->SetAttr(f, chmod).status());
  EXPECT_EQ(Mode(f), S_IFREG | 0700u);
}

// Freezes taken while another thread keeps changing the mode through the
// ACL rules: every frozen generation shows mode and ACL agreeing (with two
// engine calls per change, a freeze between them would not).
TEST_F(FsAclTest, FreezesDuringAclChangesSeeModeAndAclAgree) {
  const Ino f = fs_->Mknod(kRootIno, "f", S_IFREG | 0750, 0, {})->ino;
  ASSERT_OK(fs_->SetAccessAcl(f, EncodeAcl(kNamed)));
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    SetAttrRequest chmod;
    chmod.chmod_access_acl = true;
    for (uint32_t i = 0; !stop.load(); ++i) {
      chmod.mode = i % 2 == 0 ? 0705 : 0750;
      EXPECT_TRUE(fs_->SetAttr(f, chmod).ok());
      Acl acl = kNamed;
      AclChmod(&acl, i % 3 == 0 ? 0640 : 0755);
      EXPECT_OK(fs_->SetAccessAcl(f, EncodeAcl(acl)));
    }
  });
  for (int i = 0; i < 20; ++i) {
    FileSystem frozen = FreezeNow();
    ExpectModeAgrees(frozen, f);
  }
  stop.store(true);
  writer.join();
}

}  // namespace
}  // namespace hoodyfs::snapshotter
