#include "fusefs/errno_map.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace hoodyfs::fusefs {
namespace {

TEST(ToFuseErrnoTest, EveryCodeHasItsErrno) {
  EXPECT_EQ(ToFuseErrno(Status::OK()), 0);
  const struct {
    Code code;
    int err;
  } kCases[] = {
      {Code::kNotFound, ENOENT},
      {Code::kExists, EEXIST},
      {Code::kInvalidArgument, EINVAL},
      {Code::kNoSpace, ENOSPC},
      {Code::kIoError, EIO},
      {Code::kCorruption, EIO},
      {Code::kBusy, EBUSY},
      {Code::kReadOnly, EROFS},
      {Code::kNotEmpty, ENOTEMPTY},
      {Code::kNotSupported, EOPNOTSUPP},
      {Code::kNotDirectory, ENOTDIR},
      {Code::kIsDirectory, EISDIR},
      {Code::kNameTooLong, ENAMETOOLONG},
      {Code::kPermission, EPERM},
      {Code::kTooManyLinks, EMLINK},
      {Code::kRange, ERANGE},
      {Code::kNoData, ENODATA},
      {Code::kStale, ESTALE},
  };
  for (const auto& c : kCases) {
    EXPECT_EQ(ToFuseErrno(Status(c.code, "x")), c.err) << CodeName(c.code);
  }
  // Every code up to the last one maps to a real, positive errno, never
  // ENOSYS (which would switch the operation off for the mount).
  for (int code = 1; code <= static_cast<int>(Code::kStale); ++code) {
    const int err = ToFuseErrno(Status(static_cast<Code>(code), "x"));
    EXPECT_GT(err, 0) << code;
    EXPECT_NE(err, ENOSYS) << code;
  }
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
