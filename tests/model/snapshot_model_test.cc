// Model-based randomized test of the snapshot verbs: random filesystem calls
// (RandomOps, one driver per container) interleaved with snapshot create
// (alias, expiry), restore (keeping or discarding the head), delete, copy
// into new containers, container delete, clock jumps that expire snapshots,
// garbage collection, reopen and diff. Every snapshot and head is checked
// against its in-memory model; every diff is checked against a brute-force
// comparison of the two whole trees read through the filesystem API; the
// consistency checker runs after each collection. At the end every snapshot
// is deleted and collected, and the store must hold only the live heads'
// data (Store::CheckFullyCollected).
//
// Reproduce a failure with --gtest_random_seed=SEED (printed on failure).
#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "base/testing/status_macros.h"
#include "base/testing/temp_dir.h"
#include "snapshotter/engine/scrub.h"
#include "snapshotter/verbs/snapshotter.h"
#include "tests/model/random_ops.h"

namespace hoodyfs::testing {
namespace {

using snapshotter::Change;
using snapshotter::ChangeKind;
using snapshotter::FileSystem;
using snapshotter::Snapshotter;

constexpr int64_t kDaySec = 86400;

// ---- the brute-force diff: two whole trees, inode by inode ----

// One name of an inode: (parent inode, name) and the path it gives.
struct WalkedLink {
  uint64_t parent = 0;
  std::string name;
  std::string path;
  bool operator<(const WalkedLink& o) const {
    return std::tie(parent, name) < std::tie(o.parent, o.name);
  }
};

struct WalkedInode {
  snapshotter::Attr attr;
  std::vector<WalkedLink> links;  // sorted by (parent, name)
  std::string content;            // regular files; symlink target
  std::map<std::string, std::string> xattrs;
};

std::map<uint64_t, WalkedInode> Walk(FileSystem& fs) {
  std::map<uint64_t, WalkedInode> out;
  std::vector<std::pair<uint64_t, std::string>> dirs{{kRootIno.value, "/"}};
  out[kRootIno.value].links.push_back(WalkedLink{0, "", "/"});
  while (!dirs.empty()) {
    // Not a structured binding: clang 14 cannot capture one in a lambda.
    const uint64_t dir = dirs.back().first;
    const std::string path = dirs.back().second;
    dirs.pop_back();
    Status s = fs.ReadDir(Ino(dir), 2, [&](const snapshotter::DirEntry& e) {
      const std::string child = (path == "/" ? "" : path) + "/" + e.name;
      WalkedInode& w = out[e.ino.value];
      w.links.push_back(WalkedLink{dir, e.name, child});
      if (e.type == DT_DIR) dirs.emplace_back(e.ino.value, child);
      return true;
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  for (auto& [ino, w] : out) {
    std::sort(w.links.begin(), w.links.end());
    auto attr = fs.GetAttr(Ino(ino));
    EXPECT_TRUE(attr.ok()) << attr.status().ToString();
    if (!attr.ok()) continue;
    w.attr = *attr;
    if (S_ISREG(w.attr.mode)) {
      w.content.assign(w.attr.size, '\0');
      auto n = fs.Read(Ino(ino), 0, w.content);
      EXPECT_TRUE(n.ok()) << n.status().ToString();
    } else if (S_ISLNK(w.attr.mode)) {
      w.content = fs.ReadLink(Ino(ino)).value();
    }
    const std::vector<std::string> names = fs.ListXattr(Ino(ino)).value();
    for (const std::string& name : names) {
      w.xattrs[name] = fs.GetXattr(Ino(ino), name).value();
    }
  }
  return out;
}

// (kind, path, new_path, what) of every change, as the engine's rules say
// a diff of these two trees must report it.
using ChangeKey = std::tuple<int, std::string, std::string, uint32_t>;

std::set<ChangeKey> BruteForceDiff(FileSystem& a_fs, FileSystem& b_fs) {
  const auto a = Walk(a_fs);
  const auto b = Walk(b_fs);
  std::set<uint64_t> inos;
  for (const auto& [ino, w] : a) inos.insert(ino);
  for (const auto& [ino, w] : b) inos.insert(ino);
  std::set<ChangeKey> out;
  for (uint64_t ino : inos) {
    auto ia = a.find(ino);
    auto ib = b.find(ino);
    if (ia == a.end() || ib == b.end()) {
      const bool added = ia == a.end();
      for (const WalkedLink& l : added ? ib->second.links : ia->second.links) {
        out.emplace(static_cast<int>(added ? ChangeKind::kAdded : ChangeKind::kDeleted), l.path, "",
                    0);
      }
      continue;
    }
    const WalkedInode& x = ia->second;
    const WalkedInode& y = ib->second;
    std::vector<WalkedLink> gone, fresh;
    std::set_difference(x.links.begin(), x.links.end(), y.links.begin(), y.links.end(),
                        std::back_inserter(gone));
    std::set_difference(y.links.begin(), y.links.end(), x.links.begin(), x.links.end(),
                        std::back_inserter(fresh));
    const size_t pairs = std::min(gone.size(), fresh.size());
    for (size_t i = 0; i < pairs; ++i) {
      out.emplace(static_cast<int>(ChangeKind::kRenamed), gone[i].path, fresh[i].path, 0);
    }
    for (size_t i = pairs; i < gone.size(); ++i) {
      out.emplace(static_cast<int>(ChangeKind::kDeleted), gone[i].path, "", 0);
    }
    for (size_t i = pairs; i < fresh.size(); ++i) {
      out.emplace(static_cast<int>(ChangeKind::kAdded), fresh[i].path, "", 0);
    }
    uint32_t what = 0;
    if ((x.attr.mode & 07777) != (y.attr.mode & 07777)) what |= snapshotter::kWhatMode;
    if (x.attr.uid != y.attr.uid || x.attr.gid != y.attr.gid) what |= snapshotter::kWhatOwner;
    if (x.attr.mtime != y.attr.mtime) what |= snapshotter::kWhatTimes;  // not atime: reads move it
    if (x.attr.rdev != y.attr.rdev) what |= snapshotter::kWhatRdev;
    if (S_ISLNK(y.attr.mode) && x.content != y.content) what |= snapshotter::kWhatTarget;
    if (!S_ISDIR(y.attr.mode) && x.attr.nlink != y.attr.nlink) what |= snapshotter::kWhatLinks;
    if (x.xattrs != y.xattrs) what |= snapshotter::kWhatXattrs;
    if (S_ISREG(y.attr.mode) && x.content != y.content) what |= snapshotter::kWhatContent;
    if (what != 0) {
      std::vector<WalkedLink> kept;
      std::set_intersection(y.links.begin(), y.links.end(), x.links.begin(), x.links.end(),
                            std::back_inserter(kept));
      out.emplace(static_cast<int>(ChangeKind::kModified),
                  kept.empty() ? y.links.front().path : kept.front().path, "", what);
    }
  }
  return out;
}

// A path added (one inode) and deleted (another) is one "replaced" change,
// as the engine reports it (snapshotter/diff.h kWhatReplaced).
std::set<ChangeKey> MergeReplacements(std::set<ChangeKey> changes) {
  const int added = static_cast<int>(ChangeKind::kAdded);
  const int deleted = static_cast<int>(ChangeKind::kDeleted);
  std::vector<std::string> replaced;
  for (const auto& [kind, path, new_path, what] : changes) {
    if (kind == added && changes.count(ChangeKey{deleted, path, "", 0}) > 0) {
      replaced.push_back(path);
    }
  }
  for (const std::string& path : replaced) {
    changes.erase(ChangeKey{added, path, "", 0});
    changes.erase(ChangeKey{deleted, path, "", 0});
    changes.emplace(static_cast<int>(ChangeKind::kModified), path, "", snapshotter::kWhatReplaced);
  }
  return changes;
}

std::string Describe(const std::set<ChangeKey>& changes) {
  std::string s;
  for (const auto& [kind, path, new_path, what] : changes) {
    s += std::string(snapshotter::ChangeSymbol(static_cast<ChangeKind>(kind))) + " " + path;
    if (!new_path.empty()) s += " -> " + new_path;
    if (what != 0) s += " [" + snapshotter::ChangeWhatNames(what) + "]";
    s += "\n";
  }
  return s;
}

// ---- the driver ----

struct SnapshotModel {
  std::string container;
  std::string name;
  std::string alias;
  GenId gen;
  ModelFs tree;
  int64_t expires_sec = 0;  // 0: never
};

class SnapshotModelTest : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    seed_ = static_cast<uint64_t>(::testing::UnitTest::GetInstance()->random_seed()) * 1000 +
            GetParam();
    rng_.seed(seed_);
    // Printed up front: a failed engine assertion aborts before traces print.
    std::fprintf(stderr, "snapshot model seed %llu\n", static_cast<unsigned long long>(seed_));
    ASSERT_OK(snapshotter::Store::Init(dir_.File("store")));
    Open();
    ASSERT_TRUE(snap_->CreateContainer("c").ok());
    AddDriver("c", ModelFs());
  }

  void Open() {
    snap_.reset();
    snapshotter::StoreOptions options;
    options.flush_interval_ms = 0;
    options.grow_step_bytes = 16 << 20;
    options.clock = [this] { return index::Timespec{now_sec_, tick_++ % 1000000000}; };
    auto s = Snapshotter::Open(dir_.File("store"), std::move(options));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    snap_ = std::move(s).value();
    // Expiry runs at open.
    std::erase_if(snaps_, [&](const SnapshotModel& m) { return Expired(m); });
    for (auto& [name, d] : drivers_) d->Attach(&snap_->store());
  }

  bool Expired(const SnapshotModel& m) const {
    return m.expires_sec != 0 && m.expires_sec <= now_sec_;
  }

  void AddDriver(const std::string& container, ModelFs head) {
    OpMix mix;
    mix.freeze = mix.branch = mix.reopen = 0;
    mix.sync = 1;
    mix.max_write_bytes = 100 * 1024;
    mix.max_write_offset = 300 * 1024;
    mix.max_truncate_bytes = 400 * 1024;
    auto d = std::make_unique<RandomOps>(Pick(1u << 30), container, mix);
    ModelState state;
    state.head = std::move(head);
    d->set_state(std::move(state));
    d->Attach(&snap_->store());
    drivers_[container] = std::move(d);
  }

  uint64_t Pick(uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng_); }
  template <class T>
  T& PickOf(std::vector<T>& v) {
    return v[Pick(v.size())];
  }
  std::string RandomContainer() {
    auto it = drivers_.begin();
    std::advance(it, Pick(drivers_.size()));
    return it->first;
  }
  std::vector<size_t> SnapsOf(const std::string& container) const {
    std::vector<size_t> out;
    for (size_t i = 0; i < snaps_.size(); ++i) {
      if (snaps_[i].container == container) out.push_back(i);
    }
    return out;
  }
  bool AliasTaken(const std::string& container, const std::string& alias) const {
    return std::any_of(snaps_.begin(), snaps_.end(), [&](const SnapshotModel& m) {
      return m.container == container && m.alias == alias;
    });
  }

  void CreateSnapshot() {
    const std::string c = RandomContainer();
    snapshotter::CreateSnapshotRequest req;
    if (Pick(2) == 0) req.alias = "alias" + std::to_string(Pick(12));
    if (Pick(3) == 0) req.expiry_days = static_cast<int64_t>(1 + Pick(10));
    auto info = snap_->CreateSnapshot(c, req);
    if (!req.alias.empty() && AliasTaken(c, req.alias)) {
      EXPECT_EQ(info.status().code(), Code::kExists) << info.status().ToString();
      return;
    }
    ASSERT_TRUE(info.ok()) << info.status().ToString();
    snaps_.push_back(SnapshotModel{c, info->name, req.alias, info->gen, drivers_[c]->state().head,
                                   req.expiry_days ? now_sec_ + *req.expiry_days * kDaySec : 0});
  }

  void Restore() {
    if (snaps_.empty()) return;
    const SnapshotModel target = PickOf(snaps_);
    const bool discard = Pick(3) == 0;
    const std::string by = !target.alias.empty() && Pick(2) ? target.alias : target.name;
    auto r = snap_->Restore(target.container, by, snapshotter::RestoreRequest{discard});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    RandomOps& d = *drivers_[target.container];
    if (discard) {
      EXPECT_FALSE(r->saved_head.has_value());
    } else if (r->saved_head) {
      snaps_.push_back(SnapshotModel{target.container, r->saved_head->name, r->saved_head->alias,
                                     r->saved_head->gen, d.state().head, now_sec_ + 7 * kDaySec});
    } else {
      // No pre-restore copy: the head must have held nothing that a
      // snapshot still alive does not (it wrote nothing since its parent).
      const std::string head = d.state().head.Encode();
      EXPECT_TRUE(std::any_of(snaps_.begin(), snaps_.end(), [&](const SnapshotModel& m) {
        return m.tree.Encode() == head;
      })) << "a restore dropped a head whose state no snapshot holds";
    }
    ModelState state;
    state.head = target.tree;
    d.set_state(std::move(state));
  }

  void DeleteSnapshot() {
    if (snaps_.empty()) return;
    const size_t i = Pick(snaps_.size());
    const SnapshotModel& m = snaps_[i];
    const std::string by = !m.alias.empty() && Pick(2) ? m.alias : m.name;
    ASSERT_OK(snap_->DeleteSnapshot(m.container, by));
    snaps_.erase(snaps_.begin() + static_cast<ptrdiff_t>(i));
  }

  void Copy() {
    if (snaps_.empty() || drivers_.size() >= 5) return;
    const SnapshotModel source = PickOf(snaps_);
    const std::string name = "copy" + std::to_string(next_copy_++);
    auto info = snap_->CopyContainer(source.container, source.name, name);
    ASSERT_TRUE(info.ok()) << info.status().ToString();
    AddDriver(name, source.tree);
  }

  void DeleteContainer() {
    if (drivers_.size() < 2) return;
    std::string c = RandomContainer();
    if (c == "c") return;
    ASSERT_OK(snap_->DeleteContainer(c));
    drivers_.erase(c);
    std::erase_if(snaps_, [&](const SnapshotModel& m) { return m.container == c; });
  }

  void AdvanceClock() {
    now_sec_ += static_cast<int64_t>(Pick(4 * kDaySec));
    auto n = snap_->ExpireSnapshots();
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    const size_t before = snaps_.size();
    std::erase_if(snaps_, [&](const SnapshotModel& m) { return Expired(m); });
    EXPECT_EQ(*n, before - snaps_.size()) << "expired a different number of snapshots";
  }

  void CollectGarbage() {
    snapshotter::GcOptions options;
    options.prune_shared = Pick(2) == 0;
    auto gc = snap_->CollectGarbage(options);
    ASSERT_TRUE(gc.ok()) << gc.status().ToString();
    ASSERT_OK(snap_->store().CheckInvariants());
  }

  // An endpoint: a snapshot spec or a head spec, and its generation.
  std::pair<std::string, GenId> RandomEndpoint(const std::string& container) {
    if (!snaps_.empty() && Pick(3) != 0) {
      const SnapshotModel& m = PickOf(snaps_);
      const std::string id = !m.alias.empty() && Pick(2) ? m.alias : m.name;
      return {m.container == container && Pick(2) ? id : m.container + "@" + id, m.gen};
    }
    const std::string c = RandomContainer();
    return {c + "@", snap_->store().HeadOf(c).value()};
  }

  void Diff() {
    const std::string c = RandomContainer();
    auto [from, a] = RandomEndpoint(c);
    auto [to, b] = RandomEndpoint(c);
    SCOPED_TRACE("diff " + from + " " + to);
    auto d = snap_->Diff(c, from, to);
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    EXPECT_EQ(d->from, a);
    EXPECT_EQ(d->to, b);
    std::set<ChangeKey> got;
    for (const Change& ch : d->changes) {
      got.emplace(static_cast<int>(ch.kind), ch.path, ch.new_path, ch.what);
    }
    FileSystem fa = snap_->store().AtGeneration(a).value();
    FileSystem fb = snap_->store().AtGeneration(b).value();
    const std::set<ChangeKey> want = MergeReplacements(BruteForceDiff(fa, fb));
    EXPECT_EQ(got, want) << "engine:\n" << Describe(got) << "brute force:\n" << Describe(want);
    ++diffs_;
  }

  void CheckAll(const std::string& when) {
    SCOPED_TRACE(when);
    for (auto& [c, d] : drivers_) ExpectTreeMatches(d->fs(), d->state().head, "head of " + c);
    auto names = [&](const std::string& c) {
      std::vector<std::string> out;
      const std::vector<snapshotter::SnapshotInfo> list = snap_->ListSnapshots(c).value();
      for (const auto& info : list) out.push_back(info.name);
      std::sort(out.begin(), out.end());
      return out;
    };
    for (auto& [c, d] : drivers_) {
      std::vector<std::string> want;
      for (size_t i : SnapsOf(c)) want.push_back(snaps_[i].name);
      std::sort(want.begin(), want.end());
      EXPECT_EQ(names(c), want) << "snapshots of " << c;
    }
    for (const SnapshotModel& m : snaps_) {
      FileSystem past = snap_->store().AtGeneration(m.gen).value();
      ExpectTreeMatches(past, m.tree, m.container + "@" + m.name);
    }
  }

  testing::TempDir dir_ = testing::TempDir::Create().value();
  uint64_t seed_ = 0;
  std::mt19937_64 rng_;
  int64_t now_sec_ = 1772620200;
  uint32_t tick_ = 0;
  std::unique_ptr<Snapshotter> snap_;
  std::map<std::string, std::unique_ptr<RandomOps>> drivers_;
  std::vector<SnapshotModel> snaps_;
  int next_copy_ = 1;
  int diffs_ = 0;
};

TEST_P(SnapshotModelTest, RandomSnapshotVerbsMatchTheModel) {
  SCOPED_TRACE("seed " + std::to_string(seed_) + " (rerun with --gtest_random_seed)");
  constexpr int kSteps = 1200;
  for (int i = 0; i < kSteps && !HasFailure(); ++i) {
    SCOPED_TRACE("step " + std::to_string(i));
    const uint64_t r = Pick(1000);
    if (r < 700) {
      drivers_[RandomContainer()]->Step();
    } else if (r < 780) {
      CreateSnapshot();
    } else if (r < 815) {
      Restore();
    } else if (r < 855) {
      DeleteSnapshot();
    } else if (r < 875) {
      Copy();
    } else if (r < 885) {
      DeleteContainer();
    } else if (r < 905) {
      AdvanceClock();
    } else if (r < 935) {
      CollectGarbage();
    } else if (r < 990) {
      Diff();
    } else {
      Open();
    }
    if (i % 100 == 99) CheckAll("step " + std::to_string(i));
  }
  EXPECT_GT(diffs_, 20);
  CheckAll("end");
  ASSERT_OK(snap_->store().CheckInvariants());
  // A scrub of the history built reads every block in use once and finds
  // nothing damaged (no false positives whatever snapshots share).
  auto scrub = snapshotter::Scrubber(snap_->store()).Run({});
  ASSERT_TRUE(scrub.ok()) << scrub.status().ToString();
  EXPECT_TRUE(scrub->damaged.empty()) << scrub->damaged.front().why;
  EXPECT_EQ(scrub->progress.blocks_checked, snap_->store().used_blocks());
  EXPECT_GT(scrub->progress.blocks_checked, 0u);

  // Delete every snapshot and collect: only the live heads' data remains.
  for (const SnapshotModel& m : snaps_) ASSERT_OK(snap_->DeleteSnapshot(m.container, m.name));
  snaps_.clear();
  auto gc = snap_->CollectGarbage();
  ASSERT_TRUE(gc.ok()) << gc.status().ToString();
  ASSERT_OK(snap_->store().CheckInvariants());
  ASSERT_OK(snap_->store().CheckFullyCollected());
  CheckAll("all snapshots collected");
  Open();
  CheckAll("reopened");
}

INSTANTIATE_TEST_SUITE_P(Seeds, SnapshotModelTest, ::testing::Range(1, 5));

}  // namespace
}  // namespace hoodyfs::testing
