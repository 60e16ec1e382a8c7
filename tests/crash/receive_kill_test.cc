// Real process death during a receive (issue 13, "atomic: the snapshot
// appears whole or not at all"): a forked child receives a full stream of
// a real tree through a pipe (with the background group commit running
// every few milliseconds, so parts of the scratch container are durable
// already) and SIGKILLs itself after a random number of the stream's bytes
// went into the pipe. The store must open with no repair, pass the
// consistency checker, hold no container at all (neither a half-received
// target nor the scratch one: the open removes it), and then take the same
// stream whole.
//
// Reproduce a failure with --gtest_random_seed=SEED (printed on failure).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <thread>

#include "base/testing/file_contents.h"
#include "base/testing/status_macros.h"
#include "base/testing/temp_dir.h"
#include "base/unique_fd.h"
#include "snapshotter/engine/filesystem.h"
#include "snapshotter/transfer/send_stream.h"
#include "snapshotter/transfer/tree_import.h"
#include "snapshotter/verbs/snapshotter.h"
#include "tests/crash/crash_util.h"

namespace hoodyfs::testing {
namespace {

using snapshotter::Snapshotter;

constexpr const char* kSource = kKillTestSource;

// The stream of a snapshot of kSource, as a string.
std::string MakeStream(const std::string& store, const std::string& path) {
  EXPECT_OK(snapshotter::Store::Init(store));
  auto snap = Snapshotter::Open(store, CommittingAllAlongOptions());
  EXPECT_TRUE(snap.ok()) << snap.status().ToString();
  if (!snap.ok()) return "";
  EXPECT_TRUE((*snap)->CreateContainer("c").ok());
  snapshotter::FileSystem fs = (*snap)->store().Head("c").value();
  auto imported = snapshotter::ImportTree(fs, kSource, snapshotter::ImportOptions());
  EXPECT_TRUE(imported.ok()) << imported.status().ToString();
  auto made = (*snap)->CreateSnapshot("c", snapshotter::CreateSnapshotRequest{"s1", std::nullopt});
  EXPECT_TRUE(made.ok()) << made.status().ToString();
  {
    UniqueFd out(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600));
    auto sent =
        snapshotter::SendSnapshot(**snap, snapshotter::SendRequest{"c", "s1", ""}, out.get());
    EXPECT_TRUE(sent.ok()) << sent.status().ToString();
  }
  return FileContents(path);
}

class ReceiveKillTest : public ::testing::TestWithParam<int> {};

TEST_P(ReceiveKillTest, NoHalfSnapshotAfterAKillMidReceive) {
  struct stat st;
  if (::stat(kSource, &st) != 0) GTEST_SKIP() << kSource << " is not here";
  TempDir dir = TempDir::Create().value();
  const std::string stream_path = dir.File("stream");
  const std::string stream = MakeStream(dir.File("a"), stream_path);
  ASSERT_GT(stream.size(), 1u << 20) << "the source should make a stream of some size";
  const uint64_t seed = CrashSeed(GetParam());
  const size_t kill_at = static_cast<size_t>(seed % stream.size());
  SCOPED_TRACE(SeedTrace(seed) + ", killed after " + std::to_string(kill_at) + " of " +
               std::to_string(stream.size()) + " bytes");
  const std::string store = dir.File("b");
  ASSERT_OK(snapshotter::Store::Init(store));

  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto snap = Snapshotter::Open(store, CommittingAllAlongOptions());
    if (!snap.ok()) ::_exit(3);
    int fds[2];
    if (::pipe(fds) != 0) ::_exit(3);
    // Feeds the pipe and kills the process part way; the receive reads on.
    std::thread feeder([&] {
      size_t at = 0;
      while (at < kill_at) {
        const ssize_t n = ::write(fds[1], stream.data() + at, std::min<size_t>(kill_at - at, 4096));
        if (n <= 0) ::_exit(6);
        at += static_cast<size_t>(n);
      }
      // The receive may not have read them all yet: any point is a point
      // a kill must be safe at.
      ::kill(::getpid(), SIGKILL);
    });
    auto received = snapshotter::ReceiveSnapshot(**snap, "r", fds[0]);
    ::_exit(received.ok() ? 4 : 5);  // only the kill should end the child
  }
  ASSERT_NO_FATAL_FAILURE(ExpectKilledChild(pid));

  auto snap = Snapshotter::Open(store, CommittingAllAlongOptions());
  ASSERT_TRUE(snap.ok()) << "no repair step: the store must open: " << snap.status().ToString();
  ASSERT_OK((*snap)->store().CheckInvariants());
  EXPECT_TRUE((*snap)->ListContainers().empty()) << "a half-received snapshot or its scratch";
  // The store goes on: the whole stream is received.
  {
    UniqueFd in(::open(stream_path.c_str(), O_RDONLY));
    auto received = snapshotter::ReceiveSnapshot(**snap, "r", in.get());
    ASSERT_TRUE(received.ok()) << received.status().ToString();
    EXPECT_GT(received->nodes, 500u);
  }
  auto listed = (*snap)->ListSnapshots("r");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  EXPECT_EQ(listed->size(), 1u);
  ASSERT_OK((*snap)->store().CheckInvariants());
}

INSTANTIATE_TEST_SUITE_P(Kills, ReceiveKillTest, ::testing::Range(0, 4));

}  // namespace
}  // namespace hoodyfs::testing
