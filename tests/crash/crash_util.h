// Helpers shared by the crash and fault-injection suites (tests/crash/).
//
// BorrowedDevice: a BlockDevice that forwards every call to a device the test
// owns. A Store owns its device (StoreOptions::device_override), so a test
// that must reach the device after the Store is gone (to cut the power, or to
// reopen over the same bytes) hands the Store a BorrowedDevice instead.
//
// Thread-safety: as the borrowed device. Ownership: borrows; the target must
// outlive it.
//
// StoreOverMemory: a fixture with a store whose data device is a FaultyDevice
// over a MemDevice, both owned by the test and kept across store reopens,
// plus a container "c" and small file helpers.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>

#include "base/testing/status_macros.h"
#include "base/testing/temp_dir.h"
#include "blockstore/block_device.h"
#include "blockstore/testing/faulty_device.h"
#include "blockstore/testing/mem_device.h"
#include "snapshotter/engine/filesystem.h"
#include "snapshotter/engine/store.h"

namespace hoodyfs::testing {

class BorrowedDevice final : public blockstore::BlockDevice {
 public:
  explicit BorrowedDevice(blockstore::BlockDevice& target) : target_(target) {}
  Status Execute(std::span<blockstore::IoOp> ops) override { return target_.Execute(ops); }
  Status Sync() override { return target_.Sync(); }
  Status StartWriteback() override { return target_.StartWriteback(); }
  uint64_t SizeBytes() const override { return target_.SizeBytes(); }
  Status Grow(uint64_t new_size_bytes) override { return target_.Grow(new_size_bytes); }
  Status Discard(uint64_t offset_bytes, uint64_t length_bytes) override {
    return target_.Discard(offset_bytes, length_bytes);
  }
  std::string Describe() const override { return "borrowed " + target_.Describe(); }

 private:
  blockstore::BlockDevice& target_;
};

// The tree the kill tests of long operations (import, receive) work on: a
// real one, of a size that takes some thousand engine calls.
inline constexpr char kKillTestSource[] = "/usr/share/zoneinfo";

// A store whose background group commit runs every 5 ms, as the daemon's
// does, so a process killed part way has already made parts of its work
// durable: what an open after the kill must cope with.
inline snapshotter::StoreOptions CommittingAllAlongOptions() {
  snapshotter::StoreOptions options;
  options.flush_interval_ms = 5;
  options.grow_step_bytes = 16 << 20;
  return options;
}

// Waits for the child `pid` and checks that SIGKILL ended it (the test's
// kill), not an exit of its own: its output, above, says why it exited.
// Call through ASSERT_NO_FATAL_FAILURE.
inline void ExpectKilledChild(pid_t pid) {
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid) << std::strerror(errno);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "the child was not killed: "
      << (WIFEXITED(status) ? "exit " + std::to_string(WEXITSTATUS(status))
                            : "status " + std::to_string(status))
      << " (its output is above)";
}

// The seed of one parameterized run: gtest's random seed (from the clock
// unless --gtest_random_seed=N is given) mixed with the parameter, so every
// instance differs and a failure can be repeated with that flag.
inline uint64_t CrashSeed(int param) {
  return static_cast<uint64_t>(::testing::UnitTest::GetInstance()->random_seed()) * 1000003 +
         static_cast<uint64_t>(param);
}

inline std::string SeedTrace(uint64_t seed) {
  return "seed " + std::to_string(seed) + " (the run's --gtest_random_seed=" +
         std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + ")";
}

}  // namespace hoodyfs::testing

namespace hoodyfs::testing {

class StoreOverMemory : public ::testing::Test {
 protected:
  // Creates the devices, the store and container "c", and opens it.
  void CreateStore(blockstore::testing::MemDeviceOptions mem_options = {}) {
    mem_ = std::make_unique<blockstore::testing::MemDevice>(mem_options);
    faulty_ = std::make_unique<blockstore::testing::FaultyDevice>(*mem_,
                                                                  blockstore::testing::FaultPlan{});
    ASSERT_OK(snapshotter::Store::Init(dir_.File("store")));
    ASSERT_NO_FATAL_FAILURE(OpenStore());
    ASSERT_OK(store_->CreateContainer("c"));
    fs_.emplace(store_->Head("c").value());
  }

  // (Re)opens the store over faulty_; fs_ views container "c" when it exists.
  void OpenStore() {
    fs_.reset();
    store_.reset();
    snapshotter::StoreOptions options;
    options.flush_interval_ms = 0;           // durability only where the test says
    options.flush_pending_bytes = SIZE_MAX;  // no flush the test does not know of
    options.grow_step_bytes = 16 << 20;
    options.writeback_start_bytes = writeback_start_bytes_;
    options.device_override = std::make_unique<BorrowedDevice>(*faulty_);
    auto s = snapshotter::Store::Open(dir_.File("store"), std::move(options));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
    auto head = store_->Head("c");
    if (head.ok()) fs_.emplace(*head);
  }

  // Every this many bytes written, the store starts the device's writeback
  // (StoreOptions::writeback_start_bytes); set before CreateStore.
  uint64_t writeback_start_bytes_ = snapshotter::StoreOptions{}.writeback_start_bytes;

  // The process dies: nothing pending is committed; the devices stay.
  void Crash() {
    fs_.reset();
    store_->SimulateCrashForTest();
    store_.reset();
  }

  Ino CreateFile(const std::string& name) {
    auto e = fs_->Mknod(kRootIno, name, S_IFREG | 0644, 0, {});
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    return e.ok() ? e->ino : Ino();
  }

  // The whole file, or the read's error.
  Result<std::string> ReadAll(snapshotter::FileSystem& fs, Ino ino) {
    HOODY_ASSIGN_OR_RETURN(snapshotter::Attr attr, fs.GetAttr(ino));
    std::string out(attr.size, '\0');
    HOODY_ASSIGN_OR_RETURN(size_t n, fs.Read(ino, 0, out));
    out.resize(n);
    return out;
  }

  TempDir dir_ = TempDir::Create().value();
  std::unique_ptr<blockstore::testing::MemDevice> mem_;
  std::unique_ptr<blockstore::testing::FaultyDevice> faulty_;
  std::unique_ptr<snapshotter::Store> store_;
  std::optional<snapshotter::FileSystem> fs_;
};

// Bytes that differ from block to block and from `tag` to `tag`.
inline std::string Bytes(size_t n, char tag) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(tag + (i / 4096) * 7 + i % 13);
  return s;
}

}  // namespace hoodyfs::testing
