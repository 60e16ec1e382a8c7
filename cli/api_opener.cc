#include "cli/api_opener.h"

#include <fstream>

#include "cli/api/daemon_paths.h"
#include "cli/api/remote_api.h"

namespace hoodyfs::cli {

namespace {
std::string DaemonPid(const std::string& store) {
  std::ifstream in(DaemonPidPath(store));
  std::string pid;
  in >> pid;
  return pid.empty() ? "unknown" : pid;
}
}  // namespace

Result<std::unique_ptr<SnapshotApi>> OpenApi(const std::string& store) {
  auto remote = std::make_unique<RemoteApi>(UnixEndpoint(DaemonSocketPath(store)));
  // The store's lock decides who owns it. A daemon that is starting or
  // stopping holds the lock while its socket does not answer: neither way
  // in works for a moment. Wait for it to finish either way (bounded), so a
  // command never fails just because it ran beside a daemon's start or stop.
  return RetryThroughHandOver([&]() -> Result<std::unique_ptr<SnapshotApi>> {
    if (remote->Ping()) return std::unique_ptr<SnapshotApi>(std::move(remote));
    HOODY_ASSIGN_OR_RETURN(std::unique_ptr<LocalApi> local, LocalApi::Open(store));
    return std::unique_ptr<SnapshotApi>(std::move(local));
  });
}

Status CheckNoDaemon(const std::string& store) {
  RemoteApi remote(UnixEndpoint(DaemonSocketPath(store)));
  if (!remote.Ping()) return Status::OK();
  return Status::Busy("store " + store + " is served by its daemon (pid " + DaemonPid(store) +
                      "), which has it to itself: unmount its containers (hoodyfs umount) first");
}

}  // namespace hoodyfs::cli
