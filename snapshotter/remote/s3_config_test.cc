#include "snapshotter/remote/s3_config.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <fstream>

#include "base/testing/temp_dir.h"

namespace hoodyfs::remote {
namespace {

using hoodyfs::testing::TempDir;

std::string WriteConfig(const TempDir& dir, const std::string& text, mode_t mode) {
  const std::string path = dir.File("remote.conf");
  {
    std::ofstream out(path, std::ios::trunc);
    out << text;
  }
  EXPECT_EQ(chmod(path.c_str(), mode), 0);
  return path;
}

constexpr char kGood[] =
    "# the test remote\n"
    "endpoint = http://127.0.0.1:7480\n"
    "bucket = hoodyfs-test\n"
    "prefix = fleet/\n"
    "region = default\n"
    "access_key = AK\n"
    "secret_key = s3cr3t/with=signs\n";

TEST(LoadS3Config, ReadsEveryKey) {
  Result<TempDir> dir = TempDir::Create();
  ASSERT_TRUE(dir.ok());
  Result<S3Config> config = LoadS3Config(WriteConfig(*dir, kGood, 0600));
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->endpoint, "http://127.0.0.1:7480");
  EXPECT_EQ(config->bucket, "hoodyfs-test");
  EXPECT_EQ(config->prefix, "fleet/");
  EXPECT_EQ(config->region, "default");
  EXPECT_EQ(config->access_key, "AK");
  EXPECT_EQ(config->secret_key, "s3cr3t/with=signs");
}

TEST(LoadS3Config, RefusesAFileOthersMayRead) {
  Result<TempDir> dir = TempDir::Create();
  ASSERT_TRUE(dir.ok());
  for (mode_t mode : {0644, 0640, 0604, 0620, 0602}) {
    Result<S3Config> config = LoadS3Config(WriteConfig(*dir, kGood, mode));
    ASSERT_FALSE(config.ok()) << std::oct << mode;
    EXPECT_EQ(config.status().code(), Code::kPermission);
    EXPECT_NE(config.status().message().find("chmod 600"), std::string::npos)
        << config.status().ToString();
    // The refusal does not echo the secret.
    EXPECT_EQ(config.status().message().find("s3cr3t"), std::string::npos);
  }
}

TEST(LoadS3Config, NamesTheBadLine) {
  Result<TempDir> dir = TempDir::Create();
  ASSERT_TRUE(dir.ok());
  const struct {
    std::string text;
    std::string message;
  } cases[] = {
      {std::string(kGood) + "colour = blue\n", "remote.conf:8: unknown key \"colour\""},
      {std::string(kGood) + "just words\n", "remote.conf:8: expected key = value"},
      {"endpoint = http://h\nbucket = b1b\naccess_key = a\n", "no secret_key"},
      {"endpoint = ftp://h\nbucket = b1b\naccess_key = a\nsecret_key = s\n",
       "does not start with http://"},
      {"endpoint = http://h\nbucket = B\naccess_key = a\nsecret_key = s\n",
       "bucket \"B\" is not 3 to 63"},
  };
  for (const auto& c : cases) {
    Result<S3Config> config = LoadS3Config(WriteConfig(*dir, c.text, 0600));
    ASSERT_FALSE(config.ok()) << c.text;
    EXPECT_EQ(config.status().code(), Code::kInvalidArgument);
    EXPECT_NE(config.status().message().find(c.message), std::string::npos)
        << config.status().ToString();
  }
}

TEST(S3ConfigFromEnvironment, ReadsAndNamesTheMissingVariable) {
  setenv("HOODYFS_S3_ENDPOINT", "https://s3.example", 1);
  setenv("HOODYFS_S3_BUCKET", "snapshots", 1);
  unsetenv("HOODYFS_S3_PREFIX");
  unsetenv("HOODYFS_S3_REGION");
  setenv("AWS_ACCESS_KEY_ID", "AK", 1);
  unsetenv("AWS_SECRET_ACCESS_KEY");
  Result<S3Config> missing = S3ConfigFromEnvironment();
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("AWS_SECRET_ACCESS_KEY is not set"), std::string::npos);
  setenv("AWS_SECRET_ACCESS_KEY", "SK", 1);
  Result<S3Config> config = S3ConfigFromEnvironment();
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->endpoint, "https://s3.example");
  EXPECT_EQ(config->region, "us-east-1");
  EXPECT_EQ(config->secret_key, "SK");
}

}  // namespace
}  // namespace hoodyfs::remote
