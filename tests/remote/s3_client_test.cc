// The S3 client against a real Ceph RADOS Gateway (scripts/ceph.sh), one
// cluster for the whole binary; each test works under a key prefix of its
// own in one bucket.
#include "snapshotter/remote/s3_client.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>

#include "base/testing/temp_dir.h"
#include "tests/remote/ceph_cluster.h"

namespace hoodyfs::remote {
namespace {

using hoodyfs::testing::CephCluster;
using hoodyfs::testing::TempDir;

constexpr char kBucket[] = "hoodyfs-test";

class S3ClientCephTest : public hoodyfs::testing::CephTest {
 protected:
  void SetUp() override {
    CephTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    client_ = NewClient(Config());
    ASSERT_TRUE(client_ != nullptr);
    Status created = client_->CreateBucket();
    ASSERT_TRUE(created.ok()) << created.ToString();
  }

  // The cluster's config for this test: its own prefix in the shared bucket.
  S3Config Config() const {
    Result<S3Config> config = ConfigForThisTest(kBucket);
    EXPECT_TRUE(config.ok()) << config.status().ToString();
    return config.ok() ? *config : S3Config{};
  }
  static std::unique_ptr<S3Client> NewClient(S3Config config) {
    Result<std::unique_ptr<S3Client>> client = S3Client::Create(std::move(config));
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    return client.ok() ? std::move(client).value() : nullptr;
  }

  std::unique_ptr<S3Client> client_;
};

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

TEST_F(S3ClientCephTest, PutGetExistsDelete) {
  const std::string data = RandomBytes(3 << 20, 1);  // zeros and every byte value
  ASSERT_TRUE(client_->Put("chunks/big", data).ok());
  ASSERT_TRUE(client_->Put("empty", "").ok());

  Result<std::string> got = client_->Get("chunks/big");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(*got == data) << "3 MiB object read back different";
  Result<std::string> empty = client_->Get("empty");
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_EQ(*empty, "");

  Result<bool> exists = client_->Exists("chunks/big");
  ASSERT_TRUE(exists.ok()) << exists.status().ToString();
  EXPECT_TRUE(*exists);
  EXPECT_EQ(client_->counters().objects_put, 2u);
  EXPECT_EQ(client_->counters().bytes_put, data.size());

  ASSERT_TRUE(client_->Delete("chunks/big").ok());
  exists = client_->Exists("chunks/big");
  ASSERT_TRUE(exists.ok()) << exists.status().ToString();
  EXPECT_FALSE(*exists);
  got = client_->Get("chunks/big");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), Code::kNotFound);
  EXPECT_NE(got.status().message().find("NoSuchKey"), std::string::npos) << got.status().ToString();
  // Deleting what is not there is no error (S3 semantics).
  EXPECT_TRUE(client_->Delete("chunks/big").ok());
}

// The two times gc's rule reads, both from the server: a HEAD's Date and
// Last-Modified; and a delete bounded in time.
TEST_F(S3ClientCephTest, HeadGivesServerTimesAndDeleteWithinDeletes) {
  Result<int64_t> before = client_->ServerTime();
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  ASSERT_TRUE(client_->Put("timed", "x").ok());
  Result<S3ObjectInfo> info = client_->Head("timed");
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_TRUE(info->exists);
  EXPECT_GE(info->last_modified, *before);
  EXPECT_GE(info->server_time, info->last_modified);
  EXPECT_LE(info->server_time - *before, 600) << "ten minutes between two requests?";

  ASSERT_TRUE(client_->DeleteWithin("timed", std::chrono::seconds(10)).ok());
  info = client_->Head("timed");
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_FALSE(info->exists);
  EXPECT_EQ(info->last_modified, 0);
  EXPECT_GE(info->server_time, *before);
}

TEST_F(S3ClientCephTest, KeysThatNeedEncoding) {
  const std::string key = "odd/with space+plus=eq&amp%25é~";
  ASSERT_TRUE(client_->Put(key, "odd").ok());
  Result<std::string> got = client_->Get(key);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, "odd");
  Result<std::vector<S3Object>> all = client_->ListAll("odd/with space");
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].key, key);
  EXPECT_EQ((*all)[0].size, 3u);
}

TEST_F(S3ClientCephTest, ListWithPrefixAndContinuation) {
  std::vector<std::string> expected;
  for (int i = 0; i < 7; ++i) {
    const std::string key = "list/" + std::to_string(i);
    ASSERT_TRUE(client_->Put(key, std::string(static_cast<size_t>(i), 'x')).ok());
    expected.push_back(key);
  }
  ASSERT_TRUE(client_->Put("listless", "not under list/").ok());
  ASSERT_TRUE(client_->Put("other/0", "elsewhere").ok());

  Result<S3ListPage> first = client_->List("list/", "", 3);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_EQ(first->objects.size(), 3u);
  EXPECT_TRUE(first->truncated);
  ASSERT_FALSE(first->next_token.empty());
  EXPECT_EQ(first->objects[0].key, "list/0");
  Result<S3ListPage> second = client_->List("list/", first->next_token, 3);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  ASSERT_EQ(second->objects.size(), 3u);
  EXPECT_EQ(second->objects[0].key, "list/3");

  // ListAll walks the pages (one page of 1000 here; the two above showed
  // continuation works).
  Result<std::vector<S3Object>> all = client_->ListAll("list/");
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  std::vector<std::string> keys;
  for (const S3Object& object : *all) {
    keys.push_back(object.key);
    EXPECT_EQ(object.size, static_cast<uint64_t>(object.key.back() - '0')) << object.key;
  }
  EXPECT_EQ(keys, expected);

  // The prefix of another test's client hides this test's keys.
  S3Config other = Config();
  other.prefix = "SomeOtherTest/";
  std::unique_ptr<S3Client> stranger = NewClient(other);
  ASSERT_TRUE(stranger != nullptr);
  Result<std::vector<S3Object>> none = stranger->ListAll("list/");
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_TRUE(none->empty());
}

TEST_F(S3ClientCephTest, WrongSecretIsPermissionDeniedAndNotEchoed) {
  S3Config config = Config();
  config.secret_key = "not-the-secret-" + config.secret_key.substr(0, 4);
  std::unique_ptr<S3Client> client = NewClient(config);
  ASSERT_TRUE(client != nullptr);
  Status put = client->Put("denied", "x");
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.code(), Code::kPermission);
  EXPECT_NE(put.message().find("SignatureDoesNotMatch"), std::string::npos) << put.ToString();
  EXPECT_NE(put.message().find("HTTP 403"), std::string::npos) << put.ToString();
  EXPECT_EQ(put.message().find(config.secret_key), std::string::npos) << put.ToString();
  EXPECT_EQ(put.message().find(Config().secret_key), std::string::npos) << put.ToString();
}

TEST_F(S3ClientCephTest, MissingBucketIsNotFound) {
  S3Config config = Config();
  config.bucket = "no-such-bucket";
  std::unique_ptr<S3Client> client = NewClient(config);
  ASSERT_TRUE(client != nullptr);
  Result<std::string> got = client->Get("anything");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), Code::kNotFound);
  EXPECT_NE(got.status().message().find("NoSuchBucket"), std::string::npos)
      << got.status().ToString();
}

TEST_F(S3ClientCephTest, AConfigFileWrittenFromTheScriptsEnvWorks) {
  const S3Config config = Config();
  Result<TempDir> dir = TempDir::Create();
  ASSERT_TRUE(dir.ok());
  const std::string path = dir->File("remote.conf");
  {
    std::ofstream out(path);
    out << "endpoint = " << config.endpoint << "\nbucket = " << config.bucket
        << "\nprefix = " << config.prefix << "\nregion = " << config.region
        << "\naccess_key = " << config.access_key << "\nsecret_key = " << config.secret_key << "\n";
  }
  ASSERT_EQ(chmod(path.c_str(), 0600), 0);
  Result<S3Config> loaded = LoadS3Config(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  std::unique_ptr<S3Client> client = NewClient(*loaded);
  ASSERT_TRUE(client != nullptr);
  ASSERT_TRUE(client->Put("from-file", "configured").ok());
  Result<std::string> got = client_->Get("from-file");  // the fixture's client, same prefix
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, "configured");
}

}  // namespace
}  // namespace hoodyfs::remote

namespace hoodyfs::testing {
namespace {

// Every process whose command line names `dir`.
std::vector<std::string> ProcessesNaming(const std::string& dir) {
  std::vector<std::string> found;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string pid = entry.path().filename();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "cmdline", std::ios::binary);
    std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    if (cmdline.find(dir) != std::string::npos) found.push_back(pid + ": " + cmdline);
  }
  return found;
}

// A start that fails half-way (its wait for the daemons given no time)
// stops the daemons it had started, and says why it failed.
TEST(CephScript, AStartThatFailsHalfWayStopsWhatItStarted) {
  if (const std::string missing = CephCluster::Missing(); !missing.empty()) {
    GTEST_SKIP() << "no Ceph: " << missing;
  }
  Result<TempDir> dir = TempDir::Create();
  ASSERT_TRUE(dir.ok());
  const std::string workdir = dir->File("ceph");
  const CommandResult start = CephScript({"start", workdir}, {"CEPH_START_TIMEOUT=0"});
  EXPECT_EQ(start.exit_code, 1) << start.Describe();
  EXPECT_NE(start.err.find("ceph.sh: start failed: "), std::string::npos) << start.Describe();
  // The monitor was started, and stopped again.
  EXPECT_TRUE(std::filesystem::exists(workdir + "/run/mon.a.stopped")) << start.Describe();
  EXPECT_EQ(ProcessesNaming(workdir), std::vector<std::string>{});
  const CommandResult stop = CephScript({"stop", workdir});
  EXPECT_EQ(stop.exit_code, 0) << stop.Describe();
  // A directory in use is refused before anything starts.
  const CommandResult again = CephScript({"start", workdir});
  EXPECT_EQ(again.exit_code, 1) << again.Describe();
  EXPECT_NE(again.err.find("is not empty"), std::string::npos) << again.Describe();
}

}  // namespace
}  // namespace hoodyfs::testing
