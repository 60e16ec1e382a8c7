// `hoodyfs scrub` and `hoodyfs-snap scrub` (docs/cli.md): read every data
// block in use against its checksum and name the files, heads and snapshots
// of each damaged one. In the store's daemon when one serves the store (in
// the background: the mounts stay live), else in this process. With
// --repair-from REMOTE: in hoodyfs-snap-remote, offline, repairing each
// damaged block from the remote's replica (cli/remote_scrub.h).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>

#include "base/status.h"

namespace CLI {
class App;
}

namespace hoodyfs::cli {

struct ScrubArgs {
  std::string store;
  bool json = false;
  uint64_t max_rate_mb = 0;  // MB/s; 0: unlimited
  bool detach = false;       // daemon: start it and return
  bool status = false;       // daemon: show the running or last scrub
  bool cancel = false;       // daemon: stop the running scrub
  // Repair each damaged block from this remote (a name or config file as
  // hoodyfs-snap-remote's --remote, or "env" for the environment): runs
  // `hoodyfs-snap-remote scrub`, offline. "" : no repair.
  std::string repair_from;
};

// The value of --repair-from that means the remote from the environment.
inline constexpr char kRepairFromEnvironment[] = "env";

// Adds the `scrub` subcommand and its flags to `app` (hoodyfs and
// hoodyfs-snap take the same ones).
CLI::App* AddScrubSubcommand(CLI::App& app, ScrubArgs* args);

// With repair_from set, replaces this process with `hoodyfs-snap-remote
// scrub` (which links the S3 client), returning only when that fails.
// Errors: kCorruption when damage is found (after the report on `out`),
// kStale when the scrub was cancelled, kNotFound (no store; --status or
// --cancel without a daemon, or with no scrub), kBusy (the store is held by
// another process that is no daemon), what the scrub returns.
Status RunScrubCommand(const ScrubArgs& args, std::ostream& out);

}  // namespace hoodyfs::cli
