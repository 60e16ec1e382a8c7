// A snapshot created without waiting for durability
// (CreateSnapshotRequest::sync false, `hoodyfs-snap create --no-sync`) is
// point in time, and durable once anything later is: a forked child opens a
// store with no background commit, writes, creates such a snapshot, writes
// on, and SIGKILLs itself either before anything syncs or after an fsync of
// another file. The parent reopens the store and finds the snapshot with the
// bytes of its moment in the first case, and in the second neither the
// snapshot nor anything done after it (docs/design.md, "Snapshots that are
// durable later").
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "base/testing/status_macros.h"
#include "base/testing/temp_dir.h"
#include "snapshotter/verbs/snapshotter.h"
#include "tests/crash/crash_util.h"

namespace hoodyfs::testing {
namespace {

using snapshotter::FileSystem;
using snapshotter::Snapshotter;

constexpr int kChildFailed = 4;

snapshotter::StoreOptions Options() {
  snapshotter::StoreOptions options;
  options.flush_interval_ms = 0;  // nothing durable but what the child syncs
  options.grow_step_bytes = 16 << 20;
  return options;
}

[[noreturn]] void ChildFail(const std::string& why) {
  std::fprintf(stderr, "unsynced snapshot test child: %s\n", why.c_str());
  std::fflush(stderr);
  ::_exit(kChildFailed);
}

// Writes `data` over the start of root/`name`, making the file if needed.
Ino WriteOrDie(FileSystem& fs, const std::string& name, const std::string& data) {
  Ino ino;
  if (auto e = fs.Lookup(kRootIno, name); e.ok()) {
    ino = e->ino;
  } else {
    auto made = fs.Mknod(kRootIno, name, S_IFREG | 0644, 0, {});
    if (!made.ok()) ChildFail("mknod " + name + ": " + made.status().ToString());
    ino = made->ino;
  }
  if (!fs.Write(ino, 0, data).ok()) ChildFail("write " + name);
  return ino;
}

std::string ReadOrEmpty(FileSystem fs, const std::string& name) {
  auto e = fs.Lookup(kRootIno, name);
  if (!e.ok()) return "";
  std::string data(e->attr.size, '\0');
  EXPECT_TRUE(fs.Read(e->ino, 0, data).ok()) << name;
  return data;
}

// The child: "before" synced; "moment" written, not synced; the snapshot
// "s" created without a sync; "after" written over the same file; then,
// when `sync_later`, another file written and fsynced. Killed at the end.
[[noreturn]] void RunChild(const std::string& store_dir, bool sync_later) {
  auto opened = Snapshotter::Open(store_dir, Options());
  if (!opened.ok()) ChildFail("open: " + opened.status().ToString());
  Snapshotter& snap = **opened;
  FileSystem fs = snap.store().Head("c").value();
  WriteOrDie(fs, "f", "before");
  if (!snap.store().Flush().ok()) ChildFail("flush");
  WriteOrDie(fs, "f", "moment");
  snapshotter::CreateSnapshotRequest request;
  request.alias = "s";
  request.sync = false;
  if (auto s = snap.CreateSnapshot("c", request); !s.ok()) {
    ChildFail("create: " + s.status().ToString());
  }
  WriteOrDie(fs, "f", "after!");
  if (sync_later) {
    const Ino other = WriteOrDie(fs, "other", "synced later");
    if (!fs.Fsync(other).ok()) ChildFail("fsync");
  }
  ::kill(::getpid(), SIGKILL);
  ChildFail("still alive after SIGKILL");
}

class UnsyncedSnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(snapshotter::Store::Init(store_dir_));
    auto snap = Snapshotter::Open(store_dir_, Options());
    ASSERT_TRUE(snap.ok()) << snap.status().ToString();
    ASSERT_TRUE((*snap)->CreateContainer("c").ok());
  }

  // Runs the child and reopens the store after its death.
  void RunAndReopen(bool sync_later) {
    std::fflush(stdout);
    std::fflush(stderr);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0) << std::strerror(errno);
    if (pid == 0) RunChild(store_dir_, sync_later);
    ASSERT_NO_FATAL_FAILURE(ExpectKilledChild(pid));
    auto reopened = Snapshotter::Open(store_dir_, Options());
    ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
    snap_ = std::move(reopened).value();
    ASSERT_OK(snap_->store().CheckInvariants());
  }

  std::vector<snapshotter::SnapshotInfo> Snapshots() {
    auto list = snap_->ListSnapshots("c");
    EXPECT_TRUE(list.ok()) << list.status().ToString();
    return list.ok() ? *list : std::vector<snapshotter::SnapshotInfo>{};
  }

  TempDir dir_ = TempDir::Create().value();
  const std::string store_dir_ = dir_.File("store");
  std::unique_ptr<Snapshotter> snap_;
};

TEST_F(UnsyncedSnapshotTest, AnFsyncAfterTheCreateMakesItDurableWithTheBytesOfItsMoment) {
  ASSERT_NO_FATAL_FAILURE(RunAndReopen(/*sync_later=*/true));
  const std::vector<snapshotter::SnapshotInfo> snaps = Snapshots();
  ASSERT_EQ(snaps.size(), 1u) << "a later durable state without the snapshot";
  EXPECT_EQ(snaps[0].alias, "s");
  EXPECT_EQ(ReadOrEmpty(snap_->store().AtGeneration(snaps[0].gen).value(), "f"), "moment");
  FileSystem head = snap_->store().Head("c").value();
  EXPECT_EQ(ReadOrEmpty(head, "f"), "after!");
  EXPECT_EQ(ReadOrEmpty(head, "other"), "synced later");
}

TEST_F(UnsyncedSnapshotTest, AKillBeforeAnySyncLosesItAndEverythingAfterIt) {
  ASSERT_NO_FATAL_FAILURE(RunAndReopen(/*sync_later=*/false));
  EXPECT_TRUE(Snapshots().empty()) << "the create synced after all";
  FileSystem head = snap_->store().Head("c").value();
  EXPECT_EQ(ReadOrEmpty(head, "f"), "before");
  EXPECT_EQ(ReadOrEmpty(head, "other"), "");
  // The store goes on.
  EXPECT_TRUE(snap_->CreateSnapshot("c", {}).ok());
}

}  // namespace
}  // namespace hoodyfs::testing
