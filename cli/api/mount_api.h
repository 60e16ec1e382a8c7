// The daemon's mounts as the API carries them: what `hoodyfs mount` and
// POST /api/v1/mounts ask for, what GET /api/v1/mounts lists, and the
// service that carries them out in the daemon (MountManager,
// cli/daemon/mount_manager.h). RemoteApi sends the same calls to it.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"

namespace hoodyfs::cli {

struct MountRequest {
  std::string container;
  std::string snapshot;  // "": the live head; else mounted read-only
  std::string mountpoint;
  std::vector<std::string> options;  // -o words: ro, nosuid, nodev, ...
  bool create = false;               // create the container first
};

struct MountInfo {
  std::string mountpoint;
  std::string container;
  std::string snapshot;  // "" for the head
  bool read_only = false;
};

// The daemon's mounts, as the API sees them.
class MountService {
 public:
  virtual ~MountService() = default;
  virtual Result<MountInfo> Mount(const MountRequest& request) = 0;
  virtual Status Unmount(const std::string& mountpoint) = 0;
  // mount -o remount of a live mount: ro/rw, nosuid, nodev, noexec, atime
  // modes, lazytime, sync, dirsync change without dropping it.
  virtual Result<MountInfo> Remount(const std::string& mountpoint,
                                    const std::vector<std::string>& options) = 0;
  virtual std::vector<MountInfo> List() = 0;
};

}  // namespace hoodyfs::cli
