// The verbs at the scale issue 12 promises: one container with 10,000
// snapshots, listed, restored from anywhere in its history, then all
// deleted and collected, leaving the store as it was before the first
// (blocks in use, consistency). Times are the benchmark's business
// (bench/scale_bench.cc); this test checks what the count must not break.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "base/testing/status_macros.h"
#include "base/testing/temp_dir.h"
#include "snapshotter/engine/filesystem.h"
#include "snapshotter/verbs/snapshotter.h"

namespace hoodyfs::snapshotter {
namespace {

constexpr int kFiles = 100;
constexpr int kSnapshots = 10000;

// A 4 KiB block whose bytes say which version of which file it is.
std::string Version(int file, int version) {
  std::string s = "file " + std::to_string(file) + " version " + std::to_string(version) + " ";
  std::string out;
  while (out.size() < kBlockSize) out += s;
  out.resize(kBlockSize);
  return out;
}

TEST(SnapshotScaleTest, TenThousandSnapshotsThenAllDeletedLeaveTheBase) {
  // On tmpfs when there is one: 20,000 synced commits on a shared disk
  // take minutes of waiting that test nothing the count changes.
  testing::TempDir dir = testing::TempDir::CreateInMemory().value();
  ASSERT_OK(Store::Init(dir.File("store")));
  StoreOptions options;
  options.flush_interval_ms = 0;
  auto opened = Snapshotter::Open(dir.File("store"), std::move(options));
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  std::unique_ptr<Snapshotter> snap = std::move(opened).value();
  ASSERT_TRUE(snap->CreateContainer("c").ok());
  std::vector<Ino> inos;
  {
    FileSystem fs = snap->store().Head("c").value();
    for (int f = 0; f < kFiles; ++f) {
      auto e = fs.Mknod(kRootIno, "f" + std::to_string(f), S_IFREG | 0644, 0, {});
      ASSERT_TRUE(e.ok()) << e.status().ToString();
      inos.push_back(e->ino);
      ASSERT_TRUE(fs.Write(e->ino, 0, Version(f, 0)).ok());
    }
  }
  ASSERT_OK(snap->store().Flush());
  const uint64_t base_blocks = snap->store().used_blocks();
  ASSERT_EQ(base_blocks, static_cast<uint64_t>(kFiles));

  // Each snapshot after one file changed; the model is each file's version.
  std::mt19937 rng(12);
  std::vector<int> current(kFiles, 0);
  std::map<int, std::vector<int>> model;  // snapshot index -> versions (every 1000th)
  std::vector<std::string> names;
  for (int i = 0; i < kSnapshots; ++i) {
    const int f = static_cast<int>(rng() % kFiles);
    current[f] = i + 1;
    FileSystem fs = snap->store().Head("c").value();
    ASSERT_TRUE(fs.Write(inos[f], 0, Version(f, i + 1)).ok());
    auto s = snap->CreateSnapshot("c", {});
    ASSERT_TRUE(s.ok()) << "snapshot " << i << ": " << s.status().ToString();
    names.push_back(s->name);
    if (i % 1000 == 999) model[i] = current;
  }

  auto listed = snap->ListSnapshots("c");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->size(), static_cast<size_t>(kSnapshots));
  std::set<std::string> unique;
  for (size_t i = 0; i < listed->size(); ++i) {
    ASSERT_EQ((*listed)[i].name, names[i]) << "oldest first";
    unique.insert((*listed)[i].name);
  }
  ASSERT_EQ(unique.size(), names.size());

  // Restore from anywhere in the history: every file as it was.
  RestoreRequest discard;
  discard.discard_head = true;
  for (const auto& [index, versions] : model) {
    SCOPED_TRACE("restore to snapshot " + std::to_string(index));
    ASSERT_TRUE(snap->Restore("c", names[index], discard).ok());
    FileSystem fs = snap->store().Head("c").value();
    for (int f = 0; f < kFiles; ++f) {
      std::string got(kBlockSize, '\0');
      auto n = fs.Read(inos[f], 0, got);
      ASSERT_TRUE(n.ok()) << n.status().ToString();
      ASSERT_EQ(got, Version(f, versions[f])) << "file " << f;
    }
  }

  // All deleted, then collected: back to one block per file, consistent.
  for (const std::string& name : names) ASSERT_OK(snap->DeleteSnapshot("c", name));
  auto gc = snap->CollectGarbage();
  ASSERT_TRUE(gc.ok()) << gc.status().ToString();
  ASSERT_OK(snap->store().Flush());
  auto left = snap->ListSnapshots("c");
  ASSERT_TRUE(left.ok());
  EXPECT_TRUE(left->empty());
  EXPECT_EQ(snap->store().used_blocks(), base_blocks);
  EXPECT_OK(snap->store().CheckInvariants());
}

}  // namespace
}  // namespace hoodyfs::snapshotter
