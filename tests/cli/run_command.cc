#include "tests/cli/run_command.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "base/testing/file_contents.h"
#include "base/testing/temp_dir.h"

extern char** environ;  // NOLINT: POSIX

namespace hoodyfs::testing {

std::string CommandResult::Describe() const {
  return "exit " + std::to_string(exit_code) + "; stdout: [" + out + "]; stderr: [" + err + "]";
}

CommandResult RunCommand(const std::string& binary, const std::vector<std::string>& args,
                         const std::vector<std::string>& extra_env, const std::string& stdin_data) {
  CommandResult result;
  TempDir io = TempDir::Create().value();
  const std::string in_path = io.File("in"), out_path = io.File("out"), err_path = io.File("err");
  {
    std::ofstream in(in_path, std::ios::binary);
    in << stdin_data;
  }
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "HOODYFS_STORE=", 14) != 0) env.emplace_back(*e);
  }
  env.insert(env.end(), extra_env.begin(), extra_env.end());
  std::vector<char*> argv{const_cast<char*>(binary.c_str())};
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int in = ::open(in_path.c_str(), O_RDONLY);
    const int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in < 0 || out < 0 || err < 0 || ::dup2(in, 0) < 0 || ::dup2(out, 1) < 0 ||
        ::dup2(err, 2) < 0) {
      ::_exit(127);
    }
    ::execve(binary.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
  if (pid < 0) {
    result.err = std::string("fork: ") + std::strerror(errno);
    return result;
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.out = FileContents(out_path);
  result.err = FileContents(err_path);
  return result;
}

std::string HoodyfsBinary() { return HOODYFS_CLI_DIR "/hoodyfs"; }
std::string HoodyfsSnapBinary() { return HOODYFS_CLI_DIR "/hoodyfs-snap"; }

}  // namespace hoodyfs::testing
