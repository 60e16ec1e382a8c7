// Send and receive (send_stream.h) between two real stores: a full stream
// and an incremental chain, each compared with the sender's snapshot by
// exporting both sides and comparing the host trees (tree_compare.h); and
// a table of damaged and hostile streams, each refused with an error that
// names the record, leaving the receiving store as it was.
#include "snapshotter/transfer/send_stream.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "base/coding.h"
#include "base/testing/status_macros.h"
#include "base/testing/temp_dir.h"
#include "base/unique_fd.h"
#include "snapshotter/transfer/send_stream_format.h"
#include "snapshotter/transfer/tree_export.h"
#include "snapshotter/transfer/tree_import.h"
#include "tests/util/tree_compare.h"
#include "tests/util/tree_fixture.h"

namespace hoodyfs::snapshotter {
namespace {

using hoodyfs::testing::CompareTrees;

std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) out += "\n  " + l;
  return out;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
void WriteAll(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

class SendStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : {"a", "b"}) ASSERT_OK(Store::Init(dir_.File(name)));
    a_ = Open("a");
    b_ = Open("b");
    ASSERT_TRUE(a_ && b_);
    ASSERT_TRUE(a_->CreateContainer("c").ok());
  }
  void TearDown() override {
    if (a_) EXPECT_OK(a_->store().CheckInvariants());
    if (b_) EXPECT_OK(b_->store().CheckInvariants());
  }
  std::unique_ptr<Snapshotter> Open(const std::string& name) {
    StoreOptions options;
    options.flush_interval_ms = 0;
    auto s = Snapshotter::Open(dir_.File(name), std::move(options));
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }
  FileSystem Head() { return a_->store().Head("c").value(); }
  Ino Path(FileSystem& fs, const std::string& path) {
    Ino at = kRootIno;
    size_t start = 0;
    while (start <= path.size()) {
      const size_t slash = path.find('/', start);
      const std::string part = path.substr(start, slash - start);
      auto e = fs.Lookup(at, part);
      EXPECT_TRUE(e.ok()) << path << ": " << e.status().ToString();
      if (!e.ok()) return Ino();
      at = e->ino;
      if (slash == std::string::npos) break;
      start = slash + 1;
    }
    return at;
  }
  std::string Snapshot(const std::string& alias) {
    auto s = a_->CreateSnapshot("c", CreateSnapshotRequest{alias, std::nullopt});
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? s->name : "";
  }
  // Sends into a file; returns its path.
  std::string Send(const std::string& snap, const std::string& from,
                   SendStats* stats_out = nullptr) {
    const std::string path = dir_.File("stream-" + std::to_string(++streams_));
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600));
    auto stats = SendSnapshot(*a_, SendRequest{"c", snap, from}, fd.get());
    EXPECT_TRUE(stats.ok()) << stats.status().ToString();
    if (stats.ok() && stats_out) *stats_out = *stats;
    return path;
  }
  Result<ReceiveStats> Receive(Snapshotter& to, const std::string& container,
                               const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY));
    return ReceiveSnapshot(to, container, fd.get());
  }
  // Exports a snapshot to a host directory.
  std::string Export(Snapshotter& s, const std::string& container, const std::string& name,
                     const std::string& dest) {
    auto info = s.GetSnapshot(container, name);
    EXPECT_TRUE(info.ok()) << info.status().ToString();
    if (!info.ok()) return "";
    FileSystem fs = s.store().AtGeneration(info->gen).value();
    const std::string path = dir_.File(dest);
    auto st = ExportTree(fs, path, ExportOptions{});
    EXPECT_TRUE(st.ok()) << st.status().ToString();
    return path;
  }
  void ExpectSame(const std::string& name, const std::string& tag) {
    const std::string want = Export(*a_, "c", name, "want-" + tag);
    const std::string got = Export(*b_, "r", name, "got-" + tag);
    EXPECT_EQ(Join(CompareTrees(want, got)), "") << tag;
  }
  void Write(FileSystem& fs, Ino ino, uint64_t at, const std::string& bytes) {
    ASSERT_TRUE(fs.Write(ino, at, {bytes.data(), bytes.size()}).ok());
  }

  testing::TempDir dir_ = testing::TempDir::Create().value();
  std::unique_ptr<Snapshotter> a_, b_;
  int streams_ = 0;
};

TEST_F(SendStreamTest, FullThenAnIncrementalChainRebuildEverything) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root: devices, owners, trusted.* xattrs";
  const std::string src = dir_.File("src");
  ASSERT_EQ(::mkdir(src.c_str(), 0755), 0);
  ASSERT_OK(testing::BuildSpecialTree(src));
  {
    FileSystem fs = Head();
    ASSERT_TRUE(ImportTree(fs, src, ImportOptions{}).ok());
  }
  const std::string s1 = Snapshot("one");
  SendStats full;
  const std::string stream1 = Send(s1, "", &full);
  EXPECT_EQ(full.unlinks, 0u);
  EXPECT_GT(full.links, 0u);  // the hard links of the special tree
  auto r1 = Receive(*b_, "r", stream1);
  ASSERT_TRUE(r1.ok()) << r1.status().ToString();
  EXPECT_FALSE(r1->incremental);
  EXPECT_EQ(r1->snapshot.name, s1);
  EXPECT_EQ(r1->snapshot.alias, "one");
  EXPECT_EQ(r1->snapshot.guid, a_->GetSnapshot("c", s1)->guid);
  ExpectSame(s1, "1");
  // The sparse gigabyte travelled as its islands, not as zeros.
  EXPECT_LT(ReadAll(stream1).size(), 64u << 20);

  // Renames (a file, a whole directory), deletions (a file, a directory
  // with entries, one of several hard links), new files, directories and
  // links, changed data, modes, owners and xattrs, a name that changes type.
  {
    FileSystem fs = Head();
    ASSERT_OK(fs.Rename(kRootIno, "medium", Path(fs, "a"), "medium-moved"));
    ASSERT_OK(fs.Rename(Path(fs, "a/b"), "c", kRootIno, "c-moved"));
    ASSERT_OK(fs.Unlink(kRootIno, "empty"));
    ASSERT_OK(fs.Unlink(Path(fs, "links"), "b"));
    ASSERT_OK(fs.Unlink(Path(fs, "owned_dir"), "f"));
    ASSERT_OK(fs.Rmdir(kRootIno, "owned_dir"));
    auto d = fs.Mkdir(kRootIno, "new_dir", 0750, Owner{7, 8});
    ASSERT_TRUE(d.ok());
    auto f = fs.Mknod(d->ino, "new_file", S_IFREG | 0640, 0, Owner{9, 10});
    ASSERT_TRUE(f.ok());
    Write(fs, f->ino, 5u << 20, "island past a hole");
    ASSERT_TRUE(fs.Link(f->ino, Path(fs, "c-moved"), "new_link").ok());
    Write(fs, Path(fs, "inline_max"), 10, "changed");
    SetAttrRequest chmod;
    chmod.mode = 0600;
    chmod.uid = 4242;
    ASSERT_TRUE(fs.SetAttr(Path(fs, "setuid"), chmod).ok());
    ASSERT_OK(fs.SetXattr(Path(fs, "xattrs"), "user.added", "new value"));
    ASSERT_OK(fs.Unlink(kRootIno, "fifo"));
    ASSERT_TRUE(fs.Mkdir(kRootIno, "fifo", 0700, Owner{}).ok());
  }
  const std::string s2 = Snapshot("two");
  SendStats inc;
  const std::string stream2 = Send(s2, s1, &inc);
  EXPECT_GT(inc.unlinks, 0u);
  EXPECT_LT(inc.nodes, 40u) << "an incremental stream sends what changed, not the tree";
  auto r2 = Receive(*b_, "r", stream2);
  ASSERT_TRUE(r2.ok()) << r2.status().ToString();
  EXPECT_TRUE(r2->incremental);
  ExpectSame(s2, "2");

  // A third step on top of the second: a directory moved into a new one,
  // a file replaced by a symlink, the moved directory deleted again.
  {
    FileSystem fs = Head();
    auto d = fs.Mkdir(kRootIno, "third", 0755, Owner{});
    ASSERT_TRUE(d.ok());
    ASSERT_OK(fs.Rename(kRootIno, "new_dir", d->ino, "nested"));
    ASSERT_OK(fs.Unlink(kRootIno, "inline_plus"));
    ASSERT_TRUE(fs.Symlink(kRootIno, "inline_plus", "third/nested/new_file", Owner{}).ok());
    ASSERT_OK(fs.Unlink(Path(fs, "c-moved"), "new_link"));
    ASSERT_OK(fs.Rename(Path(fs, "c-moved/d/e"), "deep", kRootIno, "deep"));
    ASSERT_OK(fs.Rmdir(Path(fs, "c-moved/d"), "e"));
    ASSERT_OK(fs.Rmdir(Path(fs, "c-moved"), "d"));
    ASSERT_OK(fs.Rmdir(kRootIno, "c-moved"));
  }
  const std::string s3 = Snapshot("");
  auto r3 = Receive(*b_, "r", Send(s3, s2));
  ASSERT_TRUE(r3.ok()) << r3.status().ToString();
  ExpectSame(s3, "3");
  // Every step is still there, unchanged by the later ones.
  ExpectSame(s1, "1-again");
  ExpectSame(s2, "2-again");
  auto list = b_->ListSnapshots("r");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[1].alias, "two");
  // The receiving container's head is the last snapshot.
  auto diff = b_->Diff("r", s3, "");
  ASSERT_TRUE(diff.ok());
  EXPECT_TRUE(diff->changes.empty());
}

TEST_F(SendStreamTest, AnIncrementalAppliesOnlyOnItsBase) {
  FileSystem fs = Head();
  auto f = fs.Mknod(kRootIno, "f", S_IFREG | 0644, 0, Owner{});
  ASSERT_TRUE(f.ok());
  const std::string s1 = Snapshot("");
  Write(fs, f->ino, 0, "v2");
  const std::string s2 = Snapshot("");
  const std::string inc = Send(s2, s1);
  // No container at all.
  auto r = Receive(*b_, "r", inc);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kNotFound) << r.status().ToString();
  // A container of that name that does not hold the base (same name, other
  // content: the guid tells them apart).
  ASSERT_TRUE(b_->CreateContainer("r").ok());
  ASSERT_TRUE(b_->CreateSnapshot("r", {}).ok());
  r = Receive(*b_, "r", inc);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().ToString().find("base of this incremental stream"), std::string::npos)
      << r.status().ToString();
  EXPECT_EQ(b_->ListSnapshots("r")->size(), 1u);
  // A full stream into an existing container.
  r = Receive(*b_, "r", Send(s1, ""));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kExists) << r.status().ToString();
  // With the base, it applies; a second time it is refused.
  ASSERT_TRUE(Receive(*b_, "x", Send(s1, "")).ok());
  {
    // A change of the receiver's own: kept as a pre-restore snapshot when
    // the incremental moves the head.
    FileSystem x = b_->store().Head("x").value();
    ASSERT_TRUE(x.Mknod(kRootIno, "local", S_IFREG | 0600, 0, Owner{}).ok());
  }
  ASSERT_TRUE(Receive(*b_, "x", inc).ok());
  auto snaps = b_->ListSnapshots("x");
  ASSERT_TRUE(snaps.ok());
  ASSERT_EQ(snaps->size(), 3u);
  EXPECT_TRUE(snaps->at(1).alias.starts_with("pre-restore-") ||
              snaps->at(2).alias.starts_with("pre-restore-"));
  {
    FileSystem x = b_->store().Head("x").value();
    EXPECT_FALSE(x.Lookup(kRootIno, "local").ok());
    char buf[8] = {};
    EXPECT_EQ(x.Read(x.Lookup(kRootIno, "f")->ino, 0, buf).value(), 2u);
    EXPECT_EQ(std::string(buf, 2), "v2");
  }
  r = Receive(*b_, "x", inc);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kExists) << r.status().ToString();
  EXPECT_EQ(b_->ListContainers().size(), 2u);  // r, x: no scratch left
}

TEST_F(SendStreamTest, AnEmptyContainerOfAFreshStoreRoundTrips) {
  // b_ has never given an inode number: its stream's ino limit is 2.
  ASSERT_TRUE(b_->CreateContainer("e").ok());
  auto s = b_->CreateSnapshot("e", {});
  ASSERT_TRUE(s.ok());
  const std::string path = dir_.File("empty-stream");
  {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600));
    ASSERT_TRUE(SendSnapshot(*b_, SendRequest{"e", s->name, ""}, fd.get()).ok());
  }
  auto r = Receive(*a_, "e", path);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->nodes, 1u);
}

// Splits a stream into its header and frames.
struct Frames {
  std::string header;
  std::vector<std::string> frames;
};
Frames Split(const std::string& s) {
  Frames f;
  f.header = s.substr(0, stream::kHeaderBytes);
  size_t at = stream::kHeaderBytes;
  while (at < s.size()) {
    const uint32_t len = GetLe32(s.data() + at + 1);
    const size_t n = stream::kFrameBytes + len + stream::kChecksumBytes;
    f.frames.push_back(s.substr(at, n));
    at += n;
  }
  return f;
}
std::string Glue(const Frames& f) {
  std::string s = f.header;
  for (const std::string& x : f.frames) s += x;
  return s;
}

// Writes a hand-made stream with a valid frame and trailer around hostile
// content.
std::string Crafted(const std::string& path,
                    const std::function<void(stream::StreamWriter&)>& body) {
  {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600));
    stream::StreamWriter w(fd.get());
    stream::BeginRecord b;
    b.name = "snap-20260101-000000";
    b.guid = "0123456789abcdef0123456789abcdef";
    b.ino_limit = 1000;
    EXPECT_OK(w.Begin(b));
    body(w);
    EXPECT_OK(w.End());
  }
  return path;
}

stream::NodeRecord NewFile(uint64_t ino, const std::string& name, uint64_t size = 0) {
  stream::NodeRecord n;
  n.ino = Ino(ino);
  n.flags = stream::kNodeNew;
  n.parent = kRootIno;
  n.name = name;
  n.mode = S_IFREG | 0644;
  n.size = size;
  return n;
}

TEST_F(SendStreamTest, DamagedAndHostileStreamsAreRefusedAndLeaveNothing) {
  {
    FileSystem fs = Head();
    for (const char* name : {"one", "two", "three"}) {
      auto f = fs.Mknod(kRootIno, name, S_IFREG | 0644, 0, Owner{});
      ASSERT_TRUE(f.ok());
      Write(fs, f->ino, 0, std::string(5000, name[0]));
    }
  }
  const std::string good = ReadAll(Send(Snapshot(""), ""));
  const Frames frames = Split(good);
  ASSERT_GE(frames.frames.size(), 6u);

  struct Case {
    std::string what;
    std::string stream;
    std::string message;  // a part of the error
  };
  std::vector<Case> cases;
  auto file = [&](const std::string& bytes) {
    const std::string p = dir_.File("case-" + std::to_string(cases.size()));
    WriteAll(p, bytes);
    return p;
  };
  cases.push_back({"empty", file(""), "no send stream"});
  cases.push_back({"bad magic", file("NOTASTREAM" + good.substr(10)), "bad magic"});
  {
    std::string v = good;
    v[8] = 9;
    cases.push_back({"version 9", file(v), "version 9"});
  }
  cases.push_back({"cut in the middle", file(good.substr(0, good.size() / 2)), "cut short"});
  cases.push_back({"cut before the trailer",
                   file(good.substr(0, good.size() - frames.frames.back().size())), "no trailer"});
  {
    std::string v = good;
    v[stream::kHeaderBytes + frames.frames[0].size() + 20] ^= 0x40;
    cases.push_back({"a flipped bit", file(v), "record 1 (node): checksum mismatch"});
  }
  {
    Frames f = frames;
    std::swap(f.frames[2], f.frames[3]);
    cases.push_back({"two records swapped", file(Glue(f)), "record 2"});
  }
  {
    Frames f = frames;
    f.frames.erase(f.frames.begin() + 2);
    cases.push_back({"a record left out", file(Glue(f)), "record 2"});
  }
  {
    std::string v = good;
    const size_t at = stream::kHeaderBytes + frames.frames[0].size() + 1;
    v[at + 3] = 0x7f;  // length ~2 GiB
    cases.push_back({"absurd length", file(v), "record 1 (node): absurd length"});
  }
  cases.push_back({"garbage after the trailer", file(good + "x"), "after its trailer"});
  cases.push_back(
      {"a name with a slash",
       Crafted(dir_.File("slash"), [](auto& w) { ASSERT_OK(w.Node(NewFile(5, "a/b"))); }),
       "record 1 (node): bad name"});
  cases.push_back({"a name ..",
                   Crafted(dir_.File("dotdot"),
                           [](auto& w) {
                             ASSERT_OK(w.Link(stream::LinkRecord{kRootIno, "..", Ino(5)}));
                           }),
                   "record 1 (link): bad name"});
  cases.push_back({"a name with NUL",
                   Crafted(dir_.File("nul"),
                           [](auto& w) { ASSERT_OK(w.Node(NewFile(5, std::string("a\0b", 3)))); }),
                   "record 1 (node): bad name"});
  cases.push_back({"an absurd size",
                   Crafted(dir_.File("size"),
                           [](auto& w) { ASSERT_OK(w.Node(NewFile(5, "f", uint64_t{1} << 63))); }),
                   "record 1 (node): absurd size"});
  cases.push_back({"a change to an inode that does not exist",
                   Crafted(dir_.File("noinode"),
                           [](auto& w) {
                             stream::NodeRecord n = NewFile(77, "");
                             n.flags = 0;
                             n.parent = Ino();
                             ASSERT_OK(w.Node(n));
                           }),
                   "record 1 (node): inode 77 does not exist"});
  cases.push_back({"a link to an inode that does not exist",
                   Crafted(dir_.File("nolink"),
                           [](auto& w) {
                             ASSERT_OK(w.Link(stream::LinkRecord{kRootIno, "x", Ino(88)}));
                           }),
                   "record 1 (link): a name for inode 88, which does not exist"});
  cases.push_back(
      {"an inode beyond the limit",
       Crafted(dir_.File("limit"), [](auto& w) { ASSERT_OK(w.Node(NewFile(5000, "f"))); }),
       "beyond the stream's limit"});
  cases.push_back({"data for another inode",
                   Crafted(dir_.File("data"),
                           [](auto& w) {
                             ASSERT_OK(w.Node(NewFile(5, "f", 10)));
                             ASSERT_OK(w.Data(Ino(6), 0, "0123456789"));
                           }),
                   "record 2 (data): data for inode 6"});
  cases.push_back({"data past the size",
                   Crafted(dir_.File("past"),
                           [](auto& w) {
                             ASSERT_OK(w.Node(NewFile(5, "f", 4)));
                             ASSERT_OK(w.Data(Ino(5), 0, "0123456789"));
                           }),
                   "record 2 (data): data at 0+10"});
  cases.push_back({"an unlink of nothing",
                   Crafted(dir_.File("unlink"),
                           [](auto& w) {
                             ASSERT_OK(w.Unlink(stream::UnlinkRecord{kRootIno, "ghost"}));
                           }),
                   "record 1 (unlink): no name 'ghost'"});
  cases.push_back({"a second name for a directory",
                   Crafted(dir_.File("dirlink"),
                           [](auto& w) {
                             stream::NodeRecord d = NewFile(5, "d");
                             d.mode = S_IFDIR | 0755;
                             ASSERT_OK(w.Node(d));
                             ASSERT_OK(w.Link(stream::LinkRecord{kRootIno, "e", Ino(5)}));
                           }),
                   "record 2 (link): a second name for a directory"});
  cases.push_back({"a directory into itself",
                   Crafted(dir_.File("loop"),
                           [](auto& w) {
                             stream::NodeRecord d = NewFile(5, "d");
                             d.mode = S_IFDIR | 0755;
                             d.parent = Ino();
                             d.name = "";
                             ASSERT_OK(w.Node(d));
                             ASSERT_OK(w.Link(stream::LinkRecord{Ino(5), "self", Ino(5)}));
                           }),
                   "record 2 (link)"});

  for (const Case& c : cases) {
    auto r = Receive(*b_, "r", c.stream);
    ASSERT_FALSE(r.ok()) << c.what;
    EXPECT_NE(r.status().ToString().find(c.message), std::string::npos)
        << c.what << ": " << r.status().ToString();
    EXPECT_TRUE(b_->ListContainers().empty()) << c.what << ": something was left behind";
    EXPECT_OK(b_->store().CheckInvariants());
  }
  // The good stream still goes in.
  auto ok = Receive(*b_, "r", file(good));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
}

TEST_F(SendStreamTest, AScratchLeftByACrashIsRemovedAtOpen) {
  auto scratch = b_->BeginReceive(
      "r", ReceivedSnapshot{"snap-20260101-000000", "", 0, "0123456789abcdef0123456789abcdef", ""});
  ASSERT_TRUE(scratch.ok()) << scratch.status().ToString();
  EXPECT_EQ(b_->ListContainers().size(), 1u);
  b_.reset();
  b_ = Open("b");
  ASSERT_TRUE(b_);
  EXPECT_TRUE(b_->ListContainers().empty());
}

}  // namespace
}  // namespace hoodyfs::snapshotter
