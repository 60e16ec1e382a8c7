#include "tests/model/random_ops.h"

#include <gtest/gtest.h>
#include <linux/falloc.h>
#include <sys/stat.h>

#include <map>

#include "base/coding.h"
#include "base/testing/status_macros.h"
#include "blockstore/aligned_buffer.h"

namespace hoodyfs::testing {

using snapshotter::FileSystem;
using snapshotter::RenameFlags;
using snapshotter::SetAttrRequest;
using snapshotter::Store;

namespace {
const char* const kNames[] = {"a", "b", "c", "d", "e", "f"};

enum Op {
  kCreate,
  kMkdir,
  kSymlink,
  kLink,
  kUnlink,
  kRmdir,
  kRename,
  kWrite,
  kTruncate,
  kXattr,
  kChmod,
  kFreeze,
  kBranch,
  kReopen,
  kSync,
  kFallocate,
  kWholeFile,
  kOpCount
};

}  // namespace

const char* SyncKindName(SyncKind kind) {
  switch (kind) {
    case SyncKind::kFlush:
      return "flush";
    case SyncKind::kFsync:
      return "fsync";
    case SyncKind::kFreeze:
      return "freeze";
    case SyncKind::kBranch:
      return "branch";
    case SyncKind::kReopen:
      return "reopen";
  }
  return "?";
}

std::string ModelState::Encode() const {
  std::string out;
  const std::string h = head.Encode();
  PutLe64(&out, h.size());
  out += h;
  PutLe64(&out, frozen.size());
  for (const auto& [gen, model] : frozen) {
    const std::string m = model.Encode();
    PutLe64(&out, gen.value);
    PutLe64(&out, m.size());
    out += m;
  }
  return out;
}

std::optional<ModelState> ModelState::Decode(std::string_view bytes) {
  Decoder d(bytes);
  ModelState state;
  std::optional<ModelFs> h = ModelFs::Decode(d.Bytes(d.Le64()));
  if (!d.ok() || !h) return std::nullopt;
  state.head = std::move(*h);
  const uint64_t n = d.Le64();
  for (uint64_t i = 0; i < n && d.ok(); ++i) {
    const GenId gen(d.Le64());
    std::optional<ModelFs> m = ModelFs::Decode(d.Bytes(d.Le64()));
    if (!d.ok() || !m) return std::nullopt;
    state.frozen.emplace_back(gen, std::move(*m));
  }
  if (!d.done()) return std::nullopt;
  return state;
}

RandomOps::RandomOps(uint64_t seed, std::string container, OpMix mix, SyncHooks hooks)
    : rng_(seed), container_(std::move(container)), mix_(mix), hooks_(std::move(hooks)) {}

void RandomOps::Attach(Store* store) {
  store_ = store;
  fs_.reset();
  auto head = store_->Head(container_);
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  fs_.emplace(*head);
}

std::string RandomOps::Name() { return kNames[Pick(std::size(kNames))]; }

uint64_t RandomOps::RandomIno(bool dir) {
  std::vector<uint64_t> candidates;
  for (const auto& [ino, n] : state_.head.nodes()) {
    if (S_ISDIR(n.mode) == dir) candidates.push_back(ino);
  }
  if (candidates.empty()) return 1;
  return candidates[Pick(candidates.size())];
}

std::string RandomOps::Pattern(size_t n) {
  std::string s(n, '\0');
  const char base = static_cast<char>('A' + Pick(26));
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(base + (i % 7));
  return s;
}

void RandomOps::Step() {
  const int weights[kOpCount] = {
      mix_.create, mix_.mkdir,  mix_.symlink,  mix_.link,      mix_.unlink,    mix_.rmdir,
      mix_.rename, mix_.write,  mix_.truncate, mix_.xattr,     mix_.chmod,     mix_.freeze,
      mix_.branch, mix_.reopen, mix_.sync,     mix_.fallocate, mix_.whole_file};
  int total = 0;
  for (int w : weights) total += w;
  ASSERT_GT(total, 0) << "every operation weight is 0";
  int pick = static_cast<int>(Pick(static_cast<uint64_t>(total)));
  int op = 0;
  while (pick >= weights[op]) pick -= weights[op++];
  switch (op) {
    case kFreeze:
      return Sync(SyncKind::kFreeze);
    case kBranch:
      return Sync(SyncKind::kBranch);
    case kReopen:
      return Sync(SyncKind::kReopen);
    case kSync:
      return Sync(Chance(50) ? SyncKind::kFlush : SyncKind::kFsync);
    default:
      return FileOp(op);
  }
}

void RandomOps::FileOp(int op) {
  ModelFs& model = state_.head;
  switch (op) {
    case kCreate: {  // a file, fifo or device
      const uint64_t dir = RandomIno(true);
      const std::string name = Name();
      const Code want = model.CheckCreate(dir, name);
      const uint32_t mode = Chance(80) ? (S_IFREG | 0644) : (S_IFIFO | 0600);
      auto e = fs_->Mknod(Ino(dir), name, mode, 0, {});
      EXPECT_CODE(want, e.status());
      if (e.ok()) model.ApplyCreate(dir, name, e->ino.value, mode, 0);
      return;
    }
    case kMkdir: {
      const uint64_t dir = RandomIno(true);
      const std::string name = Name();
      const Code want = model.CheckCreate(dir, name);
      auto e = fs_->Mkdir(Ino(dir), name, 0755, {});
      EXPECT_CODE(want, e.status());
      if (e.ok()) model.ApplyCreate(dir, name, e->ino.value, S_IFDIR | 0755, 0);
      return;
    }
    case kSymlink: {
      const uint64_t dir = RandomIno(true);
      const std::string name = Name();
      const std::string target = "t/" + Name();
      const Code want = model.CheckCreate(dir, name);
      auto e = fs_->Symlink(Ino(dir), name, target, {});
      EXPECT_CODE(want, e.status());
      if (e.ok()) model.ApplyCreate(dir, name, e->ino.value, S_IFLNK | 0777, 0, target);
      return;
    }
    case kLink: {
      const uint64_t ino = RandomIno(false);
      const uint64_t dir = RandomIno(true);
      const std::string name = Name();
      if (ino == 1) return;
      const Code want = model.CheckLink(ino, dir, name);
      auto e = fs_->Link(Ino(ino), Ino(dir), name);
      EXPECT_CODE(want, e.status());
      if (e.ok()) model.ApplyLink(ino, dir, name);
      return;
    }
    case kUnlink: {
      const uint64_t dir = RandomIno(true);
      const std::string name = Name();
      const Code want = model.CheckUnlink(dir, name);
      Status s = fs_->Unlink(Ino(dir), name);
      EXPECT_CODE(want, s);
      if (s.ok()) model.ApplyRemove(dir, name);
      return;
    }
    case kRmdir: {
      const uint64_t dir = RandomIno(true);
      const std::string name = Name();
      const Code want = model.CheckRmdir(dir, name);
      Status s = fs_->Rmdir(Ino(dir), name);
      EXPECT_CODE(want, s);
      if (s.ok()) model.ApplyRemove(dir, name);
      return;
    }
    case kRename: {
      const uint64_t from = RandomIno(true), to = RandomIno(true);
      const std::string name = Name(), new_name = Name();
      static constexpr int kFlags[] = {1, 2, 4, 5, 6};  // 6: exchange | whiteout, refused
      const int flags = Chance(70) ? 0 : kFlags[Pick(std::size(kFlags))];
      const Code want = model.CheckRename(from, name, to, new_name, flags);
      const bool whiteout =
          want == Code::kOk && model.RenameMakesWhiteout(from, name, to, new_name, flags);
      Status s = fs_->Rename(Ino(from), name, Ino(to), new_name, static_cast<RenameFlags>(flags));
      EXPECT_CODE(want, s);
      if (!s.ok()) return;
      uint64_t whiteout_ino = 0;
      if (whiteout) {
        // The engine chose the whiteout's inode: the model takes it.
        auto w = fs_->Lookup(Ino(from), name);
        ASSERT_TRUE(w.ok()) << w.status().ToString();
        EXPECT_EQ(w->attr.mode, uint32_t{S_IFCHR});
        EXPECT_EQ(w->attr.rdev, 0u);
        whiteout_ino = w->ino.value;
      }
      model.ApplyRename(from, name, to, new_name, flags, whiteout_ino);
      return;
    }
    case kWrite: {
      const uint64_t ino = RandomIno(false);
      if (!S_ISREG(model.Node(ino).mode)) return;
      const uint64_t off = Chance(50) ? Pick(8192) : Pick(mix_.max_write_offset);
      const std::string data = Pattern(1 + (Chance(60) ? Pick(3000) : Pick(mix_.max_write_bytes)));
      auto w = fs_->Write(Ino(ino), off, data);
      ASSERT_TRUE(w.ok()) << w.status().ToString();
      EXPECT_EQ(*w, data.size());
      model.Write(ino, off, data);
      return;
    }
    case kTruncate: {
      const uint64_t ino = RandomIno(false);
      if (!S_ISREG(model.Node(ino).mode)) return;
      SetAttrRequest req;
      req.size = Chance(50) ? Pick(5000) : Pick(mix_.max_truncate_bytes);
      auto a = fs_->SetAttr(Ino(ino), req);
      ASSERT_TRUE(a.ok()) << a.status().ToString();
      model.Truncate(ino, *req.size);
      return;
    }
    case kFallocate: {
      const uint64_t ino = RandomIno(false);
      if (!S_ISREG(model.Node(ino).mode)) return;
      static constexpr int kModes[] = {0, FALLOC_FL_KEEP_SIZE,
                                       FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE};
      const int mode = kModes[Pick(std::size(kModes))];
      const uint64_t off = Chance(50) ? Pick(8192) : Pick(mix_.max_write_offset);
      const uint64_t len = 1 + Pick(mix_.max_write_bytes);
      const uint64_t reserved_before = store_->reserved_blocks();
      Status s = fs_->Fallocate(Ino(ino), mode, off, len);
      ASSERT_TRUE(s.ok()) << s.ToString();
      std::string& data = model.Mutable(ino).data;
      if (mode == 0 && off + len > data.size()) model.Truncate(ino, off + len);
      if ((mode & FALLOC_FL_PUNCH_HOLE) != 0) {
        for (uint64_t i = off; i < off + len && i < data.size(); ++i) data[i] = '\0';
        EXPECT_LE(store_->reserved_blocks(), reserved_before) << "a punch reserved room";
        return;
      }
      // Every block of the range is the file's now, written or reserved.
      auto a = fs_->GetAttr(Ino(ino));
      ASSERT_TRUE(a.ok()) << a.status().ToString();
      const uint64_t range_blocks = (off + len - 1) / kBlockSize - off / kBlockSize + 1;
      EXPECT_GE(a->blocks_512, range_blocks * (kBlockSize / 512)) << "ino " << ino;
      EXPECT_GE(store_->reserved_blocks(), reserved_before);
      return;
    }
    case kXattr: {
      const uint64_t ino = Chance(50) ? RandomIno(false) : RandomIno(true);
      const std::string name = "user." + Name();
      auto& x = model.Mutable(ino).xattrs;
      if (Chance(65)) {
        const std::string value = Pattern(Pick(200));
        Status s = fs_->SetXattr(Ino(ino), name, value);
        ASSERT_TRUE(s.ok()) << s.ToString();
        x[name] = value;
      } else {
        Status s = fs_->RemoveXattr(Ino(ino), name);
        EXPECT_CODE(x.count(name) ? Code::kOk : Code::kNoData, s);
        x.erase(name);
      }
      return;
    }
    case kChmod: {  // and chown
      const uint64_t ino = Chance(50) ? RandomIno(false) : RandomIno(true);
      SetAttrRequest req;
      req.mode = static_cast<uint32_t>(Pick(07777));
      req.uid = static_cast<uint32_t>(Pick(3));
      auto a = fs_->SetAttr(Ino(ino), req);
      ASSERT_TRUE(a.ok()) << a.status().ToString();
      auto& n = model.Mutable(ino);
      n.mode = (n.mode & S_IFMT) | *req.mode;
      n.uid = *req.uid;
      return;
    }
    case kWholeFile: {  // a regular file made whole in one change
      // Half the time in two halves, as a receive makes them: started,
      // then another file made whole while the first one's write may be in
      // flight, then the first one linked; or started and dropped, which
      // must leave nothing behind.
      const uint64_t how = Pick(4);
      if (how < 2) return MakeWholeFile(model);
      RandomWholeFile first = NewWholeFile();
      blockstore::AlignedBuffer staging;
      auto started = fs_->StartWholeFile(first.View(), &staging);
      ASSERT_TRUE(started.ok()) << started.status().ToString();
      if (how == 3) return;  // dropped: the model stays as it was
      MakeWholeFile(model);
      if (::testing::Test::HasFatalFailure()) return;
      const Code want = model.CheckCreate(first.dir, first.name);
      auto e = fs_->FinishWholeFile(Ino(first.dir), first.name, std::move(*started));
      EXPECT_CODE(want, e.status());
      if (e.ok()) ApplyWholeFile(model, first, *e);
      return;
    }
    default:
      FAIL() << "unknown operation " << op;
  }
}

RandomOps::RandomWholeFile RandomOps::NewWholeFile() {
  RandomWholeFile w;
  w.dir = RandomIno(true);
  w.name = Name();
  w.data = Pattern(Chance(60) ? Pick(3000) : Pick(mix_.max_write_bytes));
  w.file.mode = static_cast<uint32_t>(Pick(07777));
  w.file.owner = snapshotter::Owner{static_cast<uint32_t>(Pick(3)), static_cast<uint32_t>(Pick(3))};
  w.file.size = w.data.size() + (Chance(25) ? Pick(3 * kBlockSize + 100) : 0);  // a trailing hole
  w.file.atime = index::Timespec{static_cast<int64_t>(1 + Pick(1000)), 5};
  w.file.mtime = index::Timespec{static_cast<int64_t>(1 + Pick(1000)), 7};
  if (Chance(50)) w.xattrs.emplace_back("user." + Name(), Pattern(Pick(200)));
  return w;
}

void RandomOps::MakeWholeFile(ModelFs& model) {
  const RandomWholeFile w = NewWholeFile();
  const Code want = model.CheckCreate(w.dir, w.name);
  auto e = fs_->MakeWholeFile(Ino(w.dir), w.name, w.View());
  EXPECT_CODE(want, e.status());
  if (e.ok()) ApplyWholeFile(model, w, *e);
}

void RandomOps::ApplyWholeFile(ModelFs& model, const RandomWholeFile& w,
                               const snapshotter::Entry& e) {
  EXPECT_EQ(e.attr.mtime.sec, w.file.mtime.sec);
  EXPECT_EQ(e.attr.atime.sec, w.file.atime.sec);
  model.ApplyCreate(w.dir, w.name, e.ino.value, S_IFREG | w.file.mode, 0);
  auto& n = model.Mutable(e.ino.value);
  n.uid = w.file.owner.uid;
  n.gid = w.file.owner.gid;
  n.data = w.data;
  n.data.resize(w.file.size, '\0');
  for (const auto& [xname, value] : w.xattrs) n.xattrs[xname] = value;
}

void RandomOps::Sync(SyncKind kind) {
  SCOPED_TRACE(std::string("durability point: ") + SyncKindName(kind));
  switch (kind) {
    case SyncKind::kFlush:
    case SyncKind::kFsync: {
      if (hooks_.before_sync) hooks_.before_sync(kind, state_);
      Status s = kind == SyncKind::kFlush ? store_->Flush() : fs_->Fsync(Ino(RandomIno(false)));
      ASSERT_TRUE(s.ok()) << s.ToString();
      if (hooks_.after_sync) hooks_.after_sync(kind);
      ExpectTreeMatches(*fs_, state_.head, "head after flush");
      return;
    }
    case SyncKind::kFreeze: {
      auto head = store_->HeadOf(container_);
      ASSERT_TRUE(head.ok()) << head.status().ToString();
      ModelState if_ok = state_;
      if_ok.frozen.emplace_back(*head, state_.head);
      if (hooks_.before_sync) hooks_.before_sync(kind, if_ok);
      auto g = store_->Freeze(container_);
      ASSERT_TRUE(g.ok()) << g.status().ToString();
      EXPECT_EQ(g->value, head->value) << "Freeze froze another generation than the head";
      state_ = std::move(if_ok);
      if (hooks_.after_sync) hooks_.after_sync(kind);
      return;
    }
    case SyncKind::kBranch: {  // restore an earlier frozen generation
      if (state_.frozen.empty()) return;
      const auto& [gen, snapshot] = state_.frozen[Pick(state_.frozen.size())];
      ModelState if_ok = state_;
      if_ok.head = snapshot;
      if (hooks_.before_sync) hooks_.before_sync(kind, if_ok);
      auto b = store_->Branch(container_, gen);
      ASSERT_TRUE(b.ok()) << b.status().ToString();
      state_ = std::move(if_ok);
      if (hooks_.after_sync) hooks_.after_sync(kind);
      return;
    }
    case SyncKind::kReopen: {  // everything visible must also be durable on close
      if (!hooks_.reopen) return;
      if (hooks_.before_sync) hooks_.before_sync(kind, state_);
      fs_.reset();
      hooks_.reopen();
      ASSERT_TRUE(fs_.has_value()) << "the reopen hook did not call Attach";
      if (hooks_.after_sync) hooks_.after_sync(kind);
      return;
    }
  }
}

void ExpectTreeMatches(FileSystem& fs, const ModelFs& model, const std::string& where) {
  SCOPED_TRACE(where);
  for (const auto& [ino, n] : model.nodes()) {
    auto a = fs.GetAttr(Ino(ino));
    ASSERT_TRUE(a.ok()) << "ino " << ino << ": " << a.status().ToString();
    EXPECT_EQ(a->mode, n.mode) << "ino " << ino;
    EXPECT_EQ(a->nlink, n.nlink) << "ino " << ino;
    EXPECT_EQ(a->uid, n.uid) << "ino " << ino;
    if (S_ISDIR(n.mode)) {
      std::map<std::string, uint64_t> seen;
      Status s = fs.ReadDir(Ino(ino), 2, [&](const snapshotter::DirEntry& e) {
        seen[e.name] = e.ino.value;
        return true;
      });
      ASSERT_TRUE(s.ok()) << s.ToString();
      EXPECT_EQ(seen, n.children) << "directory " << ino;
    } else if (S_ISREG(n.mode)) {
      ASSERT_EQ(a->size, n.data.size()) << "ino " << ino;
      std::string got(n.data.size(), '\0');
      auto r = fs.Read(Ino(ino), 0, got);
      ASSERT_TRUE(r.ok()) << "ino " << ino << ": " << r.status().ToString();
      EXPECT_EQ(*r, n.data.size());
      if (got != n.data) {
        size_t i = 0;
        while (got[i] == n.data[i]) ++i;
        ADD_FAILURE() << "contents of ino " << ino << " (" << n.data.size()
                      << " bytes) differ first at byte " << i;
      }
    } else if (S_ISLNK(n.mode)) {
      auto t = fs.ReadLink(Ino(ino));
      ASSERT_TRUE(t.ok()) << t.status().ToString();
      EXPECT_EQ(*t, n.target) << "ino " << ino;
    }
    std::vector<std::string> names;
    for (const auto& [k, v] : n.xattrs) {
      names.push_back(k);
      auto got = fs.GetXattr(Ino(ino), k);
      ASSERT_TRUE(got.ok()) << "xattr " << k << " of ino " << ino << ": "
                            << got.status().ToString();
      EXPECT_EQ(*got, v);
    }
    auto listed = fs.ListXattr(Ino(ino));
    ASSERT_TRUE(listed.ok()) << listed.status().ToString();
    EXPECT_EQ(*listed, names) << "xattrs of ino " << ino;
  }
}

void ExpectStoreHolds(Store& store, const std::string& container, const ModelState& state) {
  auto head = store.Head(container);
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  ExpectTreeMatches(*head, state.head, "head");
  for (const auto& [gen, model] : state.frozen) {
    auto info = store.Generation(gen);
    ASSERT_TRUE(info.ok()) << "frozen generation " << gen.value << ": " << info.status().ToString();
    EXPECT_EQ(static_cast<int>(info->state), static_cast<int>(index::GenState::kFrozen))
        << "generation " << gen.value << " is no longer frozen";
    auto past = store.AtGeneration(gen);
    ASSERT_TRUE(past.ok()) << past.status().ToString();
    ExpectTreeMatches(*past, model, "frozen generation " + std::to_string(gen.value));
  }
  Status check = store.CheckInvariants();
  EXPECT_TRUE(check.ok()) << check.ToString();
}

}  // namespace hoodyfs::testing
