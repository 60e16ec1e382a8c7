// Running the project's command-line programs from tests: a child process
// with arguments, extra environment and optional standard input, its exit
// code and everything it printed. HOODYFS_STORE is removed from the child's
// environment unless the test passes it.
#pragma once

#include <string>
#include <vector>

namespace hoodyfs::testing {

struct CommandResult {
  int exit_code = -1;  // -1: killed by a signal
  std::string out, err;
  // "exit N; stdout: ...; stderr: ..." for failure messages.
  std::string Describe() const;
};

CommandResult RunCommand(const std::string& binary, const std::vector<std::string>& args,
                         const std::vector<std::string>& extra_env = {},
                         const std::string& stdin_data = "");

// The built programs (paths fixed at configure time).
std::string HoodyfsBinary();
std::string HoodyfsSnapBinary();

}  // namespace hoodyfs::testing
