#include "tests/daemon/streaming_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "base/testing/file_contents.h"

namespace hoodyfs::testing {

StreamingProcess::StreamingProcess(const std::string& binary, const std::vector<std::string>& args,
                                   std::string out_path)
    : out_path_(std::move(out_path)) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    start_error_ = std::string("pipe2: ") + std::strerror(errno);
    return;
  }
  UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
  std::vector<char*> argv{const_cast<char*>(binary.c_str())};
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    start_error_ = std::string("fork: ") + std::strerror(errno);
    return;
  }
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // dies with the test, however it dies
    if (::getppid() != parent) ::_exit(126);
    const int in = ::open("/dev/null", O_RDONLY);
    const int out = ::open(out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in < 0 || out < 0 || ::dup2(in, 0) < 0 || ::dup2(out, 1) < 0 ||
        ::dup2(write_end.get(), 2) < 0) {
      ::_exit(127);
    }
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  pid_ = pid;
  err_ = std::move(read_end);
}

StreamingProcess::~StreamingProcess() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  err_.Reset();  // a child blocked writing to stderr gets EPIPE instead
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
}

std::optional<std::string> StreamingProcess::NextLine() {
  for (;;) {
    const size_t nl = pending_.find('\n');
    if (nl != std::string::npos) {
      std::string line = pending_.substr(0, nl);
      pending_.erase(0, nl + 1);
      return line;
    }
    if (!err_.valid()) return std::nullopt;
    char buf[4096];
    const ssize_t n = ::read(err_.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      err_.Reset();
      if (pending_.empty()) return std::nullopt;
      return std::exchange(pending_, "");  // a last line without a newline
    }
    pending_.append(buf, static_cast<size_t>(n));
    all_err_.append(buf, static_cast<size_t>(n));
  }
}

void StreamingProcess::SkipWrittenLines() {
  while (err_.valid()) {
    pollfd readable{.fd = err_.get(), .events = POLLIN, .revents = 0};
    const int ready = ::poll(&readable, 1, 0);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) break;
    char buf[4096];
    const ssize_t n = ::read(err_.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      err_.Reset();  // end of the stream: NextLine() returns a last partial line, then nullopt
      break;
    }
    pending_.append(buf, static_cast<size_t>(n));
    all_err_.append(buf, static_cast<size_t>(n));
  }
  // A partial last line stays: its end is still to come.
  const size_t last_nl = pending_.rfind('\n');
  if (last_nl != std::string::npos) pending_.erase(0, last_nl + 1);
}

CommandResult StreamingProcess::Wait() {
  CommandResult result;
  if (pid_ <= 0) {
    result.err = "not started: " + start_error_;
    return result;
  }
  while (NextLine()) {
  }
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.out = FileContents(out_path_);
  result.err = all_err_;
  return result;
}

}  // namespace hoodyfs::testing
