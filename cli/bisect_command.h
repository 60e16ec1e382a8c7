// `hoodyfs-snap bisect` (docs/cli.md): the search runs in the store's daemon.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "base/status.h"

namespace hoodyfs::cli {

struct BisectArgs {
  std::string store;
  std::string container;
  std::string good, bad;
  std::vector<std::string> command;
  bool chroot = false;
  bool json = false;
};
// `hoodyfs-snap bisect`: runs in the store's daemon (started when none
// runs), which mounts the throwaway copies; Ctrl-C or SIGTERM cancel it
// there (the daemon removes its copies and mounts). Progress on a terminal.
Status Bisect(const BisectArgs& args, std::ostream& out);

}  // namespace hoodyfs::cli
