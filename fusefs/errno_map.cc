#include "fusefs/errno_map.h"

#include <cerrno>
#include <initializer_list>

namespace hoodyfs::fusefs {

namespace {
struct Row {
  Code code;
  int err;                          // the errno for this code
  std::initializer_list<int> also;  // a Status's own errno passed through when listed
};

const Row kRows[] = {
    {Code::kOk, 0, {}},
    {Code::kNotFound, ENOENT, {}},
    {Code::kExists, EEXIST, {}},
    {Code::kInvalidArgument, EINVAL, {EFBIG, EOVERFLOW}},
    {Code::kNoSpace, ENOSPC, {EDQUOT}},
    {Code::kIoError, EIO, {}},
    {Code::kCorruption, EIO, {}},
    {Code::kBusy, EBUSY, {}},
    {Code::kReadOnly, EROFS, {}},
    {Code::kNotEmpty, ENOTEMPTY, {}},
    {Code::kNotSupported, EOPNOTSUPP, {}},
    {Code::kNotDirectory, ENOTDIR, {}},
    {Code::kIsDirectory, EISDIR, {}},
    {Code::kNameTooLong, ENAMETOOLONG, {}},
    {Code::kPermission, EPERM, {EACCES}},
    {Code::kTooManyLinks, EMLINK, {}},
    {Code::kRange, ERANGE, {E2BIG}},
    {Code::kNoData, ENODATA, {}},
    {Code::kStale, ESTALE, {}},
};
}  // namespace

int ToFuseErrno(const Status& status) {
  if (status.ok()) return 0;
  for (const Row& row : kRows) {
    if (row.code != status.code()) continue;
    const int own = status.ErrnoValue();
    for (int allowed : row.also) {
      if (own == allowed) return own;
    }
    return row.err;
  }
  return EIO;  // a code added to base/status.h but not here: fail safe
}

}  // namespace hoodyfs::fusefs
