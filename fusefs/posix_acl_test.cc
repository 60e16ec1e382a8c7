#include "fusefs/posix_acl.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "base/testing/status_macros.h"

namespace hoodyfs::fusefs {
namespace {

Acl Make(std::initializer_list<AclEntry> entries) { return Acl{entries}; }

TEST(PosixAclTest, RoundTripsTheXattrForm) {
  const Acl acl = Make({{kAclUserObj, 7, 0},
                        {kAclUser, 4, 65534},
                        {kAclGroupObj, 5, 0},
                        {kAclMask, 5, 0},
                        {kAclOther, 0, 0}});
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
  std::string raw = EncodeAcl(Make({{kAclUserObj, 7, 0}, {kAclOther, 0, 0}}));
  EXPECT_CODE(Code::kInvalidArgument, ParseAcl(raw).status());  // no group entry
  raw = EncodeAcl(
      Make({{kAclUserObj, 7, 0}, {kAclUser, 7, 1}, {kAclGroupObj, 0, 0}, {kAclOther, 0, 0}}));
  EXPECT_CODE(Code::kInvalidArgument, ParseAcl(raw).status());  // named, no mask
  raw = EncodeAcl(Make({{kAclUserObj, 7, 0}, {kAclGroupObj, 0, 0}, {kAclOther, 0, 0}}));
  raw[4 + 2] = 9;  // the first entry's permission bits: beyond rwx
  EXPECT_CODE(Code::kInvalidArgument, ParseAcl(raw).status());
  EXPECT_CODE(Code::kInvalidArgument, ParseAcl(raw.substr(0, raw.size() - 1)).status());
}

TEST(PosixAclTest, ModeBitsComeFromOwnerMaskAndOther) {
  const Acl base = Make({{kAclUserObj, 6, 0}, {kAclGroupObj, 4, 0}, {kAclOther, 1, 0}});
  EXPECT_EQ(AclModeBits(base), 0641u);
  EXPECT_TRUE(AclEquivalentToMode(base));
  const Acl masked = Make({{kAclUserObj, 7, 0},
                           {kAclUser, 7, 1000},
                           {kAclGroupObj, 7, 0},
                           {kAclMask, 5, 0},
                           {kAclOther, 0, 0}});
  EXPECT_EQ(AclModeBits(masked), 0750u);
  EXPECT_FALSE(AclEquivalentToMode(masked));
}

TEST(PosixAclTest, ChmodSetsOwnerMaskOther) {
  Acl acl = Make({{kAclUserObj, 7, 0},
                  {kAclUser, 7, 1000},
                  {kAclGroupObj, 7, 0},
                  {kAclMask, 7, 0},
                  {kAclOther, 7, 0}});
  AclChmod(&acl, 0640);
  EXPECT_EQ(acl, Make({{kAclUserObj, 6, 0},
                       {kAclUser, 7, 1000},
                       {kAclGroupObj, 7, 0},
                       {kAclMask, 4, 0},
                       {kAclOther, 0, 0}}));
  Acl plain = Make({{kAclUserObj, 7, 0}, {kAclGroupObj, 7, 0}, {kAclOther, 7, 0}});
  AclChmod(&plain, 0751);
  EXPECT_EQ(AclModeBits(plain), 0751u);
}

TEST(PosixAclTest, CreateMasqFollowsTheKernel) {
  // Default ACL u::rwx,u:1000:rwx,g::r-x,m::rwx,o::r-x; open(0666).
  Acl acl = Make({{kAclUserObj, 7, 0},
                  {kAclUser, 7, 1000},
                  {kAclGroupObj, 5, 0},
                  {kAclMask, 7, 0},
                  {kAclOther, 5, 0}});
  bool needed = false;
  const uint32_t mode = AclCreateMasq(&acl, S_IFREG | 0666, &needed);
  EXPECT_TRUE(needed);
  EXPECT_EQ(mode, S_IFREG | 0664u);
  EXPECT_EQ(acl, Make({{kAclUserObj, 6, 0},
                       {kAclUser, 7, 1000},
                       {kAclGroupObj, 5, 0},
                       {kAclMask, 6, 0},
                       {kAclOther, 4, 0}}));
  Acl base = Make({{kAclUserObj, 7, 0}, {kAclGroupObj, 0, 0}, {kAclOther, 0, 0}});
  EXPECT_EQ(AclCreateMasq(&base, S_IFDIR | 0777, &needed), S_IFDIR | 0700u);
  EXPECT_FALSE(needed);
}

}  // namespace
}  // namespace hoodyfs::fusefs
