// BlockReplicaFinder against an object store held in a map: manifests made
// from real send streams (written by StreamWriter, read back by
// StreamReader and turned into chunks and a manifest as push does).
#include "snapshotter/remote/block_replica.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <functional>
#include <map>
#include <random>

#include "base/testing/temp_dir.h"
#include "base/unique_fd.h"
#include "blockstore/checksum.h"
#include "snapshotter/remote/manifest.h"
#include "snapshotter/remote/sha256.h"
#include "snapshotter/transfer/send_stream_format.h"

namespace hoodyfs::remote {
namespace {

namespace stream = snapshotter::stream;

class BlockReplicaTest : public ::testing::Test {
 protected:
  // A snapshot `name` of `container` pushed: `write` writes its records
  // between the begin record and the end.
  void Push(const std::string& container, const std::string& name,
            const std::function<void(stream::StreamWriter&)>& write) {
    const std::string path = dir_.File("stream-" + container + "-" + name);
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    ASSERT_TRUE(fd.valid());
    {
      stream::StreamWriter w(fd.get());
      stream::BeginRecord begin;
      begin.source_container = container;
      begin.name = name;
      begin.guid = "guid-" + name;
      begin.ino_limit = 100;
      ASSERT_TRUE(w.Begin(begin).ok());
      write(w);
      ASSERT_TRUE(w.End().ok());
    }
    ASSERT_EQ(::lseek(fd.get(), 0, SEEK_SET), 0);
    stream::StreamReader r(fd.get());
    ASSERT_TRUE(r.ReadHeader().ok());
    ManifestBuilder manifest;
    for (;;) {
      Result<stream::RawRecord> rec = r.Next();
      ASSERT_TRUE(rec.ok()) << rec.status().ToString();
      if (rec->kind == stream::Kind::kEnd) break;
      if (rec->kind != stream::Kind::kData) {
        manifest.Record(static_cast<uint8_t>(rec->kind), rec->payload);
        continue;
      }
      Result<stream::DataRecord> data = r.DecodeData(*rec);
      ASSERT_TRUE(data.ok());
      const std::string hash = Sha256Hex(data->bytes);
      objects_[ChunkKey(hash)] = std::string(data->bytes);
      manifest.Chunk(data->ino.value, data->offset, static_cast<uint32_t>(data->bytes.size()),
                     hash);
    }
    objects_[ManifestKey(container, name)] = manifest.Finish();
  }

  static stream::NodeRecord Node(uint64_t ino, uint64_t parent, const std::string& name,
                                 uint32_t mode, uint64_t size = 0) {
    stream::NodeRecord n;
    n.ino = Ino(ino);
    n.flags = stream::kNodeNew;
    n.parent = Ino(parent);
    n.name = name;
    n.mode = mode;
    n.size = size;
    return n;
  }

  // A tree: /etc/f (inode `ino`) holding `data` in two records split at
  // 6000 (not at a block boundary), and /g, a hard link /g-hard of it.
  std::function<void(stream::StreamWriter&)> Tree(uint64_t ino, const std::string& data) {
    return [ino, data](stream::StreamWriter& w) {
      ASSERT_TRUE(w.Node(Node(1, 0, "", 040755)).ok());
      ASSERT_TRUE(w.Node(Node(2, 1, "etc", 040755)).ok());
      ASSERT_TRUE(w.Node(Node(ino, 2, "f", 0100644, data.size())).ok());
      ASSERT_TRUE(w.Data(Ino(ino), 0, std::string_view(data).substr(0, 6000)).ok());
      ASSERT_TRUE(w.Data(Ino(ino), 6000, std::string_view(data).substr(6000)).ok());
      ASSERT_TRUE(w.Node(Node(ino + 1, 1, "g", 0100644, 5)).ok());
      ASSERT_TRUE(w.Data(Ino(ino + 1), 0, "hello").ok());
      ASSERT_TRUE(w.Link({Ino(1), "g-hard", Ino(ino + 1)}).ok());
    };
  }

  static std::string Random(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::string s(n, '\0');
    for (char& c : s) c = static_cast<char>(rng());
    return s;
  }
  // The block at `offset` of `data` as the store holds it: zeros past the end.
  static std::string BlockOf(const std::string& data, uint64_t offset) {
    std::string b = data.substr(offset, kBlockSize);
    b.resize(kBlockSize, '\0');
    return b;
  }
  static uint64_t Checksum(const std::string& block) {
    return blockstore::BlockChecksum(block.data());
  }

  ReplicaObjects Objects() {
    ReplicaObjects o;
    o.get = [this](const std::string& key) -> Result<std::string> {
      ++gets_;
      auto it = objects_.find(key);
      if (it == objects_.end()) return Status::NotFound("no " + key);
      return it->second;
    };
    o.list = [this](const std::string& prefix) -> Result<std::vector<std::string>> {
      ++lists_;
      std::vector<std::string> keys;
      for (const auto& [k, v] : objects_) {
        if (k.compare(0, prefix.size(), prefix) == 0) keys.push_back(k);
      }
      return keys;
    };
    return o;
  }

  testing::TempDir dir_ = testing::TempDir::Create().value();
  std::map<std::string, std::string> objects_;
  int gets_ = 0, lists_ = 0;
};

TEST_F(BlockReplicaTest, TheHoldersOwnSnapshotGivesTheBlockAcrossChunkBoundaries) {
  const std::string data = Random(10000, 1);
  Push("web1", "snap-1", Tree(5, data));
  BlockReplicaFinder finder(Objects());
  // Block 1 spans both records (6000 splits it); block 2 is the file's tail.
  for (uint64_t offset : {uint64_t{0}, uint64_t{4096}, uint64_t{8192}}) {
    ReplicaRequest req;
    req.checksum = Checksum(BlockOf(data, offset));
    req.holders = {{"web1", "", 5, offset, {"/etc/f"}}, {"web1", "snap-1", 5, offset, {"/etc/f"}}};
    Result<ReplicaBlock> r = finder.Find(req);
    ASSERT_TRUE(r.ok()) << offset << ": " << r.status().ToString();
    EXPECT_EQ(r->bytes, BlockOf(data, offset)) << offset;
    EXPECT_EQ(r->source, "manifests/web1/snap-1: inode 5 at offset " + std::to_string(offset));
  }
  // One manifest read, each of the two chunks fetched once, no listing.
  EXPECT_EQ(finder.manifests_read(), 1u);
  EXPECT_EQ(finder.chunks_fetched(), 2u);
  EXPECT_EQ(lists_, 0);
}

TEST_F(BlockReplicaTest, ATamperedChunkIsNoReplica) {
  const std::string data = Random(10000, 2);
  Push("web1", "snap-1", Tree(5, data));
  const std::string hash = Sha256Hex(std::string_view(data).substr(0, 6000));
  ASSERT_EQ(objects_.count(ChunkKey(hash)), 1u);
  std::string tampered = objects_[ChunkKey(hash)];
  tampered[100] = static_cast<char>(tampered[100] ^ 1);
  objects_[ChunkKey(hash)] = tampered;
  ReplicaRequest req;
  req.checksum = Checksum(BlockOf(data, 0));
  req.holders = {{"web1", "snap-1", 5, 0, {"/etc/f"}}};
  Result<ReplicaBlock> r = BlockReplicaFinder(Objects()).Find(req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCorruption);
  EXPECT_NE(r.status().ToString().find("remote chunk " + hash), std::string::npos)
      << r.status().ToString();
  EXPECT_NE(r.status().ToString().find("does not match its SHA-256"), std::string::npos)
      << r.status().ToString();
}

TEST_F(BlockReplicaTest, BytesWithAnotherChecksumAreNoReplica) {
  const std::string data = Random(10000, 3);
  Push("web1", "snap-1", Tree(5, data));
  ReplicaRequest req;
  req.checksum = Checksum(BlockOf(Random(10000, 4), 0));  // the file as it was before
  req.holders = {{"web1", "snap-1", 5, 0, {"/etc/f"}}};
  Result<ReplicaBlock> r = BlockReplicaFinder(Objects()).Find(req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCorruption);
  EXPECT_NE(r.status().ToString().find("manifests/web1/snap-1: inode 5 at offset 0 holds bytes "
                                       "hashing to"),
            std::string::npos)
      << r.status().ToString();
}

TEST_F(BlockReplicaTest, NoSnapshotHoldingTheFileIsNotFound) {
  Push("web1", "snap-1", Tree(5, Random(10000, 5)));
  ReplicaRequest req;
  req.checksum = 42;
  // Another inode and path, and an offset past the file in the right one.
  req.holders = {{"web1", "", 9, 0, {"/elsewhere"}}, {"web1", "", 5, 1 << 20, {"/etc/f"}}};
  Result<ReplicaBlock> r = BlockReplicaFinder(Objects()).Find(req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kNotFound) << r.status().ToString();
  EXPECT_NE(r.status().ToString().find("no replica"), std::string::npos) << r.status().ToString();
  objects_.clear();
  Result<ReplicaBlock> empty = BlockReplicaFinder(Objects()).Find(req);
  EXPECT_EQ(empty.status().code(), Code::kNotFound) << empty.status().ToString();
}

// The holder's snapshot is not in the remote; another container's snapshot
// holds the file under the same path (another inode number), and a hard
// link's second name is a path too. A manifest that does not parse is
// passed over.
TEST_F(BlockReplicaTest, AnotherSnapshotHoldingThePathGivesTheBlock) {
  const std::string data = Random(10000, 6);
  Push("golden", "snap-0", Tree(40, data));
  objects_["manifests/aaa/broken"] = "not a manifest";
  ReplicaRequest req;
  req.checksum = Checksum(BlockOf(data, 4096));
  req.holders = {{"web1", "snap-9", 5, 4096, {"/etc/f"}}};
  BlockReplicaFinder finder(Objects());
  Result<ReplicaBlock> r = finder.Find(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->bytes, BlockOf(data, 4096));
  EXPECT_EQ(r->source, "manifests/golden/snap-0: inode 40 at offset 4096");
  EXPECT_EQ(lists_, 1);

  ReplicaRequest hard;
  hard.checksum = Checksum(BlockOf("hello", 0));
  hard.holders = {{"web1", "", 77, 0, {"/g-hard"}}};
  Result<ReplicaBlock> h = finder.Find(hard);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->bytes, BlockOf("hello", 0));
  EXPECT_EQ(lists_, 1);  // the listing is made once
}

TEST(RankManifestKeys, OwnSnapshotsThenTheSameNameThenTheContainerThenTheRest) {
  const std::vector<ReplicaHolder> holders = {
      {"web1", "snap-2", 5, 0, {}}, {"web1", "", 5, 0, {}}, {"web1", "snap-1", 5, 0, {}}};
  const std::vector<std::string> listed = {"manifests/db/snap-9",   "manifests/copy/snap-1",
                                           "manifests/web1/snap-0", "manifests/web1/snap-2",
                                           "manifests/odd",         "manifests/web1/snap-3"};
  EXPECT_EQ(RankManifestKeys(holders, listed),
            (std::vector<std::string>{"manifests/web1/snap-2", "manifests/web1/snap-1",
                                      "manifests/copy/snap-1", "manifests/web1/snap-0",
                                      "manifests/web1/snap-3", "manifests/db/snap-9"}));
  EXPECT_EQ(OwnManifestKeys(holders),
            (std::vector<std::string>{"manifests/web1/snap-2", "manifests/web1/snap-1"}));
}

}  // namespace
}  // namespace hoodyfs::remote
