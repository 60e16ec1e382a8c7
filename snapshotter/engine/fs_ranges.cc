// FileSystem::DataRanges: which byte ranges of a file hold data, read from
// the chunk maps alone (no data I/O). Export uses it to write only the data
// of sparse files and leave the holes as holes; the FUSE layer will use it
// for SEEK_DATA and SEEK_HOLE.
//
// Granularity is the 4 KiB block: a block that is mapped is data even when
// its bytes are zeros (the writer wrote them), a block that is not is a hole.
#include <sys/stat.h>

#include <algorithm>
#include <string>

#include "snapshotter/engine/fs_internal.h"

namespace hoodyfs::snapshotter {

using index::InodeRecord;
using index::KvScope;

Result<std::vector<DataRange>> FileSystem::DataRanges(Ino ino) {
  std::vector<DataRange> out;
  HOODY_RETURN_IF_ERROR(Inspect([&](const KvScope& s, Meta& meta, GenId g) -> Status {
    HOODY_ASSIGN_OR_RETURN(InodeRecord rec, meta.MustGetInode(s, g, ino));
    if (S_ISDIR(rec.mode)) return Status::IsDirectory("inode " + std::to_string(ino.value));
    if (!S_ISREG(rec.mode)) return Status::InvalidArgument("not a regular file");
    if (rec.size == 0) return Status::OK();
    if (rec.has_inline) {
      out.push_back(DataRange{0, rec.size});
      return Status::OK();
    }
    // Chunks come in key order, i.e. by chunk number (big-endian), and the
    // runs of one chunk are sorted: the ranges come out sorted.
    return meta.chunks().ForEach(
        s, index::InoPrefix(ino), "", g,
        [&](std::string_view logical, const index::VisibleVersion& v) -> Result<bool> {
          const uint64_t chunk = GetBig64(logical.data() + 8);
          HOODY_ASSIGN_OR_RETURN(index::ChunkMap map, index::ChunkMap::Decode(v.data));
          for (const index::ChunkRun& run : map.runs) {
            const uint64_t begin =
                (chunk * index::kChunkBlocks + run.offset) * uint64_t{kBlockSize};
            if (begin >= rec.size) return false;  // blocks past the end read as nothing
            const uint64_t end = std::min(begin + uint64_t{run.count} * kBlockSize, rec.size);
            if (!out.empty() && out.back().offset_bytes + out.back().length_bytes == begin) {
              out.back().length_bytes += end - begin;
            } else {
              out.push_back(DataRange{begin, end - begin});
            }
          }
          return true;
        });
  }));
  return out;
}

}  // namespace hoodyfs::snapshotter
