// Wal: the metadata write-ahead log, so that an fsync costs one log write
// and one device flush instead of an LMDB commit (docs/design.md, "What one
// fsync costs").
//
// KvStore commits its memtable to LMDB in group commits (once a second, or
// when the store's flush trigger, 16 MiB, is pending); each memtable has an
// epoch. Between two such
// commits, an fsync appends the entries changed since the previous fsync to
// this log as one record, with one pwrite and one fdatasync: an LMDB commit
// would be three device flushes (its page writes' fdatasync, the meta page's
// O_DSYNC write, and the data file's sync before them). When the epoch's
// LMDB commit is durable, the epoch's records are obsolete.
//
// Files: two, `<lmdb path>-wal0` and `<lmdb path>-wal1`. The records of epoch
// E go to file E % 2, the epoch's first record at offset 0, each next record
// right after the previous one. Epoch E's file was last written in epoch E-2
// or before, whose records the LMDB commit of E-1 made obsolete, so starting
// it over loses nothing. Files are overwritten in place and never shrink
// (preallocated with zeros to kInitialFileBytes, and grown with zeros in
// 4 MiB steps when a record does not fit), so a record's fdatasync
// needs no host metadata change once the file reached its high-water mark.
//
// File data: an fsync of a small change also carries the data blocks that
// change's entries point at (WalPayload::AddData), so it is one flush and
// not two (the data file's and the log's); the blocks reach the data file
// through the page cache and are synced with the next LMDB commit. Replay
// writes them back before it commits the entries (KvStore::DataReplay).
//
// Recovery: KvStore records in LMDB the epoch of each commit (D). Records of
// an epoch E > D were appended only while every epoch before E was durable in
// LMDB (KvStore appends only with no commit in progress), so at most one
// epoch has live records, and replaying them in order on top of LMDB gives
// the state of the last fsync that returned. A file is read from offset 0 and
// ends at the first record whose magic, checksum, epoch or sequence number
// does not follow: a torn last record (a crash inside a pwrite) or stale
// bytes of an older epoch. A bad checksum followed by a whole record is not
// a torn tail but damage, and is reported. On-disk layout in docs/format.md.
//
// Thread-safety: none; KvStore calls Append under its flush mutex.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "base/unique_fd.h"
#include "index/schema.h"

namespace hoodyfs::index {

// One change of one key: a value put, or a deletion (tombstone).
struct WalEntry {
  Table table = Table::kMeta;
  bool tombstone = false;
  std::string key;
  std::string value;
};

// File data carried by a record: bytes to write at `offset` of the data
// file. Offset and length are multiples of kDataAlign.
struct WalData {
  uint64_t offset = 0;
  std::string bytes;
};

// Encodes entries into a record's payload, one after another.
class WalPayload {
 public:
  static constexpr uint64_t kDataAlign = 4096;
  void Add(Table t, std::string_view key, bool tombstone, std::string_view value);
  // REQUIRES: offset and bytes.size() are nonzero multiples of kDataAlign
  // (offset may be 0).
  void AddData(uint64_t offset, std::string_view bytes);
  bool empty() const { return bytes_.empty(); }
  const std::string& bytes() const { return bytes_; }
  uint64_t data_bytes() const { return data_bytes_; }

 private:
  std::string bytes_;
  uint64_t data_bytes_ = 0;
};

// The live records found by Recover: those of one epoch above the LMDB
// commit's, entries in the order they were appended (a later entry for a key
// replaces an earlier one).
struct WalRecovery {
  uint64_t epoch = 0;  // 0: nothing to replay
  uint64_t records = 0;
  std::vector<WalEntry> entries;
  std::vector<WalData> data;  // in the order appended: a later write of a block wins
};

class Wal {
 public:
  static constexpr uint64_t kInitialFileBytes = 1u << 20;
  static constexpr size_t kHeaderBytes = 40;

  // Opens (creating and preallocating if absent or short) both log files.
  // Errors: kIoError, kPermission.
  static Result<std::unique_ptr<Wal>> Open(const std::string& lmdb_path);

  // Reads back the live records of the newest epoch above `committed_epoch`.
  // Errors: kCorruption (both files hold records above it, which a correct
  // store never writes; a record whose checksum holds but whose payload does
  // not decode; or a record that fails its checksum with a whole record after
  // it, which a crash cannot leave), kIoError.
  Result<WalRecovery> Recover(uint64_t committed_epoch) const;

  // Appends one record of `epoch` holding `payload` and makes it durable. A
  // new epoch starts its file over at offset 0. On error nothing is
  // appended: the next Append of the epoch writes at the same offset.
  // Errors: kIoError, kNoSpace.
  Status Append(uint64_t epoch, std::string_view payload);

  // Bytes appended so far in `epoch` (for the caller's size limit).
  uint64_t BytesInEpoch(uint64_t epoch) const { return epoch == epoch_ ? offset_ : 0; }

 private:
  Wal() = default;
  // Makes file `i` at least `bytes` long, and then at least `step` longer
  // than it was, with written zeros, so later appends overwrite in place.
  Status Extend(int i, uint64_t bytes, uint64_t step);

  UniqueFd files_[2];
  std::string paths_[2];
  uint64_t sizes_[2] = {0, 0};
  uint64_t epoch_ = 0;
  uint64_t offset_ = 0;
  uint64_t seq_ = 0;
};

}  // namespace hoodyfs::index
