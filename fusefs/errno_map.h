// ToFuseErrno: the one converter from the engine's Status to the errno a
// FUSE reply carries (the positive value fuse_reply_err takes).
//
// Each Code's errno comes from the one table in base/status.h. A Status may
// carry the errno it came from (FromErrno); that errno is passed on only
// where a row here allows it (EACCES for kPermission, EDQUOT for kNoSpace,
// ...), so a host error about the data
// file (EBADF, ENOTCONN) never reaches an application as if it were about its
// own file. Never returns ENOSYS: the kernel would take that as "operation
// not implemented" and stop sending it for the life of the mount.
//
// Thread-safety: pure function.
#pragma once

#include "base/status.h"

namespace hoodyfs::fusefs {

// 0 for OK, else a positive errno.
int ToFuseErrno(const Status& status);

}  // namespace hoodyfs::fusefs
