#include "cli/daemon_commands.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <ostream>
#include <sstream>
#include <thread>

#include "base/log.h"
#include "base/unique_fd.h"
#include "cli/api/json_codec.h"
#include "cli/api/remote_api.h"
#include "cli/api_opener.h"
#include "cli/daemon/daemon.h"
#include "cli/daemon/mountpoint_policy.h"
#include "cli/exit_codes.h"
#include "cli/progress.h"
#include "fusefs/session.h"

namespace hoodyfs::cli {

namespace {

// An absolute path: realpath when it resolves; else made absolute as given
// (a dead mount may not resolve: its root can fail with ENOTCONN).
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

// The daemon that serves `store`: the one that answers, else a new one;
// returns the new one's pid, or 0 when one answered. A daemon that is
// stopping (or another command's, starting) holds the store's lock for a
// moment while it does not answer: wait for it, bounded by kHandOverWait.
// Errors: those of StartDaemon.
Result<pid_t> EnsureDaemon(const std::string& store) {
  RemoteApi api(UnixEndpoint(DaemonSocketPath(store)));
  return RetryThroughHandOver([&]() -> Result<pid_t> {
    if (api.Ping()) return pid_t{0};
    return StartDaemon(store);
  });
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

namespace {
// Container roots mount suid and dev (they must, to be whole systems); at a
// mountpoint every host user can reach, that hands the container's setuid
// programs and device nodes to all of them. Said, not refused: the operator
// may know better (docs/operations.md "Where to mount container roots").
void WarnIfExposed(const std::string& mountpoint, const std::vector<std::string>& options) {
  const auto given = [&](const char* word) {
    return std::find(options.begin(), options.end(), word) != options.end();
  };
  if (given("nosuid") && given("nodev")) return;
  if (!ReachableByOthers(mountpoint)) return;
  Log(LogLevel::kWarning,
      mountpoint + " can be reached by every user of this host, and the container is mounted " +
          "with suid and dev on: any host user can run its setuid programs as root and open its " +
          "device nodes. Mount container roots under a directory only root can enter (mode " +
          "0700, e.g. /var/lib/hoodyfs/roots), or pass -o nosuid,nodev");
}
}  // namespace

Status Mount(const MountArgs& args) {
  HOODY_ASSIGN_OR_RETURN(std::string store, ExistingStore(args.store));
  std::string mountpoint = Absolute(args.mountpoint);
  struct stat st;
  if (fusefs::IsDeadMount(mountpoint)) {
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
  WarnIfExposed(mountpoint, request.options);
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
  // A daemon that stops (its last mount went) between our ping and our
  // request never reads the request: start one and ask again.
  for (int attempt = 0;; ++attempt) {
    HOODY_ASSIGN_OR_RETURN(const pid_t started, EnsureDaemon(store));
    Result<MountInfo> mounted = api.Mount(request);
    if (!mounted.ok() && started > 0) {
      // The daemon we started for this mount would wait for one forever.
      ::kill(started, SIGTERM);
      int status = 0;
      ::waitpid(started, &status, 0);
    }
    if (!IsUnreachable(mounted.status()) || attempt == 3) return mounted.status();
  }
}

Status Remount(const MountArgs& args) {
  const std::string mountpoint = Absolute(args.mountpoint);
  HOODY_ASSIGN_OR_RETURN(std::string store, StoreOfMount(mountpoint));
  RemoteApi api(UnixEndpoint(DaemonSocketPath(store)));
  return api.Remount(mountpoint, SplitOptions(args.options)).status();
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
  const bool dead = fusefs::IsDeadMount(mountpoint);
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
  if (dead) {
    if (api.Ping()) return api.Unmount(mountpoint);
    return fusefs::ClearDeadMount(mountpoint);
  }
  // The store directory removed under its daemon (rm -rf): the socket went
  // with it, so nothing can reach the daemon. A plain unmount ends the
  // mount; the daemon notices, releases it and, started on demand, stops.
  struct stat st;
  if (::stat((store + "/meta.lmdb").c_str(), &st) != 0 && errno == ENOENT) {
    Log(LogLevel::kWarning, "the store " + store +
                                " is gone (removed under its daemon); "
                                "unmounting " +
                                mountpoint + " without it");
    if (::umount2(mountpoint.c_str(), 0) != 0) return FromErrno(errno, "unmount " + mountpoint);
    return Status::OK();
  }
  // A live mount has a live daemon. One that does not answer is between its
  // drain and serving on (a mount came in while it was stopping: its socket
  // is gone for that moment), or starting: wait for it as every command
  // does through a hand-over.
  Result<bool> answered = RetryThroughHandOver([&]() -> Result<bool> {
    if (api.Ping()) return true;
    return Status::Busy("the daemon of " + store + " does not answer");
  });
  if (answered.ok()) return api.Unmount(mountpoint);
  return Status::NotFound("no hoodyfs daemon serves " + store + ", and " + mountpoint +
                          " is no dead mount");
}

Status Bisect(const BisectArgs& args, std::ostream& out) {
  HOODY_ASSIGN_OR_RETURN(std::string store, ExistingStore(args.store));
  RemoteApi api(UnixEndpoint(DaemonSocketPath(store)));
  HOODY_RETURN_IF_ERROR(EnsureDaemon(store).status());
  BisectRequest request;
  request.id = "cli" + std::to_string(::getpid());
  request.container = args.container;
  request.good = args.good;
  request.bad = args.bad;
  request.command = args.command;
  request.chroot = args.chroot;

  // Ctrl-C and SIGTERM cancel the bisect in the daemon (which cleans up);
  // the watcher thread also shows progress on a terminal.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &mask, nullptr);
  UniqueFd signals(::signalfd(-1, &mask, SFD_CLOEXEC));
  UniqueFd stop(::eventfd(0, EFD_CLOEXEC));
  if (!signals.valid() || !stop.valid()) return FromErrno(errno, "signalfd");
  std::atomic<bool> interrupted{false};
  Progress progress;
  std::thread watcher([&] {
    RemoteApi side(UnixEndpoint(DaemonSocketPath(store)));
    for (;;) {
      pollfd fds[2] = {{signals.get(), POLLIN, 0}, {stop.get(), POLLIN, 0}};
      const int n = ::poll(fds, 2, progress.enabled() ? 250 : -1);
      if (n > 0 && (fds[1].revents & POLLIN) != 0) return;
      if (n > 0 && (fds[0].revents & POLLIN) != 0) {
        // Consumed here, so it is not delivered when the mask is lifted.
        signalfd_siginfo info;
        if (::read(signals.get(), &info, sizeof info) < 0) info.ssi_signo = 0;
        interrupted.store(true);
        side.CancelBisect(request.id).IgnoreError();
        return;
      }
      if (n == 0) {
        auto steps = side.BisectProgress(request.id);
        if (steps.ok() && !steps->empty()) {
          const BisectStep& last = steps->back();
          progress.Update("bisect: " + std::to_string(steps->size()) + " steps; " + last.snapshot +
                          " was " + last.verdict);
        }
      }
    }
  });
  Result<BisectReport> report = api.Bisect(request);
  const uint64_t one = 1;
  if (::write(stop.get(), &one, sizeof one) != sizeof one) interrupted.store(true);
  watcher.join();
  progress.Done();
  pthread_sigmask(SIG_UNBLOCK, &mask, nullptr);
  if (interrupted.load()) {
    return Status::Stale("bisect interrupted; its copies and mounts were removed");
  }
  if (!report.ok()) return report.status();
  if (args.json) {
    out << ToJson(*report).dump(2) << "\n";
    return Status::OK();
  }
  // A snapshot as a person knows it: its name, and its alias beside it.
  std::map<std::string, std::string> aliases;
  if (auto list = api.ListSnapshots(args.container); list.ok()) {
    for (const snapshotter::SnapshotInfo& s : *list) aliases[s.name] = s.alias;
  }
  const auto label = [&](const std::string& name) {
    auto it = aliases.find(name);
    return it == aliases.end() || it->second.empty() ? name : name + " (" + it->second + ")";
  };
  out << "bisect: " << report->candidates.size() << " snapshots searched, from "
      << label(report->candidates.front()) << " (good) to " << label(report->candidates.back())
      << " (bad)\n";
  int n = 0;
  for (const BisectStep& s : report->steps) {
    out << "step " << ++n << ": " << label(s.snapshot) << ": " << s.verdict << " (exit "
        << s.exit_code << ")\n";
  }
  out << "first bad snapshot: " << label(report->first_bad) << "\n";
  out << "last good snapshot: " << label(report->last_good) << "\n";
  out << "changes from " << label(report->last_good) << " to " << label(report->first_bad) << ":\n";
  for (const snapshotter::Change& c : report->diff.changes) {
    out << snapshotter::FormatChange(c) << "\n";
  }
  return Status::OK();
}

}  // namespace hoodyfs::cli
