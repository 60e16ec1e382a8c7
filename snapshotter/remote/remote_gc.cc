#include "snapshotter/remote/remote_gc.h"

#include <chrono>
#include <string>
#include <unordered_set>
#include <vector>

#include "base/test_hook.h"
#include "snapshotter/remote/manifest.h"
#include "snapshotter/remote/parallel_requests.h"

namespace hoodyfs::remote {
namespace {

constexpr char kChunksPrefix[] = "chunks/";
constexpr size_t kHashChars = 64;

bool IsChunkName(const std::string& s) {
  if (s.size() != kHashChars) return false;
  for (const char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// Every chunk hash some manifest names. A manifest deleted between the
// listing and its read names nothing any more.
Result<std::unordered_set<std::string>> ReferencedChunks(S3Client& client, GcStats* stats) {
  HOODY_ASSIGN_OR_RETURN(std::vector<S3Object> manifests, client.ListAll("manifests/"));
  std::unordered_set<std::string> referenced;
  for (const S3Object& object : manifests) {
    Result<std::string> bytes = client.Get(object.key);
    if (!bytes.ok() && bytes.status().code() == Code::kNotFound) continue;
    if (!bytes.ok()) return bytes.status();
    Result<std::vector<ManifestEntry>> entries = ParseManifest(*bytes);
    if (!entries.ok()) {
      return entries.status().WithContext("gc: manifest " + object.key +
                                          " (nothing deleted; delete or repair it first)");
    }
    ++stats->manifests;
    for (const ManifestEntry& e : *entries) {
      if (e.type == ManifestEntry::Type::kChunk) referenced.insert(e.hash);
    }
  }
  return referenced;
}

}  // namespace

Result<GcStats> CollectChunks(S3Client& client, const ChunkGrace& grace, bool dry_run,
                              int workers) {
  GcStats stats;
  // Before the manifests are listed: a push whose chunks could be older
  // than G - grace has written its manifest before G (docs/design.md).
  HOODY_ASSIGN_OR_RETURN(const int64_t gc_time, client.ServerTime());
  HOODY_ASSIGN_OR_RETURN(std::unordered_set<std::string> referenced,
                         ReferencedChunks(client, &stats));
  HOODY_TEST_HOOK("remote-gc-listed-manifests");
  HOODY_ASSIGN_OR_RETURN(std::vector<S3Object> chunks, client.ListAll(kChunksPrefix));
  std::vector<const S3Object*> unreferenced;
  for (const S3Object& object : chunks) {
    const std::string hash = object.key.substr(sizeof(kChunksPrefix) - 1);
    if (!IsChunkName(hash)) {
      ++stats.foreign_keys;
      continue;
    }
    ++stats.chunks;
    if (referenced.contains(hash)) {
      ++stats.referenced;
      continue;
    }
    ++stats.unreferenced;
    unreferenced.push_back(&object);
  }

  // Each unreferenced chunk on its own: its HEAD, then its DELETE within
  // half the settle time of that HEAD, so the rule holds per chunk
  // whichever worker takes it.
  enum class Outcome : uint8_t { kGone, kYoung, kLate, kDeleted };
  std::vector<Outcome> outcomes(unreferenced.size(), Outcome::kGone);
  const int64_t cutoff = gc_time - grace.grace().count();
  const auto half_settle = grace.settle() / 2;
  auto collect = [&](S3Client& c, size_t i) -> Status {
    const S3Object& object = *unreferenced[i];
    // Its age now, not as listed: a push may have touched it since.
    HOODY_ASSIGN_OR_RETURN(const S3ObjectInfo info, c.Head(object.key));
    const auto seen = std::chrono::steady_clock::now();
    if (!info.exists) return Status::OK();  // deleted meanwhile (another gc)
    // Grace 0: every unreferenced chunk, whatever its age (to the second).
    if (!grace.unbounded() && info.last_modified >= cutoff) {
      outcomes[i] = Outcome::kYoung;
      return Status::OK();
    }
    if (dry_run) {
      outcomes[i] = Outcome::kDeleted;
      return Status::OK();
    }
    if (!grace.unbounded() && std::chrono::steady_clock::now() - seen > half_settle) {
      outcomes[i] = Outcome::kLate;
      return Status::OK();
    }
    const Status deleted =
        c.DeleteWithin(object.key, grace.unbounded() ? std::chrono::milliseconds(0) : half_settle);
    if (!deleted.ok() && deleted.code() == Code::kIoError) {
      // Timed out (or the link failed): abandoned, not retried, since a
      // late retry could land after a push touched the chunk. Next gc.
      outcomes[i] = Outcome::kLate;
      return Status::OK();
    }
    HOODY_RETURN_IF_ERROR(deleted);
    outcomes[i] = Outcome::kDeleted;
    return Status::OK();
  };
  HOODY_RETURN_IF_ERROR(ForEachInParallel(client.config(), workers, unreferenced.size(), collect));
  for (size_t i = 0; i < unreferenced.size(); ++i) {
    switch (outcomes[i]) {
      case Outcome::kGone:
        break;
      case Outcome::kYoung:
        ++stats.kept_young;
        break;
      case Outcome::kLate:
        ++stats.skipped_late;
        break;
      case Outcome::kDeleted:
        ++stats.deleted;
        stats.bytes_deleted += unreferenced[i]->size;
        break;
    }
  }
  return stats;
}

}  // namespace hoodyfs::remote
