#include "snapshotter/remote/manifest.h"

#include <cstring>

#include "base/coding.h"
#include "snapshotter/remote/sha256.h"
#include "snapshotter/transfer/send_stream_format.h"

namespace hoodyfs::remote {
namespace {

namespace stream = snapshotter::stream;

constexpr uint8_t kTagRecord = 1;
constexpr uint8_t kTagChunk = 2;
constexpr uint8_t kTagEnd = 3;
constexpr size_t kHexBytes = 64;

bool IsLowerHex(std::string_view s) {
  return s.size() == kHexBytes && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

}  // namespace

std::string ChunkKey(const std::string& hash) { return "chunks/" + hash; }
std::string ManifestKey(const std::string& container, const std::string& name) {
  return "manifests/" + container + "/" + name;
}
std::string AliasKey(const std::string& container, const std::string& alias) {
  return "aliases/" + container + "/" + alias;
}

ManifestBuilder::ManifestBuilder() {
  bytes_.append(kManifestMagic, sizeof(kManifestMagic));
  PutLe32(&bytes_, kManifestVersion);
}

void ManifestBuilder::Record(uint8_t kind, std::string_view payload) {
  bytes_.push_back(static_cast<char>(kTagRecord));
  bytes_.push_back(static_cast<char>(kind));
  PutLe32(&bytes_, static_cast<uint32_t>(payload.size()));
  bytes_.append(payload);
  ++entries_;
}

void ManifestBuilder::Chunk(uint64_t ino, uint64_t offset, uint32_t length,
                            const std::string& hash) {
  HOODY_ASSERT(IsLowerHex(hash), "chunk hash is not 64 hex digits");
  bytes_.push_back(static_cast<char>(kTagChunk));
  PutLe64(&bytes_, ino);
  PutLe64(&bytes_, offset);
  PutLe32(&bytes_, length);
  bytes_.append(hash);
  ++entries_;
}

std::string ManifestBuilder::Finish() {
  const std::string digest = Sha256Hex(bytes_);
  bytes_.push_back(static_cast<char>(kTagEnd));
  PutLe64(&bytes_, entries_);
  bytes_.append(digest);
  return std::move(bytes_);
}

Result<std::vector<ManifestEntry>> ParseManifest(std::string_view bytes) {
  if (bytes.size() < sizeof(kManifestMagic) + 4 ||
      std::memcmp(bytes.data(), kManifestMagic, sizeof(kManifestMagic)) != 0) {
    return Status::Corruption("not a hoodyfs remote manifest (bad magic)");
  }
  const uint32_t version = GetLe32(bytes.data() + 8);
  if (version != kManifestVersion) {
    return Status::NotSupported("remote manifest version " + std::to_string(version) +
                                " (this build reads version " + std::to_string(kManifestVersion) +
                                ")");
  }
  std::vector<ManifestEntry> entries;
  size_t pos = 12;
  auto bad = [&](const std::string& what) {
    return Status::Corruption("remote manifest entry " + std::to_string(entries.size()) + ": " +
                              what);
  };
  auto need = [&](size_t n) { return bytes.size() - pos >= n; };
  for (;;) {
    if (!need(1)) return bad("cut before the end entry");
    const auto tag = static_cast<uint8_t>(bytes[pos]);
    const size_t entry_start = pos;
    ++pos;
    if (tag == kTagEnd) {
      if (!need(8 + kHexBytes)) return bad("end entry cut");
      const uint64_t count = GetLe64(bytes.data() + pos);
      const std::string_view digest = bytes.substr(pos + 8, kHexBytes);
      pos += 8 + kHexBytes;
      if (pos != bytes.size()) return bad("bytes after the end entry");
      if (count != entries.size()) {
        return bad("end entry counts " + std::to_string(count) + " entries");
      }
      if (digest != Sha256Hex(bytes.substr(0, entry_start))) {
        return bad("SHA-256 of the manifest does not match its end entry");
      }
      return entries;
    }
    ManifestEntry e;
    if (tag == kTagRecord) {
      if (!need(5)) return bad("record entry cut");
      e.type = ManifestEntry::Type::kRecord;
      e.kind = static_cast<uint8_t>(bytes[pos]);
      const uint32_t length = GetLe32(bytes.data() + pos + 1);
      pos += 5;
      if (e.kind == static_cast<uint8_t>(stream::Kind::kData) ||
          e.kind == static_cast<uint8_t>(stream::Kind::kEnd)) {
        return bad(std::string("a ") + stream::KindName(e.kind) +
                   " record, which a manifest never holds");
      }
      if (length > stream::kMaxPayloadBytes) {
        return bad("record payload of " + std::to_string(length) + " bytes, over the limit");
      }
      if (!need(length)) return bad("record payload cut");
      e.payload.assign(bytes.substr(pos, length));
      pos += length;
    } else if (tag == kTagChunk) {
      if (!need(20 + kHexBytes)) return bad("chunk entry cut");
      e.type = ManifestEntry::Type::kChunk;
      e.ino = GetLe64(bytes.data() + pos);
      e.offset = GetLe64(bytes.data() + pos + 8);
      e.length = GetLe32(bytes.data() + pos + 16);
      e.hash.assign(bytes.substr(pos + 20, kHexBytes));
      pos += 20 + kHexBytes;
      if (e.length > stream::kMaxDataBytes) {
        return bad("chunk of " + std::to_string(e.length) + " bytes, over the limit of " +
                   std::to_string(stream::kMaxDataBytes));
      }
      if (!IsLowerHex(e.hash)) return bad("chunk hash is not 64 lowercase hex digits");
    } else {
      return bad("unknown tag " + std::to_string(tag));
    }
    entries.push_back(std::move(e));
  }
}

}  // namespace hoodyfs::remote
