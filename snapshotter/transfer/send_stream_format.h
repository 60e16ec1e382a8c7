// The send stream's records and their encoding (docs/format.md, "Send
// stream"): what `hoodyfs-snap send` writes and `receive` reads.
//
// A stream is a header (magic "HOODYSND", version, zero flags) and then
// framed records: kind (1 byte), payload length (LE32), payload, and an
// XXH3-64 of kind, length and payload seeded with the record's index, so a
// record that is damaged, cut, or moved to another place in the stream
// fails its check. The last record (kEnd) holds the count of records before
// it and an XXH3-64 of every byte before it: a stream cut at a record
// boundary, or spliced from two streams, fails there.
//
// Inodes keep the sender's numbers (FileSystem CreateOptions::ino), so an
// incremental stream names the inodes it changes as the base holds them.
//
// StreamReader refuses anything outside the limits below before it
// allocates for it; every error names the record (its index and kind).
// Thread-safety: a writer or a reader is used by one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "base/types.h"
#include "index/records.h"

namespace hoodyfs::snapshotter::stream {

inline constexpr char kMagic[8] = {'H', 'O', 'O', 'D', 'Y', 'S', 'N', 'D'};
inline constexpr uint32_t kVersion = 1;
inline constexpr size_t kHeaderBytes = 16;  // magic, version, flags
inline constexpr size_t kFrameBytes = 5;    // kind, length
inline constexpr size_t kChecksumBytes = 8;

// Limits a reader enforces (a writer never exceeds them).
inline constexpr size_t kMaxDataBytes = 1u << 20;  // one data record
inline constexpr size_t kMaxPayloadBytes = kMaxDataBytes + 64;
inline constexpr size_t kMaxNameBytes = 255;
inline constexpr size_t kMaxSymlinkBytes = 4095;
inline constexpr size_t kMaxXattrs = 4096;  // per inode; their bytes fit one payload

enum class Kind : uint8_t {
  kBegin = 1,   // what the stream is: always record 0
  kUnlink = 2,  // a name the base has and the snapshot does not
  kNode = 3,    // an inode's attributes (new, or changed since the base)
  kData = 4,    // bytes of the regular file of the kNode just before
  kLink = 5,    // a name the snapshot has and the base does not
  kEnd = 6,     // trailer: record count and whole-stream checksum
};
const char* KindName(uint8_t kind);

struct BeginRecord {
  std::string source_container;  // informative: where it was sent from
  std::string name;              // the snapshot's name (snap-...)
  std::string alias;             // "" when none
  int64_t created_ns = 0;
  std::string guid;       // the snapshot's (SnapshotRecord::guid)
  std::string base_guid;  // incremental: the base snapshot's; "" full
  // One past every inode number in the stream or the base (the sender's
  // Store::InoLimit): the receiver may use numbers from here on for itself.
  uint64_t ino_limit = 0;
};

struct UnlinkRecord {
  Ino parent;
  std::string name;
};

// kNode flags.
inline constexpr uint8_t kNodeNew = 1;  // absent from the base: create it

struct NodeRecord {
  Ino ino;
  uint8_t flags = 0;
  // A new node is created at (parent, name) when parent is set (a full
  // stream lists parents first); else in the receiver's scratch directory,
  // and kLink records give it its names.
  Ino parent;
  std::string name;
  uint32_t mode = 0;
  uint32_t uid = 0, gid = 0;
  uint64_t rdev = 0;
  uint64_t size = 0;  // regular files; kData records follow for its data
  index::Timespec atime, mtime;
  std::vector<std::pair<std::string, std::string>> xattrs;
  std::string symlink_target;
};

struct DataRecord {
  Ino ino;
  uint64_t offset = 0;
  std::string_view bytes;  // valid until the reader's next Next()
};

struct LinkRecord {
  Ino parent;
  std::string name;
  Ino ino;
};

// Buffers records and writes them to a file descriptor (sequentially: a
// pipe will do). Errors of every method: kIoError (writing the fd).
class StreamWriter {
 public:
  explicit StreamWriter(int fd);
  ~StreamWriter();
  StreamWriter(const StreamWriter&) = delete;
  StreamWriter& operator=(const StreamWriter&) = delete;

  Status Begin(const BeginRecord& r);
  Status Unlink(const UnlinkRecord& r);
  Status Node(const NodeRecord& r);
  Status Data(Ino ino, uint64_t offset, std::string_view bytes);
  Status Link(const LinkRecord& r);
  // A record of any kind and payload, framed and checksummed: for tests
  // and the fuzz target, which make streams the other methods would not.
  Status PutRaw(uint8_t kind, std::string_view payload) {
    return Put(static_cast<Kind>(kind), payload);
  }
  // Writes the trailer and flushes.
  Status End();
  uint64_t records() const { return records_; }
  uint64_t bytes_out() const { return bytes_out_; }

 private:
  Status Put(Kind kind, std::string_view payload);
  Status Flush();
  int fd_;
  std::string buf_;
  std::string payload_;  // reused
  uint64_t records_ = 0;
  uint64_t bytes_out_ = 0;
  struct Hash;
  std::unique_ptr<Hash> hash_;  // of every byte written before kEnd
};

// One record as read and checked: its index, kind and payload (valid until
// the next Next()).
struct RawRecord {
  uint64_t index = 0;
  Kind kind = Kind::kEnd;
  std::string_view payload;
};

// Reads and checks records from a file descriptor, sequentially. Errors
// (kCorruption unless said) name the record: "record 12 (node): ...".
class StreamReader {
 public:
  explicit StreamReader(int fd);
  ~StreamReader();
  StreamReader(const StreamReader&) = delete;
  StreamReader& operator=(const StreamReader&) = delete;

  // The header. Errors: kCorruption (no stream, or cut), kNotSupported (a
  // version this build does not read).
  Status ReadHeader();
  // The next record, its frame and checksum checked. A kEnd record is
  // checked against the count and checksum of what came before, and
  // nothing may follow it. Errors: kCorruption, kIoError, kRange (the
  // input ended cleanly after kEnd).
  Result<RawRecord> Next();

  // Payload decoders, each checking lengths and limits (names: no '/',
  // NUL, "." or ".."; inode numbers: not 0).
  Result<BeginRecord> DecodeBegin(const RawRecord& r) const;
  Result<UnlinkRecord> DecodeUnlink(const RawRecord& r) const;
  Result<NodeRecord> DecodeNode(const RawRecord& r) const;
  Result<DataRecord> DecodeData(const RawRecord& r) const;
  Result<LinkRecord> DecodeLink(const RawRecord& r) const;

  // "record 12 (node): <what>" as kCorruption.
  static Status Bad(const RawRecord& r, const std::string& what);
  uint64_t bytes_in() const { return bytes_in_; }

 private:
  // Reads exactly n bytes; false at a clean end of input before any.
  Result<bool> ReadExact(char* out, size_t n);
  // One read(2) of at most cap bytes (0 at the end of input).
  Result<size_t> ReadSome(char* dst, size_t cap);
  int fd_;
  // Both allocated once and never zeroed: a receive reads every byte of
  // the stream through them, and a std::string resized up to its size
  // again before each read cleared up to 1 MiB each time.
  std::unique_ptr<char[]> in_buf_;  // what the last read(2) brought: [in_pos_, in_len_) unused
  size_t in_pos_ = 0;
  size_t in_len_ = 0;
  std::unique_ptr<char[]> payload_;  // the record Next() returned last (kMaxPayloadBytes)
  uint64_t next_index_ = 0;
  uint64_t bytes_in_ = 0;
  bool ended_ = false;
  struct Hash;
  std::unique_ptr<Hash> hash_;
};

}  // namespace hoodyfs::snapshotter::stream
