#include "cli/daemon/http/bearer.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "base/testing/temp_dir.h"

namespace hoodyfs::cli {
namespace {

constexpr char kToken[] = "0123456789abcdef0123456789abcdef";

TEST(BearerTest, SchemeIsCaseInsensitiveTokenIsNot) {
  EXPECT_TRUE(BearerMatches(std::string("Bearer ") + kToken, kToken));
  EXPECT_TRUE(BearerMatches(std::string("bearer ") + kToken, kToken));
  EXPECT_TRUE(BearerMatches(std::string("BEARER\t ") + kToken + " ", kToken));
  std::string upper = kToken;
  upper[10] = 'A';
  EXPECT_FALSE(BearerMatches("Bearer " + upper, kToken));
  EXPECT_FALSE(BearerMatches(std::string("Bearer ") + kToken + "0", kToken));
  EXPECT_FALSE(BearerMatches(std::string("Bearer ") + (kToken + 1), kToken));
  EXPECT_FALSE(BearerMatches("Bearer ", kToken));
  EXPECT_FALSE(BearerMatches(std::string("Basic ") + kToken, kToken));
  EXPECT_FALSE(BearerMatches(std::string("Bearer") + kToken, kToken));
  EXPECT_FALSE(BearerMatches("", kToken));
}

TEST(BearerTest, TokenFilesMustBePrivateAndLongEnough) {
  testing::TempDir dir = testing::TempDir::Create().value();
  const std::string good = dir.File("good");
  std::ofstream(good) << kToken << "\n";
  ASSERT_EQ(::chmod(good.c_str(), 0600), 0);
  auto token = ReadTokenFile(good);
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  EXPECT_EQ(*token, kToken);

  ASSERT_EQ(::chmod(good.c_str(), 0640), 0);
  token = ReadTokenFile(good);
  ASSERT_FALSE(token.ok());
  EXPECT_NE(token.status().message().find("chmod 600"), std::string::npos);

  const std::string short_file = dir.File("short");
  std::ofstream(short_file) << "0123456789\n";
  ASSERT_EQ(::chmod(short_file.c_str(), 0600), 0);
  token = ReadTokenFile(short_file);
  ASSERT_FALSE(token.ok());
  EXPECT_NE(token.status().message().find("has 10 bytes"), std::string::npos);

  token = ReadTokenFile(dir.File("missing"));
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.status().code(), Code::kNotFound);
}

}  // namespace
}  // namespace hoodyfs::cli
