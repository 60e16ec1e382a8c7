#include "fusefs/generation.h"

#include <gtest/gtest.h>

namespace hoodyfs::fusefs {
namespace {

snapshotter::Attr Born(uint64_t ino, int64_t sec, uint32_t nsec) {
  snapshotter::Attr a;
  a.ino = Ino(ino);
  a.btime = index::Timespec{sec, nsec};
  return a;
}

TEST(EntryGenerationTest, TheRootIsAlwaysZero) {
  EXPECT_EQ(EntryGeneration(Born(1, 1700000000, 5), 0), 0u);
  EXPECT_EQ(EntryGeneration(Born(1, 1700000000, 5), 7), 0u);
}

TEST(EntryGenerationTest, InodesWithoutBirthTimeTakeTheEpoch) {
  snapshotter::Attr a;
  a.ino = Ino(42);
  EXPECT_EQ(EntryGeneration(a, 0), 0u);
  EXPECT_EQ(EntryGeneration(a, 3), 3u);
}

TEST(EntryGenerationTest, ANumberBornAgainGetsAnotherGeneration) {
  // The same inode number made twice (a crash lost the first creation):
  // births a nanosecond, a second, an hour apart all differ.
  const snapshotter::Attr first = Born(42, 1764800000, 123456789);
  const uint32_t g = EntryGeneration(first, 0);
  EXPECT_EQ(EntryGeneration(first, 0), g) << "a function of the inode alone";
  EXPECT_NE(EntryGeneration(Born(42, 1764800000, 123456790), 0), g);
  EXPECT_NE(EntryGeneration(Born(42, 1764800001, 123456789), 0), g);
  EXPECT_NE(EntryGeneration(Born(42, 1764803600, 123456789), 0), g);
  // The epoch moves it (a restore with the writeback cache).
  EXPECT_NE(EntryGeneration(first, 1), g);
}

}  // namespace
}  // namespace hoodyfs::fusefs
