// A hoodyfs-snap child with one end of a pipe as its standard output (send)
// or input (receive): how hoodyfs-snap-remote reuses send and receive, with
// the daemon when one serves the store, without linking the engine's verbs
// twice or libcurl into hoodyfs-snap.
//
// Ownership: owns the child and the parent's end of the pipe; the
// destructor closes the pipe and reaps the child. Thread-safety: one thread.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/status.h"
#include "base/unique_fd.h"

namespace hoodyfs::cli {

class ChildProcess {
 public:
  enum class Pipe { kStdout, kStdin };
  // Starts `argv` (argv[0] a path) with the pipe on its stdout or stdin;
  // its stderr is ours. Errors: what FromErrno maps for pipe, fork.
  static Result<ChildProcess> Start(const std::vector<std::string>& argv, Pipe pipe);
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&&) = delete;
  ChildProcess(const ChildProcess&) = delete;
  ~ChildProcess();

  // The parent's end: read the child's stdout, or write its stdin.
  int fd() const { return fd_.get(); }
  // Closes the parent's end (the child sees end of input).
  void ClosePipe() { fd_ = UniqueFd(); }
  // Closes the pipe, waits for the child; OK when it exited 0, else kIoError
  // naming the program and its exit code or signal.
  Status Wait();
  // SIGTERM to a child not yet waited for (one whose output is no longer
  // wanted: it would only report the broken pipe).
  void Terminate();
  // After Wait: the exit code, or -1 when a signal ended it.
  int exit_code() const { return exit_code_; }

 private:
  ChildProcess(pid_t pid, UniqueFd fd, std::string name)
      : pid_(pid), fd_(std::move(fd)), name_(std::move(name)) {}
  pid_t pid_;
  UniqueFd fd_;
  std::string name_;
  int exit_code_ = -1;
};

// The path of hoodyfs-snap: beside this program's executable when there,
// else "hoodyfs-snap" (found on PATH).
std::string HoodyfsSnapProgram();

}  // namespace hoodyfs::cli
