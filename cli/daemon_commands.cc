#include "cli/daemon_commands.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "cli/daemon/daemon.h"
#include "cli/rest/remote_api.h"
#include "fusefs/session.h"

namespace hoodyfs::cli {

namespace {

// An absolute path: realpath when it resolves; else made absolute as given
// (a dead mount does not resolve: stat fails with ENOTCONN).
std::string Absolute(const std::string& path) {
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

std::vector<std::string> SplitOptions(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string word; std::getline(in, word, ',');) {
    if (!word.empty()) out.push_back(word);
  }
  return out;
}

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
    ::execv("/proc/self/exe", const_cast<char* const*>(argv));
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
  return Status::IoError("the hoodyfs daemon for " + store +
                         " could not start: " + LastLogLine(log));
}

// mountinfo escapes space, tab, newline and backslash as \ooo (octal).
std::string Unescape(const std::string& field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      out += static_cast<char>(std::stoi(field.substr(i + 1, 3), nullptr, 8));
      i += 3;
    } else {
      out += field[i];
    }
  }
  return out;
}

}  // namespace

Status Serve(const ServeArgs& args) {
  HOODY_ASSIGN_OR_RETURN(std::string store, ExistingStore(args.store));
  DaemonOptions options;
  options.store = store;
  options.listen = args.listen;
  options.token_file = args.token_file;
  options.exit_when_idle = args.exit_when_idle;
  options.ready_fd = args.ready_fd;
  options.gc_interval_s = args.gc_interval_s;
  HOODY_ASSIGN_OR_RETURN(std::unique_ptr<Daemon> daemon, Daemon::Start(options));
  return daemon->Run();
}

Status Mount(const MountArgs& args) {
  HOODY_ASSIGN_OR_RETURN(std::string store, ExistingStore(args.store));
  std::string mountpoint = Absolute(args.mountpoint);
  struct stat st;
  if (::stat(mountpoint.c_str(), &st) != 0 && errno == ENOTCONN) {
    // A killed daemon's mount: clear it and mount again.
    HOODY_RETURN_IF_ERROR(fusefs::ClearDeadMount(mountpoint));
    mountpoint = Absolute(mountpoint);
  }
  if (::stat(mountpoint.c_str(), &st) != 0) return FromErrno(errno, "mountpoint " + mountpoint);
  if (!S_ISDIR(st.st_mode)) {
    return Status::NotDirectory("mountpoint " + mountpoint + " is not a directory");
  }
  MountRequest request;
  request.container = args.container;
  request.snapshot = args.snapshot;
  request.mountpoint = mountpoint;
  request.options = SplitOptions(args.options);
  request.create = args.create;
  RemoteApi api(UnixEndpoint(DaemonSocketPath(store)));
  if (args.foreground) {
    DaemonOptions options;
    options.store = store;
    options.exit_when_idle = true;
    HOODY_ASSIGN_OR_RETURN(std::unique_ptr<Daemon> daemon, Daemon::Start(options));
    HOODY_RETURN_IF_ERROR(api.Mount(request).status());
    return daemon->Run();
  }
  pid_t started = 0;
  if (!api.Ping()) {
    HOODY_ASSIGN_OR_RETURN(started, StartDaemon(store));
  }
  Result<MountInfo> mounted = api.Mount(request);
  if (!mounted.ok() && started > 0) {
    // The daemon we started for this mount would wait for one forever.
    ::kill(started, SIGTERM);
    int status = 0;
    ::waitpid(started, &status, 0);
  }
  return mounted.status();
}

Result<std::string> StoreOfMount(const std::string& mountpoint) {
  std::ifstream in("/proc/self/mountinfo");
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, mp;
    fields >> id >> parent >> dev >> root >> mp;
    if (Unescape(mp) != mountpoint) continue;
    std::string word;
    while (fields >> word && word != "-") {
    }
    std::string fstype, source;
    fields >> fstype >> source;
    source = Unescape(source);
    if (fstype != "fuse.hoodyfs" || source.rfind("hoodyfs:", 0) != 0) continue;
    const size_t at = source.rfind('@');
    if (at == std::string::npos) continue;
    return source.substr(at + 1);
  }
  return Status::NotFound("no hoodyfs container is mounted at " + mountpoint);
}

Status Umount(const std::string& store_flag, const std::string& mountpoint_arg) {
  const std::string mountpoint = Absolute(mountpoint_arg);
  struct stat st;
  const bool dead = ::stat(mountpoint.c_str(), &st) != 0 && errno == ENOTCONN;
  std::string store = store_flag;
  if (store.empty()) {
    auto found = StoreOfMount(mountpoint);
    if (!found.ok()) {
      if (dead) return fusefs::ClearDeadMount(mountpoint);
      return found.status();
    }
    store = *found;
  }
  RemoteApi api(UnixEndpoint(DaemonSocketPath(store)));
  if (api.Ping()) return api.Unmount(mountpoint);
  if (dead) return fusefs::ClearDeadMount(mountpoint);
  return Status::NotFound("no hoodyfs daemon serves " + store + ", and " + mountpoint +
                          " is no dead mount");
}

}  // namespace hoodyfs::cli
