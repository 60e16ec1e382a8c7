// hoodyfs: see cli/hoodyfs_command.h and docs/cli.md. Called as
// mount.fuse.hoodyfs (a link), it is mount(8)'s helper (cli/mount_helper.h).
#include <iostream>

#include "cli/hoodyfs_command.h"
#include "cli/mount_helper.h"

int main(int argc, char** argv) {
  if (argc > 0 && hoodyfs::cli::IsMountHelper(argv[0])) {
    return hoodyfs::cli::RunMountHelper(argc, argv, std::cerr);
  }
  return hoodyfs::cli::RunHoodyfsCommand(argc, argv, std::cout, std::cerr);
}
