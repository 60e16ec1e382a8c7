#include "tests/daemon/daemon_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

#include "tests/cli/run_command.h"

namespace hoodyfs::testing {

Result<pid_t> StartDaemonProcess(const std::string& store, const std::vector<std::string>& args,
                                 const std::string& log) {
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) return FromErrno(errno, "pipe");
  std::vector<std::string> argv_s = {HoodyfsBinary(), "--store", store, "serve", "--ready-fd", "3"};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) return FromErrno(errno, "fork");
  if (pid == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // dies with the test, however it dies
    if (::getppid() != parent) ::_exit(126);
    const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (out < 0 || ::dup2(out, 1) < 0 || ::dup2(out, 2) < 0 || ::dup2(ready[1], 3) < 0) {
      ::_exit(127);
    }
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(ready[1]);
  char byte = 0;
  ssize_t n;
  while ((n = ::read(ready[0], &byte, 1)) < 0 && errno == EINTR) {
  }
  ::close(ready[0]);
  if (n == 1) return pid;
  int status = 0;
  ::waitpid(pid, &status, 0);
  std::ifstream in(log);
  std::ostringstream text;
  text << in.rdbuf();
  return Status::IoError("the daemon did not start: " + text.str());
}

int StopDaemonProcess(pid_t pid, int sig) {
  ::kill(pid, sig);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

}  // namespace hoodyfs::testing
