#include "cli/daemon_starter.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <fstream>

#include "cli/api/daemon_paths.h"
#include "cli/api/remote_api.h"
#include "cli/api_opener.h"
#include "cli/exit_codes.h"

namespace hoodyfs::cli {

std::string AbsolutePath(const std::string& path) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) != nullptr) return buf;
  if (!path.empty() && path[0] == '/') return path;
  if (::getcwd(buf, sizeof buf) == nullptr) return path;
  return std::string(buf) + "/" + path;
}

Result<std::string> ExistingStore(const std::string& store) {
  char buf[PATH_MAX];
  if (::realpath(store.c_str(), buf) == nullptr) return FromErrno(errno, "store " + store);
  return std::string(buf);
}

namespace {

std::string LastLogLine(const std::string& log) {
  std::ifstream in(log);
  std::string line, last;
  while (std::getline(in, line)) {
    if (!line.empty()) last = line;
  }
  return last;
}

// Starts `hoodyfs serve --store STORE --exit-when-idle` in the background,
// in a session of its own, logging to STORE/daemon.log; returns its pid
// once it serves. Errors: kIoError with the daemon's last log line.
Result<pid_t> StartDaemon(const std::string& store) {
  // The hoodyfs program beside this one (hoodyfs-snap starts it too).
  char self[PATH_MAX];
  const ssize_t len = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (len <= 0) return FromErrno(errno, "readlink /proc/self/exe");
  std::string hoodyfs(self, static_cast<size_t>(len));
  hoodyfs = hoodyfs.substr(0, hoodyfs.rfind('/') + 1) + "hoodyfs";
  if (::access(hoodyfs.c_str(), X_OK) != 0) return FromErrno(errno, "daemon program " + hoodyfs);
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) return FromErrno(errno, "pipe");
  const std::string log = store + "/daemon.log";
  const pid_t pid = ::fork();
  if (pid < 0) return FromErrno(errno, "fork");
  if (pid == 0) {
    ::setsid();
    const int null = ::open("/dev/null", O_RDONLY);
    const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (null < 0 || out < 0 || ::dup2(null, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(out, 2) < 0 ||
        ::dup2(ready[1], 3) < 0) {
      ::_exit(127);
    }
    const char* argv[] = {"hoodyfs",          "serve",      "--store", store.c_str(),
                          "--exit-when-idle", "--ready-fd", "3",       nullptr};
    ::execv(hoodyfs.c_str(), const_cast<char* const*>(argv));
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
  const std::string why =
      "the hoodyfs daemon for " + store + " could not start: " + LastLogLine(log);
  if (WIFEXITED(status) && WEXITSTATUS(status) == kExitBusy) return Status::Busy(why);
  return Status::IoError(why);
}

}  // namespace

Result<pid_t> EnsureDaemon(const std::string& store) {
  RemoteApi api(UnixEndpoint(DaemonSocketPath(store)));
  return RetryThroughHandOver([&]() -> Result<pid_t> {
    if (api.Ping()) return pid_t{0};
    return StartDaemon(store);
  });
}

}  // namespace hoodyfs::cli
