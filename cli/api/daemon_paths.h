// Where a store's daemon can be found: the files it keeps in the store
// directory. Both the daemon (which makes them) and its clients (which read
// them) use these names.
#pragma once

#include <string>

namespace hoodyfs::cli {

// STORE/hoodyfs.sock (the Unix socket, mode 0600), STORE/daemon.pid, and
// STORE/daemon.listen (the TCP address, written with --listen, useful with
// port 0).
std::string DaemonSocketPath(const std::string& store);
std::string DaemonPidPath(const std::string& store);
std::string DaemonListenPath(const std::string& store);

}  // namespace hoodyfs::cli
