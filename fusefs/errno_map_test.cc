#include "fusefs/errno_map.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace hoodyfs::fusefs {
namespace {

TEST(ToFuseErrnoTest, EveryCodeHasItsErrno) {
  EXPECT_EQ(ToFuseErrno(Status::OK()), 0);
  // Every code of the table, whatever is added to it later: its own errno,
  // a real positive one, never ENOSYS (which would switch the operation off
  // for the mount).
  for (int i = 1; i < kCodeCount; ++i) {
    const Code code = static_cast<Code>(i);
    const int err = ToFuseErrno(Status(code, "x"));
    EXPECT_EQ(err, CodeErrno(code)) << CodeName(code);
    EXPECT_GT(err, 0) << CodeName(code);
    EXPECT_NE(err, ENOSYS) << CodeName(code);
  }
  // The rows people rely on, spelled out.
  EXPECT_EQ(ToFuseErrno(Status(Code::kCorruption, "x")), EIO);
  EXPECT_EQ(ToFuseErrno(Status(Code::kStale, "x")), ESTALE);
  // Missing from the old hand-kept table: EFBIG reached writers as EIO.
  EXPECT_EQ(ToFuseErrno(Status(Code::kFileTooBig, "x")), EFBIG);
  EXPECT_EQ(ToFuseErrno(FromErrno(EFBIG, "truncate")), EFBIG);
}

TEST(ToFuseErrnoTest, OwnErrnoPassesOnlyWhereAllowed) {
  EXPECT_EQ(ToFuseErrno(FromErrno(EACCES, "open")), EACCES);
  EXPECT_EQ(ToFuseErrno(FromErrno(EPERM, "open")), EPERM);
  EXPECT_EQ(ToFuseErrno(FromErrno(EDQUOT, "write")), EDQUOT);
  EXPECT_EQ(ToFuseErrno(FromErrno(ENOSPC, "write")), ENOSPC);
  EXPECT_EQ(ToFuseErrno(FromErrno(E2BIG, "setxattr")), EIO);  // FromErrno: kIoError
  EXPECT_EQ(ToFuseErrno(Status(Code::kRange, "value", E2BIG)), E2BIG);
  // Host errors about the data file become EIO.
  EXPECT_EQ(ToFuseErrno(FromErrno(EBADF, "pread data file")), EIO);
  EXPECT_EQ(ToFuseErrno(FromErrno(ENOTCONN, "pread data file")), EIO);
  EXPECT_EQ(ToFuseErrno(FromErrno(ENOSYS, "io_uring")), EIO);
  EXPECT_EQ(ToFuseErrno(Status::IoError("read", ENOSYS)), EIO);
  // A code's own errno that the row does not list gives the row's errno.
  EXPECT_EQ(ToFuseErrno(Status(Code::kNotFound, "x", ENXIO)), ENOENT);
}

}  // namespace
}  // namespace hoodyfs::fusefs
