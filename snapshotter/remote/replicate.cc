#include "snapshotter/remote/replicate.h"

#include <set>
#include <thread>

#include "base/test_hook.h"
#include "snapshotter/remote/chunk_fetcher.h"
#include "snapshotter/remote/chunk_uploader.h"
#include "snapshotter/remote/manifest.h"
#include "snapshotter/remote/parallel_requests.h"
#include "snapshotter/remote/sha256.h"
#include "snapshotter/transfer/send_stream_format.h"

namespace hoodyfs::remote {
namespace {

namespace stream = snapshotter::stream;

// Push's last check of the chunks it wrote (uploads and touches): a gc
// delete lands at most settle() after the HEAD that chose it, so once
// settle() has passed since a chunk was written, a gc that could still
// delete it has seen its new Last-Modified and keeps it (docs/design.md).
Status RecheckWrittenChunks(const S3Config& config, int workers, const ChunkUploader& uploader,
                            const ChunkGrace& grace) {
  const std::vector<std::string> written = uploader.written();
  if (written.empty() || grace.unbounded()) return Status::OK();
  std::this_thread::sleep_until(uploader.last_write() + grace.settle());
  return ForEachInParallel(config, workers, written.size(),
                           [&written](S3Client& client, size_t i) -> Status {
                             const std::string& hash = written[i];
                             HOODY_ASSIGN_OR_RETURN(bool present, client.Exists(ChunkKey(hash)));
                             if (present) return Status::OK();
                             return Status::Busy("chunk " + hash +
                                                 " was deleted by a concurrent gc after this "
                                                 "push wrote it; push again");
                           });
}

}  // namespace

Result<PushStats> PushStream(S3Client& client, const std::string& container, int fd,
                             ChunkGrace grace, int upload_threads) {
  // The push's start on the server's clock, before the first chunk's HEAD.
  HOODY_ASSIGN_OR_RETURN(const int64_t started, client.ServerTime());
  HOODY_ASSIGN_OR_RETURN(std::unique_ptr<ChunkUploader> uploader,
                         ChunkUploader::Create(client.config(), upload_threads, grace));
  stream::StreamReader reader(fd);
  HOODY_RETURN_IF_ERROR(reader.ReadHeader());
  ManifestBuilder manifest;
  PushStats stats;
  std::set<std::string> handled;  // chunks queued by this push
  for (;;) {
    HOODY_ASSIGN_OR_RETURN(stream::RawRecord record, reader.Next());
    if (record.kind == stream::Kind::kEnd) break;  // checked by the reader
    if (record.kind == stream::Kind::kBegin) {
      HOODY_ASSIGN_OR_RETURN(stream::BeginRecord begin, reader.DecodeBegin(record));
      if (!begin.base_guid.empty()) {
        return Status::InvalidArgument(
            "push takes a full send stream; this one is incremental (chunks already in the "
            "remote are not uploaded again anyway)");
      }
      stats.name = begin.name;
      stats.alias = begin.alias;
    }
    if (record.kind != stream::Kind::kData) {
      manifest.Record(static_cast<uint8_t>(record.kind), record.payload);
      continue;
    }
    HOODY_ASSIGN_OR_RETURN(stream::DataRecord data, reader.DecodeData(record));
    const std::string hash = Sha256Hex(data.bytes);
    ++stats.chunks;
    if (handled.insert(hash).second) {
      ++stats.distinct_chunks;
      HOODY_RETURN_IF_ERROR(uploader->Add(hash, std::string(data.bytes)));
    }
    manifest.Chunk(data.ino.value, data.offset, static_cast<uint32_t>(data.bytes.size()), hash);
  }
  // The stream must end at its trailer.
  Result<stream::RawRecord> after = reader.Next();
  if (after.ok() || after.status().code() != Code::kRange) {
    return after.ok() ? Status::Corruption("send stream: data after the trailer") : after.status();
  }
  if (stats.name.empty()) return Status::Corruption("send stream without a begin record");
  HOODY_RETURN_IF_ERROR(uploader->Finish());
  stats.chunks_uploaded = uploader->uploaded();
  stats.bytes_uploaded = uploader->bytes_uploaded();
  stats.chunks_touched = uploader->touched();
  HOODY_TEST_HOOK("remote-chunks-written");
  HOODY_RETURN_IF_ERROR(RecheckWrittenChunks(client.config(), upload_threads, *uploader, grace));
  if (!grace.unbounded()) {
    HOODY_ASSIGN_OR_RETURN(const int64_t now, client.ServerTime());
    HOODY_RETURN_IF_ERROR(CheckPushAge(grace, started, now));
  }

  const std::string bytes = manifest.Finish();
  stats.manifest_bytes = bytes.size();
  stats.manifest_key = ManifestKey(container, stats.name);
  // Last: the snapshot appears in the remote only now, with every chunk in.
  HOODY_RETURN_IF_ERROR(client.Put(stats.manifest_key, bytes));
  if (!stats.alias.empty()) {
    HOODY_RETURN_IF_ERROR(client.Put(AliasKey(container, stats.alias), stats.name));
  }
  return stats;
}

Result<PullStats> PullStream(S3Client& client, const std::string& container,
                             const std::string& name_or_alias, int fd, int fetch_threads) {
  PullStats stats;
  stats.name = name_or_alias;
  Result<std::string> bytes = client.Get(ManifestKey(container, name_or_alias));
  if (!bytes.ok() && bytes.status().code() == Code::kNotFound) {
    Result<std::string> name = client.Get(AliasKey(container, name_or_alias));
    if (!name.ok() && name.status().code() == Code::kNotFound) {
      return Status::NotFound("remote holds no snapshot " + name_or_alias + " of container " +
                              container);
    }
    if (!name.ok()) return name.status();
    stats.name = *name;
    bytes = client.Get(ManifestKey(container, stats.name));
  }
  if (!bytes.ok()) return bytes.status();
  HOODY_ASSIGN_OR_RETURN(std::vector<ManifestEntry> entries, ParseManifest(*bytes));

  std::vector<ChunkFetcher::Chunk> chunks;
  for (const ManifestEntry& e : entries) {
    if (e.type == ManifestEntry::Type::kChunk) chunks.push_back({e.hash, e.length});
  }
  std::unique_ptr<ChunkFetcher> fetcher;
  if (!chunks.empty()) {
    HOODY_ASSIGN_OR_RETURN(fetcher, ChunkFetcher::Create(client.config(), std::move(chunks),
                                                         fetch_threads, stats.name));
  }
  stream::StreamWriter writer(fd);
  for (const ManifestEntry& e : entries) {
    if (e.type == ManifestEntry::Type::kRecord) {
      HOODY_RETURN_IF_ERROR(writer.PutRaw(e.kind, e.payload));
      continue;
    }
    HOODY_ASSIGN_OR_RETURN(std::string chunk, fetcher->Next());
    ++stats.chunks;
    stats.bytes += chunk.size();
    HOODY_RETURN_IF_ERROR(writer.Data(Ino(e.ino), e.offset, chunk));
    // A chunk is in the receive's stream (kill tests: a pull cut short).
    HOODY_TEST_HOOK("remote-chunk-fetched");
  }
  HOODY_RETURN_IF_ERROR(writer.End());
  return stats;
}

}  // namespace hoodyfs::remote
