// A snapshot in a remote: its manifest, the send stream (docs/format.md,
// "Send stream") with every data record replaced by a reference to a
// content-addressed chunk (chunks/<sha256 hex> in the bucket). Pull turns it
// back into the same stream, byte for byte, and feeds it to receive, which
// validates it and publishes the snapshot atomically.
//
// Encoding (docs/format.md, "Remote manifest"): "HOODYMAN", LE32 version 1,
// then entries, each a tag byte:
//   1 record: kind (u8, a send-stream kind other than data and end), LE32
//     payload length, payload (the record's payload as sent)
//   2 chunk:  LE64 ino, LE64 offset, LE32 length, 64 hex digits of the
//     chunk's SHA-256
//   3 end:    LE64 count of the entries before it, 64 hex digits of the
//     SHA-256 of every byte before this entry; nothing may follow
//
// Thread-safety: values and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace hoodyfs::remote {

inline constexpr char kManifestMagic[8] = {'H', 'O', 'O', 'D', 'Y', 'M', 'A', 'N'};
inline constexpr uint32_t kManifestVersion = 1;

struct ManifestEntry {
  enum class Type : uint8_t { kRecord = 1, kChunk = 2 };
  Type type = Type::kRecord;
  uint8_t kind = 0;     // kRecord
  std::string payload;  // kRecord
  uint64_t ino = 0;     // kChunk
  uint64_t offset = 0;  // kChunk
  uint32_t length = 0;  // kChunk
  std::string hash;     // kChunk: 64 lowercase hex digits
};

// Builds a manifest entry by entry.
class ManifestBuilder {
 public:
  ManifestBuilder();
  void Record(uint8_t kind, std::string_view payload);
  void Chunk(uint64_t ino, uint64_t offset, uint32_t length, const std::string& hash);
  // The finished manifest (with its end entry); the builder is spent.
  std::string Finish();

 private:
  std::string bytes_;
  uint64_t entries_ = 0;
};

// Errors (kCorruption, naming the entry by index): bad magic, a cut or
// trailing entry, an unknown tag, a record of kind data or end or with a
// payload over the send stream's limit, a chunk over the data-record limit
// or with a hash that is not 64 lowercase hex digits, a count or SHA-256
// in the end entry that does not match; kNotSupported for another version.
Result<std::vector<ManifestEntry>> ParseManifest(std::string_view bytes);

// The object keys of a remote: chunks/<hash>, manifests/<container>/<name>,
// aliases/<container>/<alias> (an object holding the snapshot's name).
std::string ChunkKey(const std::string& hash);
std::string ManifestKey(const std::string& container, const std::string& name);
std::string AliasKey(const std::string& container, const std::string& alias);

}  // namespace hoodyfs::remote
