#include "cli/daemon/http/url.h"

#include <gtest/gtest.h>

namespace hoodyfs::cli {
namespace {

using Segments = std::vector<std::string>;

TEST(UrlTest, SplitsAtLiteralSlashesThenDecodes) {
  auto parts = SplitApiPath("/api/v1/containers/web%31/snapshots/");
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  EXPECT_EQ(*parts, (Segments{"api", "v1", "containers", "web1", "snapshots"}));
  parts = SplitApiPath("//api//v1");
  ASSERT_TRUE(parts.ok());
  EXPECT_EQ(*parts, (Segments{"api", "v1"}));
  parts = SplitApiPath("");
  ASSERT_TRUE(parts.ok());
  EXPECT_TRUE(parts->empty());
}

TEST(UrlTest, RefusesWhatWouldReroute) {
  for (const char* bad :
       {"/a/victim%00/b", "/a/x%2Fy", "/a/x%2fy", "/a/%", "/a/%4", "/a/%g0", "/a/%0g"}) {
    auto parts = SplitApiPath(bad);
    ASSERT_FALSE(parts.ok()) << bad;
    EXPECT_EQ(parts.status().code(), Code::kInvalidArgument) << bad;
  }
  // A raw NUL too (found by fuzz_rest_router): no segment may hold one.
  for (std::string_view bad : {std::string_view("\0/api/v1", 8), std::string_view("/a/b\0c", 7)}) {
    auto parts = SplitApiPath(bad);
    ASSERT_FALSE(parts.ok());
    EXPECT_EQ(parts.status().code(), Code::kInvalidArgument);
  }
}

TEST(UrlTest, PercentDecodeKeepsPlusAndQuotesLittle) {
  auto v = PercentDecode("a+b%40c%7e", "query parameter");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, "a+b@c~");
  const std::string hostile = std::string(10000, 'x') + "%00";
  auto bad = PercentDecode(hostile, "query parameter");
  ASSERT_FALSE(bad.ok());
  EXPECT_LT(bad.status().message().size(), 200u);
  EXPECT_NE(bad.status().message().find("NUL"), std::string::npos);
}

}  // namespace
}  // namespace hoodyfs::cli
