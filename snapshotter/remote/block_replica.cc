#include "snapshotter/remote/block_replica.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <set>

#include "base/types.h"
#include "blockstore/checksum.h"
#include "snapshotter/remote/manifest.h"
#include "snapshotter/remote/sha256.h"
#include "snapshotter/transfer/send_stream_format.h"

namespace hoodyfs::remote {

namespace {

namespace stream = snapshotter::stream;

constexpr char kManifestsPrefix[] = "manifests/";
// Reasons named in a kCorruption message at most; the rest are counted.
constexpr size_t kMissesNamed = 3;

std::string Hex(uint64_t v) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, v);
  return buf;
}

// "manifests/<container>/<name>" -> {container, name}; nullopt for other keys.
std::optional<std::pair<std::string, std::string>> SplitManifestKey(const std::string& key) {
  const std::string_view prefix = kManifestsPrefix;
  if (key.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
  const std::string rest = key.substr(prefix.size());
  const auto slash = rest.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == rest.size()) return std::nullopt;
  return std::make_pair(rest.substr(0, slash), rest.substr(slash + 1));
}

}  // namespace

struct BlockReplicaFinder::ChunkRef {
  uint64_t offset = 0;
  uint32_t length = 0;
  std::string hash;
};

// What Find needs of a manifest: each inode's chunks in offset order, and
// each inode's names (parent, name) to make its paths from.
struct BlockReplicaFinder::Manifest {
  std::map<uint64_t, std::vector<ChunkRef>> chunks;
  std::map<uint64_t, std::vector<std::pair<uint64_t, std::string>>> names;

  // The path of `ino` by its first name ("" for the root); nullopt when a
  // directory on the way has no name (or the chain is absurdly deep).
  std::optional<std::string> DirPath(uint64_t ino) const {
    std::string path;
    for (int depth = 0; ino != kRootIno.value; ++depth) {
      auto n = names.find(ino);
      if (depth == 4096 || n == names.end() || n->second.empty()) return std::nullopt;
      path = "/" + n->second.front().second + path;
      ino = n->second.front().first;
    }
    return path;
  }
  // Every path of `ino` (several for hard links).
  std::vector<std::string> PathsOf(uint64_t ino) const {
    std::vector<std::string> paths;
    auto n = names.find(ino);
    if (n == names.end()) return paths;
    for (const auto& [parent, name] : n->second) {
      if (std::optional<std::string> dir = DirPath(parent)) paths.push_back(*dir + "/" + name);
    }
    return paths;
  }
};

ReplicaObjects ObjectsOf(S3Client& client) {
  ReplicaObjects objects;
  objects.get = [&client](const std::string& key) { return client.Get(key); };
  objects.list = [&client](const std::string& prefix) -> Result<std::vector<std::string>> {
    HOODY_ASSIGN_OR_RETURN(std::vector<S3Object> listed, client.ListAll(prefix));
    std::vector<std::string> keys;
    keys.reserve(listed.size());
    for (S3Object& o : listed) keys.push_back(std::move(o.key));
    return keys;
  };
  return objects;
}

std::vector<std::string> OwnManifestKeys(const std::vector<ReplicaHolder>& holders) {
  std::vector<std::string> keys;
  std::set<std::string> seen;
  for (const ReplicaHolder& h : holders) {
    if (h.container.empty() || h.snapshot.empty()) continue;
    const std::string key = ManifestKey(h.container, h.snapshot);
    if (seen.insert(key).second) keys.push_back(key);
  }
  return keys;
}

std::vector<std::string> RankManifestKeys(const std::vector<ReplicaHolder>& holders,
                                          const std::vector<std::string>& listed) {
  std::vector<std::string> keys = OwnManifestKeys(holders);
  std::set<std::string> seen(keys.begin(), keys.end());
  std::set<std::string> containers, snapshots;
  for (const ReplicaHolder& h : holders) {
    if (!h.container.empty()) containers.insert(h.container);
    if (!h.snapshot.empty()) snapshots.insert(h.snapshot);
  }
  // Rank 1: the same snapshot name elsewhere; 2: the same container; 3: the
  // rest. Within a rank, the listing's order (by key).
  std::vector<std::pair<int, std::string>> ranked;
  for (const std::string& key : listed) {
    if (seen.count(key) != 0) continue;
    const auto parts = SplitManifestKey(key);
    if (!parts) continue;
    const int rank = snapshots.count(parts->second) != 0   ? 1
                     : containers.count(parts->first) != 0 ? 2
                                                           : 3;
    ranked.emplace_back(rank, key);
  }
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& entry : ranked) {
    if (seen.insert(entry.second).second) keys.push_back(std::move(entry.second));
  }
  return keys;
}

BlockReplicaFinder::BlockReplicaFinder(ReplicaObjects objects) : objects_(std::move(objects)) {}
BlockReplicaFinder::~BlockReplicaFinder() = default;

Result<const BlockReplicaFinder::Manifest*> BlockReplicaFinder::Load(const std::string& key) {
  for (const auto& [k, m] : manifests_) {
    if (k == key) return m.get();
  }
  Result<std::string> bytes = objects_.get(key);
  if (!bytes.ok() && bytes.status().code() == Code::kNotFound) {
    return static_cast<const Manifest*>(nullptr);
  }
  if (!bytes.ok()) return bytes.status();
  ++manifests_read_;
  HOODY_ASSIGN_OR_RETURN(std::vector<ManifestEntry> entries, ParseManifest(*bytes));
  auto m = std::make_unique<Manifest>();
  // The decoders check names and numbers; they read no descriptor.
  const stream::StreamReader decoder(-1);
  uint64_t index = 0;
  for (const ManifestEntry& e : entries) {
    ++index;
    if (e.type == ManifestEntry::Type::kChunk) {
      m->chunks[e.ino].push_back({e.offset, e.length, e.hash});
      continue;
    }
    const stream::RawRecord raw{index, static_cast<stream::Kind>(e.kind), e.payload};
    if (e.kind == static_cast<uint8_t>(stream::Kind::kNode)) {
      HOODY_ASSIGN_OR_RETURN(stream::NodeRecord node, decoder.DecodeNode(raw));
      if (node.parent.valid() && !node.name.empty()) {
        m->names[node.ino.value].emplace_back(node.parent.value, node.name);
      }
    } else if (e.kind == static_cast<uint8_t>(stream::Kind::kLink)) {
      HOODY_ASSIGN_OR_RETURN(stream::LinkRecord link, decoder.DecodeLink(raw));
      m->names[link.ino.value].emplace_back(link.parent.value, link.name);
    }
  }
  for (auto& entry : m->chunks) {
    std::vector<ChunkRef>& refs = entry.second;
    std::sort(refs.begin(), refs.end(),
              [](const ChunkRef& a, const ChunkRef& b) { return a.offset < b.offset; });
  }
  if (manifests_.size() == kManifestsKept) manifests_.pop_front();
  manifests_.emplace_back(key, std::move(m));
  return manifests_.back().second.get();
}

Result<std::string> BlockReplicaFinder::FetchChunk(const ChunkRef& ref, const std::string& key) {
  for (const auto& [hash, bytes] : chunks_) {
    if (hash == ref.hash && bytes.size() == ref.length) return bytes;
  }
  HOODY_ASSIGN_OR_RETURN(std::string bytes, objects_.get(ChunkKey(ref.hash)));
  ++chunks_fetched_;
  if (bytes.size() != ref.length || Sha256Hex(bytes) != ref.hash) {
    return Status::Corruption("remote chunk " + ref.hash + " (" + std::to_string(bytes.size()) +
                              " bytes) does not match its SHA-256 and length " +
                              std::to_string(ref.length) + " in " + key);
  }
  if (chunks_.size() == kChunksKept) chunks_.pop_front();
  chunks_.emplace_back(ref.hash, bytes);
  return bytes;
}

Result<std::optional<ReplicaBlock>> BlockReplicaFinder::TryManifest(
    const std::string& key, const Manifest& manifest, const ReplicaHolder& holder,
    uint64_t checksum, std::vector<std::string>* misses) {
  // The holder's inode first, then any other with one of its paths.
  std::vector<uint64_t> inos;
  if (manifest.chunks.count(holder.ino) != 0) inos.push_back(holder.ino);
  if (!holder.paths.empty()) {
    for (const auto& entry : manifest.chunks) {
      const uint64_t ino = entry.first;
      if (ino == holder.ino) continue;
      for (const std::string& p : manifest.PathsOf(ino)) {
        if (std::find(holder.paths.begin(), holder.paths.end(), p) != holder.paths.end()) {
          inos.push_back(ino);
          break;
        }
      }
    }
  }
  const uint64_t begin = holder.offset, end = holder.offset + kBlockSize;
  for (uint64_t ino : inos) {
    std::string block(kBlockSize, '\0');  // past the file's data the block holds zeros
    bool covered = false;
    Status failed;
    for (const ChunkRef& ref : manifest.chunks.at(ino)) {
      const uint64_t ref_end = ref.offset + ref.length;
      if (ref_end <= begin || ref.offset >= end) continue;
      covered = true;
      Result<std::string> bytes = FetchChunk(ref, key);
      if (!bytes.ok()) {
        failed = bytes.status();
        break;
      }
      const uint64_t from = std::max(begin, ref.offset), to = std::min(end, ref_end);
      std::memcpy(block.data() + (from - begin), bytes->data() + (from - ref.offset), to - from);
    }
    const std::string where =
        key + ": inode " + std::to_string(ino) + " at offset " + std::to_string(begin);
    if (!failed.ok()) {
      // The network's errors end the search; a bad chunk is one miss.
      if (failed.code() != Code::kCorruption) return failed;
      misses->push_back(failed.ToString());
      continue;
    }
    if (!covered) continue;  // a hole there: no copy of this block
    if (const uint64_t found = blockstore::BlockChecksum(block.data()); found != checksum) {
      misses->push_back(where + " holds bytes hashing to " + Hex(found) + ", not " + Hex(checksum));
      continue;
    }
    return std::optional<ReplicaBlock>(ReplicaBlock{std::move(block), where});
  }
  return std::optional<ReplicaBlock>();
}

Result<ReplicaBlock> BlockReplicaFinder::Find(const ReplicaRequest& request) {
  std::vector<std::string> misses;
  size_t looked = 0;
  std::set<std::string> tried;
  // Step 1 without a listing; the rest from one listing, made once.
  for (int pass = 0; pass < 2; ++pass) {
    std::vector<std::string> keys;
    if (pass == 0) {
      keys = OwnManifestKeys(request.holders);
    } else {
      if (!listed_) {
        HOODY_ASSIGN_OR_RETURN(std::vector<std::string> listed, objects_.list(kManifestsPrefix));
        listed_ = std::move(listed);
      }
      keys = RankManifestKeys(request.holders, *listed_);
    }
    for (const std::string& key : keys) {
      if (!tried.insert(key).second) continue;
      Result<const Manifest*> manifest = Load(key);
      if (!manifest.ok()) {
        if (manifest.status().code() != Code::kCorruption) return manifest.status();
        misses.push_back(key + ": " + manifest.status().ToString());
        continue;
      }
      if (*manifest == nullptr) continue;
      ++looked;
      for (const ReplicaHolder& holder : request.holders) {
        HOODY_ASSIGN_OR_RETURN(std::optional<ReplicaBlock> found,
                               TryManifest(key, **manifest, holder, request.checksum, &misses));
        if (found) return *std::move(found);
      }
    }
  }
  if (misses.empty()) {
    return Status::NotFound("no replica: none of the remote's " + std::to_string(looked) +
                            " snapshots holds this file's data at this offset");
  }
  std::string why = "no replica has the block's checksum " + Hex(request.checksum) + ": ";
  for (size_t i = 0; i < misses.size() && i < kMissesNamed; ++i) {
    why += (i == 0 ? "" : "; ") + misses[i];
  }
  if (misses.size() > kMissesNamed) {
    why += "; and " + std::to_string(misses.size() - kMissesNamed) + " more";
  }
  return Status::Corruption(why);
}

}  // namespace hoodyfs::remote
