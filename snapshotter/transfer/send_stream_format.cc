#include "snapshotter/transfer/send_stream_format.h"

#include <unistd.h>
// XXH3_state_t on the stack and in the writer and reader: no allocation.
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include <cerrno>
#include <cstring>

#include "base/coding.h"

namespace hoodyfs::snapshotter::stream {
namespace {

constexpr size_t kWriteBufferBytes = 1u << 20;
constexpr size_t kReadBufferBytes = 1u << 20;
// A wanted span at least this long skips in_buf_ when in_buf_ is empty.
constexpr size_t kDirectReadBytes = 64u << 10;

const char* const kKindNames[] = {"?", "begin", "unlink", "node", "data", "link", "end"};

void PutStr(std::string* out, std::string_view s) {
  PutLe32(out, static_cast<uint32_t>(s.size()));
  out->append(s);
}
std::string_view GetStr(Decoder& d, size_t max) {
  const uint32_t n = d.Le32();
  if (n > max) {
    d.Bytes(SIZE_MAX);  // fails the decoder: an absurd length
    return {};
  }
  return d.Bytes(n);
}
void PutTime(std::string* out, const index::Timespec& t) {
  PutLe64(out, static_cast<uint64_t>(t.sec));
  PutLe32(out, t.nsec);
}
index::Timespec GetTime(Decoder& d) {
  index::Timespec t;
  t.sec = static_cast<int64_t>(d.Le64());
  t.nsec = d.Le32();
  return t;
}

uint64_t FrameChecksum(uint64_t index, Kind kind, std::string_view payload) {
  char frame[kFrameBytes];
  frame[0] = static_cast<char>(kind);
  const auto len = static_cast<uint32_t>(payload.size());
  std::memcpy(frame + 1, &len, 4);
  XXH3_state_t st;
  XXH3_64bits_reset_withSeed(&st, index);
  XXH3_64bits_update(&st, frame, sizeof(frame));
  XXH3_64bits_update(&st, payload.data(), payload.size());
  return XXH3_64bits_digest(&st);
}

// A name as a directory holds it: one path component.
bool ValidName(std::string_view n) {
  return !n.empty() && n.size() <= kMaxNameBytes && n != "." && n != ".." &&
         n.find('/') == std::string_view::npos && n.find('\0') == std::string_view::npos;
}

}  // namespace

const char* KindName(uint8_t kind) {
  return kind >= 1 && kind <= 6 ? kKindNames[kind] : "unknown kind";
}

struct StreamWriter::Hash {
  XXH3_state_t state;
};
struct StreamReader::Hash {
  XXH3_state_t state;
};

// ---- writer ----

StreamWriter::StreamWriter(int fd) : fd_(fd), hash_(std::make_unique<Hash>()) {
  XXH3_64bits_reset(&hash_->state);
  buf_.reserve(kWriteBufferBytes + kMaxPayloadBytes);
  buf_.append(kMagic, sizeof(kMagic));
  PutLe32(&buf_, kVersion);
  PutLe32(&buf_, 0);  // flags
}

StreamWriter::~StreamWriter() = default;

Status StreamWriter::Flush() {
  XXH3_64bits_update(&hash_->state, buf_.data(), buf_.size());
  std::string_view rest = buf_;
  while (!rest.empty()) {
    const ssize_t n = ::write(fd_, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return FromErrno(errno, "writing the send stream");
    rest.remove_prefix(static_cast<size_t>(n));
    bytes_out_ += static_cast<uint64_t>(n);
  }
  buf_.clear();
  return Status::OK();
}

Status StreamWriter::Put(Kind kind, std::string_view payload) {
  HOODY_ASSERT(payload.size() <= kMaxPayloadBytes, "send record over the payload limit");
  buf_.push_back(static_cast<char>(kind));
  PutLe32(&buf_, static_cast<uint32_t>(payload.size()));
  buf_.append(payload);
  PutLe64(&buf_, FrameChecksum(records_, kind, payload));
  ++records_;
  if (buf_.size() >= kWriteBufferBytes) return Flush();
  return Status::OK();
}

Status StreamWriter::Begin(const BeginRecord& r) {
  payload_.clear();
  PutStr(&payload_, r.source_container);
  PutStr(&payload_, r.name);
  PutStr(&payload_, r.alias);
  PutLe64(&payload_, static_cast<uint64_t>(r.created_ns));
  PutStr(&payload_, r.guid);
  PutStr(&payload_, r.base_guid);
  PutLe64(&payload_, r.ino_limit);
  return Put(Kind::kBegin, payload_);
}

Status StreamWriter::Unlink(const UnlinkRecord& r) {
  payload_.clear();
  PutLe64(&payload_, r.parent.value);
  PutStr(&payload_, r.name);
  return Put(Kind::kUnlink, payload_);
}

Status StreamWriter::Node(const NodeRecord& r) {
  payload_.clear();
  PutLe64(&payload_, r.ino.value);
  payload_.push_back(static_cast<char>(r.flags));
  PutLe64(&payload_, r.parent.value);
  PutStr(&payload_, r.name);
  PutLe32(&payload_, r.mode);
  PutLe32(&payload_, r.uid);
  PutLe32(&payload_, r.gid);
  PutLe64(&payload_, r.rdev);
  PutLe64(&payload_, r.size);
  PutTime(&payload_, r.atime);
  PutTime(&payload_, r.mtime);
  PutStr(&payload_, r.symlink_target);
  PutLe32(&payload_, static_cast<uint32_t>(r.xattrs.size()));
  for (const auto& [name, value] : r.xattrs) {
    PutStr(&payload_, name);
    PutStr(&payload_, value);
  }
  if (payload_.size() > kMaxPayloadBytes) {
    return Status::InvalidArgument("inode " + std::to_string(r.ino.value) +
                                   ": xattrs too large for one send record");
  }
  return Put(Kind::kNode, payload_);
}

Status StreamWriter::Data(Ino ino, uint64_t offset, std::string_view bytes) {
  HOODY_ASSERT(bytes.size() <= kMaxDataBytes, "data record over the limit");
  payload_.clear();
  PutLe64(&payload_, ino.value);
  PutLe64(&payload_, offset);
  payload_.append(bytes);
  return Put(Kind::kData, payload_);
}

Status StreamWriter::Link(const LinkRecord& r) {
  payload_.clear();
  PutLe64(&payload_, r.parent.value);
  PutStr(&payload_, r.name);
  PutLe64(&payload_, r.ino.value);
  return Put(Kind::kLink, payload_);
}

Status StreamWriter::End() {
  // The trailer's checksum covers everything before its own frame.
  HOODY_RETURN_IF_ERROR(Flush());
  const uint64_t whole = XXH3_64bits_digest(&hash_->state);
  payload_.clear();
  PutLe64(&payload_, records_);
  PutLe64(&payload_, whole);
  HOODY_RETURN_IF_ERROR(Put(Kind::kEnd, payload_));
  return Flush();
}

// ---- reader ----

StreamReader::StreamReader(int fd)
    : fd_(fd),
      in_buf_(std::make_unique_for_overwrite<char[]>(kReadBufferBytes)),
      payload_(std::make_unique_for_overwrite<char[]>(kMaxPayloadBytes)),
      hash_(std::make_unique<Hash>()) {
  XXH3_64bits_reset(&hash_->state);
}

StreamReader::~StreamReader() = default;

Status StreamReader::Bad(const RawRecord& r, const std::string& what) {
  return Status::Corruption("send stream record " + std::to_string(r.index) + " (" +
                            KindName(static_cast<uint8_t>(r.kind)) + "): " + what);
}

Result<size_t> StreamReader::ReadSome(char* dst, size_t cap) {
  ssize_t r;
  do {
    r = ::read(fd_, dst, cap);
  } while (r < 0 && errno == EINTR);
  if (r < 0) return FromErrno(errno, "reading the send stream");
  return static_cast<size_t>(r);
}

Result<bool> StreamReader::ReadExact(char* out, size_t n) {
  size_t got = 0;
  while (got < n) {
    size_t take = 0;
    if (in_pos_ == in_len_ && n - got >= kDirectReadBytes) {
      // A large payload goes straight to its destination, not through
      // in_buf_ and a memcpy (a second copy of every data byte received).
      HOODY_ASSIGN_OR_RETURN(take, ReadSome(out + got, n - got));
    } else {
      if (in_pos_ == in_len_) {
        HOODY_ASSIGN_OR_RETURN(in_len_, ReadSome(in_buf_.get(), kReadBufferBytes));
        in_pos_ = 0;
      }
      take = std::min(n - got, in_len_ - in_pos_);
      std::memcpy(out + got, in_buf_.get() + in_pos_, take);
      in_pos_ += take;
    }
    if (take == 0) {
      if (got == 0) return false;
      return Status::Corruption("send stream cut short after " + std::to_string(bytes_in_ + got) +
                                " bytes (in record " + std::to_string(next_index_) + ")");
    }
    got += take;
  }
  bytes_in_ += n;
  return true;
}

Status StreamReader::ReadHeader() {
  char header[kHeaderBytes];
  HOODY_ASSIGN_OR_RETURN(bool any, ReadExact(header, sizeof(header)));
  if (!any) return Status::Corruption("empty input: no send stream");
  if (std::memcmp(header, kMagic, sizeof(kMagic)) != 0) {
    return Status::Corruption("not a hoodyfs send stream (bad magic)");
  }
  const uint32_t version = GetLe32(header + 8);
  if (version != kVersion) {
    return Status::NotSupported("send stream version " + std::to_string(version) +
                                "; this build reads version " + std::to_string(kVersion));
  }
  if (GetLe32(header + 12) != 0) return Status::NotSupported("send stream with unknown flags");
  XXH3_64bits_update(&hash_->state, header, sizeof(header));
  return Status::OK();
}

Result<RawRecord> StreamReader::Next() {
  RawRecord r;
  r.index = next_index_;
  if (ended_) {
    char byte;
    HOODY_ASSIGN_OR_RETURN(bool more, ReadExact(&byte, 1));
    if (!more) return Status::Range("end of stream");
    return Status::Corruption("send stream: data after its trailer");
  }
  char frame[kFrameBytes];
  HOODY_ASSIGN_OR_RETURN(bool any, ReadExact(frame, sizeof(frame)));
  if (!any) {
    return Status::Corruption("send stream cut short: no trailer after record " +
                              std::to_string(next_index_ == 0 ? 0 : next_index_ - 1));
  }
  const auto kind_byte = static_cast<uint8_t>(frame[0]);
  r.kind = static_cast<Kind>(kind_byte);
  if (kind_byte < 1 || kind_byte > 6) {
    return Status::Corruption("send stream record " + std::to_string(r.index) + ": unknown kind " +
                              std::to_string(kind_byte));
  }
  const uint32_t len = GetLe32(frame + 1);
  if (len > kMaxPayloadBytes) return Bad(r, "absurd length " + std::to_string(len));
  char sum[kChecksumBytes];
  HOODY_ASSIGN_OR_RETURN(bool body, ReadExact(payload_.get(), len));
  if (len > 0 && !body) return Bad(r, "cut short");
  HOODY_ASSIGN_OR_RETURN(bool tail, ReadExact(sum, sizeof(sum)));
  if (!tail) return Bad(r, "cut short (no checksum)");
  r.payload = std::string_view(payload_.get(), len);
  if (GetLe64(sum) != FrameChecksum(r.index, r.kind, r.payload)) {
    return Bad(r, "checksum mismatch (damaged, or out of order)");
  }
  if (r.kind == Kind::kEnd) {
    Decoder d(r.payload);
    const uint64_t count = d.Le64();
    const uint64_t whole = d.Le64();
    if (!d.done()) return Bad(r, "malformed trailer");
    if (count != r.index) return Bad(r, "trailer counts " + std::to_string(count) + " records");
    if (whole != XXH3_64bits_digest(&hash_->state)) return Bad(r, "whole-stream checksum mismatch");
    ended_ = true;
  } else {
    XXH3_64bits_update(&hash_->state, frame, sizeof(frame));
    XXH3_64bits_update(&hash_->state, r.payload.data(), r.payload.size());
    XXH3_64bits_update(&hash_->state, sum, sizeof(sum));
  }
  ++next_index_;
  return r;
}

Result<BeginRecord> StreamReader::DecodeBegin(const RawRecord& r) const {
  Decoder d(r.payload);
  BeginRecord b;
  b.source_container = std::string(GetStr(d, kMaxNameBytes));
  b.name = std::string(GetStr(d, kMaxNameBytes));
  b.alias = std::string(GetStr(d, kMaxNameBytes));
  b.created_ns = static_cast<int64_t>(d.Le64());
  b.guid = std::string(GetStr(d, kMaxNameBytes));
  b.base_guid = std::string(GetStr(d, kMaxNameBytes));
  b.ino_limit = d.Le64();
  if (!d.done()) return Bad(r, "malformed");
  return b;
}

Result<UnlinkRecord> StreamReader::DecodeUnlink(const RawRecord& r) const {
  Decoder d(r.payload);
  UnlinkRecord u;
  u.parent = Ino(d.Le64());
  u.name = std::string(GetStr(d, kMaxNameBytes));
  if (!d.done()) return Bad(r, "malformed");
  if (u.parent.value == 0) return Bad(r, "inode number 0");
  if (!ValidName(u.name)) return Bad(r, "bad name (empty, '.', '..', or holding '/' or NUL)");
  return u;
}

Result<NodeRecord> StreamReader::DecodeNode(const RawRecord& r) const {
  Decoder d(r.payload);
  NodeRecord n;
  n.ino = Ino(d.Le64());
  n.flags = d.Byte();
  n.parent = Ino(d.Le64());
  n.name = std::string(GetStr(d, kMaxNameBytes));
  n.mode = d.Le32();
  n.uid = d.Le32();
  n.gid = d.Le32();
  n.rdev = d.Le64();
  n.size = d.Le64();
  n.atime = GetTime(d);
  n.mtime = GetTime(d);
  n.symlink_target = std::string(GetStr(d, kMaxSymlinkBytes));
  const uint32_t count = d.Le32();
  if (!d.ok()) return Bad(r, "malformed");
  if (count > kMaxXattrs) return Bad(r, "absurd xattr count " + std::to_string(count));
  for (uint32_t i = 0; i < count && d.ok(); ++i) {
    std::string name(GetStr(d, kMaxNameBytes));
    std::string value(GetStr(d, kMaxPayloadBytes));
    n.xattrs.emplace_back(std::move(name), std::move(value));
  }
  if (!d.done()) return Bad(r, "malformed");
  if (n.ino.value == 0) return Bad(r, "inode number 0");
  if ((n.flags & ~kNodeNew) != 0) return Bad(r, "unknown flags");
  if (n.parent.valid() != !n.name.empty()) return Bad(r, "a parent without a name, or the reverse");
  if (n.parent.valid() && !ValidName(n.name)) {
    return Bad(r, "bad name (empty, '.', '..', or holding '/' or NUL)");
  }
  if (n.size > uint64_t{INT64_MAX}) return Bad(r, "absurd size " + std::to_string(n.size));
  if (n.atime.nsec >= 1000000000 || n.mtime.nsec >= 1000000000) return Bad(r, "bad time");
  for (const auto& x : n.xattrs) {
    if (x.first.empty() || x.first.find('\0') != std::string::npos) return Bad(r, "bad xattr name");
  }
  return n;
}

Result<DataRecord> StreamReader::DecodeData(const RawRecord& r) const {
  Decoder d(r.payload);
  DataRecord x;
  x.ino = Ino(d.Le64());
  x.offset = d.Le64();
  x.bytes = d.Rest();
  if (!d.ok()) return Bad(r, "malformed");
  if (x.bytes.size() > kMaxDataBytes) return Bad(r, "absurd length");
  return x;
}

Result<LinkRecord> StreamReader::DecodeLink(const RawRecord& r) const {
  Decoder d(r.payload);
  LinkRecord l;
  l.parent = Ino(d.Le64());
  l.name = std::string(GetStr(d, kMaxNameBytes));
  l.ino = Ino(d.Le64());
  if (!d.done()) return Bad(r, "malformed");
  if (l.parent.value == 0 || l.ino.value == 0) return Bad(r, "inode number 0");
  if (!ValidName(l.name)) return Bad(r, "bad name (empty, '.', '..', or holding '/' or NUL)");
  return l;
}

}  // namespace hoodyfs::snapshotter::stream
