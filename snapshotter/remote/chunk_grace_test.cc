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

}  // namespace
}  // namespace hoodyfs::remote
