#include "cli/daemon/http/strict_json.h"

#include <gtest/gtest.h>

namespace hoodyfs::cli {
namespace {

TEST(StrictJsonTest, ParsesWhatJsonParses) {
  auto j = ParseStrictJson(R"({"a": 1, "b": {"a": 2}, "c": [{"a": 3}, {"a": 4}]})");
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  EXPECT_EQ((*j)["b"]["a"], 2);
  EXPECT_EQ((*j)["c"][1]["a"], 4);
}

TEST(StrictJsonTest, RefusesDuplicateKeysAtAnyDepth) {
  for (const char* text : {R"({"a": 1, "a": 1})", R"({"x": {"a": 1, "b": 2, "a": 3}})",
                           R"([{"k": 1}, {"k": 2, "k": 3}])"}) {
    auto j = ParseStrictJson(text);
    ASSERT_FALSE(j.ok()) << text;
    EXPECT_NE(j.status().message().find("duplicate key"), std::string::npos) << text;
  }
}

TEST(StrictJsonTest, RefusesMalformedText) {
  for (const char* text : {"", "   ", "{", "{\"a\":}", "nul", "{\"a\": 1} x"}) {
    auto j = ParseStrictJson(text);
    ASSERT_FALSE(j.ok()) << text;
    EXPECT_NE(j.status().message().find("malformed JSON"), std::string::npos) << text;
  }
}

}  // namespace
}  // namespace hoodyfs::cli
