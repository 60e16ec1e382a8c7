#include "cli/scrub_command.h"

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <ostream>
#include <thread>
#include <vector>

#include "cli/api/daemon_paths.h"
#include "cli/api/remote_api.h"
#include "cli/api/scrub_api.h"
#include "cli/daemon_starter.h"
#include "cli/progress.h"
#include "cli/remote_helper.h"

namespace hoodyfs::cli {

namespace {

std::string ProgressLine(const ScrubStatus& s) {
  const double share = s.blocks_total == 0 ? 100.0
                                           : 100.0 * static_cast<double>(s.blocks_checked) /
                                                 static_cast<double>(s.blocks_total);
  const double rate = s.seconds > 0 ? static_cast<double>(s.bytes_read) / 1e6 / s.seconds : 0;
  char line[160];
  std::snprintf(line, sizeof line, "scrub: %.0f%% (%llu of %llu blocks, %.0f MB/s), %llu damaged",
                share, static_cast<unsigned long long>(s.blocks_checked),
                static_cast<unsigned long long>(s.blocks_total), rate,
                static_cast<unsigned long long>(s.blocks_damaged));
  return line;
}

// Through the daemon: start (or join the running one), then follow it
// until it ends, unless told not to wait.
Result<ScrubStatus> InDaemon(RemoteApi& daemon, const ScrubArgs& args, const ScrubRequest& request,
                             Progress& progress, std::ostream& out) {
  if (args.cancel) {
    HOODY_RETURN_IF_ERROR(daemon.CancelScrub());
    out << "asked the daemon to cancel its scrub\n";
    return daemon.CurrentScrub();
  }
  Result<ScrubStatus> st = args.status ? daemon.CurrentScrub() : daemon.StartScrub(request);
  // One already runs: follow that one.
  if (!st.ok() && st.status().code() == Code::kBusy) st = daemon.CurrentScrub();
  if (!st.ok() || args.detach || args.status || args.cancel) return st;
  while (st->state == "running") {
    progress.Update(ProgressLine(*st));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // polling a remote job
    st = daemon.CurrentScrub();
    if (!st.ok()) return st;
  }
  return st;
}

}  // namespace

CLI::App* AddScrubSubcommand(CLI::App& app, ScrubArgs* args) {
  CLI::App* cmd = app.add_subcommand(
      "scrub",
      "read every data block in use against its checksum and name the files, heads and "
      "snapshots of each damaged one (in the daemon when one serves the store; mounts stay live)");
  cmd->add_flag("--json", args->json, "print JSON (documented in docs/cli.md)");
  cmd->add_option("--max-rate", args->max_rate_mb, "read at most MB (10^6 bytes) per second")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--detach", args->detach,
                "with a daemon: start the scrub in the background and return");
  cmd->add_flag("--status", args->status, "with a daemon: show its running or last scrub");
  cmd->add_flag("--cancel", args->cancel, "with a daemon: cancel its running scrub");
  cmd->add_option("--repair-from", args->repair_from,
                  "repair each damaged block from this remote's replica (a remote name or 0600 "
                  "config file, as hoodyfs-snap-remote --remote; 'env' for HOODYFS_S3_* and "
                  "AWS_* variables); with a daemon serving the store, the daemon scrubs and writes "
                  "the verified bytes while its mounts stay live");
  return cmd;
}

namespace {

// hoodyfs-snap-remote --store S [--remote R] scrub [--json] [--max-rate N].
Status ExecRepair(const ScrubArgs& args, const std::string& store) {
  if (args.detach || args.status || args.cancel) {
    return Status::InvalidArgument(
        "--repair-from runs a scrub to its end and then repairs: it takes no --detach, "
        "--status or --cancel");
  }
  std::vector<std::string> helper = {"--store", store};
  if (args.repair_from != kRepairFromEnvironment) {
    helper.insert(helper.end(), {"--remote", args.repair_from});
  }
  helper.push_back("scrub");
  if (args.json) helper.push_back("--json");
  if (args.max_rate_mb > 0)
    helper.insert(helper.end(), {"--max-rate", std::to_string(args.max_rate_mb)});
  return ExecRemoteHelper(helper);
}

}  // namespace

Status RunScrubCommand(const ScrubArgs& args, std::ostream& out) {
  HOODY_ASSIGN_OR_RETURN(std::string store, ExistingStore(args.store));
  if (!args.repair_from.empty()) return ExecRepair(args, store);
  ScrubRequest request;
  request.max_bytes_per_second = args.max_rate_mb * 1000 * 1000;
  Progress progress;
  Result<ScrubStatus> st = Status::NotFound("no scrub");
  RemoteApi daemon(UnixEndpoint(DaemonSocketPath(store)));
  if (daemon.Ping()) {
    st = InDaemon(daemon, args, request, progress, out);
  } else if (args.status || args.cancel) {
    return Status::NotFound("no daemon serves " + store +
                            ": only a daemon runs a scrub in the background");
  } else {
    HOODY_ASSIGN_OR_RETURN(auto snap,
                           snapshotter::Snapshotter::Open(store, snapshotter::StoreOptions()));
    st = RunScrub(
        *snap, request, [&](const ScrubStatus& s) { progress.Update(ProgressLine(s)); }, nullptr);
  }
  progress.Done();
  if (!st.ok()) return st.status();
  if (args.json) {
    out << ToJson(*st).dump(2) << "\n";
  } else {
    PrintScrub(*st, out);
  }
  if (st->state == "running") return Status::OK();  // --detach, --status
  return ScrubOutcome(*st);
}

}  // namespace hoodyfs::cli
