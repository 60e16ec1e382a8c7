#include "cli/child_process.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include "cli/remote_helper.h"

namespace hoodyfs::cli {

Result<ChildProcess> ChildProcess::Start(const std::vector<std::string>& argv, Pipe pipe) {
  HOODY_ASSERT(!argv.empty(), "no program to start");
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return FromErrno(errno, "pipe");
  UniqueFd read_end(fds[0]), write_end(fds[1]);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) return FromErrno(errno, "fork");
  if (pid == 0) {
    // The child: only async-signal-safe calls until exec.
    const int child_end = pipe == Pipe::kStdout ? write_end.get() : read_end.get();
    const int target = pipe == Pipe::kStdout ? STDOUT_FILENO : STDIN_FILENO;
    if (dup2(child_end, target) < 0) _exit(127);
    execvp(args[0], args.data());
    _exit(127);
  }
  return ChildProcess(pid, pipe == Pipe::kStdout ? std::move(read_end) : std::move(write_end),
                      argv[0]);
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(other.pid_), fd_(std::move(other.fd_)), name_(std::move(other.name_)) {
  other.pid_ = -1;
}

ChildProcess::~ChildProcess() { Wait().IgnoreError(); }

Status ChildProcess::Wait() {
  if (pid_ < 0) return Status::OK();
  ClosePipe();
  int status = 0;
  pid_t r;
  do {
    r = waitpid(pid_, &status, 0);
  } while (r < 0 && errno == EINTR);
  pid_ = -1;
  if (r < 0) return FromErrno(errno, "waitpid " + name_);
  if (WIFEXITED(status)) exit_code_ = WEXITSTATUS(status);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return Status::OK();
  if (WIFEXITED(status)) {
    return Status::IoError(name_ + " exited with " + std::to_string(WEXITSTATUS(status)));
  }
  return Status::IoError(name_ + " was killed by signal " + std::to_string(WTERMSIG(status)));
}

void ChildProcess::Terminate() {
  if (pid_ > 0) kill(pid_, SIGTERM);
}

std::string HoodyfsSnapProgram() { return ProgramBeside("hoodyfs-snap"); }

}  // namespace hoodyfs::cli
