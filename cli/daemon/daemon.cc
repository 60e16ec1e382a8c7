#include "cli/daemon/daemon.h"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>

#include "base/heap_trim.h"
#include "base/log.h"
#include "base/unique_fd.h"
#include "cli/api/snapshot_api.h"
#include "cli/daemon/bisector.h"
#include "cli/daemon/http/api_router.h"
#include "cli/daemon/http/bearer.h"
#include "cli/daemon/http/http_server.h"
#include "cli/daemon/mount_manager.h"
#include "cli/daemon/scrub_runner.h"

namespace hoodyfs::cli {

struct Daemon::Impl {
  DaemonOptions options;
  UniqueFd signal_fd;
  UniqueFd idle_fd;  // eventfd: wakes the main loop (idle now, or a mount ended)
  std::unique_ptr<LocalApi> api;
  std::unique_ptr<MountManager> mounts;
  std::unique_ptr<Bisector> bisector;
  std::unique_ptr<ScrubRunner> scrubs;
  std::unique_ptr<ApiRouter> router;
  std::unique_ptr<HttpServer> unix_server;
  std::unique_ptr<HttpServer> tcp_server;
  std::string token;
  bool wrote_files = false;  // pid and listen files are ours to remove
  HttpHandler handle;        // every request, from either listener

  // Nothing left to serve: no mount, no bisect or scrub running.
  bool Idle() const {
    return mounts->size() == 0 && bisector->running() == 0 && scrubs->running() == 0;
  }

  // The Unix socket (mode 0600) is the owner's way in, so it gets room to
  // spare; TCP (ServeTcp) is reachable by every local user, so it gets
  // less. The two never share a limit: whatever TCP clients do, the Unix
  // socket is served.
  Status ServeUnix() {
    ServeOptions unix_options;
    unix_options.connections_max = 256;
    unix_options.streamed_body = &ApiRouter::StreamsBody;
    HOODY_ASSIGN_OR_RETURN(
        unix_server, HttpServer::ListenUnix(DaemonSocketPath(options.store), handle, unix_options));
    return Status::OK();
  }

  ~Impl() {
    // Order: stop running bisects (their requests hold the servers open),
    // stop taking requests, unmount, then close the store.
    if (bisector) bisector->CancelAll();
    if (scrubs) scrubs->Cancel().IgnoreError();  // none may be running
    tcp_server.reset();
    unix_server.reset();
    scrubs.reset();  // waits for the cancelled scrub
    if (mounts) mounts->UnmountAll();
    router.reset();
    bisector.reset();
    if (api) api->snapshotter().SetHooks({});
    mounts.reset();
    // Before the store (and its lock) goes: the next daemon may write its
    // own files the moment the lock is free, and they must not be ours to
    // remove.
    if (wrote_files) {
      ::unlink(DaemonPidPath(options.store).c_str());
      ::unlink(DaemonListenPath(options.store).c_str());
    }
    api.reset();
  }
};

namespace {
const char* SignalName(uint32_t signo) {
  switch (signo) {
    case SIGTERM:
      return "SIGTERM";
    case SIGINT:
      return "SIGINT";
    case SIGHUP:
      return "SIGHUP";
    default:
      return "a signal";
  }
}

// The daemon's own events, through the one log (base/log.h): its standard
// error is STORE/daemon.log or the journal.
void Log(const std::string& line, LogLevel level = LogLevel::kInfo) {
  hoodyfs::Log(level, "serve: " + line);
}
}  // namespace

Daemon::Daemon(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Daemon::~Daemon() = default;

Result<std::unique_ptr<Daemon>> Daemon::Start(const DaemonOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  if (!options.listen.empty()) {
    if (options.token_file.empty()) {
      return Status::InvalidArgument("--listen needs --token-file: TCP clients must send a token");
    }
    HOODY_ASSIGN_OR_RETURN(impl->token, ReadTokenFile(options.token_file));
  }
  // The daemon is long-lived: few arenas, so a busy spell leaves little
  // free heap behind (set before its threads take arenas).
  LimitHeapArenasToCpus();
  // Signals go to the signalfd: block them before any thread exists, so
  // every thread inherits the mask.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGHUP);
  if (pthread_sigmask(SIG_BLOCK, &mask, nullptr) != 0) return Status::IoError("pthread_sigmask");
  impl->signal_fd.Reset(::signalfd(-1, &mask, SFD_CLOEXEC));
  if (!impl->signal_fd.valid()) return FromErrno(errno, "signalfd");
  impl->idle_fd.Reset(::eventfd(0, EFD_CLOEXEC));
  if (!impl->idle_fd.valid()) return FromErrno(errno, "eventfd");
  // A reader that goes away must not kill the daemon.
  ::signal(SIGPIPE, SIG_IGN);

  HOODY_ASSIGN_OR_RETURN(impl->api, LocalApi::Open(options.store));
  // A mount unmounted from outside (umount(8)) wakes the main loop, which
  // releases its session and, for an on-demand daemon, may stop.
  const int ended_fd = impl->idle_fd.get();
  impl->mounts = std::make_unique<MountManager>(impl->api->snapshotter(), [ended_fd] {
    const uint64_t one = 1;
    if (::write(ended_fd, &one, sizeof one) != sizeof one)
      Log("mount-ended notification failed", LogLevel::kError);
  });
  impl->api->snapshotter().SetHooks(impl->mounts->Hooks());
  impl->bisector = std::make_unique<Bisector>(impl->api->snapshotter(), *impl->mounts,
                                              options.store + "/bisect");
  impl->scrubs = std::make_unique<ScrubRunner>(impl->api->snapshotter());
  impl->router = std::make_unique<ApiRouter>(*impl->api, impl->mounts.get(), impl->bisector.get(),
                                             impl->scrubs.get());
  // A daemon that `hoodyfs mount` (or bisect) started stops once nothing
  // is left for it to serve: signalled after the answer went out, so the
  // client gets it.
  ApiRouter* router = impl->router.get();
  MountManager* mounts = impl->mounts.get();
  Bisector* bisector = impl->bisector.get();
  ScrubRunner* scrubs = impl->scrubs.get();
  const int idle_fd = impl->idle_fd.get();
  const bool exit_when_idle = options.exit_when_idle;
  impl->handle = [router, mounts, bisector, scrubs, idle_fd, exit_when_idle](const HttpRequest& r) {
    HttpResponse response = router->Handle(r);
    if (exit_when_idle && mounts->size() == 0 && bisector->running() == 0 &&
        scrubs->running() == 0) {
      response.after = [idle_fd] {
        const uint64_t one = 1;
        if (::write(idle_fd, &one, sizeof one) != sizeof one)
          Log("idle notification failed", LogLevel::kError);
      };
    }
    return response;
  };
  HOODY_RETURN_IF_ERROR(impl->ServeUnix());
  if (!options.listen.empty()) {
    // The token is checked from the headers, before a body is read.
    ServeOptions tcp_options;
    tcp_options.streamed_body = &ApiRouter::StreamsBody;
    tcp_options.connections_max = 64;
    tcp_options.bearer_token = impl->token;
    HOODY_ASSIGN_OR_RETURN(impl->tcp_server,
                           HttpServer::ListenTcp(options.listen, impl->handle, tcp_options));
  }
  impl->wrote_files = true;
  {
    std::ofstream pid(DaemonPidPath(options.store), std::ios::trunc);
    pid << ::getpid() << "\n";
  }
  if (impl->tcp_server) {  // the port, when --listen asked for port 0
    std::ofstream listen(DaemonListenPath(options.store), std::ios::trunc);
    listen << "127.0.0.1:" << impl->tcp_server->port() << "\n";
  }
  return std::unique_ptr<Daemon>(new Daemon(std::move(impl)));
}

Status Daemon::Run() {
  Impl& d = *impl_;
  Log("serving store " + d.options.store + " on " + DaemonSocketPath(d.options.store) +
      (d.options.listen.empty() ? "" : " and " + d.options.listen));
  if (d.options.ready_fd >= 0) {
    const char ready = 'R';
    if (::write(d.options.ready_fd, &ready, 1) != 1)
      Log("could not report readiness", LogLevel::kError);
    ::close(d.options.ready_fd);
    d.options.ready_fd = -1;
  }
  for (;;) {
    pollfd fds[2] = {{d.signal_fd.get(), POLLIN, 0}, {d.idle_fd.get(), POLLIN, 0}};
    const int n = ::poll(fds, 2, static_cast<int>(d.options.gc_interval_s * 1000));
    if (n < 0 && errno != EINTR) return FromErrno(errno, "poll");
    if (n > 0 && (fds[0].revents & POLLIN) != 0) {
      signalfd_siginfo info;
      if (::read(d.signal_fd.get(), &info, sizeof info) == sizeof info) {
        Log(std::string("stopping on ") + SignalName(info.ssi_signo));
      }
      return Status::OK();
    }
    if (n > 0 && (fds[1].revents & POLLIN) != 0) {
      uint64_t count = 0;
      const bool woken = ::read(d.idle_fd.get(), &count, sizeof count) == sizeof count;
      // A mount unmounted from outside (umount(8), fusermount3 -u) ended its
      // FUSE loop, which woke us: release it here, on a thread that is no
      // FUSE thread, so it is no longer listed, pinned or in the way.
      for (const std::string& mountpoint : d.mounts->ReapEnded()) {
        Log("released " + mountpoint + ": it was unmounted from outside");
      }
      if (woken && d.options.exit_when_idle && d.Idle()) {
        // Stop answering before the last look: a request already running
        // (a mount, just now) finishes first, and none can start after it.
        // Clients that find the socket gone wait for the store's lock and
        // start a daemon of their own (api_opener.h).
        if (!d.unix_server->Drain(std::chrono::seconds(5))) {
          Log("a client kept its connection open for 5 s while stopping; closing it",
              LogLevel::kWarning);
        }
        d.unix_server.reset();
        if (d.Idle()) {
          Log("nothing is mounted or running any more: stopping");
          return Status::OK();
        }
        Log("a request came in while stopping: serving on");
        HOODY_RETURN_IF_ERROR(d.ServeUnix());
      }
      continue;
    }
    if (n == 0) {  // the timer: expiry and collection, without pruning
      snapshotter::GcOptions gc = snapshotter::ImplicitCollection();
      gc.prune_shared = false;
      auto stats = d.api->snapshotter().CollectGarbage(gc);
      if (!stats.ok()) {
        Log("background collection failed: " + stats.status().ToString(), LogLevel::kError);
      } else if (stats->expired > 0 || stats->generations > 0) {
        Log("expired " + std::to_string(stats->expired) + " snapshots, reclaimed " +
            std::to_string(stats->generations) + " generations");
      }
    }
  }
}

}  // namespace hoodyfs::cli
