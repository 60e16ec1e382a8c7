// BlockReplicaFinder: finds the bytes a damaged data block must hold in a
// remote (remote/manifest.h), for scrub's repair (docs/design.md, "Scrub",
// "Repair").
//
// What it is given is what the scrub reports of the block: the XXH3-64 its
// 4 KiB must hash to, and its holders, each a view (a container's head or a
// snapshot) reading it as inode `ino` at byte `offset` under some paths.
// A remote manifest is a snapshot's send stream with its data replaced by
// chunk references (ino, offset, length, SHA-256); inode numbers are the
// sender's and receive keeps them, so the same file carries the same
// number in every snapshot of a container's lineage, pushed or pulled.
//
// Where it looks, in this order, stopping at the first block that verifies:
//   1. each holder's own snapshot: manifests/<container>/<snapshot>;
//   2. every manifest of the same snapshot name in another container (a
//      snapshot pulled into a store under another container name);
//   3. every other manifest of a holder's container (a head's block was
//      often written before a snapshot that was pushed);
//   4. every other manifest of the remote (a container made from another's
//      snapshot shares its files).
// In a manifest, the file is the holder's inode, or any inode that has one
// of the holder's paths there. Its chunks covering the block are fetched,
// each checked against its length and SHA-256 in the manifest (a tampered
// or damaged chunk is refused), the 4 KiB assembled (zeros past the file's
// data, as the block holds them) and checked against the XXH3-64. Only
// bytes that pass both are returned; a caller still checks them again
// before writing (snapshotter/engine/block_repair.h).
//
// Cost: one listing of manifests/ when step 1 finds nothing, a few parsed
// manifests and chunks kept (kManifestsKept, kChunksKept), so neighbouring
// damaged blocks of one file fetch its manifest and chunk once.
//
// Thread-safety: one thread at a time (it keeps caches); the object store
// calls are made on the calling thread.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "snapshotter/remote/s3_client.h"

namespace hoodyfs::remote {

// One view that reads the damaged block (cli's ScrubHolder, the parts a
// replica is found by).
struct ReplicaHolder {
  std::string container;  // "" when the generation is no head or snapshot
  std::string snapshot;   // "" for a container's head
  uint64_t ino = 0;
  uint64_t offset = 0;  // of the block in the file, a multiple of 4096
  std::vector<std::string> paths;
};

struct ReplicaRequest {
  uint64_t checksum = 0;  // XXH3-64 of the block's 4096 bytes
  std::vector<ReplicaHolder> holders;
};

struct ReplicaBlock {
  std::string bytes;   // 4096 of them, hashing to the request's checksum
  std::string source;  // "manifests/web1/snap-x: inode 12 at offset 4096"
};

// The two object store calls a finder makes: tests give it a map.
struct ReplicaObjects {
  // An object's bytes; kNotFound when there is no such key.
  std::function<Result<std::string>(const std::string& key)> get;
  // The keys under a prefix.
  std::function<Result<std::vector<std::string>>(const std::string& prefix)> list;
};
// Through `client`, which must outlive the result.
ReplicaObjects ObjectsOf(S3Client& client);

// The manifest keys to look in, in the order above: first the holders' own
// snapshots (whether `listed` holds them or not), then the keys of `listed`
// (every manifest of the remote) by rank. Pure: unit-tested.
std::vector<std::string> RankManifestKeys(const std::vector<ReplicaHolder>& holders,
                                          const std::vector<std::string>& listed);
// The keys of step 1 alone (no listing needed).
std::vector<std::string> OwnManifestKeys(const std::vector<ReplicaHolder>& holders);

class BlockReplicaFinder {
 public:
  static constexpr size_t kManifestsKept = 4;
  static constexpr size_t kChunksKept = 8;

  explicit BlockReplicaFinder(ReplicaObjects objects);
  ~BlockReplicaFinder();
  BlockReplicaFinder(const BlockReplicaFinder&) = delete;
  BlockReplicaFinder& operator=(const BlockReplicaFinder&) = delete;

  // Errors: kNotFound (no manifest holds the holders' file at that offset:
  // the remote has no copy), kCorruption (copies were found but none gives
  // bytes with the block's checksum; the message names each, e.g. a chunk
  // whose SHA-256 does not match its manifest, or a copy whose XXH3 differs:
  // a file rewritten before it was pushed), a manifest that does not parse
  // is skipped and named there too; the object store's errors (the
  // network) as they come.
  Result<ReplicaBlock> Find(const ReplicaRequest& request);

  uint64_t manifests_read() const { return manifests_read_; }
  uint64_t chunks_fetched() const { return chunks_fetched_; }

 private:
  struct Manifest;
  struct ChunkRef;
  // The parsed manifest at `key`, kept among the last kManifestsKept;
  // nullptr when there is no such key. A manifest that does not parse is
  // kCorruption.
  Result<const Manifest*> Load(const std::string& key);
  // A chunk's bytes, checked against the reference; kCorruption when they
  // do not match (`key` names the manifest).
  Result<std::string> FetchChunk(const ChunkRef& ref, const std::string& key);
  // Tries every inode of `manifest` that may be the holder's file. Returns
  // the block when one verifies; adds why not to `misses` for each copy
  // that did not.
  Result<std::optional<ReplicaBlock>> TryManifest(const std::string& key, const Manifest& manifest,
                                                  const ReplicaHolder& holder, uint64_t checksum,
                                                  std::vector<std::string>* misses);

  ReplicaObjects objects_;
  std::deque<std::pair<std::string, std::unique_ptr<Manifest>>> manifests_;
  std::deque<std::pair<std::string, std::string>> chunks_;  // hash, bytes
  std::optional<std::vector<std::string>> listed_;          // every manifest key, once
  uint64_t manifests_read_ = 0;
  uint64_t chunks_fetched_ = 0;
};

}  // namespace hoodyfs::remote
