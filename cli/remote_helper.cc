#include "cli/remote_helper.h"

#include <unistd.h>

#include <cerrno>
#include <climits>
#include <iostream>
#include <string_view>

namespace hoodyfs::cli {

std::optional<std::vector<std::string>> RemoteHelperArgv(int argc, const char* const* argv) {
  int command = -1;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--store" || arg == "--remote") {
      ++i;  // its value
    } else if (!arg.starts_with("-")) {
      command = i;
      break;
    }
  }
  if (command < 0) return std::nullopt;
  const std::string_view verb = argv[command];
  if (verb != "push" && verb != "pull" && verb != "remote") return std::nullopt;
  std::vector<std::string> helper = {kRemoteHelper};
  for (int i = 1; i < argc; ++i) {
    if (i == command && verb == "remote") continue;
    helper.emplace_back(argv[i]);
  }
  return helper;
}

std::string ProgramBeside(const std::string& name) {
  char self[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n > 0) {
    std::string path(self, static_cast<size_t>(n));
    path.resize(path.rfind('/') + 1);
    path += name;
    if (access(path.c_str(), X_OK) == 0) return path;
  }
  return name;
}

Status ExecRemoteHelper(const std::vector<std::string>& args) {
  const std::string path = ProgramBeside(kRemoteHelper);
  std::vector<std::string> argv = {kRemoteHelper};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> raw;
  for (std::string& a : argv) raw.push_back(a.data());
  raw.push_back(nullptr);
  std::cout.flush();
  std::cerr.flush();
  execvp(path.c_str(), raw.data());
  const int err = errno;
  return FromErrno(err, "run " + path);
}

}  // namespace hoodyfs::cli
