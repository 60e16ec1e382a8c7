// Model-based randomized test of the engine: thousands of random
// filesystem calls interleaved with freeze, branch and reopen, each checked
// against ModelFs; the head is compared in full every few steps, and at the
// end every frozen generation is re-read and found exactly as when frozen.
// Then the consistency checker runs.
//
// Reproduce a failure with --gtest_random_seed=SEED (printed on failure).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <memory>
#include <random>
#include <vector>

#include "snapshotter/filesystem.h"
#include "snapshotter/store.h"
#include "tests/model/fs_model.h"
#include "base/testing/temp_dir.h"

namespace hoodyfs::testing {
namespace {

using snapshotter::FileSystem;
using snapshotter::RenameFlags;
using snapshotter::SetAttrRequest;
using snapshotter::Store;

const char* const kNames[] = {"a", "b", "c", "d", "e", "f"};

class EngineModelTest : public ::testing::TestWithParam<int> {
 protected:
  void Open() {
    fs_.reset();
    store_.reset();
    snapshotter::StoreOptions options;
    options.flush_interval_ms = 0;
    options.grow_step_bytes = 16 << 20;
    auto s = Store::Open(dir_.File("store"), std::move(options));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
    fs_.emplace(store_->Head("c").value());
  }

  uint64_t Pick(uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng_); }
  bool Chance(int percent) { return static_cast<int>(Pick(100)) < percent; }
  std::string Name() { return kNames[Pick(std::size(kNames))]; }

  // A random existing inode, preferring directories when asked.
  uint64_t RandomIno(bool dir) {
    std::vector<uint64_t> candidates;
    for (const auto& [ino, n] : model_.nodes()) {
      if (S_ISDIR(n.mode) == dir) candidates.push_back(ino);
    }
    if (candidates.empty()) return 1;
    return candidates[Pick(candidates.size())];
  }

  std::string Pattern(size_t n) {
    std::string s(n, '\0');
    const char base = static_cast<char>('A' + Pick(26));
    for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(base + (i % 7));
    return s;
  }

  // Compares every inode reachable in `fs` with `model`.
  void CompareTree(FileSystem& fs, const ModelFs& model, const std::string& where) {
    SCOPED_TRACE(where);
    for (const auto& [ino, n] : model.nodes()) {
      auto a = fs.GetAttr(Ino(ino));
      ASSERT_TRUE(a.ok()) << "ino " << ino << ": " << a.status().ToString();
      EXPECT_EQ(a->mode, n.mode) << "ino " << ino;
      EXPECT_EQ(a->nlink, n.nlink) << "ino " << ino;
      EXPECT_EQ(a->uid, n.uid) << "ino " << ino;
      if (S_ISDIR(n.mode)) {
        std::map<std::string, uint64_t> seen;
        ASSERT_TRUE(fs.ReadDir(Ino(ino), 2, [&](const snapshotter::DirEntry& e) {
                        seen[e.name] = e.ino.value;
                        return true;
                      }).ok());
        EXPECT_EQ(seen, n.children) << "directory " << ino;
      } else if (S_ISREG(n.mode)) {
        ASSERT_EQ(a->size, n.data.size()) << "ino " << ino;
        std::string got(n.data.size(), '\0');
        auto r = fs.Read(Ino(ino), 0, got);
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        EXPECT_EQ(*r, n.data.size());
        EXPECT_TRUE(got == n.data) << "contents of ino " << ino;
      } else if (S_ISLNK(n.mode)) {
        EXPECT_EQ(*fs.ReadLink(Ino(ino)), n.target);
      }
      std::vector<std::string> names;
      for (const auto& [k, v] : n.xattrs) {
        names.push_back(k);
        EXPECT_EQ(*fs.GetXattr(Ino(ino), k), v);
      }
      EXPECT_EQ(*fs.ListXattr(Ino(ino)), names) << "xattrs of ino " << ino;
    }
  }

  void Step();

  TempDir dir_ = TempDir::Create().value();
  std::mt19937_64 rng_;
  std::unique_ptr<Store> store_;
  std::optional<FileSystem> fs_;
  ModelFs model_;
  std::vector<std::pair<GenId, ModelFs>> frozen_;
};

#define EXPECT_CODE(expected, status) \
  EXPECT_EQ(static_cast<int>((status).code()), static_cast<int>(expected)) << (status).ToString()

void EngineModelTest::Step() {
  const int op = static_cast<int>(Pick(100));
  if (op < 12) {  // create a file, fifo or device
    const uint64_t dir = RandomIno(true);
    const std::string name = Name();
    const Code want = model_.CheckCreate(dir, name);
    const uint32_t mode = Chance(80) ? (S_IFREG | 0644) : (S_IFIFO | 0600);
    auto e = fs_->Mknod(Ino(dir), name, mode, 0, {});
    EXPECT_CODE(want, e.status());
    if (e.ok()) model_.ApplyCreate(dir, name, e->ino.value, mode, 0);
  } else if (op < 18) {
    const uint64_t dir = RandomIno(true);
    const std::string name = Name();
    const Code want = model_.CheckCreate(dir, name);
    auto e = fs_->Mkdir(Ino(dir), name, 0755, {});
    EXPECT_CODE(want, e.status());
    if (e.ok()) model_.ApplyCreate(dir, name, e->ino.value, S_IFDIR | 0755, 0);
  } else if (op < 21) {
    const uint64_t dir = RandomIno(true);
    const std::string name = Name();
    const std::string target = "t/" + Name();
    const Code want = model_.CheckCreate(dir, name);
    auto e = fs_->Symlink(Ino(dir), name, target, {});
    EXPECT_CODE(want, e.status());
    if (e.ok()) model_.ApplyCreate(dir, name, e->ino.value, S_IFLNK | 0777, 0, target);
  } else if (op < 25) {
    const uint64_t ino = RandomIno(false);
    const uint64_t dir = RandomIno(true);
    const std::string name = Name();
    if (ino == 1) return;
    const Code want = model_.CheckLink(ino, dir, name);
    auto e = fs_->Link(Ino(ino), Ino(dir), name);
    EXPECT_CODE(want, e.status());
    if (e.ok()) model_.ApplyLink(ino, dir, name);
  } else if (op < 33) {
    const uint64_t dir = RandomIno(true);
    const std::string name = Name();
    const Code want = model_.CheckUnlink(dir, name);
    Status s = fs_->Unlink(Ino(dir), name);
    EXPECT_CODE(want, s);
    if (s.ok()) model_.ApplyRemove(dir, name);
  } else if (op < 37) {
    const uint64_t dir = RandomIno(true);
    const std::string name = Name();
    const Code want = model_.CheckRmdir(dir, name);
    Status s = fs_->Rmdir(Ino(dir), name);
    EXPECT_CODE(want, s);
    if (s.ok()) model_.ApplyRemove(dir, name);
  } else if (op < 45) {
    const uint64_t from = RandomIno(true), to = RandomIno(true);
    const std::string name = Name(), new_name = Name();
    const int flags = Chance(70) ? 0 : (Chance(50) ? 1 : 2);
    const Code want = model_.CheckRename(from, name, to, new_name, flags);
    Status s = fs_->Rename(Ino(from), name, Ino(to), new_name, static_cast<RenameFlags>(flags));
    EXPECT_CODE(want, s);
    if (s.ok()) model_.ApplyRename(from, name, to, new_name, flags);
  } else if (op < 68) {  // write
    const uint64_t ino = RandomIno(false);
    if (!S_ISREG(model_.Node(ino).mode)) return;
    const uint64_t off = Chance(50) ? Pick(8192) : Pick(600 * 1024);
    const std::string data = Pattern(1 + (Chance(60) ? Pick(3000) : Pick(300 * 1024)));
    auto w = fs_->Write(Ino(ino), off, data);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    EXPECT_EQ(*w, data.size());
    model_.Write(ino, off, data);
  } else if (op < 76) {  // truncate
    const uint64_t ino = RandomIno(false);
    if (!S_ISREG(model_.Node(ino).mode)) return;
    SetAttrRequest req;
    req.size = Chance(50) ? Pick(5000) : Pick(700 * 1024);
    ASSERT_TRUE(fs_->SetAttr(Ino(ino), req).ok());
    model_.Truncate(ino, *req.size);
  } else if (op < 82) {  // xattrs
    const uint64_t ino = Chance(50) ? RandomIno(false) : RandomIno(true);
    const std::string name = "user." + Name();
    auto& x = model_.Mutable(ino).xattrs;
    if (Chance(65)) {
      const std::string value = Pattern(Pick(200));
      ASSERT_TRUE(fs_->SetXattr(Ino(ino), name, value).ok());
      x[name] = value;
    } else {
      Status s = fs_->RemoveXattr(Ino(ino), name);
      EXPECT_CODE(x.count(name) ? Code::kOk : Code::kNoData, s);
      x.erase(name);
    }
  } else if (op < 88) {  // chmod / chown
    const uint64_t ino = Chance(50) ? RandomIno(false) : RandomIno(true);
    SetAttrRequest req;
    req.mode = static_cast<uint32_t>(Pick(07777));
    req.uid = static_cast<uint32_t>(Pick(3));
    ASSERT_TRUE(fs_->SetAttr(Ino(ino), req).ok());
    auto& n = model_.Mutable(ino);
    n.mode = (n.mode & S_IFMT) | *req.mode;
    n.uid = *req.uid;
  } else if (op < 93) {  // freeze
    auto g = store_->Freeze("c");
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    frozen_.emplace_back(*g, model_);
  } else if (op < 96) {  // branch back to a frozen generation
    if (frozen_.empty()) return;
    const auto& [gen, snapshot] = frozen_[Pick(frozen_.size())];
    ASSERT_TRUE(store_->Branch("c", gen).ok());
    model_ = snapshot;
  } else if (op < 98) {  // reopen: everything visible must also be durable on close
    Open();
  } else {  // flush, then check the whole head
    ASSERT_TRUE(store_->Flush().ok());
    CompareTree(*fs_, model_, "head after flush");
  }
}

TEST_P(EngineModelTest, RandomOperationsMatchTheModel) {
  const uint64_t seed =
      static_cast<uint64_t>(::testing::UnitTest::GetInstance()->random_seed()) * 1000 + GetParam();
  SCOPED_TRACE("seed " + std::to_string(seed) + " (rerun with --gtest_random_seed)");
  rng_.seed(seed);
  ASSERT_TRUE(Store::Init(dir_.File("store")).ok());
  {
    snapshotter::StoreOptions options;
    options.flush_interval_ms = 0;
    auto s = Store::Open(dir_.File("store"), std::move(options));
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE((*s)->CreateContainer("c").ok());
  }
  Open();
  constexpr int kSteps = 1500;
  for (int i = 0; i < kSteps && !HasFailure(); ++i) {
    SCOPED_TRACE("step " + std::to_string(i));
    Step();
    if (i % 50 == 49) CompareTree(*fs_, model_, "head");
  }
  CompareTree(*fs_, model_, "head at the end");
  for (const auto& [gen, snapshot] : frozen_) {
    FileSystem past = store_->AtGeneration(gen).value();
    CompareTree(past, snapshot, "frozen generation " + std::to_string(gen.value));
  }
  Status check = store_->CheckInvariants();
  EXPECT_TRUE(check.ok()) << check.ToString();
  // Once more after a reopen: the durable store is the same.
  Open();
  for (const auto& [gen, snapshot] : frozen_) {
    FileSystem past = store_->AtGeneration(gen).value();
    CompareTree(past, snapshot, "frozen generation after reopen " + std::to_string(gen.value));
  }
  check = store_->CheckInvariants();
  EXPECT_TRUE(check.ok()) << check.ToString();
}

INSTANTIATE_TEST_SUITE_P(Seeds, EngineModelTest, ::testing::Range(1, 5));

}  // namespace
}  // namespace hoodyfs::testing
