// hoodyfs-snap-remote: see cli/remote_command.h and docs/cli.md.
#include <iostream>

#include "cli/remote_command.h"

int main(int argc, char** argv) {
  return hoodyfs::cli::RunRemoteCommand(argc, argv, std::cout, std::cerr);
}
