#include "fusefs/caller_creds.h"

#include <gtest/gtest.h>
#include <unistd.h>

namespace hoodyfs::fusefs {
namespace {

TEST(ParseProcStatusTest, GroupsAndCapFsetid) {
  const std::string status =
      "Name:\tsh\nUid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\n"
      "Groups:\t4 24 27 \nCapInh:\t0000000000000000\nCapEff:\t0000000000000010\n";
  auto c = ParseProcStatus(status, 1000);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE(c->cap_fsetid);
  EXPECT_EQ(c->groups, (std::vector<uint32_t>{4, 24, 27}));
  EXPECT_TRUE(c->InGroupOrCapable(5));  // capable

  auto plain = ParseProcStatus("Groups:\t4 24\nCapEff:\t00000000000001ef\n", 1000);
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->cap_fsetid);             // bit 4 clear
  EXPECT_TRUE(plain->InGroupOrCapable(1000));  // fsgid
  EXPECT_TRUE(plain->InGroupOrCapable(24));    // supplementary
  EXPECT_FALSE(plain->InGroupOrCapable(0));

  auto none = ParseProcStatus("Groups:\t\nCapEff:\t0000000000000000\n", 7);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->groups.empty());
  EXPECT_FALSE(none->InGroupOrCapable(8));
}

TEST(ParseProcStatusTest, RefusesWhatIsNotAStatusFile) {
  EXPECT_EQ(ParseProcStatus("Groups:\t1\n", 0).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ParseProcStatus("CapEff:\tzz\n", 0).status().code(), Code::kInvalidArgument);
}

TEST(ReadCallerGroupsTest, ReadsThisProcess) {
  auto c = ReadCallerGroups(::getpid(), ::getegid());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->cap_fsetid, ::geteuid() == 0);  // root has every capability here
  EXPECT_EQ(ReadCallerGroups(0, 0).status().code(), Code::kNotFound);
}

}  // namespace
}  // namespace hoodyfs::fusefs
