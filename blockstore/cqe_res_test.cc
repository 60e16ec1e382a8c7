#include "blockstore/cqe_res.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace hoodyfs::blockstore {
namespace {

TEST(FromCqeResTest, MapsEveryResultTheEngineCanSee) {
  struct Case {
    int res;
    Code code;
  };
  const Case cases[] = {
      {0, Code::kOk},
      {4096, Code::kOk},
      {1 << 20, Code::kOk},
      {-ENOSPC, Code::kNoSpace},
      {-EDQUOT, Code::kNoSpace},
      {-EIO, Code::kIoError},
      {-EINVAL, Code::kInvalidArgument},
      {-EBADF, Code::kIoError},
      {-EFAULT, Code::kIoError},
      {-ECANCELED, Code::kIoError},
      {-ENXIO, Code::kIoError},
      {-EOPNOTSUPP, Code::kNotSupported},
      {-EROFS, Code::kReadOnly},
      {-EPERM, Code::kPermission},
      {-EAGAIN, Code::kBusy},
      {-EBUSY, Code::kBusy},
      {-ENOMEM, Code::kIoError},
  };
  for (const Case& c : cases) {
    const Status s = FromCqeRes(c.res, "io_uring write");
    EXPECT_EQ(s.code(), c.code) << "res " << c.res << ": " << s.ToString();
    if (c.res < 0) {
      EXPECT_EQ(s.ErrnoValue(), -c.res) << "res " << c.res;
      EXPECT_EQ(s.message().rfind("io_uring write: ", 0), 0u) << s.message();
    }
  }
}

}  // namespace
}  // namespace hoodyfs::blockstore
