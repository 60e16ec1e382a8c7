#include "snapshotter/remote/http_date.h"

#include <gtest/gtest.h>

namespace hoodyfs::remote {
namespace {

TEST(HttpDateTest, ParsesImfFixdate) {
  Result<int64_t> t = ParseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(*t, 784111777);
  Result<int64_t> later = ParseHttpDate("Fri, 04 Dec 2026 23:35:11 GMT");
  ASSERT_TRUE(later.ok()) << later.status().ToString();
  EXPECT_EQ(*later, 1796427311);
}

TEST(HttpDateTest, RefusesWhatIsNotOne) {
  for (const char* text : {"", "Sun, 06 Nov 1994 08:49:37 UTC", "Sunday, 06-Nov-94 08:49:37 GMT",
                           "Sun Nov  6 08:49:37 1994", "Sun, 06 Foo 1994 08:49:37 GMT",
                           "Sun, 32 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 24:49:37 GMT",
                           "Sun, 06 Nov 19x4 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 GMT "}) {
    Result<int64_t> t = ParseHttpDate(text);
    EXPECT_FALSE(t.ok()) << text;
    if (!t.ok()) {
      EXPECT_EQ(t.status().code(), Code::kCorruption) << text;
    }
  }
}

}  // namespace
}  // namespace hoodyfs::remote
