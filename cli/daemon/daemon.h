// Daemon: the one process that owns a store (`hoodyfs serve`). It holds the
// store's lock, serves every mounted container of the store (one FUSE
// session each, MountManager), answers the REST API on a Unix socket in the
// store directory (mode 0600) and, with --listen, on loopback TCP where a
// bearer token is required, deletes expired snapshots and collects garbage
// on a timer without stalling the mounts, and writes its pid to
// STORE/daemon.pid.
//
// Lifetime: Start opens everything; Run serves until SIGTERM, SIGINT or
// SIGHUP, or (exit_when_idle, for daemons `hoodyfs mount` starts) until the
// last mount is unmounted; then everything is unmounted and closed.
//
// Thread-safety: Start and Run on the main thread; the signals it handles
// must be blocked in every thread (Start blocks them before it creates any).
#pragma once

#include <memory>
#include <string>

#include "base/status.h"
#include "cli/api/daemon_paths.h"

namespace hoodyfs::cli {

struct DaemonOptions {
  std::string store;       // absolute path
  std::string listen;      // "127.0.0.1:PORT", or "" for the Unix socket only
  std::string token_file;  // required with listen: a file holding the token
  bool exit_when_idle = false;
  int ready_fd = -1;            // gets one byte once serving, then is closed
  unsigned gc_interval_s = 60;  // expiry and collection
};

class Daemon {
 public:
  // Errors: kBusy (another process owns the store), kNotFound (no store),
  // kInvalidArgument (--listen without a token file, bad address, a socket
  // path too long), kIoError.
  static Result<std::unique_ptr<Daemon>> Start(const DaemonOptions& options);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Serves until told to stop (see above). Errors: kIoError (signal
  // handling failed).
  Status Run();

  struct Impl;

 private:
  explicit Daemon(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hoodyfs::cli
