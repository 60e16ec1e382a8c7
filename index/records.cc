#include "index/records.h"

#include "base/coding.h"

namespace hoodyfs::index {
namespace {
constexpr uint8_t kRecordFormat = 1;
// Inode records: format 1, or format 2 when the record has a birth time
// (format 1 plus btime after ctime). Both are read; docs/format.md.
constexpr uint8_t kInodeFormatBtime = 2;
// Snapshot records: format 1, or format 2 when the record has a guid
// (format 1 plus the guid after the alias).
constexpr uint8_t kSnapshotFormatGuid = 2;

Status Truncated(const char* what) {
  return Status::Corruption(std::string("malformed ") + what + " record");
}

void PutTime(std::string* out, const Timespec& t) {
  PutLe64(out, static_cast<uint64_t>(t.sec));
  PutLe32(out, t.nsec);
}
Timespec GetTime(Decoder& d) {
  Timespec t;
  t.sec = static_cast<int64_t>(d.Le64());
  t.nsec = d.Le32();
  return t;
}
void PutStr(std::string* out, std::string_view s) {
  PutLe32(out, static_cast<uint32_t>(s.size()));
  out->append(s);
}
std::string_view GetStr(Decoder& d) { return d.Bytes(d.Le32()); }
}  // namespace

std::string InodeRecord::Encode() const {
  std::string v;
  v.reserve(92 + inline_data.size());
  v.push_back(static_cast<char>(btime ? kInodeFormatBtime : kRecordFormat));
  PutLe32(&v, mode);
  PutLe32(&v, uid);
  PutLe32(&v, gid);
  PutLe32(&v, nlink);
  PutLe64(&v, size);
  PutLe64(&v, rdev);
  PutLe64(&v, blocks);
  PutTime(&v, atime);
  PutTime(&v, mtime);
  PutTime(&v, ctime);
  if (btime) PutTime(&v, *btime);
  PutLe64(&v, next_cookie);
  v.push_back(has_inline ? 1 : 0);
  PutStr(&v, inline_data);
  return v;
}

Result<InodeRecord> InodeRecord::Decode(std::string_view v) {
  Decoder d(v);
  InodeRecord r;
  const uint8_t format = d.Byte();
  if (format != kRecordFormat && format != kInodeFormatBtime) return Truncated("inode");
  r.mode = d.Le32();
  r.uid = d.Le32();
  r.gid = d.Le32();
  r.nlink = d.Le32();
  r.size = d.Le64();
  r.rdev = d.Le64();
  r.blocks = d.Le64();
  r.atime = GetTime(d);
  r.mtime = GetTime(d);
  r.ctime = GetTime(d);
  if (format == kInodeFormatBtime) r.btime = GetTime(d);
  r.next_cookie = d.Le64();
  r.has_inline = d.Byte() != 0;
  r.inline_data = std::string(GetStr(d));
  if (!d.ok()) return Truncated("inode");
  return r;
}

std::string DirentValue::Encode() const {
  std::string v;
  PutLe64(&v, ino.value);
  v.push_back(static_cast<char>(type));
  PutLe64(&v, cookie);
  return v;
}

Result<DirentValue> DirentValue::Decode(std::string_view v) {
  Decoder d(v);
  DirentValue r;
  r.ino = Ino(d.Le64());
  r.type = d.Byte();
  r.cookie = d.Le64();
  if (!d.done()) return Truncated("dirent");
  return r;
}

std::string DirCookieValue::Encode() const {
  std::string v;
  PutLe64(&v, ino.value);
  v.push_back(static_cast<char>(type));
  v.append(name);
  return v;
}

Result<DirCookieValue> DirCookieValue::Decode(std::string_view v) {
  Decoder d(v);
  DirCookieValue r;
  r.ino = Ino(d.Le64());
  r.type = d.Byte();
  r.name = std::string(d.Rest());
  if (!d.ok()) return Truncated("dircookie");
  return r;
}

std::string ChunkMap::Encode() const {
  std::string v;
  v.reserve(1 + runs.size() * 10);
  v.push_back(static_cast<char>(runs.size()));
  for (const ChunkRun& r : runs) {
    v.push_back(static_cast<char>(r.offset));
    v.push_back(static_cast<char>(r.count));
    PutLe64(&v, r.block.value);
  }
  return v;
}

Result<ChunkMap> ChunkMap::Decode(std::string_view v) {
  Decoder d(v);
  ChunkMap m;
  const uint8_t n = d.Byte();
  m.runs.reserve(n);
  for (uint8_t i = 0; i < n; ++i) {
    ChunkRun r;
    r.offset = d.Byte();
    r.count = d.Byte();
    r.block = BlockNo(d.Le64());
    m.runs.push_back(r);
  }
  if (!d.done()) return Truncated("chunk");
  return m;
}

std::string BlockRecord::Encode() const {
  std::string v;
  PutLe64(&v, checksum);
  PutLe32(&v, refcount);
  return v;
}

Result<BlockRecord> BlockRecord::Decode(std::string_view v) {
  Decoder d(v);
  BlockRecord r;
  r.checksum = d.Le64();
  r.refcount = d.Le32();
  if (!d.done()) return Truncated("block");
  return r;
}

std::string GenerationRecord::Encode() const {
  std::string v;
  v.push_back(static_cast<char>(kRecordFormat));
  PutLe64(&v, parent.value);
  v.push_back(static_cast<char>(state));
  PutLe64(&v, static_cast<uint64_t>(created_ns));
  PutStr(&v, container);
  return v;
}

Result<GenerationRecord> GenerationRecord::Decode(std::string_view v) {
  Decoder d(v);
  GenerationRecord r;
  if (d.Byte() != kRecordFormat) return Truncated("generation");
  r.parent = GenId(d.Le64());
  r.state = static_cast<GenState>(d.Byte());
  r.created_ns = static_cast<int64_t>(d.Le64());
  r.container = std::string(GetStr(d));
  if (!d.ok()) return Truncated("generation");
  return r;
}

std::string ContainerRecord::Encode() const {
  std::string v;
  v.push_back(static_cast<char>(kRecordFormat));
  PutLe64(&v, head.value);
  PutLe64(&v, static_cast<uint64_t>(created_ns));
  PutStr(&v, origin);
  PutStr(&v, project);
  return v;
}

Result<ContainerRecord> ContainerRecord::Decode(std::string_view v) {
  Decoder d(v);
  ContainerRecord r;
  if (d.Byte() != kRecordFormat) return Truncated("container");
  r.head = GenId(d.Le64());
  r.created_ns = static_cast<int64_t>(d.Le64());
  r.origin = std::string(GetStr(d));
  r.project = std::string(GetStr(d));
  if (!d.done()) return Truncated("container");
  return r;
}

std::string SnapshotRecord::Encode() const {
  std::string v;
  v.push_back(static_cast<char>(guid.empty() ? kRecordFormat : kSnapshotFormatGuid));
  PutLe64(&v, gen.value);
  PutLe64(&v, static_cast<uint64_t>(created_ns));
  PutLe64(&v, static_cast<uint64_t>(expires_ns));
  PutStr(&v, alias);
  if (!guid.empty()) PutStr(&v, guid);
  return v;
}

Result<SnapshotRecord> SnapshotRecord::Decode(std::string_view v) {
  Decoder d(v);
  SnapshotRecord r;
  const uint8_t format = d.Byte();
  if (format != kRecordFormat && format != kSnapshotFormatGuid) return Truncated("snapshot");
  r.gen = GenId(d.Le64());
  r.created_ns = static_cast<int64_t>(d.Le64());
  r.expires_ns = static_cast<int64_t>(d.Le64());
  r.alias = std::string(GetStr(d));
  if (format == kSnapshotFormatGuid) r.guid = std::string(GetStr(d));
  if (!d.ok()) return Truncated("snapshot");
  return r;
}

std::string GenerationStats::Encode() const {
  std::string v;
  v.push_back(static_cast<char>(kRecordFormat));
  PutLe64(&v, referenced_bytes);
  PutLe64(&v, written_bytes);
  return v;
}

Result<GenerationStats> GenerationStats::Decode(std::string_view v) {
  Decoder d(v);
  GenerationStats r;
  if (d.Byte() != kRecordFormat) return Truncated("generation stats");
  r.referenced_bytes = d.Le64();
  r.written_bytes = d.Le64();
  if (!d.ok()) return Truncated("generation stats");
  return r;
}

}  // namespace hoodyfs::index
