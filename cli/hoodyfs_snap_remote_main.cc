// hoodyfs-snap-remote: see cli/remote_command.h and docs/cli.md.
#include <signal.h>

#include <atomic>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>

#include "base/test_hook.h"
#include "cli/remote_command.h"

namespace {

// Kill and concurrency tests (tests/remote/), in a build with test hooks:
//   HOODYFS_TEST_KILL_AFTER_CHUNKS=N: SIGKILL once N chunks are uploaded (a
//     push cut short at a known point, to be resumed);
//   HOODYFS_TEST_KILL_AFTER_FETCHES=N: SIGKILL once N chunks of a pull are
//     fetched and in the receive's stream (a pull cut short, to be run
//     again);
//   HOODYFS_TEST_KILL_AT=HOOK: SIGKILL at that hook;
//   HOODYFS_TEST_RUN_AT=HOOK with HOODYFS_TEST_RUN=COMMAND: run the shell
//     command (once) at that hook and go on when it is done: another
//     process (a gc) placed exactly in a window of this one, no timing.
std::atomic<long> chunks_left{0};
std::atomic<long> fetches_left{0};
std::string kill_at, run_at, run_command;
std::atomic<bool> ran{false};

void OnHook(std::string_view name) {
  if (name == "remote-chunk-uploaded" && chunks_left.fetch_sub(1) == 1) raise(SIGKILL);
  if (name == "remote-chunk-fetched" && fetches_left.fetch_sub(1) == 1) raise(SIGKILL);
  if (!kill_at.empty() && name == kill_at) raise(SIGKILL);
  if (!run_at.empty() && name == run_at && !ran.exchange(true)) {
    if (system(run_command.c_str()) != 0) {
      std::cerr << "hoodyfs-snap-remote: test hook command failed: " << run_command << "\n";
    }
  }
}

std::string Env(const char* name) {
  const char* v = getenv(name);
  return v == nullptr ? "" : v;
}

}  // namespace

int main(int argc, char** argv) {
  if (hoodyfs::TestHooksEnabled()) {
    chunks_left = atol(Env("HOODYFS_TEST_KILL_AFTER_CHUNKS").c_str());
    fetches_left = atol(Env("HOODYFS_TEST_KILL_AFTER_FETCHES").c_str());
    kill_at = Env("HOODYFS_TEST_KILL_AT");
    run_at = Env("HOODYFS_TEST_RUN_AT");
    run_command = Env("HOODYFS_TEST_RUN");
    if (chunks_left > 0 || fetches_left > 0 || !kill_at.empty() || !run_at.empty()) {
      hoodyfs::SetTestHook(&OnHook);
    }
  }
  return hoodyfs::cli::RunRemoteCommand(argc, argv, std::cout, std::cerr);
}
