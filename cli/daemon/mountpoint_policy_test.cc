#include "cli/daemon/mountpoint_policy.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/testing/temp_dir.h"

namespace hoodyfs::cli {
namespace {

TEST(MountpointPolicyTest, RefusesTheHostAndTheStore) {
  testing::TempDir dir = testing::TempDir::Create().value();
  const std::string store = dir.File("store");
  const std::string inside = store + "/sub";
  const std::string beside = dir.File("mnt");
  ASSERT_EQ(::mkdir(store.c_str(), 0700), 0);
  ASSERT_EQ(::mkdir(inside.c_str(), 0700), 0);
  ASSERT_EQ(::mkdir(beside.c_str(), 0700), 0);
  const std::string link = dir.File("usr-link");
  ASSERT_EQ(::symlink("/usr", link.c_str()), 0);

  EXPECT_TRUE(CheckMountpoint(beside, store).ok());
  for (const std::string& refused :
       {std::string("/"), std::string("/etc"), std::string("/var/lib"), std::string("/tmp"),
        std::string("/dev/shm"), std::string("/sys/fs"), link, store, inside, dir.path()}) {
    const Status s = CheckMountpoint(refused, store);
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << refused << ": " << s.ToString();
  }
  EXPECT_EQ(CheckMountpoint("relative/dir", store).code(), Code::kInvalidArgument);
  EXPECT_EQ(CheckMountpoint(dir.File("missing"), store).code(), Code::kNotFound);
}

}  // namespace
}  // namespace hoodyfs::cli
