#include "cli/exit_codes.h"

#include <gtest/gtest.h>

namespace hoodyfs::cli {
namespace {

TEST(ExitCodesTest, EachStatusHasItsCode) {
  EXPECT_EQ(ExitCodeFor(Status::OK()), kExitOk);
  EXPECT_EQ(ExitCodeFor(Status::InvalidArgument("x")), kExitUsage);
  EXPECT_EQ(ExitCodeFor(Status::NameTooLong("x")), kExitUsage);
  EXPECT_EQ(ExitCodeFor(Status::NotFound("x")), kExitNotFound);
  EXPECT_EQ(ExitCodeFor(Status::Exists("x")), kExitConflict);
  EXPECT_EQ(ExitCodeFor(Status::Busy("x")), kExitBusy);
  EXPECT_EQ(ExitCodeFor(Status::NoSpace("x")), kExitNoSpace);
  EXPECT_EQ(ExitCodeFor(Status::Corruption("x")), kExitCorruption);
  EXPECT_EQ(ExitCodeFor(Status::IoError("x")), kExitFailure);
  EXPECT_EQ(ExitCodeFor(Status::Permission("x")), kExitFailure);
}

}  // namespace
}  // namespace hoodyfs::cli
