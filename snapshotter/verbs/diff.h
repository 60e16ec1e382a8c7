// Differ: what changed between two generations (snapshot to snapshot,
// snapshot to head, across branches and across containers that share
// history), file by file, like `zfs diff`.
//
// Cost follows the changes: the records that can differ between A and B are
// exactly those written by the generations on the path from A up to the
// lowest common ancestor and down to B, and each generation's change log
// lists them. Only the inodes those records touch are compared, and paths
// come from the back-references (inode -> parent, name), so nothing walks
// the tree. Generations with no common ancestor (two unrelated containers)
// compare everything both wrote.
//
// Classification, per inode that exists in at least one of the two states
// (an inode "exists" when it has at least one path there):
// - kAdded: only in B;  kDeleted: only in A;
// - kRenamed: in both, and one of its names (parent directory, name) in A
//   is gone in B while a new one appeared (same inode, new name). Moving a
//   directory reports the directory, not everything below it, as zfs diff
//   does. Extra new or vanished hard-link names are reported as kAdded /
//   kDeleted of that name with 0 bytes;
// - kModified: in both, and one of: content (bytes or size), permission
//   bits, owner, atime/mtime, xattrs, symlink target, device numbers, link
//   count (not for directories). ctime alone is not a change: a rename sets
//   it and is already reported as such.
// Content is compared block by block through the checksums in the block
// records (a hole compares as a zero block), and by bytes when one side is
// inline and the other is not.
//
// Generations on the path are pinned for the diff's duration. Against a
// live head the result reflects the head while the diff runs; diff two
// snapshots for an exact answer.
//
// Thread-safety: may run while the store serves filesystem calls.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "base/types.h"
#include "snapshotter/engine/store_internals.h"

namespace hoodyfs::snapshotter {

class Store;

enum class ChangeKind : uint8_t { kAdded, kDeleted, kModified, kRenamed };

// What a kModified change touched (bits of Change::what).
enum ChangeWhat : uint32_t {
  kWhatContent = 1u << 0,
  kWhatMode = 1u << 1,
  kWhatOwner = 1u << 2,
  kWhatTimes = 1u << 3,  // mtime; an atime that alone moved is no change
  kWhatXattrs = 1u << 4,
  kWhatTarget = 1u << 5,
  kWhatRdev = 1u << 6,
  kWhatLinks = 1u << 7,
  // Another file now has the name (rm and re-create, sed -i's rename over
  // it): the inode differs; mode, bytes and inode are the new file's.
  kWhatReplaced = 1u << 8,
  kWhatLast = kWhatReplaced,
};

struct Change {
  ChangeKind kind = ChangeKind::kModified;
  std::string path;      // in A for kDeleted and kRenamed, else in B (a
                         // kModified inode with several names: the first
                         // name it kept, else its first new one, in
                         // (parent inode, name) order)
  std::string new_path;  // kRenamed: the path in B
  Ino ino;
  uint32_t mode = 0;   // st_mode in B (in A for kDeleted)
  uint32_t what = 0;   // kModified: ChangeWhat bits
  uint64_t bytes = 0;  // kAdded/kDeleted: file size; kModified: changed content bytes
  auto operator<=>(const Change&) const = default;
};

struct DiffResult {
  GenId from, to;
  std::vector<Change> changes;    // sorted by path, then kind
  uint64_t records_examined = 0;  // change-log entries read: what the diff cost
};

// "+", "-", "M", "R": the zfs diff symbol of a kind.
const char* ChangeSymbol(ChangeKind kind);
// "content,mode,...": the names of the bits set in `what`.
std::string ChangeWhatNames(uint32_t what);
// One line as zfs diff prints it: "M\t/etc/passwd", "R\t/a -> /b", with what
// a person must not miss after a tab: "M\t/usr/bin/su\tmode 4755" (every
// mode change, so setuid and setgid show), "M\t/etc/hosts\treplaced".
// Bytes of a path that are not printable (control characters, DEL, a
// backslash, bytes that are not UTF-8 or are C1 controls) print as \NNN in
// octal, as zfs diff does, so a name cannot move the cursor, clear the
// line or forge another line.
std::string FormatChange(const Change& change);
// `path` with those bytes escaped.
std::string EscapePath(std::string_view path);

// Progress of a long diff: change-log entries read so far, then inodes
// compared out of the total to compare.
using DiffProgressFn =
    std::function<void(uint64_t records_read, size_t inodes_done, size_t inodes_total)>;

class Differ {
 public:
  explicit Differ(Store& store) : store_(store), internals_(store) {}

  // Errors: kNotFound (unknown generation), kCorruption, kIoError.
  Result<DiffResult> Diff(GenId from, GenId to, const DiffProgressFn& progress = {});

 private:
  Store& store_;
  StoreInternals internals_;
};

}  // namespace hoodyfs::snapshotter
