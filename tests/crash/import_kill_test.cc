// Real process death during `hoodyfs import` (issue 3, "crash safety"): a
// forked child imports a real tree into a container (with the background
// group commit running, as the command does) and SIGKILLs itself after
// the Nth entry. The store must open with no repair and pass the
// consistency checker; every call of the import either happened or did not,
// so each file the container holds is a file of the source whose bytes are
// a prefix of the source's (data lands in whole 1 MiB pieces); and a second
// import into a new container completes.
//
// Reproduce a failure with --gtest_random_seed=SEED (printed on failure).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "base/testing/file_contents.h"
#include "base/testing/status_macros.h"
#include "base/testing/temp_dir.h"
#include "snapshotter/engine/filesystem.h"
#include "snapshotter/transfer/tree_import.h"
#include "snapshotter/verbs/snapshotter.h"
#include "tests/crash/crash_util.h"

namespace hoodyfs::testing {
namespace {

using snapshotter::FileSystem;
using snapshotter::Snapshotter;

constexpr const char* kSource = kKillTestSource;

// Checks every regular file under `dir` (a path relative to the container's
// root and to kSource) against the source; returns how many were checked.
int CheckAgainstSource(FileSystem& fs, Ino dir, const std::string& path) {
  int files = 0;
  std::vector<snapshotter::DirEntry> entries;
  Status s = fs.ReadDir(dir, 2, [&](const snapshotter::DirEntry& e) {
    entries.push_back(e);
    return true;
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  for (const auto& e : entries) {
    const std::string child = path + "/" + e.name;
    struct stat st;
    EXPECT_EQ(::lstat((kSource + child).c_str(), &st), 0) << child << " is not in the source";
    auto attr = fs.GetAttr(e.ino);
    EXPECT_TRUE(attr.ok()) << attr.status().ToString();
    if (!attr.ok()) continue;
    if (S_ISDIR(attr->mode)) {
      files += CheckAgainstSource(fs, e.ino, child);
    } else if (S_ISREG(attr->mode)) {
      std::string data(attr->size, '\0');
      EXPECT_TRUE(fs.Read(e.ino, 0, data).ok());
      const std::string source = FileContents(kSource + child);
      EXPECT_EQ(source.compare(0, data.size(), data), 0)
          << child << " holds bytes not the source's";
      ++files;
    }
  }
  return files;
}

class ImportKillTest : public ::testing::TestWithParam<int> {};

TEST_P(ImportKillTest, StoreOpensConsistentAfterAKillMidImport) {
  struct stat st;
  if (::stat(kSource, &st) != 0) GTEST_SKIP() << kSource << " is not here";
  const uint64_t seed = CrashSeed(GetParam());
  const int kill_at = 1 + static_cast<int>(seed % 1200);
  SCOPED_TRACE(SeedTrace(seed) + ", killed after entry " + std::to_string(kill_at));
  TempDir dir = TempDir::Create().value();
  const std::string store = dir.File("store");
  ASSERT_OK(snapshotter::Store::Init(store));
  {
    auto snap = Snapshotter::Open(store, CommittingAllAlongOptions());
    ASSERT_TRUE(snap.ok());
    ASSERT_TRUE((*snap)->CreateContainer("c").ok());
  }
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto snap = Snapshotter::Open(store, CommittingAllAlongOptions());
    if (!snap.ok()) ::_exit(3);
    FileSystem fs = (*snap)->store().Head("c").value();
    snapshotter::ImportOptions options;
    int entries = 0;
    options.progress = [&](const snapshotter::ImportProgress&) {
      if (++entries == kill_at) ::kill(::getpid(), SIGKILL);
    };
    auto stats = snapshotter::ImportTree(fs, kSource, options);
    ::_exit(stats.ok() ? 4 : 5);  // the source has more entries than kill_at
  }
  ASSERT_NO_FATAL_FAILURE(ExpectKilledChild(pid));

  auto snap = Snapshotter::Open(store, CommittingAllAlongOptions());
  ASSERT_TRUE(snap.ok()) << "no repair step: the store must open: " << snap.status().ToString();
  ASSERT_OK((*snap)->store().CheckInvariants());
  FileSystem fs = (*snap)->store().Head("c").value();
  CheckAgainstSource(fs, kRootIno, "");
  // The store goes on: a whole import into another container.
  ASSERT_TRUE((*snap)->CreateContainer("again").ok());
  FileSystem again = (*snap)->store().Head("again").value();
  auto stats = snapshotter::ImportTree(again, kSource, snapshotter::ImportOptions());
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_GT(CheckAgainstSource(again, kRootIno, ""), 500);
  ASSERT_OK((*snap)->store().CheckInvariants());
}

INSTANTIATE_TEST_SUITE_P(Kills, ImportKillTest, ::testing::Range(0, 4));

}  // namespace
}  // namespace hoodyfs::testing
