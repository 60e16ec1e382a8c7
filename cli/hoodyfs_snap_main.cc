// hoodyfs-snap: see cli/snap_command.h and docs/cli.md.
#include <iostream>

#include "cli/api_opener.h"
#include "cli/snap_command.h"

int main(int argc, char** argv) {
  return hoodyfs::cli::RunSnapCommand(argc, argv, &hoodyfs::cli::OpenApi, std::cout, std::cerr);
}
