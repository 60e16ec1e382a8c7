#include "blockstore/cqe_res.h"

namespace hoodyfs::blockstore {

Status FromCqeRes(int res, std::string_view what) {
  if (res >= 0) return Status::OK();
  return FromErrno(-res, what);
}

}  // namespace hoodyfs::blockstore
