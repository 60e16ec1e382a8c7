// Concurrency stress of the engine as a multi-threaded FUSE daemon will use
// it: writer threads (each in its own directory, with its own reference
// model), a freezer, a flusher and readers of frozen generations, all at
// once. Checks: every thread reads back exactly what it wrote, a frozen
// generation reads the same before and after the writers moved on, and the
// store passes its consistency check afterwards, also after a reopen.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "base/sanitizers.h"
#include "base/testing/temp_dir.h"
#include "snapshotter/engine/filesystem.h"
#include "snapshotter/engine/store.h"

namespace hoodyfs {
namespace {

using snapshotter::FileSystem;
using snapshotter::Store;

constexpr int kWriters = 4;
// ThreadSanitizer (CI's clang pass) runs this 10 times slower, and the
// freezer's generations pile up the longer the writers run: a third of the
// operations still interleave every thread with every other. The same under
// AddressSanitizer (CI's second pass), where the full count took 78 s, the
// longest test of that pass; the full count runs in the first pass.
#ifdef HOODYFS_SANITIZED
constexpr int kOpsPerWriter = 200;
#else
constexpr int kOpsPerWriter = 600;
#endif

// Reads every file below `dir` into path -> bytes.
void Snapshot(FileSystem& fs, Ino dir, const std::string& prefix,
              std::map<std::string, std::string>* out) {
  std::vector<snapshotter::DirEntry> entries;
  ASSERT_TRUE(fs.ReadDir(dir, 2, [&](const snapshotter::DirEntry& e) {
                  entries.push_back(e);
                  return true;
                }).ok());
  for (const auto& e : entries) {
    auto a = fs.GetAttr(e.ino);
    ASSERT_TRUE(a.ok());
    if (S_ISDIR(a->mode)) {
      Snapshot(fs, e.ino, prefix + "/" + e.name, out);
    } else {
      std::string data(a->size, '\0');
      auto n = fs.Read(e.ino, 0, data);
      ASSERT_TRUE(n.ok()) << n.status().ToString();
      (*out)[prefix + "/" + e.name] = std::move(data);
    }
  }
}

// What the threads of a test found wrong, reported on the test's thread
// after they are joined (gtest's assertions are not for other threads).
class Failures {
 public:
  void Add(const std::string& what) {
    std::lock_guard l(mu_);
    found_.push_back(what);
  }
  // Reports what was found so far, once. REQUIRES: every thread that adds
  // has been joined.
  void Report() {
    for (const auto& f : found_) ADD_FAILURE() << f;
    found_.clear();
  }

 private:
  std::mutex mu_;
  std::vector<std::string> found_;
};

// The stamp of writer `w`'s write number `i`: odd below 2^16 and 1..4
// above, so none of its bytes is 0 or 0xEE (the byte partial writes use).
uint64_t Stamp(int w, int i) {
  return (uint64_t{1} + static_cast<uint64_t>(w)) << 32 | (static_cast<uint64_t>(i) * 2 + 1);
}

// `blocks` whole blocks with `stamp` in every 8 bytes.
std::string Stamped(uint64_t stamp, uint64_t blocks) {
  std::string data(blocks * kBlockSize, '\0');
  for (size_t at = 0; at < data.size(); at += sizeof(stamp)) {
    std::memcpy(data.data() + at, &stamp, sizeof(stamp));
  }
  return data;
}

// Counts a writer thread out on every exit, failures included, so the
// threads that run until every writer is done always stop.
struct CountOnExit {
  std::atomic<int>& done;
  ~CountOnExit() { ++done; }
};

class EngineStressTest : public ::testing::Test {
 protected:
  testing::TempDir dir_ = testing::TempDir::Create().value();
};

TEST_F(EngineStressTest, ConcurrentWritersFreezerFlusherAndReaders) {
  const std::string path = dir_.File("store");
  ASSERT_TRUE(Store::Init(path).ok());
  snapshotter::StoreOptions options;
  options.flush_interval_ms = 5;  // the background flusher joins the fray
  auto store = Store::Open(path, std::move(options)).value();
  ASSERT_TRUE(store->CreateContainer("c").ok());
  FileSystem fs = store->Head("c").value();

  std::vector<Ino> dirs;
  for (int w = 0; w < kWriters; ++w) {
    dirs.push_back(fs.Mkdir(kRootIno, "w" + std::to_string(w), 0755, {}).value().ino);
  }
  std::atomic<int> writers_done{0};
  std::mutex frozen_mu;
  std::vector<GenId> frozen;
  Failures failures;
  auto fail = [&](const std::string& what) { failures.Add(what); };

  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      CountOnExit counted{writers_done};
      std::mt19937_64 rng(1000 + w);
      std::map<std::string, std::string> model;  // name -> bytes
      FileSystem mine = store->Head("c").value();
      for (int i = 0; i < kOpsPerWriter; ++i) {
        const std::string name = "f" + std::to_string(rng() % 12);
        auto found = mine.Lookup(dirs[w], name);
        const int op = static_cast<int>(rng() % 10);
        if (!found.ok()) {
          auto e = mine.Mknod(dirs[w], name, S_IFREG | 0644, 0, {});
          if (!e.ok()) return fail("create: " + e.status().ToString());
          model[name] = "";
          continue;
        }
        if (op < 6) {
          const uint64_t off = rng() % 200000;
          std::string data(1 + rng() % 20000, static_cast<char>('a' + rng() % 26));
          auto n = mine.Write(found->ino, off, data);
          if (!n.ok()) return fail("write: " + n.status().ToString());
          std::string& m = model[name];
          if (m.size() < off + data.size()) m.resize(off + data.size(), '\0');
          m.replace(off, data.size(), data);
        } else if (op < 8) {
          std::string got(model[name].size(), '\0');
          auto n = mine.Read(found->ino, 0, got);
          if (!n.ok()) return fail("read: " + n.status().ToString());
          if (got != model[name])
            return fail("writer " + std::to_string(w) + " read back wrong bytes");
        } else if (op < 9) {
          snapshotter::SetAttrRequest req;
          req.size = rng() % 50000;
          if (!mine.SetAttr(found->ino, req).ok()) return fail("truncate");
          model[name].resize(*req.size, '\0');
        } else {
          if (!mine.Unlink(dirs[w], name).ok()) return fail("unlink");
          model.erase(name);
        }
      }
      // Final check of this writer's directory against its model.
      std::map<std::string, std::string> got;
      Snapshot(mine, dirs[w], "", &got);
      std::map<std::string, std::string> want;
      for (const auto& [n, d] : model) want["/" + n] = d;
      if (got != want) fail("writer " + std::to_string(w) + " directory differs from its model");
    });
  }
  threads.emplace_back([&] {  // freezer
    while (writers_done.load() < kWriters) {
      auto g = store->Freeze("c");
      if (!g.ok()) return fail("freeze: " + g.status().ToString());
      std::lock_guard l(frozen_mu);
      frozen.push_back(*g);
    }
  });
  threads.emplace_back([&] {  // reader of frozen generations: contents never move
    std::mt19937_64 rng(7);
    while (writers_done.load() < kWriters) {
      GenId g;
      {
        std::lock_guard l(frozen_mu);
        if (frozen.empty()) continue;
        g = frozen[rng() % frozen.size()];
      }
      FileSystem past = store->AtGeneration(g).value();
      std::map<std::string, std::string> first, second;
      Snapshot(past, kRootIno, "", &first);
      Snapshot(past, kRootIno, "", &second);
      if (first != second) return fail("frozen generation changed while being read");
    }
  });
  for (auto& t : threads) t.join();
  failures.Report();

  // Frozen generations read the same after a reopen as before it: at most
  // kReopenChecked of them, spread evenly from the first to the last. The
  // freezer makes as many as it can while the writers run, and under
  // ThreadSanitizer reading every one twice here was a third of the test's
  // time; the reader thread above read them, picked at random, while they
  // were made.
  constexpr size_t kReopenChecked = 64;
  std::vector<GenId> checked;
  const size_t take = std::min(kReopenChecked, frozen.size());
  for (size_t k = 0; k < take; ++k) {
    checked.push_back(frozen[take == 1 ? 0 : k * (frozen.size() - 1) / (take - 1)]);
  }
  std::map<GenId, std::map<std::string, std::string>> before;
  for (GenId g : checked) {
    FileSystem past = store->AtGeneration(g).value();
    Snapshot(past, kRootIno, "", &before[g]);
  }
  Status check = store->CheckInvariants();
  EXPECT_TRUE(check.ok()) << check.ToString();
  store.reset();
  snapshotter::StoreOptions reopen_options;
  reopen_options.flush_interval_ms = 0;
  store = Store::Open(path, std::move(reopen_options)).value();
  for (GenId g : checked) {
    FileSystem past = store->AtGeneration(g).value();
    std::map<std::string, std::string> after;
    Snapshot(past, kRootIno, "", &after);
    EXPECT_TRUE(after == before[g]) << "generation " << g.value << " changed across reopen";
  }
  check = store->CheckInvariants();
  EXPECT_TRUE(check.ok()) << check.ToString();
  EXPECT_GT(frozen.size(), 0u);
}

// Writes of whole blocks to one file may run together (FileSystem::Write
// holds the file's lock shared for them), beside writes with partial edge
// blocks and truncates, which hold it alone, and a freezer.
//
// Racing phase: each whole-block write stamps every 8 bytes of each of its
// blocks with (writer, write number). Checks: every block of the file, and
// of the frozen generations, is all zeros or holds one stamp throughout,
// apart from the bytes a partial write laid over it (never a mix of two
// whole-block writes); every stamp found was written to that very block.
//
// Owned phase: the file is fallocated past its end (so first writes draw on
// the reservation and take the lock alone, later ones share it), and each
// writer rewrites only its own blocks (every kBlockWriters-th), so the
// writers update the same chunk maps at once. Checks: each block holds its
// owner's last stamp (no writer's map update lost another's), the size is
// the furthest end written, and the store's invariants (reference counts,
// reservations, nothing leaked) hold.
TEST_F(EngineStressTest, WholeBlockWritersOfOneFileNeverTearNorLoseABlock) {
  constexpr int kBlockWriters = 4;
  constexpr uint64_t kFileBlocks = 64;
  // As many as the test above, for the same reason (fewer under a sanitizer).
  constexpr int kWritesEach = kOpsPerWriter;
  const std::string path = dir_.File("store");
  ASSERT_TRUE(Store::Init(path).ok());
  snapshotter::StoreOptions options;
  options.flush_interval_ms = 5;
  auto store = Store::Open(path, std::move(options)).value();
  ASSERT_TRUE(store->CreateContainer("c").ok());
  FileSystem fs = store->Head("c").value();
  const Ino file = fs.Mknod(kRootIno, "db", S_IFREG | 0644, 0, {}).value().ino;

  // stamps[b]: every stamp some whole-block write put in block b.
  std::mutex stamps_mu;
  std::vector<std::vector<uint64_t>> stamps(kFileBlocks);
  // The bytes partial writes put anywhere: 0xEE, never a byte of a stamp.
  constexpr char kPartialByte = static_cast<char>(0xEE);
  std::atomic<int> writers_done{0};
  Failures failures;
  auto fail = [&](const std::string& what) { failures.Add(what); };
  std::vector<std::thread> threads;
  for (int w = 0; w < kBlockWriters; ++w) {
    threads.emplace_back([&, w] {
      CountOnExit counted{writers_done};
      std::mt19937_64 rng(2000 + w);
      FileSystem mine = store->Head("c").value();
      for (int i = 0; i < kWritesEach; ++i) {
        const uint64_t first = rng() % kFileBlocks;
        const uint64_t count = 1 + rng() % std::min<uint64_t>(8, kFileBlocks - first);
        const uint64_t stamp = Stamp(w, i);
        {
          std::lock_guard l(stamps_mu);
          for (uint64_t b = first; b < first + count; ++b) stamps[b].push_back(stamp);
        }
        const std::string data = Stamped(stamp, count);
        auto n = mine.Write(file, first * kBlockSize, data);
        if (!n.ok() || *n != data.size()) return fail("whole-block write failed");
      }
    });
  }
  threads.emplace_back([&] {  // partial writes and truncates: the exclusive side
    std::mt19937_64 rng(3000);
    FileSystem mine = store->Head("c").value();
    while (writers_done.load() < kBlockWriters) {
      if (rng() % 8 == 0) {
        snapshotter::SetAttrRequest req;
        // A multiple of 8, so a word is cut whole or not at all.
        req.size = (kFileBlocks / 2 + rng() % (kFileBlocks / 2)) * kBlockSize - rng() % 12 * 8;
        if (!mine.SetAttr(file, req).ok()) return fail("truncate failed");
        continue;
      }
      const uint64_t off = rng() % (kFileBlocks * kBlockSize - 64);
      std::string data(1 + rng() % 63, kPartialByte);
      if (!mine.Write(file, off, data).ok()) return fail("partial write failed");
    }
  });
  std::vector<GenId> frozen;
  threads.emplace_back([&] {
    while (writers_done.load() < kBlockWriters) {
      auto g = store->Freeze("c");
      if (!g.ok()) return fail("freeze: " + g.status().ToString());
      frozen.push_back(*g);
    }
  });
  for (auto& t : threads) t.join();
  failures.Report();

  auto check_blocks = [&](FileSystem& view, const std::string& what) {
    auto attr = view.GetAttr(file);
    ASSERT_TRUE(attr.ok()) << attr.status().ToString();
    std::string bytes(attr->size, '\0');
    auto n = view.Read(file, 0, bytes);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    ASSERT_EQ(*n, bytes.size()) << what;
    for (uint64_t b = 0; b * kBlockSize < bytes.size(); ++b) {
      uint64_t seen = 0;  // the block's one stamp (0: none yet)
      const size_t end = std::min<size_t>(bytes.size(), (b + 1) * kBlockSize);
      for (size_t at = b * kBlockSize; at + sizeof(uint64_t) <= end; at += sizeof(uint64_t)) {
        uint64_t word = 0;
        std::memcpy(&word, bytes.data() + at, sizeof(word));
        // A word a partial write or a truncation's zeros touched tells nothing.
        if (word == 0 || std::memchr(&word, kPartialByte, sizeof(word)) != nullptr) continue;
        if (seen == 0) seen = word;
        ASSERT_EQ(word, seen) << what << ": block " << b << " mixes two writes";
      }
      if (seen != 0) {
        const auto& written = stamps[b];
        ASSERT_NE(std::find(written.begin(), written.end(), seen), written.end())
            << what << ": block " << b << " holds a stamp never written there";
      }
    }
  };
  check_blocks(fs, "head");
  const uint64_t bytes_before_owned = fs.GetAttr(file).value().size;
  // At most 64 of the frozen generations, spread from first to last (each
  // read costs, and under ThreadSanitizer they add up).
  constexpr size_t kGenerationsChecked = 64;
  const size_t take = std::min(kGenerationsChecked, frozen.size());
  for (size_t k = 0; k < take; ++k) {
    const GenId g = frozen[take == 1 ? 0 : k * (frozen.size() - 1) / (take - 1)];
    FileSystem past = store->AtGeneration(g).value();
    check_blocks(past, "generation " + std::to_string(g.value));
  }
  EXPECT_GT(frozen.size(), 0u);

  // Owned phase.
  constexpr uint64_t kOwnedBlocks = 2 * kFileBlocks;
  ASSERT_TRUE(fs.Fallocate(file, FALLOC_FL_KEEP_SIZE, 0, kOwnedBlocks * kBlockSize).ok());
  std::vector<uint64_t> last(kOwnedBlocks, 0);  // each slot written by its owner only
  std::vector<uint64_t> furthest(kBlockWriters, 0);
  threads.clear();
  for (int w = 0; w < kBlockWriters; ++w) {
    threads.emplace_back([&, w] {
      std::mt19937_64 rng(4000 + w);
      FileSystem mine = store->Head("c").value();
      for (int i = 0; i < kWritesEach; ++i) {
        const uint64_t b = (rng() % (kOwnedBlocks / kBlockWriters)) * kBlockWriters + w;
        const uint64_t stamp = Stamp(w, i);
        const std::string data = Stamped(stamp, 1);
        auto n = mine.Write(file, b * kBlockSize, data);
        if (!n.ok() || *n != data.size()) return fail("owned write failed");
        last[b] = stamp;
        furthest[w] = std::max(furthest[w], (b + 1) * kBlockSize);
      }
    });
  }
  for (auto& t : threads) t.join();
  failures.Report();
  auto attr = fs.GetAttr(file);
  ASSERT_TRUE(attr.ok()) << attr.status().ToString();
  EXPECT_EQ(attr->size,
            std::max(bytes_before_owned, *std::max_element(furthest.begin(), furthest.end())));
  std::string bytes(attr->size, '\0');
  auto n = fs.Read(file, 0, bytes);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  ASSERT_EQ(*n, bytes.size());
  for (uint64_t b = 0; b < kOwnedBlocks; ++b) {
    if (last[b] == 0) continue;
    for (size_t at = b * kBlockSize; at < (b + 1) * kBlockSize; at += sizeof(uint64_t)) {
      uint64_t word = 0;
      std::memcpy(&word, bytes.data() + at, sizeof(word));
      if (word != last[b]) {
        ADD_FAILURE() << "block " << b << " lost its owner's last write";
        break;
      }
    }
  }
  Status check = store->CheckInvariants();
  EXPECT_TRUE(check.ok()) << check.ToString();
}

}  // namespace
}  // namespace hoodyfs
