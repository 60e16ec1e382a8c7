// hoodyfs-snap: see cli/snap_command.h and docs/cli.md.
#include <iostream>

#include "cli/snap_command.h"

int main(int argc, char** argv) {
  using hoodyfs::cli::LocalApi;
  using hoodyfs::cli::SnapshotApi;
  auto open = [](const std::string& store) -> hoodyfs::Result<std::unique_ptr<SnapshotApi>> {
    HOODY_ASSIGN_OR_RETURN(std::unique_ptr<LocalApi> api, LocalApi::Open(store));
    return std::unique_ptr<SnapshotApi>(std::move(api));
  };
  return hoodyfs::cli::RunSnapCommand(argc, argv, open, std::cout, std::cerr);
}
