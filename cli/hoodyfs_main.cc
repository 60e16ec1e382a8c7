// hoodyfs: see cli/hoodyfs_command.h and docs/cli.md.
#include <iostream>

#include "cli/hoodyfs_command.h"

int main(int argc, char** argv) {
  return hoodyfs::cli::RunHoodyfsCommand(argc, argv, std::cout, std::cerr);
}
