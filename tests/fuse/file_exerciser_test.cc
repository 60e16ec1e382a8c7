// The file exerciser on a mount, with the writeback cache off and on; the
// final contents are checked again after a remount (from the engine, not
// the page cache).
#include "tests/fuse/file_exerciser.h"

#include <gtest/gtest.h>

#include "tests/fuse/mount_fixture.h"

namespace hoodyfs::testing {
namespace {

class FileExerciserTest : public MountTest, public ::testing::WithParamInterface<bool> {
 protected:
  fusefs::MountOptions Options() const override {
    fusefs::MountOptions o;
    o.writeback_cache = GetParam();
    return o;
  }
};

uint64_t Seed() {
  const int flag = ::testing::UnitTest::GetInstance()->random_seed();
  return flag != 0 ? static_cast<uint64_t>(flag) : 20240611;
}

TEST_P(FileExerciserTest, RandomOperationsMatchTheModel) {
  ExerciserOptions options;
  options.seed = Seed() + (GetParam() ? 1 : 0);
  std::string contents;
  ASSERT_TRUE(RunFileExerciserInChild(P("exercised"), options, dir_->File("model"), &contents))
      << "rerun with --gtest_random_seed=" << Seed();
  ASSERT_NO_FATAL_FAILURE(Remount());
  EXPECT_TRUE(ReadFile(P("exercised")) == contents)
      << "after remount, seed " << options.seed << ": contents differ";
}

INSTANTIATE_TEST_SUITE_P(WritebackCache, FileExerciserTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& param) {
                           return param.param ? "On" : "Off";
                         });

}  // namespace
}  // namespace hoodyfs::testing
