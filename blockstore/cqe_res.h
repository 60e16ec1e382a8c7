// FromCqeRes: the one converter at the io_uring boundary. A completion's
// `res` is a byte count when >= 0 and a negated errno when < 0.
//
// Thread-safety: a pure function.
#pragma once

#include <string_view>

#include "base/status.h"

namespace hoodyfs::blockstore {

// OK for res >= 0; otherwise FromErrno(-res, what): -ENOSPC/-EDQUOT are
// kNoSpace, -EIO kIoError, -EINVAL kInvalidArgument, -EAGAIN kBusy, and so on
// (cqe_res_test.cc holds the table). Callers requeue -EAGAIN and -EINTR
// themselves before ever converting them.
Status FromCqeRes(int res, std::string_view what);

}  // namespace hoodyfs::blockstore
