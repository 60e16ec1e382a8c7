// The ACL types, their xattr form and the mode rules (posix_acl.h), as pure
// functions; fs_acl_test.cc has them applied by FileSystem.
#include "snapshotter/engine/posix_acl.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "base/testing/status_macros.h"

namespace hoodyfs::snapshotter {
namespace {

Acl Make(std::initializer_list<AclEntry> entries) { return Acl{entries}; }

TEST(PosixAclTest, RoundTripsTheXattrForm) {
  const Acl acl = Make({{AclTag::kUserObj, 7, 0},
                        {AclTag::kUser, 4, 65534},
                        {AclTag::kGroupObj, 5, 0},
                        {AclTag::kMask, 5, 0},
                        {AclTag::kOther, 0, 0}});
  const std::string raw = EncodeAcl(acl);
  ASSERT_EQ(raw.size(), 4u + 5 * 8);
  EXPECT_EQ(raw[0], 2);  // version 2, little-endian
  auto back = ParseAcl(raw);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, acl);
}

TEST(PosixAclTest, RefusesMalformedAcls) {
  EXPECT_CODE(Code::kInvalidArgument, ParseAcl("").status());
  EXPECT_CODE(Code::kInvalidArgument, ParseAcl(std::string("\3\0\0\0", 4)).status());
  std::string raw = EncodeAcl(Make({{AclTag::kUserObj, 7, 0}, {AclTag::kOther, 0, 0}}));
  EXPECT_CODE(Code::kInvalidArgument, ParseAcl(raw).status());  // no group entry
  raw = EncodeAcl(Make({{AclTag::kUserObj, 7, 0},
                        {AclTag::kUser, 7, 1},
                        {AclTag::kGroupObj, 0, 0},
                        {AclTag::kOther, 0, 0}}));
  EXPECT_CODE(Code::kInvalidArgument, ParseAcl(raw).status());  // named, no mask
  raw = EncodeAcl(
      Make({{AclTag::kUserObj, 7, 0}, {AclTag::kGroupObj, 0, 0}, {AclTag::kOther, 0, 0}}));
  raw[4 + 2] = 9;  // the first entry's permission bits: beyond rwx
  EXPECT_CODE(Code::kInvalidArgument, ParseAcl(raw).status());
  EXPECT_CODE(Code::kInvalidArgument, ParseAcl(raw.substr(0, raw.size() - 1)).status());
}

TEST(PosixAclTest, ModeBitsComeFromOwnerMaskAndOther) {
  const Acl base =
      Make({{AclTag::kUserObj, 6, 0}, {AclTag::kGroupObj, 4, 0}, {AclTag::kOther, 1, 0}});
  EXPECT_EQ(AclModeBits(base), 0641u);
  EXPECT_TRUE(AclEquivalentToMode(base));
  const Acl masked = Make({{AclTag::kUserObj, 7, 0},
                           {AclTag::kUser, 7, 1000},
                           {AclTag::kGroupObj, 7, 0},
                           {AclTag::kMask, 5, 0},
                           {AclTag::kOther, 0, 0}});
  EXPECT_EQ(AclModeBits(masked), 0750u);
  EXPECT_FALSE(AclEquivalentToMode(masked));
}

TEST(PosixAclTest, ChmodSetsOwnerMaskOther) {
  Acl acl = Make({{AclTag::kUserObj, 7, 0},
                  {AclTag::kUser, 7, 1000},
                  {AclTag::kGroupObj, 7, 0},
                  {AclTag::kMask, 7, 0},
                  {AclTag::kOther, 7, 0}});
  AclChmod(&acl, 0640);
  EXPECT_EQ(acl, Make({{AclTag::kUserObj, 6, 0},
                       {AclTag::kUser, 7, 1000},
                       {AclTag::kGroupObj, 7, 0},
                       {AclTag::kMask, 4, 0},
                       {AclTag::kOther, 0, 0}}));
  Acl plain = Make({{AclTag::kUserObj, 7, 0}, {AclTag::kGroupObj, 7, 0}, {AclTag::kOther, 7, 0}});
  AclChmod(&plain, 0751);
  EXPECT_EQ(AclModeBits(plain), 0751u);
}

TEST(PosixAclTest, CreateMasqFollowsTheKernel) {
  // Default ACL u::rwx,u:1000:rwx,g::r-x,m::rwx,o::r-x; open(0666).
  Acl acl = Make({{AclTag::kUserObj, 7, 0},
                  {AclTag::kUser, 7, 1000},
                  {AclTag::kGroupObj, 5, 0},
                  {AclTag::kMask, 7, 0},
                  {AclTag::kOther, 5, 0}});
  bool needed = false;
  const uint32_t mode = AclCreateMasq(&acl, S_IFREG | 0666, &needed);
  EXPECT_TRUE(needed);
  EXPECT_EQ(mode, S_IFREG | 0664u);
  EXPECT_EQ(acl, Make({{AclTag::kUserObj, 6, 0},
                       {AclTag::kUser, 7, 1000},
                       {AclTag::kGroupObj, 5, 0},
                       {AclTag::kMask, 6, 0},
                       {AclTag::kOther, 4, 0}}));
  Acl base = Make({{AclTag::kUserObj, 7, 0}, {AclTag::kGroupObj, 0, 0}, {AclTag::kOther, 0, 0}});
  EXPECT_EQ(AclCreateMasq(&base, S_IFDIR | 0777, &needed), S_IFDIR | 0700u);
  EXPECT_FALSE(needed);
}

const Acl kNamed{{{AclTag::kUserObj, 7, 0},
                  {AclTag::kUser, 5, 65534},
                  {AclTag::kGroupObj, 5, 0},
                  {AclTag::kMask, 5, 0},
                  {AclTag::kOther, 0, 0}}};

TEST(PosixAclTest, WithoutADefaultAclTheUmaskApplies) {
  const NewNodeAcl acl = InheritAcl(std::nullopt, S_IFREG | 0666, 022);
  EXPECT_EQ(acl.mode, S_IFREG | 0644u);
  EXPECT_FALSE(acl.access || acl.default_acl);
}

TEST(PosixAclTest, DefaultAclIsInheritedInsteadOfTheUmask) {
  const NewNodeAcl file = InheritAcl(kNamed, S_IFREG | 0666, 077);
  EXPECT_EQ(file.mode, S_IFREG | 0640u);  // no umask: the ACL masks
  ASSERT_TRUE(file.access.has_value());
  EXPECT_FALSE(file.default_acl.has_value());
  const NewNodeAcl sub = InheritAcl(kNamed, S_IFDIR | 0777, 077);
  EXPECT_EQ(sub.mode, S_IFDIR | 0750u);
  ASSERT_TRUE(sub.default_acl.has_value());
  EXPECT_EQ(*sub.default_acl, EncodeAcl(kNamed));
  // Only the base entries after masking: the mode says it all.
  const Acl base{{{AclTag::kUserObj, 7, 0}, {AclTag::kGroupObj, 5, 0}, {AclTag::kOther, 5, 0}}};
  const NewNodeAcl plain = InheritAcl(base, S_IFREG | 0666, 077);
  EXPECT_EQ(plain.mode, S_IFREG | 0644u);
  EXPECT_FALSE(plain.access || plain.default_acl);
}

}  // namespace
}  // namespace hoodyfs::snapshotter
