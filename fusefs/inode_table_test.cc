#include "fusefs/inode_table.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace hoodyfs::fusefs {
namespace {

using Names = std::vector<std::pair<Ino, std::string>>;

bool HasName(const InodeTable& t, uint64_t parent, const std::string& name) {
  const Names names = t.Snapshot().names;
  return std::find(names.begin(), names.end(), std::make_pair(Ino(parent), name)) != names.end();
}

TEST(InodeTableTest, CountsLookupsPerPersistentInode) {
  InodeTable t(10);
  t.Remember(Ino(1), "a", Ino(7));
  t.Remember(Ino(1), "a", Ino(7));
  t.Remember(Ino(1), "hard", Ino(7));
  EXPECT_EQ(t.LookupCount(Ino(7)), 3u);
  EXPECT_TRUE(t.Forget(Ino(7), 2));
  EXPECT_EQ(t.LookupCount(Ino(7)), 1u);
  EXPECT_TRUE(HasName(t, 1, "a"));
  EXPECT_TRUE(t.Forget(Ino(7), 1));
  EXPECT_EQ(t.LookupCount(Ino(7)), 0u);
  EXPECT_EQ(t.inode_count(), 0u);
  EXPECT_TRUE(t.Snapshot().names.empty());
}

// "." and ".." lookups (file handles) hand out inodes under no name: they
// count, and InvalidateAll still finds the inode, but no dentry is listed.
TEST(InodeTableTest, InodesHandedOutWithoutANameAreCounted) {
  InodeTable t(10);
  t.RememberInode(Ino(7));
  t.Remember(Ino(1), "a", Ino(7));
  EXPECT_EQ(t.LookupCount(Ino(7)), 2u);
  const InodeTable::Known known = t.Snapshot();
  EXPECT_EQ(known.inodes, std::vector<Ino>{Ino(7)});
  EXPECT_EQ(known.names.size(), 1u);
  EXPECT_TRUE(t.Forget(Ino(7), 2));
  EXPECT_EQ(t.inode_count(), 0u);
}

TEST(InodeTableTest, ForgettingTooMuchIsReportedAndClamped) {
  InodeTable t(10);
  t.Remember(Ino(1), "a", Ino(7));
  EXPECT_FALSE(t.Forget(Ino(7), 5));
  EXPECT_EQ(t.LookupCount(Ino(7)), 0u);
  EXPECT_FALSE(t.Forget(Ino(8), 1));
  EXPECT_TRUE(t.Forget(Ino(8), 0));
}

TEST(InodeTableTest, NegativeEntriesAreBoundedAndReplaced) {
  InodeTable t(2);
  EXPECT_TRUE(t.RememberNegative(Ino(1), "x"));
  EXPECT_TRUE(t.RememberNegative(Ino(1), "x"));
  EXPECT_TRUE(t.RememberNegative(Ino(1), "y"));
  EXPECT_FALSE(t.RememberNegative(Ino(1), "z"));
  EXPECT_EQ(t.negative_count(), 2u);
  // A name that appears replaces its negative entry.
  t.Remember(Ino(1), "x", Ino(9));
  EXPECT_EQ(t.negative_count(), 1u);
  EXPECT_TRUE(t.RememberNegative(Ino(1), "z"));
  EXPECT_EQ(t.Snapshot().names.size(), 3u);
}

TEST(InodeTableTest, ForgettingADirectoryDropsNamesUnderIt) {
  InodeTable t(10);
  t.Remember(Ino(1), "d", Ino(5));
  EXPECT_TRUE(t.RememberNegative(Ino(5), "missing"));
  t.Remember(Ino(5), "f", Ino(6));
  EXPECT_TRUE(t.Forget(Ino(5), 1));
  EXPECT_FALSE(HasName(t, 5, "missing"));
  EXPECT_FALSE(HasName(t, 5, "f"));
  EXPECT_FALSE(HasName(t, 1, "d"));
  EXPECT_EQ(t.negative_count(), 0u);
  EXPECT_EQ(t.LookupCount(Ino(6)), 1u);  // the file's own count is its own
}

TEST(InodeTableTest, RenameAndRemoveFollowTheDentries) {
  InodeTable t(10);
  t.Remember(Ino(1), "a", Ino(7));
  t.Remember(Ino(1), "b", Ino(8));
  t.Renamed(Ino(1), "a", Ino(1), "b", /*exchange=*/true);
  EXPECT_TRUE(HasName(t, 1, "a"));
  EXPECT_TRUE(HasName(t, 1, "b"));
  t.Renamed(Ino(1), "a", Ino(2), "c", /*exchange=*/false);
  EXPECT_FALSE(HasName(t, 1, "a"));
  EXPECT_TRUE(HasName(t, 2, "c"));
  t.Removed(Ino(2), "c");
  EXPECT_FALSE(HasName(t, 2, "c"));
  EXPECT_EQ(t.LookupCount(Ino(8)), 1u);  // removal of a name keeps the count
  const auto known = t.Snapshot();
  EXPECT_EQ(known.inodes.size(), 2u);
}

TEST(InodeTableTest, ReplaceBumpsOneInodesGenerationAndReturnsItsNames) {
  InodeTable t(10);
  EXPECT_EQ(t.Remember(Ino(1), "a", Ino(7)), 0u);
  t.Remember(Ino(1), "hard", Ino(7));
  t.Remember(Ino(1), "other", Ino(8));
  EXPECT_TRUE(t.Holds(Ino(7)));
  EXPECT_FALSE(t.Holds(Ino(9)));
  const auto names = t.Replace(Ino(7));
  EXPECT_EQ(names.size(), 2u);
  EXPECT_EQ(t.Generation(Ino(7)), 1u);
  EXPECT_EQ(t.Generation(Ino(8)), 0u);             // left alone
  EXPECT_EQ(t.Remember(Ino(1), "a", Ino(7)), 1u);  // later replies carry it
  EXPECT_TRUE(t.Replace(Ino(9)).empty());          // not held: nothing to replace
  t.ReplaceAll();
  EXPECT_EQ(t.Generation(Ino(7)), 2u);
  EXPECT_EQ(t.Generation(Ino(8)), 1u);
  // Forgotten by the kernel: a new inode starts over.
  EXPECT_TRUE(t.Forget(Ino(8), 1));
  EXPECT_EQ(t.Remember(Ino(1), "other", Ino(8)), 0u);
  EXPECT_EQ(t.name_count(), 3u);
}

}  // namespace
}  // namespace hoodyfs::fusefs
