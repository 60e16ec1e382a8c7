// StreamingProcess: a program run as a child of the test whose standard
// error the test reads line by line while the program runs (pgbench's
// progress reports are what the PostgreSQL test takes its snapshots on),
// with its standard output kept in a file for the end.
//
// The child dies with the test process (PR_SET_PDEATHSIG, SIGKILL), and the
// destructor stops (SIGTERM) and reaps a child still running, so a failed
// assertion leaves no process behind.
//
// Ownership: owns the child and the read end of its stderr pipe; neither
// copyable nor movable. Thread-safety: one thread at a time.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "base/unique_fd.h"
#include "tests/cli/run_command.h"

namespace hoodyfs::testing {

class StreamingProcess {
 public:
  // Starts `binary ARGS...` with stdout going to `out_path` (created or
  // truncated). If the child cannot be started, started() is false and
  // Wait() describes why.
  StreamingProcess(const std::string& binary, const std::vector<std::string>& args,
                   std::string out_path);
  StreamingProcess(const StreamingProcess&) = delete;
  StreamingProcess& operator=(const StreamingProcess&) = delete;
  ~StreamingProcess();

  bool started() const { return pid_ > 0; }
  // The next line of stderr without its newline, blocking until one is
  // complete; nullopt at the end of the stream (the child exited or closed
  // it). Every line read is also kept for Wait().
  std::optional<std::string> NextLine();
  // Drops the complete lines the program has written but the test has not
  // read yet, without waiting for more, so that the next NextLine() returns
  // a line written from now on. They are still kept for Wait().
  void SkipWrittenLines();
  // Reads stderr to its end and reaps the child. exit_code is -1 when a
  // signal ended it; out is the stdout file, err all of stderr.
  CommandResult Wait();

 private:
  pid_t pid_ = -1;
  UniqueFd err_;
  std::string out_path_;
  std::string pending_;  // stderr read but not yet returned as a line
  std::string all_err_;  // every byte of stderr, for Wait()
  std::string start_error_;
};

}  // namespace hoodyfs::testing
