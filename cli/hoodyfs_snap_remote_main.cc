// hoodyfs-snap-remote: see cli/remote_command.h and docs/cli.md.
#include <signal.h>

#include <atomic>
#include <cstdlib>
#include <iostream>
#include <string_view>

#include "base/test_hook.h"
#include "cli/remote_command.h"

namespace {

// Kill tests (tests/remote/push_pull_test.cc): with
// HOODYFS_TEST_KILL_AFTER_CHUNKS=N in a build with test hooks, the process
// kills itself (SIGKILL) once N chunks are uploaded: a push cut short at a
// known point, to be resumed.
std::atomic<long> chunks_left{0};
void KillAfterChunks(std::string_view name) {
  if (name == "remote-chunk-uploaded" && chunks_left.fetch_sub(1) == 1) raise(SIGKILL);
}

}  // namespace

int main(int argc, char** argv) {
  if (const char* n = getenv("HOODYFS_TEST_KILL_AFTER_CHUNKS");
      n != nullptr && hoodyfs::TestHooksEnabled()) {
    chunks_left = atol(n);
    hoodyfs::SetTestHook(&KillAfterChunks);
  }
  return hoodyfs::cli::RunRemoteCommand(argc, argv, std::cout, std::cerr);
}
