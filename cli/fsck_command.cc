#include "cli/fsck_command.h"

#include "cli/api/scrub_api.h"
#include "cli/api_opener.h"
#include "snapshotter/verbs/snapshotter.h"

namespace hoodyfs::cli {

Status RunFsck(const std::string& store, bool data, std::ostream& out) {
  HOODY_RETURN_IF_ERROR(CheckNoDaemon(store));
  HOODY_ASSIGN_OR_RETURN(auto snap,
                         snapshotter::Snapshotter::Open(store, snapshotter::StoreOptions()));
  HOODY_RETURN_IF_ERROR(snap->store().CheckInvariants());
  out << store << ": consistent\n";
  if (!data) return Status::OK();
  // The data is the scrub's (scrub_api.h): the same pass and report.
  HOODY_ASSIGN_OR_RETURN(ScrubStatus status, RunScrub(*snap, ScrubRequest{}, {}, nullptr));
  PrintScrub(status, out);
  return ScrubOutcome(status);
}

}  // namespace hoodyfs::cli
