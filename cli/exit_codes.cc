#include "cli/exit_codes.h"

namespace hoodyfs::cli {

int ExitCodeFor(const Status& status) {
  switch (status.code()) {
    case Code::kOk:
      return kExitOk;
    case Code::kInvalidArgument:
    case Code::kNameTooLong:
      return kExitUsage;
    case Code::kNotFound:
      return kExitNotFound;
    case Code::kExists:
      return kExitConflict;
    case Code::kBusy:
      return kExitBusy;
    case Code::kNoSpace:
      return kExitNoSpace;
    case Code::kCorruption:
      return kExitCorruption;
    default:
      return kExitFailure;
  }
}

}  // namespace hoodyfs::cli
