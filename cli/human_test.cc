#include "cli/human.h"

#include <gtest/gtest.h>

#include "cli/api/json_codec.h"

namespace hoodyfs::cli {
namespace {

TEST(HumanTest, BytesAsZfsPrintsThem) {
  EXPECT_EQ(HumanBytes(0), "0B");
  EXPECT_EQ(HumanBytes(1023), "1023B");
  EXPECT_EQ(HumanBytes(4096), "4K");
  EXPECT_EQ(HumanBytes(1536), "1.50K");
  EXPECT_EQ(HumanBytes(256 << 10), "256K");
  EXPECT_EQ(HumanBytes((1 << 20) + 12), "1.00M");
  EXPECT_EQ(HumanBytes(12ull << 30), "12G");
  EXPECT_EQ(HumanBytes(uint64_t(12.5 * (1ull << 30))), "12.5G");
}

TEST(HumanTest, TimesAreUtc) {
  EXPECT_EQ(HumanTime(1772620200LL * 1000000000), "2026-03-04 10:30:00");
  EXPECT_EQ(IsoTime(1772620200LL * 1000000000 + 999), "2026-03-04T10:30:00Z");
}

TEST(HumanTest, TablesAlignColumns) {
  EXPECT_EQ(FormatTable({{"NAME", "ALIAS"}, {"snap-1", "-"}, {"x", "golden"}}),
            "NAME    ALIAS\nsnap-1  -\nx       golden\n");
}

}  // namespace
}  // namespace hoodyfs::cli
