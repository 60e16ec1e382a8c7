#include "fusefs/data_ranges.h"

#include <unistd.h>

#include <algorithm>
#include <vector>

namespace hoodyfs::fusefs {

Result<uint64_t> SeekDataOrHole(snapshotter::FileSystem& fs, Ino ino, uint64_t offset, int whence) {
  if (whence != SEEK_DATA && whence != SEEK_HOLE) {
    return Status::InvalidArgument("lseek whence " + std::to_string(whence));
  }
  HOODY_ASSIGN_OR_RETURN(snapshotter::Attr attr, fs.GetAttr(ino));
  if (offset >= attr.size) return Status::NotFound("offset at or past the end of the file");
  // Sorted, non-overlapping ranges of mapped data, clipped to the size.
  HOODY_ASSIGN_OR_RETURN(std::vector<snapshotter::DataRange> ranges, fs.DataRanges(ino));
  for (const snapshotter::DataRange& r : ranges) {
    const uint64_t end = r.offset_bytes + r.length_bytes;
    if (end <= offset) continue;
    if (whence == SEEK_DATA) return std::max(offset, r.offset_bytes);
    if (r.offset_bytes > offset) return offset;  // offset sits in a hole before this range
    return end;  // the hole after this range (the end of file counts as one)
  }
  // Past every range: all hole up to the end of the file.
  if (whence == SEEK_DATA) return Status::NotFound("no data at or after the offset");
  return offset;
}

}  // namespace hoodyfs::fusefs
