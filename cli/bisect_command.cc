#include "cli/bisect_command.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <ostream>
#include <thread>

#include "base/unique_fd.h"
#include "cli/api/daemon_paths.h"
#include "cli/api/json_codec.h"
#include "cli/api/remote_api.h"
#include "cli/daemon_starter.h"
#include "cli/progress.h"

namespace hoodyfs::cli {

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
