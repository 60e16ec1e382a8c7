#include "base/heap_trim.h"

#include <gtest/gtest.h>

namespace hoodyfs {
namespace {

int trims_seen = 0;
void CountTrim() { ++trims_seen; }

TEST(HeapTrimmerTest, TrimsOnceTheFreesStopPastTheThreshold) {
  trims_seen = 0;
  HeapTrimmer t(100);
  EXPECT_FALSE(t.MaybeTrim(CountTrim));  // nothing noted
  t.NoteFreed(60);
  EXPECT_FALSE(t.MaybeTrim(CountTrim));  // still freeing
  EXPECT_FALSE(t.MaybeTrim(CountTrim));  // quiet, but below the threshold
  t.NoteFreed(60);
  EXPECT_FALSE(t.MaybeTrim(CountTrim));  // still freeing
  EXPECT_TRUE(t.MaybeTrim(CountTrim));   // quiet, 120 >= 100
  EXPECT_EQ(trims_seen, 1);
  EXPECT_EQ(t.trims(), 1u);
  EXPECT_FALSE(t.MaybeTrim(CountTrim));  // counted afresh after a trim
  EXPECT_EQ(trims_seen, 1);
}

TEST(HeapTrimmerTest, FreesThatNeverPauseNeverTrim) {
  trims_seen = 0;
  HeapTrimmer t(10);
  for (int i = 0; i < 5; ++i) {
    t.NoteFreed(100);
    EXPECT_FALSE(t.MaybeTrim(CountTrim));
  }
  EXPECT_EQ(trims_seen, 0);
  EXPECT_TRUE(t.MaybeTrim(CountTrim));
}

TEST(HeapTrimmerTest, NothingFreedIsNothingNoted) {
  HeapTrimmer t(0);
  t.NoteFreed(0);
  EXPECT_TRUE(t.MaybeTrim(CountTrim));  // threshold 0: the quiet call trims
  EXPECT_TRUE(t.MaybeTrim(CountTrim));
}

// The process's trimmer runs the real malloc_trim without harm.
TEST(HeapTrimmerTest, TheProcessTrimmerTrimsTheRealHeap) {
  const uint64_t before = ProcessHeapTrimmer().trims();
  NoteHeapFreed(kHeapTrimThresholdBytes);
  EXPECT_FALSE(MaybeTrimHeap());
  EXPECT_TRUE(MaybeTrimHeap());
  EXPECT_EQ(ProcessHeapTrimmer().trims(), before + 1);
}

}  // namespace
}  // namespace hoodyfs
