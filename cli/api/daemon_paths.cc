#include "cli/api/daemon_paths.h"

namespace hoodyfs::cli {

std::string DaemonSocketPath(const std::string& store) { return store + "/hoodyfs.sock"; }
std::string DaemonPidPath(const std::string& store) { return store + "/daemon.pid"; }
std::string DaemonListenPath(const std::string& store) { return store + "/daemon.listen"; }

}  // namespace hoodyfs::cli
