// Example-based tests of the snapshot verbs (Snapshotter): names and
// aliases, expiry with an injected clock, restore that keeps every other
// snapshot, copies, container deletion, pins, garbage collection and the
// space it gives back, accounting and diff. The randomized model test
// (tests/model/snapshot_model_test.cc) covers combinations.
#include "snapshotter/verbs/snapshotter.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <map>
#include <string>
#include <vector>

#include "base/testing/status_macros.h"
#include "base/testing/temp_dir.h"
#include "snapshotter/engine/filesystem.h"

namespace hoodyfs::snapshotter {
namespace {

// 2026-03-04 10:30:00 UTC.
constexpr int64_t kStartSec = 1772620200;
constexpr int64_t kDaySec = 86400;

class SnapshotterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(Store::Init(dir_.File("store")));
    Reopen();
    ASSERT_TRUE(snap_->CreateContainer("web1").ok());
  }
  void TearDown() override {
    if (snap_) {
      Status s = snap_->store().CheckInvariants();
      EXPECT_TRUE(s.ok()) << s.ToString();
    }
  }
  void Reopen() {
    snap_.reset();
    StoreOptions options;
    options.flush_interval_ms = 0;
    options.grow_step_bytes = 16 << 20;
    // Time stands still but for a nanosecond per reading, so every change
    // still moves mtime (diff reports times) while names and expiries stay
    // predictable to the second.
    options.clock = [this] { return index::Timespec{now_sec_, tick_++ % 1000000000}; };
    auto opened = Snapshotter::Open(dir_.File("store"), std::move(options));
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    snap_ = std::move(opened).value();
  }
  FileSystem Head(const std::string& container = "web1") {
    return snap_->store().Head(container).value();
  }
  // Writes (creating if needed) /name with `data`.
  void Put(const std::string& name, const std::string& data, const std::string& c = "web1") {
    FileSystem fs = Head(c);
    auto found = fs.Lookup(kRootIno, name);
    Ino ino;
    if (found.ok()) {
      ino = found->ino;
      SetAttrRequest req;
      req.size = 0;
      ASSERT_TRUE(fs.SetAttr(ino, req).ok());
    } else {
      auto e = fs.Mknod(kRootIno, name, S_IFREG | 0644, 0, {});
      ASSERT_TRUE(e.ok()) << e.status().ToString();
      ino = e->ino;
    }
    auto w = fs.Write(ino, 0, data);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
  }
  // The bytes of /name in a view, or "<absent>".
  std::string Get(FileSystem& fs, const std::string& name) {
    auto e = fs.Lookup(kRootIno, name);
    if (!e.ok()) return "<absent>";
    std::string out(e->attr.size, '\0');
    auto n = fs.Read(e->ino, 0, out);
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    return out;
  }
  std::string GetHead(const std::string& name, const std::string& c = "web1") {
    FileSystem fs = Head(c);
    return Get(fs, name);
  }
  std::string GetSnap(const std::string& snapshot, const std::string& name,
                      const std::string& c = "web1") {
    auto info = snap_->GetSnapshot(c, snapshot);
    EXPECT_TRUE(info.ok()) << info.status().ToString();
    if (!info.ok()) return "<no snapshot>";
    FileSystem fs = snap_->store().AtGeneration(info->gen).value();
    return Get(fs, name);
  }
  SnapshotInfo Create(const std::string& alias = "", std::optional<int64_t> expiry = {},
                      const std::string& c = "web1") {
    auto info = snap_->CreateSnapshot(c, CreateSnapshotRequest{alias, expiry});
    EXPECT_TRUE(info.ok()) << info.status().ToString();
    return info.ok() ? *info : SnapshotInfo{};
  }
  std::vector<std::string> Names(const std::string& c = "web1") {
    std::vector<std::string> out;
    auto list = snap_->ListSnapshots(c);
    EXPECT_TRUE(list.ok()) << list.status().ToString();
    if (list.ok()) {
      for (const SnapshotInfo& i : *list) out.push_back(i.name);
    }
    return out;
  }
  uint64_t DataFileBytesOnDisk() {
    struct stat st;
    EXPECT_EQ(::stat(dir_.File("store/data").c_str(), &st), 0);
    return uint64_t(st.st_blocks) * 512;
  }

  testing::TempDir dir_ = testing::TempDir::Create().value();
  int64_t now_sec_ = kStartSec;
  uint32_t tick_ = 0;
  std::unique_ptr<Snapshotter> snap_;
};

TEST_F(SnapshotterTest, NamesAreUtcTimesWithSuffixesInOneSecond) {
  EXPECT_EQ(Create().name, "snap-20260304-103000");
  EXPECT_EQ(Create().name, "snap-20260304-103000-2");
  EXPECT_EQ(Create().name, "snap-20260304-103000-3");
  now_sec_ += 61;
  EXPECT_EQ(Create().name, "snap-20260304-103101");
  EXPECT_EQ(Names(), (std::vector<std::string>{"snap-20260304-103000", "snap-20260304-103000-2",
                                               "snap-20260304-103000-3", "snap-20260304-103101"}));
}

TEST_F(SnapshotterTest, SnapshotHoldsTheHeadAsItWas) {
  Put("app.py", "version 1");
  SnapshotInfo s1 = Create("before-ai-refactor");
  EXPECT_EQ(s1.alias, "before-ai-refactor");
  EXPECT_EQ(s1.created_ns / 1000000000, kStartSec);
  EXPECT_EQ(s1.expires_ns, 0);
  Put("app.py", "version 2 by the AI");
  EXPECT_EQ(GetSnap("before-ai-refactor", "app.py"), "version 1");
  EXPECT_EQ(GetSnap(s1.name, "app.py"), "version 1");
  EXPECT_EQ(GetHead("app.py"), "version 2 by the AI");
}

TEST_F(SnapshotterTest, BadAliasesAndExpiriesAreRefusedAndChangeNothing) {
  Create("taken");
  const GenId head = snap_->store().HeadOf("web1").value();
  struct Case {
    std::string alias;
    std::optional<int64_t> expiry;
    Code code;
    std::string message_has;
  };
  const std::vector<Case> cases = {
      {"a/b", {}, Code::kInvalidArgument, "letters, digits"},
      {"a..b", {}, Code::kInvalidArgument, "'..'"},
      {"-dash", {}, Code::kInvalidArgument, "start with a letter or digit"},
      {"snap-20260304-103000", {}, Code::kInvalidArgument, "form of a snapshot name"},
      {"snap-20260304-103000-7", {}, Code::kInvalidArgument, "form of a snapshot name"},
      {std::string(129, 'a'), {}, Code::kInvalidArgument, "1 to 128"},
      {"taken", {}, Code::kExists, "already used by snapshot"},
      {"fine", 0, Code::kInvalidArgument, "positive number of days"},
      {"fine", -3, Code::kInvalidArgument, "positive number of days"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.alias);
    auto r = snap_->CreateSnapshot("web1", CreateSnapshotRequest{c.alias, c.expiry});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), c.code) << r.status().ToString();
    EXPECT_NE(r.status().message().find(c.message_has), std::string::npos) << r.status().ToString();
  }
  auto missing = snap_->CreateSnapshot("nope", {});
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_NE(missing.status().message().find("'nope'"), std::string::npos);
  EXPECT_EQ(Names().size(), 1u);
  EXPECT_EQ(snap_->store().HeadOf("web1").value(), head) << "a refused create froze the head";
}

TEST_F(SnapshotterTest, SnapshotNamesNeverCollideWithAliases) {
  // An alias may start with snap- as long as it is not of the name form.
  SnapshotInfo s = Create("snap-before-upgrade");
  EXPECT_EQ(snap_->GetSnapshot("web1", "snap-before-upgrade")->name, s.name);
  EXPECT_EQ(snap_->GetSnapshot("web1", s.name)->alias, "snap-before-upgrade");
  EXPECT_EQ(snap_->GetSnapshot("web1", "nothing").status().code(), Code::kNotFound);
}

TEST_F(SnapshotterTest, SetChangesAliasAndExpiry) {
  SnapshotInfo s = Create("old-name", 3);
  EXPECT_EQ(s.expires_ns / 1000000000, kStartSec + 3 * kDaySec);
  now_sec_ += 10;
  auto set = snap_->SetSnapshot("web1", "old-name", SetSnapshotRequest{"new-name", 30});
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ(set->alias, "new-name");
  EXPECT_EQ(set->expires_ns / 1000000000, kStartSec + 10 + 30 * kDaySec);
  EXPECT_EQ(snap_->GetSnapshot("web1", "old-name").status().code(), Code::kNotFound);
  set = snap_->SetSnapshot("web1", "new-name", SetSnapshotRequest{std::nullopt, 0});
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set->expires_ns, 0) << "expiry 0 means never";
  set = snap_->SetSnapshot("web1", s.name, SetSnapshotRequest{"", std::nullopt});
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set->alias, "");
  // Refusals leave the record alone.
  Create("other");
  EXPECT_EQ(snap_->SetSnapshot("web1", s.name, SetSnapshotRequest{"other", {}}).status().code(),
            Code::kExists);
  EXPECT_EQ(snap_->SetSnapshot("web1", s.name, SetSnapshotRequest{{}, -1}).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(snap_->SetSnapshot("web1", s.name, SetSnapshotRequest{"x/y", {}}).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(snap_->GetSnapshot("web1", s.name)->alias, "");
}

TEST_F(SnapshotterTest, ExpiredSnapshotsGoAtOpenAndAtGc) {
  Put("f", std::string(64 << 10, 'a'));
  SnapshotInfo week = Create("temp-experiment", 7);
  Put("f", std::string(64 << 10, 'b'));
  SnapshotInfo month = Create("pre-deploy", 30);
  SnapshotInfo forever = Create("golden-image");
  now_sec_ += 7 * kDaySec - 1;
  Reopen();
  EXPECT_EQ(Names().size(), 3u) << "expired a second early";
  now_sec_ += 1;
  Reopen();
  EXPECT_EQ(Names(), (std::vector<std::string>{month.name, forever.name}));
  now_sec_ += 30 * kDaySec;
  auto gc = snap_->CollectGarbage();
  ASSERT_TRUE(gc.ok()) << gc.status().ToString();
  EXPECT_EQ(gc->expired, 1u);
  EXPECT_EQ(Names(), (std::vector<std::string>{forever.name}));
  EXPECT_EQ(GetSnap("golden-image", "f"), std::string(64 << 10, 'b'));
  EXPECT_OK(snap_->store().CheckFullyCollected());
}

// The product brief's timelines: restoring to "production-stable" and later
// to "with-new-schema" both work, and nothing is lost on the way.
TEST_F(SnapshotterTest, RestoreKeepsEveryOtherSnapshotAndTheOldHead) {
  Put("schema.sql", "v1");
  Create("production-stable");
  Put("schema.sql", "v2");
  Create("with-new-schema");
  Put("schema.sql", "v3 experiment");
  now_sec_ += 5;
  auto r = snap_->Restore("web1", "production-stable", {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(GetHead("schema.sql"), "v1");
  ASSERT_TRUE(r->saved_head.has_value());
  EXPECT_EQ(r->saved_head->alias, "pre-restore-20260304-103005");
  EXPECT_EQ(r->saved_head->expires_ns / 1000000000, kStartSec + 5 + 7 * kDaySec);
  EXPECT_EQ(GetSnap("pre-restore-20260304-103005", "schema.sql"), "v3 experiment");
  Put("schema.sql", "v1 edited");
  r = snap_->Restore("web1", "with-new-schema", {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(GetHead("schema.sql"), "v2");
  ASSERT_TRUE(r->saved_head.has_value());
  EXPECT_EQ(r->saved_head->alias, "pre-restore-20260304-103005-2") << "aliases stay unique";
  EXPECT_EQ(GetSnap(r->saved_head->name, "schema.sql"), "v1 edited");
  EXPECT_EQ(Names().size(), 4u);
  // Restoring again to the first works as well: history branches, not cut.
  ASSERT_TRUE(snap_->Restore("web1", "production-stable", {}).ok());
  EXPECT_EQ(GetHead("schema.sql"), "v1");
  EXPECT_EQ(GetSnap("with-new-schema", "schema.sql"), "v2");
}

TEST_F(SnapshotterTest, RestoreKeepsNoHeadThatHoldsNothingNew) {
  Put("schema.sql", "v1");
  Create("base");
  // Nothing written since "base": restoring keeps no pre-restore copy of it,
  // however often (three copies with WRITTEN 0B in a row before).
  for (int i = 0; i < 3; ++i) {
    auto r = snap_->Restore("web1", "base", {});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_FALSE(r->saved_head.has_value()) << "restore " << i;
  }
  EXPECT_EQ(Names().size(), 1u);
  // One change, and the head is worth keeping again.
  Put("schema.sql", "v2");
  auto r = snap_->Restore("web1", "base", {});
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->saved_head.has_value());
  EXPECT_EQ(GetSnap(r->saved_head->name, "schema.sql"), "v2");
  // An unchanged head whose parent's name was deleted is the only thing
  // keeping that state: it is kept.
  Put("schema.sql", "v3");
  Create("doomed");
  ASSERT_OK(snap_->DeleteSnapshot("web1", "doomed"));
  r = snap_->Restore("web1", "base", {});
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->saved_head.has_value()) << "the state of a deleted snapshot's name was lost";
  EXPECT_EQ(GetSnap(r->saved_head->name, "schema.sql"), "v3");
}

TEST_F(SnapshotterTest, RestoreDiscardingTheHeadKeepsNoSnapshotAndFreesIt) {
  Put("f", "base");
  Create("base");
  Put("big", std::string(1 << 20, 'x'));
  auto r = snap_->Restore("web1", "base", RestoreRequest{.discard_head = true});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->saved_head.has_value());
  EXPECT_EQ(Names().size(), 1u);
  EXPECT_EQ(GetHead("big"), "<absent>");
  auto gc = snap_->CollectGarbage();
  ASSERT_TRUE(gc.ok());
  EXPECT_EQ(gc->blocks_freed, 256u);
  EXPECT_EQ(snap_->store().used_blocks(), 0u);
  EXPECT_OK(snap_->store().CheckFullyCollected());
}

TEST_F(SnapshotterTest, UnknownNamesAreNotFound) {
  EXPECT_EQ(snap_->Restore("web1", "nope", {}).status().code(), Code::kNotFound);
  EXPECT_EQ(snap_->Restore("nope", "x", {}).status().code(), Code::kNotFound);
  EXPECT_EQ(snap_->DeleteSnapshot("web1", "nope").code(), Code::kNotFound);
  EXPECT_EQ(snap_->ListSnapshots("nope").status().code(), Code::kNotFound);
  EXPECT_EQ(snap_->CopyContainer("web1", "nope", "x").status().code(), Code::kNotFound);
  EXPECT_EQ(snap_->DeleteContainer("nope").code(), Code::kNotFound);
  EXPECT_EQ(snap_->Diff("web1", "nope", "").status().code(), Code::kNotFound);
}

TEST_F(SnapshotterTest, ContainersAreNamedAndUnique) {
  EXPECT_EQ(snap_->CreateContainer("web1").status().code(), Code::kExists);
  for (const char* bad : {"", "a/b", "..", "a..b", ".hidden", "-x", "sp ace"}) {
    EXPECT_EQ(snap_->CreateContainer(bad).status().code(), Code::kInvalidArgument) << bad;
  }
  ASSERT_TRUE(snap_->CreateContainer("db-2.prod_x").ok());
  std::vector<std::string> names;
  for (const ContainerInfo& c : snap_->ListContainers()) names.push_back(c.name);
  EXPECT_EQ(names, (std::vector<std::string>{"db-2.prod_x", "web1"}));
}

// The golden image: copies are O(1), independent, and survive the deletion
// of the container they came from (no promote dance).
TEST_F(SnapshotterTest, CopiesAreIndependentAndOutliveTheirSource) {
  Put("tool", "golden");
  SnapshotInfo golden = Create("dev-template");
  auto alice = snap_->CopyContainer("web1", "dev-template", "alice-dev", "proj-7");
  ASSERT_TRUE(alice.ok()) << alice.status().ToString();
  EXPECT_EQ(alice->origin, "web1@" + golden.name);
  EXPECT_EQ(alice->project, "proj-7");
  ASSERT_TRUE(snap_->CopyContainer("web1", golden.name, "bob-dev").ok());
  EXPECT_EQ(snap_->CopyContainer("web1", golden.name, "bob-dev").status().code(), Code::kExists);
  Put("tool", "alice's", "alice-dev");
  EXPECT_EQ(GetHead("tool", "bob-dev"), "golden");
  EXPECT_EQ(GetHead("tool", "web1"), "golden");
  SnapshotInfo a1 = Create("", {}, "alice-dev");
  EXPECT_EQ(a1.parent, "web1@" + golden.name);
  ASSERT_OK(snap_->DeleteContainer("web1"));
  ASSERT_TRUE(snap_->CollectGarbage().ok());
  EXPECT_EQ(GetHead("tool", "alice-dev"), "alice's");
  EXPECT_EQ(GetHead("tool", "bob-dev"), "golden");
  EXPECT_EQ(GetSnap(a1.name, "tool", "alice-dev"), "alice's");
  ASSERT_OK(snap_->DeleteContainer("bob-dev"));
  ASSERT_TRUE(snap_->CollectGarbage().ok());
  EXPECT_EQ(GetHead("tool", "alice-dev"), "alice's");
  EXPECT_OK(snap_->store().CheckFullyCollected());
  Reopen();
  EXPECT_EQ(GetHead("tool", "alice-dev"), "alice's");
}

TEST_F(SnapshotterTest, PinnedSnapshotsCannotBeDeleted) {
  SnapshotInfo s = Create("mounted");
  {
    Store::Pin pin = snap_->store().PinGeneration(s.gen, "mounted at /mnt/past");
    Status st = snap_->DeleteSnapshot("web1", "mounted");
    EXPECT_EQ(st.code(), Code::kBusy);
    EXPECT_NE(st.message().find("mounted at /mnt/past"), std::string::npos) << st.ToString();
    EXPECT_EQ(snap_->DeleteContainer("web1").code(), Code::kBusy);
    EXPECT_EQ(Names().size(), 1u);
  }
  EXPECT_OK(snap_->DeleteSnapshot("web1", "mounted"));
  EXPECT_TRUE(Names().empty());
}

TEST_F(SnapshotterTest, DeleteAndGcReturnTheBlocksToTheHost) {
  Put("f", std::string(4 << 20, 'a'));
  Create("s1");
  Put("f", std::string(4 << 20, 'b'));
  ASSERT_OK(snap_->store().Flush());
  const uint64_t before = DataFileBytesOnDisk();
  EXPECT_EQ(snap_->store().used_blocks(), 2048u);
  auto excl = snap_->ExclusiveBytes("web1", "s1");
  ASSERT_TRUE(excl.ok());
  EXPECT_EQ(*excl, uint64_t{4} << 20);
  ASSERT_OK(snap_->DeleteSnapshot("web1", "s1"));
  auto gc = snap_->CollectGarbage();
  ASSERT_TRUE(gc.ok()) << gc.status().ToString();
  EXPECT_EQ(gc->blocks_freed, 1024u);
  EXPECT_EQ(gc->generations, 1u);
  EXPECT_EQ(snap_->store().used_blocks(), 1024u);
  EXPECT_LE(DataFileBytesOnDisk() + (4 << 20), before) << "freed blocks were not punched";
  EXPECT_EQ(GetHead("f"), std::string(4 << 20, 'b'));
  EXPECT_OK(snap_->store().CheckFullyCollected());
}

// The collection a delete runs on its own gives back only runs of 1 MiB or
// more (each punch holds the data file's inode lock against the store's
// writes); single scattered blocks stay free in the store until an
// explicit gc, which gives back everything.
TEST_F(SnapshotterTest, AnImplicitCollectionKeepsScatteredBlocksAndGcReturnsThem) {
  for (int i = 0; i < 64; ++i) Put("small" + std::to_string(i), std::string(4096, 'a'));
  Put("big", std::string(4 << 20, 'a'));
  Create("s1");
  // Every other small file and the big one rewritten: s1 alone holds 32
  // blocks with a used neighbour on each side and one run of 1024.
  for (int i = 0; i < 64; i += 2) Put("small" + std::to_string(i), std::string(4096, 'b'));
  Put("big", std::string(4 << 20, 'b'));
  ASSERT_OK(snap_->store().Flush());
  const uint64_t before = DataFileBytesOnDisk();
  ASSERT_OK(snap_->DeleteSnapshot("web1", "s1"));
  auto implicit = snap_->CollectGarbage(ImplicitCollection());
  ASSERT_TRUE(implicit.ok()) << implicit.status().ToString();
  EXPECT_EQ(implicit->blocks_freed, 1024u + 32u);
  EXPECT_EQ(snap_->store().unpunched_blocks(), 32u) << "the scattered blocks stay for reuse";
  const uint64_t after_implicit = DataFileBytesOnDisk();
  EXPECT_LE(after_implicit + (4 << 20), before) << "the 1 MiB-plus run went back";
  auto gc = snap_->CollectGarbage();
  ASSERT_TRUE(gc.ok()) << gc.status().ToString();
  EXPECT_EQ(snap_->store().unpunched_blocks(), 0u) << "an explicit gc gives back every block";
  // (Not to the byte: the host's own extent blocks come and go.)
  EXPECT_LE(DataFileBytesOnDisk() + 24 * 4096, after_implicit) << "the scattered blocks went back";
  EXPECT_EQ(GetHead("small0"), std::string(4096, 'b'));
  EXPECT_EQ(GetHead("small1"), std::string(4096, 'a'));
  EXPECT_OK(snap_->store().CheckFullyCollected());
}

// Design invariant 4 and the product brief: ten snapshots with 50 files
// changed between each cost the base plus the changed bytes (within 10%),
// and deleting them all gives the space back to the host.
TEST_F(SnapshotterTest, TenSnapshotsCostTheBasePlusTheChanges) {
  constexpr int kFiles = 400;
  constexpr size_t kFileBytes = 64 << 10;
  FileSystem fs = Head();
  std::vector<Ino> inos;
  for (int i = 0; i < kFiles; ++i) {
    auto e = fs.Mknod(kRootIno, "f" + std::to_string(i), S_IFREG | 0644, 0, {});
    ASSERT_TRUE(e.ok());
    inos.push_back(e->ino);
    ASSERT_TRUE(fs.Write(e->ino, 0, std::string(kFileBytes, static_cast<char>('a' + i % 26))).ok());
  }
  ASSERT_OK(snap_->store().Flush());
  const uint64_t base = snap_->store().used_blocks() * kBlockSize;
  const uint64_t base_disk = DataFileBytesOnDisk();
  EXPECT_EQ(base, kFiles * kFileBytes);
  uint64_t changed = 0;
  for (int round = 0; round < 10; ++round) {
    Create();
    for (int k = 0; k < 50; ++k) {
      const Ino ino = inos[(round * 37 + k * 7) % kFiles];
      ASSERT_TRUE(fs.Write(ino, 0, std::string(kFileBytes, static_cast<char>('A' + round))).ok());
      changed += kFileBytes;
    }
  }
  ASSERT_OK(snap_->store().Flush());
  const uint64_t used = snap_->store().used_blocks() * kBlockSize;
  EXPECT_GE(used, base + changed * 9 / 10);
  EXPECT_LE(used, base + changed * 11 / 10) << "snapshots cost more than the base plus changes";
  auto list = snap_->ListSnapshots("web1");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 10u);
  EXPECT_EQ(list->front().referenced_bytes, base);
  EXPECT_EQ(list->front().written_bytes, base);
  EXPECT_EQ(list->at(1).written_bytes, 50 * kFileBytes);
  const uint64_t full_disk = DataFileBytesOnDisk();
  for (const SnapshotInfo& s : *list) ASSERT_OK(snap_->DeleteSnapshot("web1", s.name));
  auto gc = snap_->CollectGarbage();
  ASSERT_TRUE(gc.ok()) << gc.status().ToString();
  EXPECT_EQ(gc->generations, 10u);
  EXPECT_EQ(snap_->store().used_blocks() * kBlockSize, base) << "only the head's data is left";
  EXPECT_LT(DataFileBytesOnDisk(), full_disk - changed * 9 / 10) << "the host did not get it back";
  EXPECT_LE(DataFileBytesOnDisk(), base_disk + changed / 10);
  EXPECT_OK(snap_->store().CheckFullyCollected());
}

TEST_F(SnapshotterTest, AccountingFollowsTheChanges) {
  Put("f", std::string(1 << 20, 'a'));
  Put("small", "inline bytes");
  Create("one");
  FileSystem fs = Head();
  const Ino f = fs.Lookup(kRootIno, "f")->ino;
  ASSERT_TRUE(fs.Write(f, 256 << 10, std::string(256 << 10, 'b')).ok());
  Create("two");
  auto one = snap_->GetSnapshot("web1", "one");
  auto two = snap_->GetSnapshot("web1", "two");
  ASSERT_TRUE(one.ok() && two.ok());
  EXPECT_EQ(*one->referenced_bytes, (1u << 20) + 12);
  EXPECT_EQ(*one->written_bytes, (1u << 20) + 12);
  EXPECT_EQ(*two->referenced_bytes, (1u << 20) + 12);
  EXPECT_EQ(*two->written_bytes, 256u << 10);
  EXPECT_EQ(two->parent, one->name);
  // Deleting "one" frees what only it holds: the 256 KiB "two" overwrote.
  EXPECT_EQ(*snap_->ExclusiveBytes("web1", "one"), 256u << 10);
  // "two" shares everything with the head: nothing is its alone.
  EXPECT_EQ(*snap_->ExclusiveBytes("web1", "two"), 0u);
  Reopen();  // cached numbers read back the same
  EXPECT_EQ(*snap_->GetSnapshot("web1", "two")->written_bytes, 256u << 10);
}

std::vector<std::string> Lines(const DiffResult& d) {
  std::vector<std::string> out;
  for (const Change& c : d.changes) out.push_back(FormatChange(c));
  return out;
}

TEST(FormatChangeTest, NamesCannotMoveTheCursorOrForgeLines) {
  Change c;
  c.kind = ChangeKind::kAdded;
  c.path = "/tmp/\x1b[2K\rclean";
  EXPECT_EQ(FormatChange(c), "+\t/tmp/\\033[2K\\015clean");
  c.path = "/x\n-\t/etc/shadow";
  EXPECT_EQ(FormatChange(c), "+\t/x\\012-\\011/etc/shadow");
  c.path = "/back\\slash \x7f";
  EXPECT_EQ(FormatChange(c), "+\t/back\\134slash \\177");
  // UTF-8 prints as it is; broken UTF-8 and C1 controls (U+009B is CSI) do not.
  c.path = "/caf\xc3\xa9/\xe6\x97\xa5";
  EXPECT_EQ(FormatChange(c), "+\t/caf\xc3\xa9/\xe6\x97\xa5");
  c.path =
      "/a\xc2\x9b"
      "2J\xff\xc3";
  EXPECT_EQ(FormatChange(c), "+\t/a\\302\\2332J\\377\\303");
  c.kind = ChangeKind::kRenamed;
  c.path = "/a\n";
  c.new_path = "/b\n";
  EXPECT_EQ(FormatChange(c), "R\t/a\\012 -> /b\\012");
  c.kind = ChangeKind::kModified;
  c.path = "/usr/bin/su";
  c.mode = S_IFREG | 04755;
  c.what = kWhatMode | kWhatTimes;
  EXPECT_EQ(FormatChange(c), "M\t/usr/bin/su\tmode 4755");
}

TEST_F(SnapshotterTest, DiffReportsEveryKindOfChange) {
  FileSystem fs = Head();
  const Ino etc = fs.Mkdir(kRootIno, "etc", 0755, {})->ino;
  const Ino passwd = fs.Mknod(etc, "passwd", S_IFREG | 0644, 0, {})->ino;
  ASSERT_TRUE(fs.Write(passwd, 0, "root:x:0:0").ok());
  const Ino hosts = fs.Mknod(etc, "hosts", S_IFREG | 0644, 0, {})->ino;
  ASSERT_TRUE(fs.Mknod(etc, "gone", S_IFREG | 0644, 0, {}).ok());
  ASSERT_TRUE(fs.Symlink(etc, "link", "passwd", {}).ok());
  const Ino dev = fs.Mknod(kRootIno, "null", S_IFCHR | 0666, makedev(1, 3), {})->ino;
  const Ino big = fs.Mknod(kRootIno, "big", S_IFREG | 0644, 0, {})->ino;
  ASSERT_TRUE(fs.Write(big, 0, std::string(1 << 20, 'z')).ok());
  Create("before");
  ASSERT_TRUE(fs.Write(passwd, 0, "ROOT").ok());  // content
  SetAttrRequest chmod;
  chmod.mode = 0600;
  ASSERT_TRUE(fs.SetAttr(hosts, chmod).ok());      // mode
  ASSERT_OK(fs.SetXattr(hosts, "user.tag", "x"));  // xattr
  ASSERT_OK(fs.Unlink(etc, "gone"));               // deleted
  ASSERT_OK(fs.Unlink(etc, "link"));
  ASSERT_TRUE(fs.Symlink(etc, "link", "hosts", {}).ok());        // new symlink (new inode)
  ASSERT_OK(fs.Rename(kRootIno, "null", etc, "null"));           // renamed
  ASSERT_TRUE(fs.Write(big, 8192, std::string(100, 'q')).ok());  // one block of 256
  ASSERT_TRUE(fs.Link(passwd, kRootIno, "passwd-link").ok());    // a second name
  (void)dev;
  auto d = snap_->Diff("web1", "before", "");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(Lines(*d), (std::vector<std::string>{"M\t/", "M\t/big", "M\t/etc", "-\t/etc/gone",
                                                 "M\t/etc/hosts\tmode 0600",
                                                 "M\t/etc/link\treplaced", "M\t/etc/passwd",
                                                 "R\t/null -> /etc/null", "+\t/passwd-link"}));
  for (const Change& c : d->changes) {
    if (c.path == "/big") {
      EXPECT_EQ(c.what, kWhatContent | kWhatTimes);
      EXPECT_EQ(c.bytes, 4096u);
    }
    if (c.path == "/etc/hosts") {
      EXPECT_EQ(c.what, kWhatMode | kWhatXattrs);
    }
    if (c.path == "/etc/passwd") {
      EXPECT_EQ(c.what, kWhatContent | kWhatTimes | kWhatLinks);
    }
  }
  // The reverse direction mirrors it.
  Create("after");
  auto back = snap_->Diff("web1", "after", "before");
  ASSERT_TRUE(back.ok());
  std::vector<std::string> lines = Lines(*back);
  EXPECT_NE(std::find(lines.begin(), lines.end(), "R\t/etc/null -> /null"), lines.end());
  EXPECT_NE(std::find(lines.begin(), lines.end(), "+\t/etc/gone"), lines.end());
  // A snapshot against itself: nothing.
  EXPECT_TRUE(snap_->Diff("web1", "before", "before")->changes.empty());
}

TEST_F(SnapshotterTest, DiffAcrossBranchesAndContainers) {
  Put("shared", "same");
  Put("conf", "base");
  Create("base");
  Put("conf", "branch A");
  Create("a");
  ASSERT_TRUE(snap_->Restore("web1", "base", RestoreRequest{.discard_head = true}).ok());
  Put("conf", "branch B");
  Put("only-b", "b");
  Create("b");
  auto d = snap_->Diff("web1", "a", "b");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(Lines(*d), (std::vector<std::string>{"M\t/", "M\t/conf", "+\t/only-b"}));
  ASSERT_TRUE(snap_->CopyContainer("web1", "a", "copy").ok());
  Put("conf", "in the copy", "copy");
  d = snap_->Diff("web1", "b", "copy@");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(Lines(*d), (std::vector<std::string>{"M\t/", "M\t/conf", "-\t/only-b"}));
  d = snap_->Diff("copy", "web1@a", "");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(Lines(*d), (std::vector<std::string>{"M\t/conf"}));
  EXPECT_EQ(snap_->Diff("web1", "nobody@a", "").status().code(), Code::kNotFound);
}

// A diff costs what changed, not what the container holds.
TEST_F(SnapshotterTest, DiffReadsOnlyTheChangeLogsOnThePath) {
  FileSystem fs = Head();
  for (int i = 0; i < 2000; ++i) {
    ASSERT_TRUE(fs.Mknod(kRootIno, "f" + std::to_string(i), S_IFREG | 0644, 0, {}).ok());
  }
  Create("big");
  Put("f7", "changed");
  auto d = snap_->Diff("web1", "big", "");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(Lines(*d), (std::vector<std::string>{"M\t/f7"}));
  EXPECT_LE(d->records_examined, 4u);
}

}  // namespace
}  // namespace hoodyfs::snapshotter
