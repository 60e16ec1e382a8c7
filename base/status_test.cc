#include "base/status.h"

#include <gtest/gtest.h>

namespace hoodyfs {
namespace {

TEST(StatusTest, OkHasNoMessageAndNoErrno) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.ErrnoValue(), 0);
  EXPECT_EQ(s.ToString(), "OK");
}

TEST(StatusTest, EveryCodeMapsToItsErrno) {
  struct Case {
    Status status;
    int err;
  };
  const Case cases[] = {
      {Status::NotFound("x"), ENOENT},
      {Status::Exists("x"), EEXIST},
      {Status::InvalidArgument("x"), EINVAL},
      {Status::NoSpace("x"), ENOSPC},
      {Status::IoError("x"), EIO},
      {Status::Corruption("x"), EIO},
      {Status::Busy("x"), EBUSY},
      {Status::ReadOnly("x"), EROFS},
      {Status::NotEmpty("x"), ENOTEMPTY},
      {Status::NotSupported("x"), EOPNOTSUPP},
      {Status::NotDirectory("x"), ENOTDIR},
      {Status::IsDirectory("x"), EISDIR},
      {Status::NameTooLong("x"), ENAMETOOLONG},
      {Status::Permission("x"), EPERM},
      {Status::TooManyLinks("x"), EMLINK},
      {Status::Range("x"), ERANGE},
      {Status::NoData("x"), ENODATA},
      {Status::Stale("x"), ESTALE},
      {Status::FileTooBig("x"), EFBIG},
  };
  for (const auto& c : cases) EXPECT_EQ(c.status.ErrnoValue(), c.err) << c.status.ToString();
}

TEST(StatusTest, FromErrnoRoundTripsTheErrno) {
  for (int err : {ENOENT, EEXIST,    EINVAL,  ENOSPC, EDQUOT,       EIO,        EBUSY,
                  EROFS,  ENOTEMPTY, ENOTDIR, EISDIR, ENAMETOOLONG, ENODATA,    ESTALE,
                  EFBIG,  EACCES,    EPERM,   EMLINK, ERANGE,       EOPNOTSUPP, EFAULT}) {
    Status s = FromErrno(err, "op");
    EXPECT_FALSE(s.ok());
    EXPECT_EQ(s.ErrnoValue(), err);
    EXPECT_EQ(s.message().rfind("op: ", 0), 0u) << s.message();
  }
  EXPECT_EQ(FromErrno(ENOSPC, "w").code(), Code::kNoSpace);
  EXPECT_EQ(FromErrno(EFAULT, "w").code(), Code::kIoError);
}

TEST(StatusTest, FromErrnoGivesEachCodeBackFromItsErrno) {
  // Generated from the one table: a code added there is covered here.
  for (int i = 1; i < kCodeCount; ++i) {
    const Code code = static_cast<Code>(i);
    const Code back = FromErrno(CodeErrno(code), "op").code();
    // kCorruption shares EIO with kIoError; an EIO from the host is an I/O error.
    EXPECT_EQ(back, code == Code::kCorruption ? Code::kIoError : code) << CodeName(code);
  }
  EXPECT_EQ(FromErrno(EDQUOT, "w").code(), Code::kNoSpace);
  EXPECT_EQ(FromErrno(EACCES, "w").code(), Code::kPermission);
  EXPECT_EQ(FromErrno(EAGAIN, "w").code(), Code::kBusy);
}

TEST(StatusTest, WithContextPrefixesAndKeepsCode) {
  Status s = Status::NotFound("file a").WithContext("open store");
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_EQ(s.message(), "open store: file a");
}

Result<int> Half(int v) {
  if (v % 2) return Status::InvalidArgument("odd");
  return v / 2;
}

Status UseHalf(int v, int* out) {
  HOODY_ASSIGN_OR_RETURN(*out, Half(v));
  return Status::OK();
}

TEST(StatusTest, AssignOrReturnPropagates) {
  int out = 0;
  EXPECT_TRUE(UseHalf(4, &out).ok());
  EXPECT_EQ(out, 2);
  EXPECT_EQ(UseHalf(3, &out).code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace hoodyfs
