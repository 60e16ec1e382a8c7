#include "fusefs/errno_map.h"

#include <cerrno>
#include <initializer_list>

namespace hoodyfs::fusefs {

namespace {
// A Status's own errno passed on where it says more than the code's errno
// (base/status.h HOODYFS_STATUS_CODES) and is still about the caller's file.
struct PassThrough {
  Code code;
  std::initializer_list<int> errnos;
};
const PassThrough kPassThrough[] = {
    {Code::kInvalidArgument, {EFBIG, EOVERFLOW}},
    {Code::kNoSpace, {EDQUOT}},
    {Code::kPermission, {EACCES}},
    {Code::kRange, {E2BIG}},
};
}  // namespace

int ToFuseErrno(const Status& status) {
  if (status.ok()) return 0;
  const int own = status.ErrnoValue();
  for (const PassThrough& row : kPassThrough) {
    if (row.code != status.code()) continue;
    for (int allowed : row.errnos) {
      if (own == allowed) return own;
    }
  }
  return CodeErrno(status.code());
}

}  // namespace hoodyfs::fusefs
