#include "tests/remote/ceph_cluster.h"

#include <unistd.h>

#include <cstdio>
#include <map>
#include <sstream>

namespace hoodyfs::testing {

CommandResult CephScript(const std::vector<std::string>& args,
                         const std::vector<std::string>& env) {
  return RunCommand(std::string(HOODYFS_SOURCE_DIR) + "/scripts/ceph.sh", args, env);
}

std::string CephCluster::Missing() {
  CommandResult check = CephScript({"check"});
  return check.exit_code == 0 ? "" : check.out + check.err;
}

CephCluster::~CephCluster() {
  if (!started_) return;
  CommandResult stop = Stop();
  if (stop.exit_code != 0) {
    fprintf(stderr, "CephCluster: stop in %s failed: %s\n", workdir_.c_str(),
            stop.Describe().c_str());
  }
}

CommandResult CephCluster::Start() {
  // Marked started before the script runs: a start that fails half-way has
  // daemons to stop too.
  started_ = true;
  return CephScript({"start", workdir_}, {"CEPH_OWNER_PID=" + std::to_string(getpid())});
}

CommandResult CephCluster::Stop() {
  CommandResult stop = CephScript({"stop", workdir_});
  if (stop.exit_code == 0) started_ = false;
  return stop;
}

Result<remote::S3Config> CephCluster::Config(const std::string& bucket,
                                             const std::string& prefix) const {
  CommandResult env = CephScript({"env", workdir_});
  if (env.exit_code != 0) return Status::NotFound("ceph.sh env: " + env.Describe());
  std::map<std::string, std::string> vars;
  std::istringstream lines(env.out);
  for (std::string line; std::getline(lines, line);) {
    const auto eq = line.find('=');
    if (eq != std::string::npos) vars[line.substr(0, eq)] = line.substr(eq + 1);
  }
  remote::S3Config config;
  config.endpoint = vars["S3_ENDPOINT"];
  config.access_key = vars["S3_ACCESS_KEY"];
  config.secret_key = vars["S3_SECRET_KEY"];
  config.region = vars["S3_REGION"];
  config.bucket = bucket;
  config.prefix = prefix;
  HOODY_RETURN_IF_ERROR(remote::ValidateS3Config(config).WithContext("ceph.sh env"));
  return config;
}

void CephTest::SetUpTestSuite() {
  suite_ = std::make_unique<Suite>();
  suite_->missing = CephCluster::Missing();
  if (!suite_->missing.empty()) return;
  Result<TempDir> dir = TempDir::Create();
  if (!dir.ok()) {
    suite_->start.exit_code = 1;
    suite_->start.err = "temporary directory: " + dir.status().ToString();
    return;
  }
  suite_->dir.emplace(std::move(dir).value());
  suite_->cluster = std::make_unique<CephCluster>(suite_->dir->File("ceph"));
  suite_->start = suite_->cluster->Start();
}

void CephTest::TearDownTestSuite() {
  suite_.reset();  // the cluster's destructor stops the daemons, then the directory goes
}

void CephTest::SetUp() {
  if (!suite_->missing.empty()) GTEST_SKIP() << "no Ceph: " << suite_->missing;
  ASSERT_EQ(suite_->start.exit_code, 0) << suite_->start.Describe();
}

Result<remote::S3Config> CephTest::ConfigForThisTest(const std::string& bucket) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return cluster().Config(bucket, std::string(info->name()) + "/");
}

}  // namespace hoodyfs::testing
