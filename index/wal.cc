#include "index/wal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <string>

#include "base/coding.h"
#include "base/test_hook.h"

namespace hoodyfs::index {
namespace {

// Record header, little-endian (docs/format.md, "meta.lmdb-wal0/1"):
//   0 magic u32 | 4 version u32 | 8 epoch u64 | 16 seq u64 |
//   24 payload bytes u32 | 28 zero u32 | 32 checksum u64 (RecordChecksum)
constexpr uint32_t kMagic = 0x4c415748;  // "HWAL"
// Version 2 added file data entries (kind 2); version 1 records still read.
constexpr uint32_t kVersion = 2;
constexpr size_t kChecksumOffset = 32;
// A record larger than this is not one KvStore writes (it falls back to an
// LMDB commit well before): a header claiming more is garbage.
constexpr uint32_t kMaxPayloadBytes = 1u << 30;
// LMDB's key limit, as WriteScope enforces it.
constexpr size_t kMaxKeyBytes = 511;
// Payload entry kinds.
constexpr uint8_t kKindPut = 0;
constexpr uint8_t kKindTombstone = 1;
constexpr uint8_t kKindData = 2;  // key: the data file offset (u64 LE); value: the bytes
// A log file grows by at least this much at a time (written zeros).
constexpr uint64_t kGrowStepBytes = 4u << 20;

// The payload's XXH3-64 seeded with the header's: covers both without
// copying them together.
uint64_t RecordChecksum(const char* header, std::string_view payload) {
  return XXH3_64bits_withSeed(payload.data(), payload.size(), XXH3_64bits(header, kChecksumOffset));
}

Status WriteAll(int fd, const char* p, size_t n, uint64_t offset, const std::string& path) {
  while (n > 0) {
    const ssize_t w = ::pwrite(fd, p, n, static_cast<off_t>(offset));
    if (w < 0) {
      if (errno == EINTR) continue;
      return FromErrno(errno, "write " + path);
    }
    p += w;
    n -= static_cast<size_t>(w);
    offset += static_cast<uint64_t>(w);
  }
  return Status::OK();
}

Result<std::string> ReadWhole(int fd, const std::string& path) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return FromErrno(errno, "stat " + path);
  std::string bytes(static_cast<size_t>(st.st_size), '\0');
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t r = ::pread(fd, bytes.data() + done, bytes.size() - done, done);
    if (r < 0) {
      if (errno == EINTR) continue;
      return FromErrno(errno, "read " + path);
    }
    if (r == 0) break;
    done += static_cast<size_t>(r);
  }
  bytes.resize(done);
  return bytes;
}

// Decodes one record's payload; the checksum already held, so a payload that
// does not decode was written wrong: corruption, not a torn tail.
Status DecodePayload(std::string_view p, std::vector<WalEntry>* out, std::vector<WalData>* data,
                     const std::string& where) {
  auto bad = [&](const char* what) {
    return Status::Corruption(where + ": " + what + " (the log record's checksum holds)");
  };
  while (!p.empty()) {
    if (p.size() < 2 + 4) return bad("entry header cut short");
    WalEntry e;
    const uint8_t table = static_cast<uint8_t>(p[0]);
    const uint8_t kind = static_cast<uint8_t>(p[1]);
    if (table >= kTableCount) return bad("unknown table");
    if (kind > kKindData) return bad("unknown entry kind");
    e.table = static_cast<Table>(table);
    e.tombstone = kind == kKindTombstone;
    const uint32_t key_len = GetLe32(p.data() + 2);
    p.remove_prefix(6);
    if (key_len == 0 || key_len > kMaxKeyBytes || p.size() < key_len + 4u) {
      return bad("bad key length");
    }
    e.key.assign(p.data(), key_len);
    p.remove_prefix(key_len);
    const uint32_t value_len = GetLe32(p.data());
    p.remove_prefix(4);
    if (p.size() < value_len) return bad("value cut short");
    e.value.assign(p.data(), value_len);
    p.remove_prefix(value_len);
    if (kind == kKindData) {
      if (e.key.size() != 8) return bad("file data entry with a bad offset");
      WalData d{GetLe64(e.key.data()), std::move(e.value)};
      if (d.offset % WalPayload::kDataAlign != 0 || d.bytes.empty() ||
          d.bytes.size() % WalPayload::kDataAlign != 0) {
        return bad("file data entry not aligned to whole blocks");
      }
      data->push_back(std::move(d));
      continue;
    }
    out->push_back(std::move(e));
  }
  return Status::OK();
}

// The records of one file: those of its first record's epoch, in sequence.
struct FileRecords {
  uint64_t epoch = 0;  // 0: the file starts with no valid record
  uint64_t records = 0;
  std::vector<std::string_view> payloads;
  // Record `records` fails its checksum, yet the record after it is whole:
  // damage in the middle of the log, not the torn tail a crash leaves (an
  // append is synced before the next one starts).
  bool damaged = false;
};

// The header at `h` (with `available` bytes from h on) as a record of
// `epoch` (any epoch when 0) with sequence number `seq`: its payload length,
// or nullopt when it is not one.
std::optional<uint32_t> HeaderFits(const char* h, size_t available, uint64_t epoch, uint64_t seq) {
  if (available < Wal::kHeaderBytes) return std::nullopt;
  if (GetLe32(h) != kMagic) return std::nullopt;
  if (const uint32_t v = GetLe32(h + 4); v != 1 && v != kVersion) return std::nullopt;
  const uint64_t e = GetLe64(h + 8);
  const uint32_t len = GetLe32(h + 24);
  if (e == 0 || (epoch != 0 && e != epoch) || GetLe64(h + 16) != seq) return std::nullopt;
  if (len > kMaxPayloadBytes || available - Wal::kHeaderBytes < len) return std::nullopt;
  return len;
}

bool ChecksumHolds(const char* h, uint32_t len) {
  return GetLe64(h + kChecksumOffset) ==
         RecordChecksum(h, std::string_view(h + Wal::kHeaderBytes, len));
}

FileRecords ScanFile(std::string_view bytes) {
  FileRecords f;
  size_t offset = 0;
  for (;;) {
    const char* h = bytes.data() + offset;
    const std::optional<uint32_t> len = HeaderFits(h, bytes.size() - offset, f.epoch, f.records);
    if (!len) break;
    if (!ChecksumHolds(h, *len)) {
      const size_t next = offset + Wal::kHeaderBytes + *len;
      const uint64_t epoch = GetLe64(h + 8);
      const std::optional<uint32_t> next_len =
          HeaderFits(bytes.data() + next, bytes.size() - next, epoch, f.records + 1);
      if (next_len && ChecksumHolds(bytes.data() + next, *next_len)) {
        f.damaged = true;
        f.epoch = epoch;
      }
      break;
    }
    f.epoch = GetLe64(h + 8);
    f.payloads.emplace_back(h + Wal::kHeaderBytes, *len);
    ++f.records;
    offset += Wal::kHeaderBytes + *len;
  }
  return f;
}

}  // namespace

void WalPayload::Add(Table t, std::string_view key, bool tombstone, std::string_view value) {
  bytes_.push_back(static_cast<char>(TableIndex(t)));
  bytes_.push_back(static_cast<char>(tombstone ? kKindTombstone : kKindPut));
  PutLe32(&bytes_, static_cast<uint32_t>(key.size()));
  bytes_.append(key);
  PutLe32(&bytes_, static_cast<uint32_t>(value.size()));
  bytes_.append(value);
}

void WalPayload::AddData(uint64_t offset, std::string_view bytes) {
  bytes_.push_back(0);
  bytes_.push_back(static_cast<char>(kKindData));
  PutLe32(&bytes_, 8);
  PutLe64(&bytes_, offset);
  PutLe32(&bytes_, static_cast<uint32_t>(bytes.size()));
  bytes_.append(bytes);
  data_bytes_ += bytes.size();
}

Result<std::unique_ptr<Wal>> Wal::Open(const std::string& lmdb_path) {
  std::unique_ptr<Wal> wal(new Wal());
  for (int i = 0; i < 2; ++i) {
    wal->paths_[i] = lmdb_path + "-wal" + std::to_string(i);
    const std::string& path = wal->paths_[i];
    wal->files_[i].Reset(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!wal->files_[i].valid()) return FromErrno(errno, "open " + path);
    struct stat st;
    if (::fstat(wal->files_[i].get(), &st) != 0) return FromErrno(errno, "stat " + path);
    wal->sizes_[i] = static_cast<uint64_t>(st.st_size);
    if (wal->sizes_[i] >= kInitialFileBytes) continue;
    HOODY_RETURN_IF_ERROR(wal->Extend(i, kInitialFileBytes, 0));
    if (::fdatasync(wal->files_[i].get()) != 0) return FromErrno(errno, "sync " + path);
  }
  return wal;
}

Status Wal::Extend(int i, uint64_t bytes, uint64_t step) {
  if (sizes_[i] >= bytes) return Status::OK();
  // Written zeros, not fallocate: an unwritten extent turns written at the
  // first append, a host metadata change in that append's fdatasync. Grown
  // in steps, so records carrying file data (which may grow a file past
  // its first megabyte) change the host's metadata only now and then.
  const uint64_t target = std::max(bytes, sizes_[i] + step);
  const std::string zeros(target - sizes_[i], '\0');
  HOODY_RETURN_IF_ERROR(
      WriteAll(files_[i].get(), zeros.data(), zeros.size(), sizes_[i], paths_[i]));
  sizes_[i] = target;
  return Status::OK();
}

Result<WalRecovery> Wal::Recover(uint64_t committed_epoch) const {
  WalRecovery out;
  std::string bytes[2];
  FileRecords found[2];
  int live = -1;
  for (int i = 0; i < 2; ++i) {
    HOODY_ASSIGN_OR_RETURN(bytes[i], ReadWhole(files_[i].get(), paths_[i]));
    found[i] = ScanFile(bytes[i]);
    if (found[i].epoch <= committed_epoch) continue;
    if (live >= 0) {
      return Status::Corruption("both metadata logs hold records above the committed epoch " +
                                std::to_string(committed_epoch) + " (" + paths_[0] + ": epoch " +
                                std::to_string(found[0].epoch) + ", " + paths_[1] + ": epoch " +
                                std::to_string(found[1].epoch) + ")");
    }
    live = i;
  }
  if (live < 0) return out;
  if (found[live].damaged) {
    return Status::Corruption(paths_[live] + ": record " + std::to_string(found[live].records) +
                              " of epoch " + std::to_string(found[live].epoch) +
                              " fails its checksum while the record after it is whole: the log "
                              "was damaged after it was written, and fsync'd changes in it are "
                              "lost");
  }
  out.epoch = found[live].epoch;
  out.records = found[live].records;
  for (size_t r = 0; r < found[live].payloads.size(); ++r) {
    HOODY_RETURN_IF_ERROR(DecodePayload(
        found[live].payloads[r], &out.entries, &out.data,
        paths_[live] + " epoch " + std::to_string(out.epoch) + " record " + std::to_string(r)));
  }
  return out;
}

Status Wal::Append(uint64_t epoch, std::string_view payload) {
  if (epoch != epoch_) {
    epoch_ = epoch;
    offset_ = 0;
    seq_ = 0;
  }
  std::string record;
  record.reserve(kHeaderBytes + payload.size());
  PutLe32(&record, kMagic);
  PutLe32(&record, kVersion);
  PutLe64(&record, epoch);
  PutLe64(&record, seq_);
  PutLe32(&record, static_cast<uint32_t>(payload.size()));
  PutLe32(&record, 0);
  PutLe64(&record, RecordChecksum(record.data(), payload));
  record.append(payload);
  const int i = static_cast<int>(epoch % 2);
  // Zeros first, then the record over them: one fdatasync covers both.
  HOODY_RETURN_IF_ERROR(Extend(i, offset_ + record.size(), kGrowStepBytes));
  HOODY_RETURN_IF_ERROR(
      WriteAll(files_[i].get(), record.data(), record.size(), offset_, paths_[i]));
  HOODY_TEST_HOOK("wal.before_sync");
  if (::fdatasync(files_[i].get()) != 0) return FromErrno(errno, "sync " + paths_[i]);
  HOODY_TEST_HOOK("wal.after_sync");
  offset_ += record.size();
  ++seq_;
  return Status::OK();
}

}  // namespace hoodyfs::index
