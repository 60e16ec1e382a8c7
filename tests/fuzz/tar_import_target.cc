// The tar import fuzz target (fuzz_targets.h): a tar stream from memory
// (a memfd) into a fresh container of a scratch store.
//
// Cost per input: one store serves 4 inputs (up to three containers each)
// before it is replaced, on /dev/shm when there is one, with no flusher
// thread. The fsck after each input walks the whole store, so a store kept
// for 64 inputs made the fuzzer 8 times slower (5 inputs a second) than
// opening LMDB and the reserve again every 4 inputs does (43).
#include <sys/mman.h>
#include <unistd.h>

#include <memory>
#include <optional>
#include <string>

#include "base/testing/temp_dir.h"
#include "base/unique_fd.h"
#include "snapshotter/engine/filesystem.h"
#include "snapshotter/engine/store.h"
#include "snapshotter/transfer/tree_export.h"
#include "snapshotter/transfer/tree_import.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_targets.h"

namespace hoodyfs::fuzz {
namespace {

using snapshotter::ImportStats;
using snapshotter::Store;

constexpr int kInputsPerStore = 4;

struct Scratch {
  std::optional<testing::TempDir> dir;
  std::unique_ptr<Store> store;
  int containers = 0;
};

void OpenScratch(Scratch& s) {
  s.store.reset();
  s.dir.reset();
  Result<testing::TempDir> dir = testing::TempDir::CreateInMemory();
  FUZZ_CHECK(dir.ok(), dir.status().ToString());
  s.dir.emplace(std::move(dir).value());
  const std::string path = s.dir->File("store");
  Status init = Store::Init(path);
  FUZZ_CHECK(init.ok(), init.ToString());
  snapshotter::StoreOptions options;
  options.flush_interval_ms = 0;
  options.reserve_bytes = 1 << 20;
  Result<std::unique_ptr<Store>> opened = Store::Open(path, std::move(options));
  FUZZ_CHECK(opened.ok(), opened.status().ToString());
  s.store = std::move(opened).value();
  s.containers = 0;
}

// A fresh container's head.
snapshotter::FileSystem NewContainer(Scratch& s) {
  const std::string name = "c" + std::to_string(s.containers++);
  Status created = s.store->CreateContainer(name);
  FUZZ_CHECK(created.ok(), created.ToString());
  Result<snapshotter::FileSystem> fs = s.store->Head(name);
  FUZZ_CHECK(fs.ok(), fs.status().ToString());
  return std::move(fs).value();
}

// `bytes` in a memfd, positioned at its start.
UniqueFd MemFile(std::string_view bytes) {
  UniqueFd fd(::memfd_create("hoodyfs-fuzz-tar", MFD_CLOEXEC));
  FUZZ_CHECK(fd.valid(), "memfd_create");
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
    FUZZ_CHECK(n > 0, "write to memfd");
    done += static_cast<size_t>(n);
  }
  FUZZ_CHECK(::lseek(fd.get(), 0, SEEK_SET) == 0, "lseek memfd");
  return fd;
}

std::string ReadAll(int fd) {
  FUZZ_CHECK(::lseek(fd, 0, SEEK_SET) == 0, "lseek memfd");
  std::string out;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    FUZZ_CHECK(n >= 0, "read memfd");
    if (n == 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

// The tree of `fs` as a tar stream (sockets left out: tar cannot hold them).
std::string Export(snapshotter::FileSystem& fs) {
  UniqueFd fd(::memfd_create("hoodyfs-fuzz-export", MFD_CLOEXEC));
  FUZZ_CHECK(fd.valid(), "memfd_create");
  snapshotter::ExportOptions options;
  options.skip_sockets = true;
  auto exported = snapshotter::ExportTar(fs, fd.get(), options);
  FUZZ_CHECK(exported.ok(), "an imported tree does not export: " + exported.status().ToString());
  return ReadAll(fd.get());
}

Result<ImportStats> Import(snapshotter::FileSystem& fs, std::string_view tar) {
  snapshotter::ImportOptions options;
  options.threads = 0;
  UniqueFd fd = MemFile(tar);
  return snapshotter::ImportTar(fs, fd.get(), options);
}

std::string Counts(const ImportStats& s) {
  return std::to_string(s.files) + " files " + std::to_string(s.directories) + " dirs " +
         std::to_string(s.symlinks) + " symlinks " + std::to_string(s.specials) + " specials " +
         std::to_string(s.hardlinks) + " links " + std::to_string(s.bytes) + " bytes";
}

}  // namespace

void TarImport(std::string_view input) {
  static Scratch scratch;
  // Up to three containers an input; no view of the old store is left here.
  if (scratch.store == nullptr || scratch.containers >= 3 * kInputsPerStore) OpenScratch(scratch);
  snapshotter::FileSystem fs = NewContainer(scratch);
  Result<ImportStats> imported = Import(fs, input);
  Status fsck = scratch.store->CheckInvariants();
  FUZZ_CHECK(fsck.ok(),
             "after an import (" + imported.status().ToString() + "): " + fsck.ToString());
  if (!imported.ok()) return;

  // What was imported exports, and from the second copy on the tree is a
  // fixed point: export and import again change no count.
  const std::string first_export = Export(fs);
  snapshotter::FileSystem second = NewContainer(scratch);
  Result<ImportStats> second_stats = Import(second, first_export);
  FUZZ_CHECK(second_stats.ok(),
             "an exported tree does not import: " + second_stats.status().ToString());
  snapshotter::FileSystem third = NewContainer(scratch);
  Result<ImportStats> third_stats = Import(third, Export(second));
  FUZZ_CHECK(third_stats.ok(),
             "a re-exported tree does not import: " + third_stats.status().ToString());
  FUZZ_CHECK(Counts(*second_stats) == Counts(*third_stats),
             "export and import again changed the tree: " + Counts(*second_stats) + " then " +
                 Counts(*third_stats));
  fsck = scratch.store->CheckInvariants();
  FUZZ_CHECK(fsck.ok(), "after the round trip: " + fsck.ToString());
}

}  // namespace hoodyfs::fuzz
