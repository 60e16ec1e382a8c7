// A store on a host filesystem that fills up: the real LMDB file, the real
// data file and the reserve, on a small tmpfs mounted in the test's private
// mount namespace (root needed; otherwise the tests skip with the reason).
//
// What must hold (issue 10, "metadata space exhausted"): a call refused for
// room answers kNoSpace (ENOSPC), never kIoError; a refused call leaves
// nothing visible; deletes keep working on a full host and are durable; and
// once room is back, so is growth.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include "base/testing/status_macros.h"
#include "base/testing/temp_dir.h"
#include "snapshotter/engine/filesystem.h"
#include "snapshotter/engine/store.h"
#include "tests/util/private_mount_namespace.h"

namespace hoodyfs::testing {
namespace {

using snapshotter::FileSystem;
using snapshotter::Store;
using snapshotter::StoreOptions;

constexpr uint64_t kMiB = 1 << 20;

class FullHostTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const std::string& why = PrivateMountNamespaceError(); !why.empty()) {
      GTEST_SKIP() << "no private mount namespace: " << why;
    }
  }

  void TearDown() override {
    fs_.reset();
    store_.reset();
    if (mounted_) ::umount2(host_.path().c_str(), MNT_DETACH);
  }

  // A tmpfs of `bytes` at host_, and an empty store on it.
  void MountHost(uint64_t bytes) {
    const std::string opts = "size=" + std::to_string(bytes);
    if (::mount("tmpfs", host_.path().c_str(), "tmpfs", 0, opts.c_str()) != 0) {
      GTEST_SKIP() << "mount tmpfs: " << std::strerror(errno);
    }
    mounted_ = true;
    ASSERT_OK(Store::Init(StoreDir()));
    ASSERT_NO_FATAL_FAILURE(Open());
    ASSERT_OK(store_->CreateContainer("c"));
    fs_.emplace(store_->Head("c").value());
  }

  void Open() {
    fs_.reset();
    store_.reset();
    StoreOptions options;
    options.flush_interval_ms = 0;            // commits only where the test makes them
    options.flush_pending_bytes = 256 << 10;  // many small group commits
    auto s = Store::Open(StoreDir(), std::move(options));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
    auto head = store_->Head("c");
    if (head.ok()) fs_.emplace(*head);
  }

  std::string StoreDir() const { return host_.File("store"); }
  static std::string Name(int i) { return "f" + std::to_string(i); }

  // Names in the root directory, "." and ".." aside.
  size_t CountRootEntries() {
    size_t n = 0;
    EXPECT_OK(fs_->ReadDir(kRootIno, 0, [&](const snapshotter::DirEntry& e) {
      if (e.name != "." && e.name != "..") ++n;
      return true;
    }));
    return n;
  }

  TempDir host_ = TempDir::Create().value();
  bool mounted_ = false;
  std::unique_ptr<Store> store_;
  std::optional<FileSystem> fs_;
};

// Empty files until the metadata fills the host: the refusal is kNoSpace and
// leaves no name behind, deletes still go through (durably), and after a
// reopen the room the deletes freed inside LMDB lets files be made again.
TEST_F(FullHostTest, MetadataFillingTheHostRefusesGrowthButNotDeletes) {
  ASSERT_NO_FATAL_FAILURE(MountHost(24 * kMiB));
  int made = 0;
  Status refused;
  for (; made < 1'000'000; ++made) {
    auto e = fs_->Mknod(kRootIno, Name(made), S_IFREG | 0644, 0, {});
    if (!e.ok()) {
      refused = e.status();
      break;
    }
  }
  ASSERT_FALSE(refused.ok()) << "a 24 MiB host never filled up";
  EXPECT_EQ(refused.code(), Code::kNoSpace) << refused.ToString();
  EXPECT_TRUE(store_->full());
  EXPECT_EQ(fs_->Lookup(kRootIno, Name(made)).status().code(), Code::kNotFound)
      << "a refused create left its name";
  EXPECT_EQ(fs_->Mkdir(kRootIno, "d", 0755, {}).status().code(), Code::kNoSpace);
  EXPECT_EQ(store_->CreateContainer("c2").code(), Code::kNoSpace);
  // Everything created before the refusal can be committed (the reserve).
  ASSERT_OK(store_->Flush());

  for (int i = 0; i < made; ++i) {
    SCOPED_TRACE(Name(i));
    ASSERT_OK(fs_->Unlink(kRootIno, Name(i)));
  }
  ASSERT_OK(store_->Flush());
  ASSERT_NO_FATAL_FAILURE(Open());
  EXPECT_EQ(CountRootEntries(), 0u) << "deletes made on a full host were not durable";
  EXPECT_FALSE(store_->full()) << "LMDB's freed pages are room again";
  ASSERT_OK(fs_->Mknod(kRootIno, "after", S_IFREG | 0644, 0, {}).status());
  ASSERT_OK(store_->Flush());
}

// Data filling the host: the data file grows by one 16 MiB group when the
// 64 MiB step does not fit, writes past the room answer kNoSpace (a short
// write for the part that landed), names can still be made, and a deleted
// file's blocks take new data again.
TEST_F(FullHostTest, DataFillingTheHostAnswersNoSpaceAndKeepsMetadataWorking) {
  ASSERT_NO_FATAL_FAILURE(MountHost(40 * kMiB));
  auto big = fs_->Mknod(kRootIno, "big", S_IFREG | 0644, 0, {});
  ASSERT_OK(big.status());
  const std::string chunk(kMiB, 'x');
  uint64_t written = 0;
  Status refused;
  for (int i = 0; i < 64; ++i) {
    auto n = fs_->Write(big->ino, written, chunk);
    if (!n.ok()) {
      refused = n.status();
      break;
    }
    written += *n;
    if (*n < chunk.size()) break;
  }
  // A 40 MiB host less the reserve has room for one 16 MiB group, not for
  // the 64 MiB step: without the smaller growth, the first write fails.
  EXPECT_GE(written, 16 * kMiB);
  EXPECT_LT(written, 40 * kMiB);
  EXPECT_EQ(refused.code(), Code::kNoSpace) << refused.ToString();
  ASSERT_OK(store_->Flush());
  EXPECT_FALSE(store_->full()) << "data filling the host leaves the metadata reserve alone";
  ASSERT_OK(fs_->Mknod(kRootIno, "small", S_IFREG | 0644, 0, {}).status());

  ASSERT_OK(fs_->Unlink(kRootIno, "big"));
  ASSERT_OK(store_->Flush());
  auto again = fs_->Mknod(kRootIno, "again", S_IFREG | 0644, 0, {});
  ASSERT_OK(again.status());
  for (uint64_t at = 0; at < 8 * kMiB; at += kMiB) {
    auto n = fs_->Write(again->ino, at, chunk);
    ASSERT_OK(n.status());
    EXPECT_EQ(*n, chunk.size());
  }
  ASSERT_OK(store_->Flush());
}

}  // namespace
}  // namespace hoodyfs::testing
