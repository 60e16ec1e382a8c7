#include "cli/api_opener.h"

#include <fstream>

#include "cli/daemon/daemon.h"
#include "cli/rest/remote_api.h"

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
  if (remote->Ping()) return std::unique_ptr<SnapshotApi>(std::move(remote));
  auto local = LocalApi::Open(store);
  if (!local.ok()) return local.status();
  return std::unique_ptr<SnapshotApi>(std::move(*local));
}

Status CheckNoDaemon(const std::string& store) {
  RemoteApi remote(UnixEndpoint(DaemonSocketPath(store)));
  if (!remote.Ping()) return Status::OK();
  return Status::Busy("store " + store + " is served by its daemon (pid " + DaemonPid(store) +
                      "), which has it to itself: unmount its containers (hoodyfs umount) first");
}

}  // namespace hoodyfs::cli
