// UnsyncedData on its own: what Take hands to an fsync's log record, and
// what a data file sync covers (everything noted before its Mark, nothing
// after).
#include "snapshotter/engine/unsynced_data.h"

#include <gtest/gtest.h>

namespace hoodyfs::snapshotter {
namespace {

using Ranges = std::vector<UnsyncedData::Range>;

uint64_t Total(const Ranges& r) {
  uint64_t n = 0;
  for (const auto& x : r) n += x.length;
  return n;
}

TEST(UnsyncedDataTest, TakeHandsOverEveryNotedRangeOnce) {
  UnsyncedData u(1 << 20);
  u.Note(0, 4096);
  u.Note(8192, 8192);
  auto taken = u.Take();
  ASSERT_TRUE(taken.has_value());
  ASSERT_EQ(taken->size(), 2u);
  EXPECT_EQ((*taken)[1].offset, 8192u);
  EXPECT_EQ(Total(*taken), 12288u);
  auto again = u.Take();
  ASSERT_TRUE(again.has_value());
  EXPECT_TRUE(again->empty()) << "a range is logged once";
}

TEST(UnsyncedDataTest, MoreThanTheLimitAsksForADataSyncUntilOneCoversIt) {
  UnsyncedData u(8192);
  u.Note(0, 4096);
  u.Note(4096, 8192);  // past the limit
  EXPECT_FALSE(u.Take().has_value());
  const uint64_t mark = u.Mark();
  u.Note(65536, 4096);  // during the sync: not covered by it
  u.Synced(mark);
  auto taken = u.Take();
  ASSERT_TRUE(taken.has_value()) << "the sync covered the overflow";
  ASSERT_EQ(taken->size(), 1u);
  EXPECT_EQ((*taken)[0].offset, 65536u);
}

TEST(UnsyncedDataTest, ASyncMarkedBeforeTheOverflowDoesNotClearIt) {
  UnsyncedData u(1 << 20);
  const uint64_t mark = u.Mark();
  u.NoteUnloggable();  // the file grew while the sync ran
  u.Synced(mark);
  EXPECT_FALSE(u.Take().has_value()) << "the growth is not durable yet";
  const uint64_t later = u.Mark();
  u.Synced(later);
  EXPECT_TRUE(u.Take().has_value());
}

TEST(UnsyncedDataTest, ASyncForgetsOnlyWhatWasNotedBeforeItsMark) {
  UnsyncedData u(1 << 20);
  u.Note(0, 4096);
  const uint64_t mark = u.Mark();
  u.Note(4096, 4096);
  u.Synced(mark);
  auto taken = u.Take();
  ASSERT_TRUE(taken.has_value());
  ASSERT_EQ(taken->size(), 1u);
  EXPECT_EQ((*taken)[0].offset, 4096u);
}

}  // namespace
}  // namespace hoodyfs::snapshotter
