#include "snapshotter/remote/chunk_grace.h"

#include <gtest/gtest.h>

namespace hoodyfs::remote {
namespace {

TEST(ChunkGraceTest, DefaultIsADayWithItsDerivedBounds) {
  const ChunkGrace grace;
  EXPECT_EQ(grace.grace(), std::chrono::hours(24));
  EXPECT_EQ(grace.touch_after(), std::chrono::hours(12));
  EXPECT_EQ(grace.push_limit(), std::chrono::hours(6));
  EXPECT_EQ(grace.settle(), std::chrono::seconds(5));
  EXPECT_EQ(ChunkGrace(std::chrono::seconds(1440)).settle(), std::chrono::seconds(1));
  EXPECT_FALSE(grace.unbounded());
  EXPECT_EQ(FormatGrace(grace), "1d");
}

TEST(ChunkGraceTest, ParsesUnitsAndRefusesTheRest) {
  for (const auto& [text, seconds] : std::vector<std::pair<const char*, int64_t>>{
           {"0", 0}, {"0s", 0}, {"30s", 30}, {"90m", 5400}, {"24h", 86400}, {"7d", 604800}}) {
    Result<ChunkGrace> g = ParseGrace(text);
    ASSERT_TRUE(g.ok()) << text << ": " << g.status().ToString();
    EXPECT_EQ(g->grace().count(), seconds) << text;
  }
  EXPECT_TRUE(ParseGrace("0s")->unbounded());
  for (const char* text : {"", "h", "5", "-1h", "1.5h", "1w", "24hh", "99999999999d"}) {
    Result<ChunkGrace> g = ParseGrace(text);
    EXPECT_FALSE(g.ok()) << text;
    if (!g.ok()) {
      EXPECT_EQ(g.status().code(), Code::kInvalidArgument) << text;
    }
  }
}

// A push older than a quarter of its grace (server clock) writes no
// manifest: the age rule alone, on given times (the end-to-end refusal, exit
// 5 and no manifest, is in tests/remote/delete_gc_test.cc).
TEST(ChunkGraceTest, APushLongerThanAQuarterOfTheGraceIsBusy) {
  const ChunkGrace grace(std::chrono::seconds(4));  // limit 1 s
  EXPECT_TRUE(CheckPushAge(grace, 100, 100).ok());
  EXPECT_TRUE(CheckPushAge(grace, 100, 101).ok());
  const Status late = CheckPushAge(grace, 100, 103);
  EXPECT_EQ(late.code(), Code::kBusy);
  EXPECT_NE(late.ToString().find("more than 1 s (a quarter of the gc grace 4s)"), std::string::npos)
      << late.ToString();
  EXPECT_TRUE(CheckPushAge(ChunkGrace(std::chrono::seconds(0)), 0, 1000000).ok()) << "no limit";
  EXPECT_TRUE(CheckPushAge(ChunkGrace(), 0, 6 * 3600).ok());
  EXPECT_FALSE(CheckPushAge(ChunkGrace(), 0, 6 * 3600 + 1).ok());
}

}  // namespace
}  // namespace hoodyfs::remote
