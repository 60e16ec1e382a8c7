// RemoteCliTest: a CephTest whose tests run hoodyfs-snap-remote against a
// bucket prefix of their own, with two stores (a_ to push from, b_ to pull
// into), trees to snapshot and a tree compare of what was pulled.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "base/testing/temp_dir.h"
#include "snapshotter/remote/s3_client.h"
#include "tests/remote/ceph_cluster.h"
#include "tests/util/tree_compare.h"

namespace hoodyfs::testing {

inline constexpr char kRemoteBucket[] = "hoodyfs-push";
// The grace the tests' pushes keep (chunk_grace.h). A push that wrote chunks
// waits its settle time, grace/1440 and at most 5 s, before it re-checks
// them: 0.4 s at this grace against 5 s at the default day. The rule is the
// same at every grace, and each gc the tests run keeps young chunks at its
// own (default or 0s) grace, so nothing they assert depends on it.
inline constexpr char kTestPushGrace[] = "10m";

class RemoteCliTest : public CephTest {
 protected:
  void SetUp() override {
    CephTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    Result<remote::S3Config> config = ConfigForThisTest(kRemoteBucket);
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    config_ = *config;
    auto client = remote::S3Client::Create(config_);
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    Status bucket = (*client)->CreateBucket();
    ASSERT_TRUE(bucket.ok()) << bucket.ToString();
    env_ = {
        "HOODYFS_S3_ENDPOINT=" + config_.endpoint, "HOODYFS_S3_BUCKET=" + config_.bucket,
        "HOODYFS_S3_PREFIX=" + config_.prefix,     "HOODYFS_S3_REGION=" + config_.region,
        "AWS_ACCESS_KEY_ID=" + config_.access_key, "AWS_SECRET_ACCESS_KEY=" + config_.secret_key};
    for (const std::string& store : {a_, b_}) {
      Ok(RunCommand(HoodyfsBinary(), {"--store", store, "init"}));
    }
  }

  std::string Ok(const CommandResult& r) {
    EXPECT_EQ(r.exit_code, 0) << r.Describe();
    return r.out;
  }
  CommandResult Remote(const std::string& store, std::vector<std::string> args) {
    args.insert(args.begin(), {"--store", store});
    return RunCommand(HoodyfsSnapBinary() + "-remote", args, env_);
  }
  nlohmann::json PushJson(const std::string& container, const std::string& name) {
    const std::string out = Ok(
        Remote(a_, {"push", "-c", container, "--name", name, "--grace", kTestPushGrace, "--json"}));
    nlohmann::json j = nlohmann::json::parse(out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << out;
    return j;
  }
  // A tree with what a snapshot can hold: several data records per file
  // (data goes in records of at most 1 MiB), a file twice, an empty file, a
  // hole, a symlink, a directory, modes and an xattr.
  std::string MakeTree(const std::string& name, uint32_t seed) {
    const std::string root = dir_.File(name);
    EXPECT_EQ(mkdir(root.c_str(), 0755), 0);
    EXPECT_EQ(mkdir((root + "/etc").c_str(), 0750), 0);
    std::mt19937 rng(seed);
    std::string big(5 << 20, '\0');
    for (char& c : big) c = static_cast<char>(rng());
    Write(root + "/big", big);
    Write(root + "/etc/big-copy", big);
    Write(root + "/etc/hostname", name + "\n");
    Write(root + "/empty", "");
    {
      std::ofstream holey(root + "/holey");
      holey.seekp(3 << 20);
      holey << "after the hole";
    }
    EXPECT_EQ(symlink("etc/hostname", (root + "/link").c_str()), 0);
    EXPECT_EQ(chmod((root + "/etc/hostname").c_str(), 0600), 0);
    return root;
  }
  static void Write(const std::string& path, const std::string& data) {
    std::ofstream out(path, std::ios::binary);
    out << data;
    EXPECT_TRUE(out.flush()) << path;
  }
  // Imports `tree` as container `c` of store A and snapshots it with `alias`.
  void ContainerWithSnapshot(const std::string& c, const std::string& tree,
                             const std::string& alias) {
    Ok(RunCommand(HoodyfsBinary(), {"--store", a_, "import", "-c", c, "--create", tree}));
    Ok(RunCommand(HoodyfsSnapBinary(), {"--store", a_, "create", "-c", c, "--alias", alias}));
  }
  std::vector<std::string> Diff(const std::string& store_a, const std::string& ca,
                                const std::string& store_b, const std::string& cb,
                                const std::string& snapshot) {
    const std::string want = dir_.File("want-" + cb), got = dir_.File("got-" + cb);
    Ok(RunCommand(HoodyfsBinary(),
                  {"--store", store_a, "export", "-c", ca, "--snapshot", snapshot, want}));
    Ok(RunCommand(HoodyfsBinary(),
                  {"--store", store_b, "export", "-c", cb, "--snapshot", snapshot, got}));
    return CompareTrees(want, got);
  }

  TempDir dir_ = std::move(TempDir::Create()).value();
  std::string a_ = dir_.File("store-a"), b_ = dir_.File("store-b");
  remote::S3Config config_;
  std::vector<std::string> env_;
};

}  // namespace hoodyfs::testing
