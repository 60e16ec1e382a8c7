// SEEK_DATA / SEEK_HOLE for lseek(2) on the mount.
//
// Today this uses the model POSIX allows for a filesystem that does not
// report holes: all of [0, size) is data and the only hole is at the end of
// the file. FileSystem::DataRanges (being added to the engine) will report
// the real holes; this helper is the one place to switch over.
//
// Thread-safety: stateless.
#pragma once

#include <cstdint>

#include "base/status.h"
#include "base/types.h"
#include "snapshotter/engine/filesystem.h"

namespace hoodyfs::fusefs {

// The offset lseek(fd, offset, whence) returns for whence SEEK_DATA or
// SEEK_HOLE. Errors: kNotFound mapped to ENXIO by the caller when `offset`
// is at or past the end; kInvalidArgument for another whence; engine errors.
Result<uint64_t> SeekDataOrHole(snapshotter::FileSystem& fs, Ino ino, uint64_t offset, int whence);

}  // namespace hoodyfs::fusefs
