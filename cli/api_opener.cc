#include "cli/api_opener.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <thread>

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
  // The store's lock decides who owns it. A daemon that is starting or
  // stopping holds the lock while its socket does not answer: neither way
  // in works for a moment. Wait for it to finish either way (bounded), so a
  // command never fails just because it ran beside a daemon's start or stop.
  const auto deadline = std::chrono::steady_clock::now() + kHandOverWait;
  for (auto pause = std::chrono::milliseconds(2);;
       pause = std::min(pause * 2, std::chrono::milliseconds(100))) {
    if (remote->Ping()) return std::unique_ptr<SnapshotApi>(std::move(remote));
    auto local = LocalApi::Open(store);
    if (local.ok()) return std::unique_ptr<SnapshotApi>(std::move(*local));
    if (local.status().code() != Code::kBusy || std::chrono::steady_clock::now() > deadline) {
      return local.status();
    }
    std::this_thread::sleep_for(pause);
  }
}

Status CheckNoDaemon(const std::string& store) {
  RemoteApi remote(UnixEndpoint(DaemonSocketPath(store)));
  if (!remote.Ping()) return Status::OK();
  return Status::Busy("store " + store + " is served by its daemon (pid " + DaemonPid(store) +
                      "), which has it to itself: unmount its containers (hoodyfs umount) first");
}

}  // namespace hoodyfs::cli
