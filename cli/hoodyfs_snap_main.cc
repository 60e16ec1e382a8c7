// hoodyfs-snap: see cli/snap_command.h and docs/cli.md.
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include "cli/api_opener.h"
#include "cli/remote_helper.h"
#include "cli/snap_command.h"

int main(int argc, char** argv) {
  // push, pull and remote: hoodyfs-snap-remote, which links libcurl.
  if (auto helper = hoodyfs::cli::RemoteHelperArgv(argc, argv)) {
    const std::string path = hoodyfs::cli::ProgramBeside(hoodyfs::cli::kRemoteHelper);
    std::vector<char*> args;
    for (std::string& a : *helper) args.push_back(a.data());
    args.push_back(nullptr);
    execvp(path.c_str(), args.data());
    std::cerr << "hoodyfs-snap: " << (*helper)[1] << " runs " << path << ": " << strerror(errno)
              << "\n";
    return 1;
  }
  return hoodyfs::cli::RunSnapCommand(argc, argv, &hoodyfs::cli::OpenApi, std::cout, std::cerr);
}
