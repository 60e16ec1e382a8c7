#include "cli/daemon_commands.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

#include "base/log.h"
#include "cli/api/remote_api.h"
#include "cli/api_opener.h"
#include "cli/daemon/daemon.h"
#include "cli/daemon/mountpoint_policy.h"
#include "cli/daemon_starter.h"
#include "fusefs/session.h"

namespace hoodyfs::cli {

namespace {

std::vector<std::string> SplitOptions(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string word; std::getline(in, word, ',');) {
    if (!word.empty()) out.push_back(word);
  }
  return out;
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
  std::string mountpoint = AbsolutePath(args.mountpoint);
  struct stat st;
  if (fusefs::IsDeadMount(mountpoint)) {
    // A killed daemon's mount: clear it and mount again.
    HOODY_RETURN_IF_ERROR(fusefs::ClearDeadMount(mountpoint));
    mountpoint = AbsolutePath(mountpoint);
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
  const std::string mountpoint = AbsolutePath(args.mountpoint);
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
  const std::string mountpoint = AbsolutePath(mountpoint_arg);
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

}  // namespace hoodyfs::cli
