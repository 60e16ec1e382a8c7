// CephCluster: a private single-node Ceph with its S3 gateway for a test
// binary, started and stopped through scripts/ceph.sh (the script a user
// runs to try replication on one machine) in a directory the caller owns.
//
// The destructor stops a cluster still running, so a failed assertion never
// leaves daemons behind; should the test process die outright (a signal, an
// abort), the script's watcher (CEPH_OWNER_PID) stops the cluster when it
// sees the process end. Start takes about 15 s, so a binary starts one
// cluster and its tests share it, each under a key prefix of its own.
//
// Ownership: owns the running daemons, not the directory. Neither copyable
// nor movable. Thread-safety: one thread at a time.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "base/testing/temp_dir.h"
#include "snapshotter/remote/s3_config.h"
#include "tests/cli/run_command.h"

namespace hoodyfs::testing {

// scripts/ceph.sh ARGS...
CommandResult CephScript(const std::vector<std::string>& args,
                         const std::vector<std::string>& env = {});

class CephCluster {
 public:
  explicit CephCluster(std::string workdir) : workdir_(std::move(workdir)) {}
  CephCluster(const CephCluster&) = delete;
  CephCluster& operator=(const CephCluster&) = delete;
  ~CephCluster();

  // Empty when the Ceph programs are installed; else what `ceph.sh check`
  // says is missing.
  static std::string Missing();

  // Creates and starts the cluster; returns once the gateway answers and the
  // S3 user exists.
  CommandResult Start();
  // Stops it if it runs.
  CommandResult Stop();

  // The gateway's endpoint and the user's keys (from `ceph.sh env`), with
  // `bucket` and `prefix`, region "default" (RGW's zone group).
  Result<remote::S3Config> Config(const std::string& bucket, const std::string& prefix) const;

  const std::string& workdir() const { return workdir_; }

 private:
  std::string workdir_;
  bool started_ = false;
};

// A fixture whose tests share one cluster: the suite starts it
// (SetUpTestSuite) and stops it (TearDownTestSuite). SetUp skips a test
// when Ceph is not installed and fails it when the start failed; a derived
// SetUp calls it first and returns when IsSkipped() or HasFatalFailure().
class CephTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();
  void SetUp() override;

  static CephCluster& cluster() { return *suite_->cluster; }
  // The cluster's config for the running test: its own prefix in `bucket`.
  static Result<remote::S3Config> ConfigForThisTest(const std::string& bucket);

 private:
  struct Suite {
    std::string missing;  // what `ceph.sh check` says is missing; empty: installed
    std::optional<TempDir> dir;
    std::unique_ptr<CephCluster> cluster;
    CommandResult start;
  };
  static inline std::unique_ptr<Suite> suite_;
};

}  // namespace hoodyfs::testing
