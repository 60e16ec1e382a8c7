#include "fusefs/data_ranges.h"

#include <unistd.h>

namespace hoodyfs::fusefs {

Result<uint64_t> SeekDataOrHole(snapshotter::FileSystem& fs, Ino ino, uint64_t offset, int whence) {
  if (whence != SEEK_DATA && whence != SEEK_HOLE) {
    return Status::InvalidArgument("lseek whence " + std::to_string(whence));
  }
  HOODY_ASSIGN_OR_RETURN(snapshotter::Attr attr, fs.GetAttr(ino));
  if (offset >= attr.size) return Status::NotFound("offset at or past the end of the file");
  // TODO(fusefs): ask FileSystem::DataRanges once it lands, for real holes.
  return whence == SEEK_DATA ? offset : attr.size;
}

}  // namespace hoodyfs::fusefs
